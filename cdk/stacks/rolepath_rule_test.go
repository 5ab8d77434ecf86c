package stacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestV2RolePathRule: every committed template with both ProviderApi and RolePath
// refuses v2 with a role path (Sysdig's v2 API would assume the role without it) and
// accepts the rest. The committed templates are the code's (the drift test says so).
func TestV2RolePathRule(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join("..", "..", "templates", "*.json"))
	if err != nil || len(paths) < 3 {
		t.Fatalf("templates: %v %v", paths, err)
	}
	for _, path := range paths {
		if strings.HasSuffix(path, filepath.Base(OperationsTemplatePath)) {
			continue // alarms, dashboard, drift check: no role, no registration
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var doc map[string]interface{}
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			params, _ := doc["Parameters"].(map[string]interface{})
			if params[ParamProviderAPI] == nil || params[ParamRolePath] == nil {
				t.Fatalf("no %s or %s parameter: the rule's test expects both in every template", ParamProviderAPI, ParamRolePath)
			}
			rules, _ := doc["Rules"].(map[string]interface{})
			if rules[RuleV2RootRolePath] == nil {
				t.Fatalf("no %s rule", RuleV2RootRolePath)
			}
			// The rule on its own, so that the other rules' parameters need no values.
			only := map[string]interface{}{
				"Parameters": params,
				"Rules":      map[string]interface{}{RuleV2RootRolePath: rules[RuleV2RootRolePath]},
				"Resources":  map[string]interface{}{"Nothing": map[string]interface{}{"Type": "AWS::CloudFormation::WaitConditionHandle"}},
			}
			for _, tc := range []struct {
				api, path string
				ok        bool
			}{
				{"v1", "/", true},
				{"v1", "/team/sysdig/", true},
				{"v2", "/", true},
				{"", "", true}, // the defaults: v1 and /
				{"v2", "/team/", false},
			} {
				values := map[string]string{}
				if tc.api != "" {
					values[ParamProviderAPI] = tc.api
				}
				if tc.path != "" {
					values[ParamRolePath] = tc.path
				}
				ok, rule := newEvaluator(t, only, values).rulesHold(t)
				if ok != tc.ok {
					t.Errorf("ProviderApi %q RolePath %q: rules hold = %v (%s), want %v", tc.api, tc.path, ok, rule, tc.ok)
				}
			}
		})
	}
}
