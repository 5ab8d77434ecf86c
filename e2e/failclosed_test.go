package e2e

import (
	"strings"
	"testing"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localrun"
)

// TestRegistrarWithoutAllowListAnswersFailed runs the real bootstrap as the
// Organizations registrar with one allow-list empty: it logs at start which variable
// stops it, and answers each request, direct or through the topic, FAILED naming that
// variable, with no Sysdig call and no CloudFormation call (no stack waits an hour).
func TestRegistrarWithoutAllowListAnswersFailed(t *testing.T) {
	for _, variable := range []string{"ALLOWED_SYSDIG_API_URLS", "ALLOWED_TOKEN_SECRET_IDS"} {
		t.Run(variable, func(t *testing.T) {
			fnEnv := localrun.OrganizationEnv(deployerName)
			fnEnv[variable] = ""
			timeout := orgFunctionTimeout(t)
			env := start(t, localrun.Options{FunctionTimeout: timeout, FunctionEnv: fnEnv})
			const member = "210987654321"
			env.CloudFormation.PutStackInstance(localrun.StackSetName(deployerName), localaws.StackInstance{Account: member, Region: localrun.Region, StackID: stackIDFor(member), DetailedStatus: localaws.InstanceRunning})
			topic := "arn:aws:sns:us-east-1:" + localrun.AccountID + ":sysdig-registrar"
			props := map[string]any{"ServiceToken": topic, "SysdigApiUrl": env.SysdigURL, "ApiTokenSecretId": env.SecretARN, "RoleArn": roleARN(member, "sysdig-role")}
			for _, req := range []request{
				{requestType: "Create", sns: true, stackAccount: member, props: props},
				{requestType: "Delete", sns: true, stackAccount: member, physicalID: "sysdig-provider|v1|" + env.SysdigURL + "|1|" + roleARN(member, "sysdig-role"), props: props},
				{requestType: "Create", resourceType: "Custom::SysdigExternalId", props: map[string]any{"ServiceToken": "x", "SysdigApiUrl": env.SysdigURL, "ApiTokenSecretId": env.SecretARN}},
			} {
				out := send(t, env, req)
				checkAnswer(t, env, out, timeout, "FAILED", variable+" is empty or missing")
			}
			if n := len(env.Sysdig.Requests()); n != 0 {
				t.Fatalf("%d Sysdig calls", n)
			}
			if n := env.CloudFormation.Count("DescribeStackInstance"); n != 0 {
				t.Fatalf("%d CloudFormation calls", n)
			}
			found := false
			for _, line := range env.Logs() {
				found = found || (strings.Contains(line, "cannot start") && strings.Contains(line, `"variable":"`+variable+`"`))
			}
			if !found {
				t.Fatalf("no start-up log line names %s", variable)
			}
		})
	}
}

// TestStrictRoleArnsAndV2RolePath: the real bootstrap refuses, before any Sysdig call, a
// role ARN that hides another ARN in its path, one without "role/", and v2 with a role
// path, saying why.
func TestStrictRoleArnsAndV2RolePath(t *testing.T) {
	timeout := templateTimeout(t)
	env := start(t, localrun.Options{FunctionTimeout: timeout})
	for _, tc := range []struct {
		name   string
		props  map[string]any
		reason string
	}{
		{"an ARN inside the path", providerProps(env, "RoleArn", "arn:aws:iam::"+localrun.AccountID+":role/arn:aws:iam::210987654321:role/x"), "is not an IAM role ARN"},
		{"no slash after role", providerProps(env, "RoleArn", "arn:aws:iam::"+localrun.AccountID+":rolex"), "is not an IAM role ARN"},
		{"v2 with a role path", providerProps(env, "RoleArn", "arn:aws:iam::"+localrun.AccountID+":role/team/sysdig-role", "ProviderApi", "v2"), "the v2 API takes only the role's name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out := send(t, env, request{requestType: "Create", props: tc.props})
			checkAnswer(t, env, out, timeout, "FAILED", tc.reason)
			if n := len(env.Sysdig.Requests()); n != 0 {
				t.Fatalf("%d Sysdig calls", n)
			}
		})
	}
}
