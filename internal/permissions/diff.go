package permissions

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
)

// Allowed reads the actions an IAM policy document allows (as IAM answers it:
// URL-encoded JSON, or plain JSON). A statement that allows everything but some actions
// (NotAction) is reported as "NotAction:" and its list, since it allows more than any
// list could say.
func Allowed(document string) ([]string, error) {
	if dec, err := url.QueryUnescape(document); err == nil {
		document = dec
	}
	var doc struct {
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(document), &doc); err != nil {
		return nil, fmt.Errorf("the policy is not JSON: %w", err)
	}
	var stmts []map[string]json.RawMessage
	if err := json.Unmarshal(doc.Statement, &stmts); err != nil {
		var one map[string]json.RawMessage
		if err := json.Unmarshal(doc.Statement, &one); err != nil {
			return nil, fmt.Errorf("the policy has no readable Statement: %w", err)
		}
		stmts = []map[string]json.RawMessage{one}
	}
	var out []string
	for _, st := range stmts {
		var effect string
		_ = json.Unmarshal(st["Effect"], &effect)
		if effect != "Allow" {
			continue
		}
		out = append(out, stringOrList(st["Action"])...)
		if not := stringOrList(st["NotAction"]); len(not) > 0 {
			out = append(out, "NotAction:"+strings.Join(not, ","))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

func stringOrList(raw json.RawMessage) []string {
	if raw == nil {
		return nil
	}
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(raw, &many)
	return many
}

// Diff compares the actions a policy allows with the ones it should: missing are in
// want but not allowed, extra are allowed but not wanted (both sorted). IAM action
// names are case-insensitive, so is the comparison.
func Diff(want, allowed []string) (missing, extra []string) {
	has := func(list []string, a string) bool {
		return slices.ContainsFunc(list, func(b string) bool { return strings.EqualFold(a, b) })
	}
	for _, a := range want {
		if !has(allowed, a) {
			missing = append(missing, a)
		}
	}
	for _, a := range allowed {
		if !has(want, a) {
			extra = append(extra, a)
		}
	}
	slices.Sort(missing)
	slices.Sort(extra)
	return missing, extra
}

// VersionOf names the version whose set of policy's actions equals allowed, if any: a
// role deployed by an older release shows which one.
func VersionOf(policy string, allowed []string) (int, bool) {
	for v := Version(); v >= 1; v-- {
		if m, e := Diff(Names(At(policy, v)), allowed); len(m) == 0 && len(e) == 0 {
			return v, true
		}
	}
	return 0, false
}
