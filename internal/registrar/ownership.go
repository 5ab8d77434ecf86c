package registrar

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"sysdig-aws-connect/internal/customresource"
	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
)

// A request's PhysicalResourceId is written by the requester: in an Organization, a member
// account's stack operation can put any provider id in it. What the registrar itself
// recorded is the proof of which provider a stack's resource owns:
//
//   - With a registry of record (the Organizations deployer), Update and Delete act only on
//     the provider the registry holds for the request's StackId and LogicalResourceId (or,
//     for a Delete, one a replacing Update superseded), with one Sysdig call and without
//     reading it first. Any other id is refused before any Sysdig call.
//   - Without a record (the single-account function, or a stack created before the
//     registry existed), the provider is read by id and acted on only when Sysdig's answer
//     names the role the id claims, of the requesting stack's account. An answer without
//     a role proves nothing: the provider is left alone (fail closed).

// Registry is the registry of record (internal/registry.Store).
type Registry interface {
	Get(ctx context.Context, k registry.Key) (registry.Record, bool, error)
	Put(ctx context.Context, r registry.Record) error
	MarkRemoved(ctx context.Context, k registry.Key, providerID string, at time.Time) error
}

// WithRegistry makes Create record what it registered, and Update and Delete act only on
// what the registry holds.
func WithRegistry(reg Registry) Option { return func(r *Registrar) { r.registry = reg } }

// WithClock sets the clock of the registry's times (tests).
func WithClock(now func() time.Time) Option { return func(r *Registrar) { r.now = now } }

// OwnershipError refuses an Update naming a provider the requesting stack's resource does
// not own: nothing was sent to Sysdig.
type OwnershipError struct{ reason string }

func (e *OwnershipError) Error() string { return "refused: " + e.reason }

// Refusal marks the error as a refusal (customresource.Refusal).
func (e *OwnershipError) Refusal() bool { return true }

func registryKey(req customresource.Request) registry.Key {
	return registry.Key{StackID: req.StackID, LogicalResourceID: req.LogicalResourceID}
}

// held is what the registry says of the provider a request names.
type held struct {
	rec   registry.Record
	found bool // the registry has a record for the request's key
	// ref is the provider to act on, from the record (never from the request), when the
	// record holds the named id: as its active provider (current) or as one a replacing
	// Update superseded (superseded >= 0).
	ref        ProviderRef
	current    bool
	superseded int
	removed    bool // the record holds the id as already removed
}

// lookup reads the registry for req and the provider id it names.
func (r *Registrar) lookup(ctx context.Context, req customresource.Request, id string) (held, error) {
	h := held{superseded: -1}
	if r.registry == nil {
		return h, nil
	}
	rec, found, err := r.registry.Get(ctx, registryKey(req))
	if err != nil {
		return h, fmt.Errorf("%w; nothing was changed at Sysdig: retry the stack operation", err)
	}
	h.rec, h.found = rec, found
	if !found {
		return h, nil
	}
	switch {
	case rec.ProviderID == id && rec.State == registry.StateActive:
		h.current = true
		h.ref = ProviderRef{API: sysdig.APIVersion(rec.API), BaseURL: rec.SysdigURL, ID: rec.ProviderID, RoleARN: rec.RoleARN, Adopted: rec.Origin == registry.OriginAdopted}
	case rec.ProviderID == id:
		h.removed = true
	default:
		h.superseded = slices.IndexFunc(rec.Replaced, func(s registry.Superseded) bool { return s.ProviderID == id })
		if h.superseded >= 0 {
			s := rec.Replaced[h.superseded]
			h.ref = ProviderRef{API: sysdig.APIVersion(s.API), BaseURL: s.SysdigURL, ID: s.ProviderID, RoleARN: s.RoleARN, Adopted: s.Origin == registry.OriginAdopted}
		}
	}
	return h, nil
}

// notOwned says why a request naming id is refused when the registry holds rec.
func notOwned(id string, rec registry.Record) string {
	state := "registered"
	if rec.State == registry.StateRemoved {
		state = "removed"
	}
	named := id + " named in the PhysicalResourceId"
	if id == "" {
		named = "the PhysicalResourceId's, which names no provider"
	}
	return fmt.Sprintf("this stack resource's provider, as the registry of record holds it, is %s (%s), not %s; nothing was sent to Sysdig",
		rec.ProviderID, state, named)
}

// proveByRead is the ownership check without a record: the provider is read by id, and
// owned only when Sysdig's answer names ref's role, of the stack's account. It returns the
// provider read, whether it is gone (404), and a refusal reason when Sysdig's answer names
// no role (fail closed) or another one.
func proveByRead(ctx context.Context, client Sysdig, api sysdig.APIVersion, ref ProviderRef, stack StackARN) (p sysdig.Provider, gone bool, refusal string, err error) {
	p, err = client.GetProvider(ctx, api, ref.ID)
	switch {
	case sysdig.IsNotFound(err):
		return p, true, "", nil
	case err != nil:
		return p, false, "", fmt.Errorf("read provider %s to check it is this stack's: %w", ref.ID, err)
	case p.ID != ref.ID:
		// An answer about another provider says nothing of this one, whatever its role.
		return p, false, fmt.Sprintf("Sysdig's answer for provider %s describes provider %s, so nothing proves provider %s is this stack's (role %s); it was left unchanged", ref.ID, p.ID, ref.ID, ref.RoleARN), nil
	case p.RoleARN == "":
		return p, false, fmt.Sprintf("Sysdig's answer for provider %s does not name its role, so nothing proves it is this stack's (role %s); it was left unchanged", ref.ID, ref.RoleARN), nil
	}
	role, perr := ParseRoleARN(p.RoleARN)
	if perr != nil || role.AccountID != stack.AccountID || role.Partition != stack.Partition || !sysdig.SameRole(p.RoleARN, ref.RoleARN) {
		return p, false, fmt.Sprintf("provider %s holds role %s, not this stack's role %s; it was left unchanged", ref.ID, truncate(p.RoleARN, 200), ref.RoleARN), nil
	}
	return p, false, "", nil
}

// recordRegistration writes the registry's record of the provider ref now stands for.
// prev is the record as it was (found reports whether there was one); superseded, when
// set, is the provider a replacing Update superseded.
func (r *Registrar) recordRegistration(ctx context.Context, req customresource.Request, ref ProviderRef, props ProviderProperties, status string, prev registry.Record, found bool, superseded *registry.Superseded) error {
	if r.registry == nil {
		return nil
	}
	stack, err := ParseStackARN(req.StackID)
	if err != nil {
		return err
	}
	now := r.now().UTC()
	rec := registry.Record{
		Key:        registryKey(req),
		Account:    stack.AccountID,
		Region:     stack.Region,
		RoleARN:    ref.RoleARN,
		ProviderID: ref.ID,
		API:        string(ref.API),
		SysdigURL:  ref.BaseURL,
		Alias:      props.Alias,
		Regions:    props.Regions,
		Origin:     registry.OriginCreated,
		State:      registry.StateActive,
		CreatedAt:  now,
		UpdatedAt:  now,
		LastStatus: status,
	}
	if ref.Adopted {
		rec.Origin = registry.OriginAdopted
	}
	if found {
		rec.Replaced = prev.Replaced
		if prev.ProviderID == ref.ID {
			rec.CreatedAt = prev.CreatedAt
		}
	}
	if superseded != nil {
		rec.Replaced = append(slices.Clone(rec.Replaced), *superseded)
		if drop := len(rec.Replaced) - maxReplaced; drop > 0 {
			// Replacements whose cleanup never came: the record stays small, and a late
			// cleanup Delete of the oldest is refused (the provider is left, with a warning).
			r.logger.Warn("the registry of record forgets superseded providers CloudFormation never deleted",
				slog.Any("provider_ids", providerIDs(rec.Replaced[:drop])))
			rec.Replaced = rec.Replaced[drop:]
		}
	}
	if err := r.registry.Put(ctx, rec); err != nil {
		return fmt.Errorf("provider %s is registered at Sysdig but the registry of record could not record it: %w", ref.ID, err)
	}
	return nil
}

// maxReplaced bounds Replaced: CloudFormation deletes a superseded provider right after
// the replacing Update (or the rollback deletes the new one), so more than a few pending
// means cleanups that never came.
const maxReplaced = 8

func providerIDs(ps []registry.Superseded) []string {
	ids := make([]string, len(ps))
	for i, p := range ps {
		ids[i] = p.ProviderID
	}
	return ids
}

// supersededOf is the registry's description of ref, for Replaced.
func supersededOf(ref ProviderRef) *registry.Superseded {
	origin := registry.OriginCreated
	if ref.Adopted {
		origin = registry.OriginAdopted
	}
	return &registry.Superseded{ProviderID: ref.ID, RoleARN: ref.RoleARN, API: string(ref.API), SysdigURL: ref.BaseURL, Origin: origin}
}

// recordRemoval updates the registry after a Delete of h.ref: a superseded provider leaves
// Replaced; the current one is marked removed, unless a replacing Update superseded
// another, which the Delete then rolls back to (CloudFormation deletes the new provider
// when the stack update that registered it fails).
func (r *Registrar) recordRemoval(ctx context.Context, h held) error {
	if r.registry == nil || !h.found {
		return nil
	}
	now := r.now().UTC()
	rec := h.rec
	switch {
	case h.superseded >= 0:
		rec.Replaced = slices.Delete(slices.Clone(rec.Replaced), h.superseded, h.superseded+1)
	case len(rec.Replaced) > 0:
		last := rec.Replaced[len(rec.Replaced)-1]
		rec.Replaced = rec.Replaced[:len(rec.Replaced)-1]
		rec.ProviderID, rec.RoleARN, rec.API, rec.SysdigURL, rec.Origin = last.ProviderID, last.RoleARN, last.API, last.SysdigURL, last.Origin
		rec.LastStatus = ""
		r.logger.Info("the registry of record holds the provider this one replaced again (the replacing update was rolled back)", slog.String("provider_id", last.ProviderID))
	default:
		if err := r.registry.MarkRemoved(ctx, h.rec.Key, h.rec.ProviderID, now); err != nil {
			return fmt.Errorf("%w; retry the stack deletion", err)
		}
		return nil
	}
	rec.UpdatedAt = now
	if len(rec.Replaced) == 0 {
		rec.Replaced = nil
	}
	if err := r.registry.Put(ctx, rec); err != nil {
		//msg:internal a wrapper: the registry's own error (read, record, mark) has its entry
		return fmt.Errorf("%w; retry the stack operation", err)
	}
	return nil
}

// recordPreRegistryRemoval records, for a stack created before the registry existed, the
// provider a Delete removed after proving it by reading it.
func (r *Registrar) recordPreRegistryRemoval(ctx context.Context, req customresource.Request, ref ProviderRef) {
	if r.registry == nil {
		return
	}
	stack, err := ParseStackARN(req.StackID)
	if err != nil {
		return
	}
	now := r.now().UTC()
	origin := registry.OriginCreated
	if ref.Adopted {
		origin = registry.OriginAdopted
	}
	rec := registry.Record{Key: registryKey(req), Account: stack.AccountID, Region: stack.Region, RoleARN: ref.RoleARN, ProviderID: ref.ID,
		API: string(ref.API), SysdigURL: ref.BaseURL, Origin: origin, State: registry.StateRemoved, CreatedAt: now, UpdatedAt: now, RemovedAt: now}
	if err := r.registry.Put(ctx, rec); err != nil {
		// The provider is gone; only the record of its removal is missing.
		r.logger.Warn("could not record the removal in the registry of record", slog.String("provider_id", ref.ID), slog.String("error", err.Error()))
	}
}
