package permissions

import (
	"encoding/json"
	"slices"
	"strings"
)

// Allowed reads the actions an IAM policy document allows (as IAM answers it:
// URL-encoded JSON, or plain JSON). A statement that allows everything but some actions
// (NotAction) is reported as "NotAction:" and its list, since it allows more than any
// list could say.
func Allowed(document string) ([]string, error) {
	stmts, err := Statements[map[string]json.RawMessage](document, "policy")
	if err != nil {
		return nil, err
	}
	var out []string
	for _, st := range stmts {
		var effect string
		_ = json.Unmarshal(st["Effect"], &effect)
		if effect != "Allow" {
			continue
		}
		out = append(out, StringOrList(st["Action"])...)
		if not := StringOrList(st["NotAction"]); len(not) > 0 {
			out = append(out, "NotAction:"+strings.Join(not, ","))
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
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
