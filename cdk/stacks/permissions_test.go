package stacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"sysdig-aws-connect/internal/permissions"
)

// Every committed template (and the member template the deployer embeds in its StackSet)
// applies the current permissions version: the Sysdig role's policies hold exactly its
// actions, the role carries the version tag, and the output PermissionsVersion names it.
func TestTemplatesApplyTheCurrentPermissionsVersion(t *testing.T) {
	type template struct {
		Outputs   map[string]struct{ Value any }
		Resources map[string]struct {
			Type       string
			Properties map[string]any
		}
	}
	var check func(t *testing.T, raw []byte, nested bool)
	check = func(t *testing.T, raw []byte, nested bool) {
		var tpl template
		if err := json.Unmarshal(raw, &tpl); err != nil {
			t.Fatal(err)
		}
		if v := tpl.Outputs[OutPermissionsVersion].Value; v != permissions.VersionString() {
			t.Errorf("output %s = %v, want %s", OutPermissionsVersion, v, permissions.VersionString())
		}
		role, ok := tpl.Resources["SysdigRole"]
		if !ok {
			t.Fatal("no SysdigRole")
		}
		tags, _ := json.Marshal(role.Properties["Tags"])
		if want := `[{"Key":"` + permissions.TagKey + `","Value":"` + permissions.VersionString() + `"}]`; string(tags) != want {
			t.Errorf("role tags %s, want %s", tags, want)
		}
		seen := 0
		for id, r := range tpl.Resources {
			if r.Type != "AWS::IAM::Policy" {
				continue
			}
			name, _ := r.Properties["PolicyName"].(string)
			if !slices.Contains(permissions.Policies, name) {
				continue
			}
			seen++
			doc, _ := json.Marshal(r.Properties["PolicyDocument"])
			got, err := permissions.Allowed(string(doc))
			if err != nil {
				t.Fatal(err)
			}
			if missing, extra := permissions.Diff(permissions.Names(permissions.Current(name)), got); len(missing)+len(extra) > 0 {
				t.Errorf("%s (%s) lacks %v and has %v beyond permissions version %d", id, name, missing, extra, permissions.Version())
			}
		}
		if seen != len(permissions.Policies) {
			t.Errorf("%d of the role's %d policies found", seen, len(permissions.Policies))
		}
		if nested {
			return
		}
		for _, r := range tpl.Resources {
			if body, ok := r.Properties["TemplateBody"].(string); ok && r.Type == "AWS::CloudFormation::StackSet" {
				t.Run("StackSet member template", func(t *testing.T) { check(t, []byte(body), true) })
			}
		}
	}
	for _, p := range PublishedTemplates {
		if p.Path == OperationsTemplatePath {
			continue // alarms, dashboard, drift check: no Sysdig role
		}
		t.Run(filepath.Base(p.Path), func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("..", "..", p.Path))
			if err != nil {
				t.Fatal(err)
			}
			check(t, raw, false)
		})
	}
}
