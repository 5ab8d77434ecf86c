package registry

import (
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// Encode is the DynamoDB item of r. Optional attributes (Alias, Regions, LastStatus,
// RemovedAt) are left out when empty.
func Encode(r Record) map[string]types.AttributeValue {
	item := r.Key.item()
	set := func(name, v string) {
		if v != "" {
			item[name] = &types.AttributeValueMemberS{Value: v}
		}
	}
	set(AttrAccount, r.Account)
	set(AttrRegion, r.Region)
	set(AttrRoleARN, r.RoleARN)
	set(AttrProviderID, r.ProviderID)
	set(AttrAPI, r.API)
	set(AttrSysdigURL, r.SysdigURL)
	set(AttrAlias, r.Alias)
	set(AttrOrigin, string(r.Origin))
	set(AttrState, string(r.State))
	set(AttrLastStatus, r.LastStatus)
	for name, t := range map[string]time.Time{AttrCreatedAt: r.CreatedAt, AttrUpdatedAt: r.UpdatedAt, AttrRemovedAt: r.RemovedAt} {
		if !t.IsZero() {
			item[name] = &types.AttributeValueMemberS{Value: formatTime(t)}
		}
	}
	if len(r.Regions) > 0 {
		l := make([]types.AttributeValue, len(r.Regions))
		for i, reg := range r.Regions {
			l[i] = &types.AttributeValueMemberS{Value: reg}
		}
		item[AttrRegions] = &types.AttributeValueMemberL{Value: l}
	}
	if len(r.Replaced) > 0 {
		l := make([]types.AttributeValue, len(r.Replaced))
		for i, p := range r.Replaced {
			l[i] = &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{
				AttrProviderID: &types.AttributeValueMemberS{Value: p.ProviderID},
				AttrRoleARN:    &types.AttributeValueMemberS{Value: p.RoleARN},
				AttrAPI:        &types.AttributeValueMemberS{Value: p.API},
				AttrSysdigURL:  &types.AttributeValueMemberS{Value: p.SysdigURL},
				AttrOrigin:     &types.AttributeValueMemberS{Value: string(p.Origin)},
			}}
		}
		item[AttrReplaced] = &types.AttributeValueMemberL{Value: l}
	}
	return item
}

// Decode reads a DynamoDB item. It is strict: a required attribute that is missing, empty
// or of another type, an unknown Origin or State, or a time that is not RFC 3339 is an
// error naming the attribute, never a guess.
func Decode(item map[string]types.AttributeValue) (Record, error) {
	d := decoder{item: item}
	r := Record{
		Key:        Key{StackID: d.required(AttrStackID), LogicalResourceID: d.required(AttrLogicalResourceID)},
		Account:    d.required(AttrAccount),
		Region:     d.required(AttrRegion),
		RoleARN:    d.required(AttrRoleARN),
		ProviderID: d.required(AttrProviderID),
		API:        d.required(AttrAPI),
		SysdigURL:  d.required(AttrSysdigURL),
		Alias:      d.optional(AttrAlias),
		Origin:     Origin(d.required(AttrOrigin)),
		State:      State(d.required(AttrState)),
		CreatedAt:  d.time(AttrCreatedAt, true),
		UpdatedAt:  d.time(AttrUpdatedAt, true),
		LastStatus: d.optional(AttrLastStatus),
		Regions:    d.list(AttrRegions),
		Replaced:   d.replaced(),
	}
	d.origin(AttrOrigin, r.Origin)
	if d.err == nil && r.State != StateActive && r.State != StateRemoved {
		d.fail("attribute %s is %q, not %q or %q", AttrState, r.State, StateActive, StateRemoved)
	}
	r.RemovedAt = d.time(AttrRemovedAt, r.State == StateRemoved)
	if d.err != nil {
		return Record{}, fmt.Errorf("registration %s %s: %w", r.StackID, r.LogicalResourceID, d.err)
	}
	return r, nil
}

// decoder keeps the first error of a Decode.
type decoder struct {
	item map[string]types.AttributeValue
	err  error
}

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		d.err = fmt.Errorf(format, args...)
	}
}

func (d *decoder) str(name string, required bool) string {
	v, present := d.item[name]
	if !present {
		if required {
			d.fail("attribute %s is missing", name)
		}
		return ""
	}
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		d.fail("attribute %s is not a string", name)
		return ""
	}
	if required && s.Value == "" {
		d.fail("attribute %s is empty", name)
	}
	return s.Value
}

func (d *decoder) required(name string) string { return d.str(name, true) }
func (d *decoder) optional(name string) string { return d.str(name, false) }

func (d *decoder) time(name string, required bool) time.Time {
	s := d.str(name, required)
	if s == "" {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		d.fail("attribute %s is not an RFC 3339 time", name)
		return time.Time{}
	}
	return t.UTC()
}

func (d *decoder) list(name string) []string {
	v, present := d.item[name]
	if !present {
		return nil
	}
	l, ok := v.(*types.AttributeValueMemberL)
	if !ok {
		d.fail("attribute %s is not a list", name)
		return nil
	}
	out := make([]string, 0, len(l.Value))
	for i, e := range l.Value {
		s, ok := e.(*types.AttributeValueMemberS)
		if !ok || s.Value == "" {
			d.fail("attribute %s: element %d is not a non-empty string", name, i)
			return nil
		}
		out = append(out, s.Value)
	}
	return out
}

func (d *decoder) origin(name string, o Origin) {
	if d.err == nil && o != OriginCreated && o != OriginAdopted {
		d.fail("attribute %s is %q, not %q or %q", name, o, OriginCreated, OriginAdopted)
	}
}

// replaced reads AttrReplaced: every element must hold every attribute.
func (d *decoder) replaced() []Superseded {
	v, present := d.item[AttrReplaced]
	if !present {
		return nil
	}
	l, ok := v.(*types.AttributeValueMemberL)
	if !ok {
		d.fail("attribute %s is not a list", AttrReplaced)
		return nil
	}
	out := make([]Superseded, 0, len(l.Value))
	for i, e := range l.Value {
		m, ok := e.(*types.AttributeValueMemberM)
		if !ok {
			d.fail("attribute %s: element %d is not a map", AttrReplaced, i)
			return nil
		}
		sub := decoder{item: m.Value}
		p := Superseded{
			ProviderID: sub.required(AttrProviderID),
			RoleARN:    sub.required(AttrRoleARN),
			API:        sub.required(AttrAPI),
			SysdigURL:  sub.required(AttrSysdigURL),
			Origin:     Origin(sub.required(AttrOrigin)),
		}
		sub.origin(AttrOrigin, p.Origin)
		if sub.err != nil {
			d.fail("attribute %s: element %d: %w", AttrReplaced, i, sub.err)
			return nil
		}
		out = append(out, p)
	}
	return out
}

func formatTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }
