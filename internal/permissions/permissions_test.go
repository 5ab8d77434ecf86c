package permissions

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// released pins what each released version changed (its policies and actions, not its
// wording). Changing the Sysdig role's permissions means appending a version to History,
// describing it in docs/permissions.md, and adding its digest here.
var released = map[int]string{
	1: "03527f160e06ba4deea36fbc8f6e2fa893485f298adbf7beecb0a61552c1a531",
}

func digest(r Release) string {
	h := sha256.New()
	for _, list := range []struct {
		kind    string
		changes []Change
	}{{"+", r.Added}, {"-", r.Removed}} {
		for _, c := range list.changes {
			fmt.Fprintf(h, "%s %s %s\n", list.kind, c.Policy, c.Action.Action)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}

func TestHistoryIsValid(t *testing.T) {
	if err := Validate(); err != nil {
		t.Fatal(err)
	}
}

// A released version never changes: a change of the permissions is a new version.
func TestHistoryIsAppendOnly(t *testing.T) {
	for _, r := range History {
		want, ok := released[r.Version]
		got := digest(r)
		switch {
		case !ok:
			t.Errorf("permissions version %d is not pinned: describe it in docs/permissions.md, then add %d: %q to released in this test", r.Version, r.Version, got)
		case got != want:
			t.Errorf("permissions version %d changed after its release (digest %s, pinned %s): restore it, and append version %d to History with the change, its entry in docs/permissions.md and its digest here", r.Version, got, want, Version()+1)
		}
	}
	if len(released) != len(History) {
		t.Errorf("%d versions pinned, %d in History: a released version was removed", len(released), len(History))
	}
}

func TestCurrentAndAt(t *testing.T) {
	saved := History
	t.Cleanup(func() { History = saved })
	History = []Release{
		{Version: 1, Product: "0.1.0", Why: "first", Added: []Change{
			{CloudWatchPolicy, Action{"a:One", "A", "why"}}, {CloudWatchPolicy, Action{"a:Two", "A", "why"}}, {S3Policy, Action{"s3:X", "S3", "why"}},
		}},
		{Version: 2, Product: "0.2.0", Why: "second", Added: []Change{{CloudWatchPolicy, Action{"a:Three", "A", "why"}}},
			Removed: []Change{{CloudWatchPolicy, Action{"a:One", "A", "no longer read"}}}},
	}
	if err := Validate(); err != nil {
		t.Fatal(err)
	}
	if got := Names(Current(CloudWatchPolicy)); !slices.Equal(got, []string{"a:Two", "a:Three"}) {
		t.Errorf("Current = %v", got)
	}
	if got := Names(At(CloudWatchPolicy, 1)); !slices.Equal(got, []string{"a:One", "a:Two"}) {
		t.Errorf("At(1) = %v", got)
	}
	if Version() != 2 || VersionString() != "2" {
		t.Errorf("Version = %d", Version())
	}
	if v, ok := VersionOf(CloudWatchPolicy, []string{"a:two", "a:One"}); !ok || v != 1 {
		t.Errorf("VersionOf = %d, %v; want 1 (action names are case-insensitive)", v, ok)
	}
	if _, ok := VersionOf(CloudWatchPolicy, []string{"a:Two"}); ok {
		t.Error("a set no version had was matched")
	}
	for name, bad := range map[string][]Release{
		"gap":             {{Version: 2, Product: "x", Why: "w", Added: []Change{{CloudWatchPolicy, Action{"a:B", "A", "w"}}}}},
		"no reason":       {{Version: 1, Product: "x", Added: []Change{{CloudWatchPolicy, Action{"a:B", "A", "w"}}}}},
		"wildcard":        {{Version: 1, Product: "x", Why: "w", Added: []Change{{CloudWatchPolicy, Action{"a:*", "A", "w"}}}}},
		"action no why":   {{Version: 1, Product: "x", Why: "w", Added: []Change{{CloudWatchPolicy, Action{"a:B", "A", ""}}}}},
		"unknown policy":  {{Version: 1, Product: "x", Why: "w", Added: []Change{{"other", Action{"a:B", "A", "w"}}}}},
		"added twice":     {{Version: 1, Product: "x", Why: "w", Added: []Change{{CloudWatchPolicy, Action{"a:B", "A", "w"}}, {CloudWatchPolicy, Action{"a:B", "A", "w"}}}}},
		"removed, absent": {{Version: 1, Product: "x", Why: "w", Removed: []Change{{CloudWatchPolicy, Action{"a:B", "A", "w"}}}}},
		"empty":           {{Version: 1, Product: "x", Why: "w"}},
	} {
		History = bad
		if err := Validate(); err == nil {
			t.Errorf("%s: Validate() accepted %+v", name, bad)
		}
	}
}

// docs/permissions.md has a section per version listing exactly what it added and
// removed, policy by policy.
func TestDocsListEveryVersion(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "..", "docs", "permissions.md"))
	if err != nil {
		t.Fatal(err)
	}
	sections := map[int]string{}
	heading := regexp.MustCompile(`(?m)^## Version (\d+)\b.*$`)
	locs := heading.FindAllStringSubmatchIndex(string(raw), -1)
	for i, loc := range locs {
		v, _ := strconv.Atoi(string(raw[loc[2]:loc[3]]))
		end := len(raw)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		sections[v] = string(raw[loc[1]:end])
	}
	if len(sections) != len(History) {
		t.Errorf("docs/permissions.md has %d version sections, History %d", len(sections), len(History))
	}
	row := regexp.MustCompile("(?m)^\\| (added|removed) \\| `([^`]+)` \\| `([^`]+)` \\|")
	for _, r := range History {
		text, ok := sections[r.Version]
		if !ok {
			t.Errorf("docs/permissions.md has no \"## Version %d\" section", r.Version)
			continue
		}
		var want, got []string
		for _, c := range r.Added {
			want = append(want, "added "+c.Policy+" "+c.Action.Action)
		}
		for _, c := range r.Removed {
			want = append(want, "removed "+c.Policy+" "+c.Action.Action)
		}
		for _, m := range row.FindAllStringSubmatch(text, -1) {
			got = append(got, m[1]+" "+m[2]+" "+m[3])
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("docs/permissions.md, version %d, lists\n%s\nwant (| added/removed | `policy` | `action` | why |)\n%s", r.Version, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	if !strings.Contains(string(raw), "`"+TagKey+"`") || !strings.Contains(string(raw), "`PermissionsVersion`") {
		t.Errorf("docs/permissions.md does not name the tag %s and the output PermissionsVersion", TagKey)
	}
}

func TestAllowedAndDiff(t *testing.T) {
	doc := `{"Version":"2012-10-17","Statement":[` +
		`{"Effect":"Allow","Action":["cloudwatch:GetMetricData","ec2:DescribeInstances"],"Resource":"*"},` +
		`{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"},` +
		`{"Effect":"Deny","Action":"iam:*","Resource":"*"},` +
		`{"Effect":"Allow","NotAction":["iam:*"],"Resource":"*"}]}`
	for _, encoded := range []string{doc, strings.ReplaceAll(strings.ReplaceAll(doc, "{", "%7B"), "\"", "%22")} {
		got, err := Allowed(encoded)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{"NotAction:iam:*", "cloudwatch:GetMetricData", "ec2:DescribeInstances", "s3:GetObject"}
		if !slices.Equal(got, want) {
			t.Errorf("Allowed = %v, want %v", got, want)
		}
	}
	if _, err := Allowed(`{"Statement":`); err == nil {
		t.Error("a broken document was read")
	}
	one, err := Allowed(`{"Statement":{"Effect":"Allow","Action":"sqs:ListQueues"}}`)
	if err != nil || !slices.Equal(one, []string{"sqs:ListQueues"}) {
		t.Errorf("single statement: %v %v", one, err)
	}
	missing, extra := Diff([]string{"a:One", "a:Two"}, []string{"A:ONE", "a:Three"})
	if !slices.Equal(missing, []string{"a:Two"}) || !slices.Equal(extra, []string{"a:Three"}) {
		t.Errorf("Diff = %v, %v", missing, extra)
	}
}
