package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"

	"sysdig-aws-connect/internal/cfnsim"
)

// AWS Control Tower's proactive controls are cfn-guard rules run on a stack's resources
// as CloudFormation is about to create them. This test runs Control Tower's own rule set
// (bundled with cfn-guard in the pinned npm package @cdklabs/cdk-validator-cfnguard) on
// each committed template as deployed: parameters set, conditions decided, every Fn::If
// resolved (internal/cfnsim). With the hardening parameters nothing is found, in any
// template; the findings that remain without them are exactly the documented ones
// (docs/control-tower.md).

// guardPackage is where `make tools` (npm ci) puts the package.
const guardPackage = "../../node_modules/@cdklabs/cdk-validator-cfnguard"

// hardened are the options docs/control-tower.md tells a Control Tower organization to set.
var hardened = map[string]string{
	ParamLogKmsKeyArn:     "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-0000-4000-8000-0123456789ab",
	ParamLogRetentionDays: "365",
	ParamSubnetIDs:        "subnet-0123456789abcdef0,subnet-0123456789abcdef1",
	ParamSecurityGroupIDs: "sg-0123456789abcdef0",
	ParamAlarmTopicArn:    "arn:aws:sns:us-east-1:123456789012:ops-alarms",
}

// hardenedFunction is hardened without the alarm routing (the operations stack receives
// the deployer's route as AlarmAction).
var hardenedFunction = map[string]string{ParamLogKmsKeyArn: hardened[ParamLogKmsKeyArn], ParamLogRetentionDays: hardened[ParamLogRetentionDays],
	ParamSubnetIDs: hardened[ParamSubnetIDs], ParamSecurityGroupIDs: hardened[ParamSecurityGroupIDs]}

func withValues(base map[string]string, more ...map[string]string) map[string]string {
	out := map[string]string{}
	for _, m := range append([]map[string]string{base}, more...) {
		for k, v := range m {
			out[k] = v
		}
	}
	return out
}

func TestControlTowerProactiveControls(t *testing.T) {
	guard, rules := guardTool(t)
	single := map[string]string{ParamAPITokenSecret: "sysdig/api-token", ParamCodeBucketPrefix: "acme-sysdig"}
	org := withValues(single, map[string]string{ParamOrganizationID: "o-a1b2c3d4e5", ParamOrganizationalUnitIDs: "r-ab12"})
	onPrem := map[string]string{ParamOnPremCredentials: OnPremCreateUser, ParamSysdigRegion: CustomEndpointKey, ParamSysdigCustomURL: "https://sysdig.example.com"}
	member := map[string]string{ParamRegistrarTopicArn: "arn:aws:sns:us-east-1:111111111111:registrar", ParamAPITokenSecretArn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:sysdig-AbCdEf",
		ParamExternalID: "ext-id", ParamSysdigAwsAccountID: "273107874544"}
	captureFindings := []string{"CT.S3.PR.10 CaptureBucket", "CT.S3.PR.11 CaptureBucket", "CT.S3.PR.2 CaptureBucket", "CT.S3.PR.4 CaptureBucket", "CT.S3.PR.9 CaptureBucket"}
	tests := []struct {
		name, template string
		values         map[string]string
		want           []string
	}{
		{"single account, hardened", PublishedTemplatePath, withValues(single, hardened), nil},
		{"single account, hardened, on-prem CreateUser", PublishedTemplatePath, withValues(single, hardened, onPrem), nil},
		{"single account, hardened, with the capture bucket", PublishedTemplatePath, withValues(single, hardened, map[string]string{ParamCreateCaptureBucket: "true"}), captureFindings},
		{"deployer, hardened", OrgTemplatePath, withValues(org, hardened), nil},
		{"deployer, hardened, on-prem CreateUser, alarms by e-mail", OrgTemplatePath, withValues(org, hardened, onPrem, map[string]string{ParamAlarmTopicArn: "", ParamAlarmEmail: "ops@example.com"}), nil},
		{"member", MemberTemplatePath, member, nil},
		{"member with a capture bucket", MemberTemplatePath, withValues(member, map[string]string{ParamCaptureBucketName: "captures"}), nil},
		{"deployer's alarms, dashboard and drift check, hardened", OperationsTemplatePath, withValues(opsValues, hardenedFunction), nil},
		{"deployer's alarms and dashboard, no drift check", OperationsTemplatePath, withValues(opsValues, map[string]string{ParamDriftCheckSchedule: "none"}), nil},
		{"deployer's drift check, defaults", OperationsTemplatePath, opsValues, []string{"CT.CLOUDWATCH.PR.2 DriftCheckLogGroup", "CT.CLOUDWATCH.PR.3 DriftCheckLogGroup", "CT.LAMBDA.PR.3 DriftCheckFunction"}},
		// Without the options: what each of them fixes.
		{"single account, defaults", PublishedTemplatePath, single, []string{"CT.CLOUDWATCH.PR.2 ConnectorLogGroup", "CT.CLOUDWATCH.PR.3 ConnectorLogGroup", "CT.LAMBDA.PR.3 ConnectorFunction"}},
		{"deployer, defaults", OrgTemplatePath, org, []string{"CT.CLOUDWATCH.PR.2 RegistrarLogGroup", "CT.CLOUDWATCH.PR.3 RegistrarLogGroup", "CT.LAMBDA.PR.3 RegistrarFunction"}},
	}
	// One cfn-guard run for every scenario: it loads its 300-odd rules once.
	dir := t.TempDir()
	var data []string
	for i, tt := range tests {
		data = append(data, deployedTemplate(t, dir, fmt.Sprintf("scenario-%d.json", i), tt.template, tt.values))
	}
	found := guardFindings(t, guard, rules, data)
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := found[data[i]]
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("Control Tower findings:\n got %q\nwant %q", got, tt.want)
			}
		})
	}
}

// guardTool finds the cfn-guard binary for this machine and Control Tower's rules.
func guardTool(t *testing.T) (guard, rules string) {
	t.Helper()
	arch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[runtime.GOARCH]
	platform := map[string]string{"linux": "ubuntu", "darwin": "macos"}[runtime.GOOS]
	guard = filepath.Join(guardPackage, "bin", platform, arch, "cfn-guard")
	rules = filepath.Join(guardPackage, "rules", "control-tower", "cfn-guard")
	for _, p := range []string{guard, rules} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%v: run make tools (package.json pins @cdklabs/cdk-validator-cfnguard)", err)
		}
	}
	return guard, rules
}

var controlID = regexp.MustCompile(`\[(CT\.[A-Z0-9]+\.PR\.[0-9]+)\]`)

// deployedTemplate writes the committed template as deployed with values (cfnsim) to
// dir/name and returns its path.
func deployedTemplate(t *testing.T, dir, name, template string, values map[string]string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", template))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := cfnsim.ParseTemplate(b)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cfnsim.Analyze(tpl, values, cfnsim.Pseudo{AccountID: "123456789012", Region: "us-east-1", StackName: "sysdig"})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Rules(); err != nil {
		t.Fatalf("%s: the template's rules refuse these values: %v", template, err)
	}
	deployed, err := a.Deployed()
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(deployed)
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, out, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// guardFindings runs cfn-guard with every Control Tower rule on the data files and
// returns, by file, "<control> <logical id>" for each finding, sorted.
func guardFindings(t *testing.T, guard, rules string, data []string) map[string][]string {
	t.Helper()
	args := []string{"validate", "--rules", rules, "--output-format", "json", "--show-summary", "none", "--structured"}
	for _, d := range data {
		args = append(args, "--data", d)
	}
	stdout, err := exec.Command(guard, args...).Output()
	// 19: some rule is not compliant; 0: none.
	if ee, ok := err.(*exec.ExitError); err != nil && (!ok || ee.ExitCode() != 19) {
		t.Fatalf("cfn-guard: %v\n%s", err, stdout)
	}
	var results []map[string]interface{}
	if err := json.Unmarshal(stdout, &results); err != nil {
		t.Fatalf("cfn-guard output: %v\n%.2000s", err, stdout)
	}
	if len(results) != len(data) {
		t.Fatalf("cfn-guard answered for %d files, want %d", len(results), len(data))
	}
	out := map[string][]string{}
	for _, r := range results {
		name, _ := r["name"].(string)
		found := map[string]bool{}
		var walk func(v interface{}, control string)
		walk = func(v interface{}, control string) {
			switch x := v.(type) {
			case map[string]interface{}:
				if msgs, ok := x["messages"].(map[string]interface{}); ok {
					if m, _ := msgs["custom_message"].(string); controlID.MatchString(m) {
						control = controlID.FindStringSubmatch(m)[1]
					}
				}
				if p, _ := x["path"].(string); control != "" && strings.HasPrefix(p, "/Resources/") {
					found[control+" "+strings.Split(p, "/")[2]] = true
				}
				for _, e := range x {
					walk(e, control)
				}
			case []interface{}:
				for _, e := range x {
					walk(e, control)
				}
			}
		}
		walk(r["not_compliant"], "")
		list := []string{}
		for f := range found {
			list = append(list, f)
		}
		sort.Strings(list)
		out[name] = list
	}
	for _, d := range data {
		if _, ok := out[d]; !ok {
			t.Fatalf("cfn-guard did not report on %s (names: %v)", d, out)
		}
	}
	return out
}
