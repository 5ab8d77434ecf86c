package stacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const boundaryIf = `{"Fn::If":["HasPermissionsBoundary",{"Ref":"PermissionsBoundaryArn"},{"Ref":"AWS::NoValue"}]}`

// The on-prem resources of the single-account template: the user (as the role: path,
// boundary), its key, the secret with the seed's key names, the AssumeRole policy on
// exactly the role, attached to the user or the existing principal.
func TestOnPremResources(t *testing.T) {
	s := publishedStack(t)
	user := s.resource(t, "OnPremUser")
	equalJSON(t, "user condition", user["Condition"], `"CreateOnPremUser"`)
	equalJSON(t, "user", props(user), `{"Path":{"Ref":"RolePath"},"PermissionsBoundary":`+boundaryIf+`,"Groups":[{"Ref":"OnPremGroup"}]}`)
	// The policy is the group's: Control Tower's CT.IAM.PR.4 refuses a policy on a user.
	group := s.resource(t, "OnPremGroup")
	equalJSON(t, "group", group, `{"Type":"AWS::IAM::Group","Condition":"CreateOnPremUser","Properties":{"Path":{"Ref":"RolePath"}}}`)
	key := s.resource(t, "OnPremAccessKey")
	equalJSON(t, "key", props(key), `{"UserName":{"Ref":"OnPremUser"}}`)
	equalJSON(t, "key condition", key["Condition"], `"CreateOnPremUser"`)
	secret := s.resource(t, "OnPremCredentialsSecret")
	equalJSON(t, "secret condition", secret["Condition"], `"CreateOnPremUser"`)
	equalJSON(t, "secret value", props(secret)["SecretString"], `{"Fn::Join":["",["{\"aws.accessKey\":\"",{"Ref":"OnPremAccessKey"},
		"\",\"aws.secretKey\":\"",{"Fn::GetAtt":["OnPremAccessKey","SecretAccessKey"]},"\"}"]]}`)
	equalJSON(t, "secret key", props(secret)["KmsKeyId"], `{"Fn::If":["HasTokenKmsKey",{"Ref":"ApiTokenKmsKeyArn"},{"Ref":"AWS::NoValue"}]}`)
	pol := s.resource(t, "OnPremAssumeRole")
	equalJSON(t, "policy condition", pol["Condition"], `"AttachOnPremPolicy"`)
	name := `{"Fn::Select":[1,{"Fn::Split":["/",{"Ref":"OnPremPrincipalArn"}]}]}`
	equalJSON(t, "policy", props(pol), `{"PolicyName":"sysdig_onprem_assume_role",
		"PolicyDocument":{"Version":"2012-10-17","Statement":[{"Sid":"AssumeTheSysdigRole","Effect":"Allow","Action":"sts:AssumeRole","Resource":{"Fn::GetAtt":["SysdigRole","Arn"]}}]},
		"Groups":{"Fn::If":["CreateOnPremUser",[{"Ref":"OnPremGroup"}],{"Ref":"AWS::NoValue"}]},
		"Users":{"Fn::If":["AttachToOnPremUser",[`+name+`],{"Ref":"AWS::NoValue"}]},
		"Roles":{"Fn::If":["AttachToOnPremRole",[`+name+`],{"Ref":"AWS::NoValue"}]}}`)
	equalJSON(t, "ready", s.resource(t, "OnPremReady")["Metadata"], `{"OnPremAccess":{
		"AssumeRolePolicy":{"Fn::If":["AttachOnPremPolicy",{"Ref":"OnPremAssumeRole"},""]},
		"CredentialsSecret":{"Fn::If":["CreateOnPremUser",{"Ref":"OnPremCredentialsSecret"},""]}}}`)
	// No output, parameter or description holds a secret key: only the reference above.
	text := canon(s.doc)
	if strings.Count(text, "SecretAccessKey") != 1 {
		t.Errorf("SecretAccessKey appears %d times in the template, want only inside the secret", strings.Count(text, "SecretAccessKey"))
	}

	// Attach or print, by where the principal is (the conditions, evaluated).
	for arn, want := range map[string][3]bool{ // AttachToOnPremRole, AttachToOnPremUser, PrintOnPremPolicy
		"arn:aws:iam::123456789012:role/backend":      {true, false, false},
		"arn:aws:iam::123456789012:user/backend":      {false, true, false},
		"arn:aws:iam::123456789012:role/team/backend": {false, false, true},
		"arn:aws:iam::210987654321:role/backend":      {false, false, true},
		"arn:aws-cn:iam::123456789012:role/backend":   {false, false, true},
	} {
		e := newEvaluator(t, s.doc, map[string]string{ParamAPIToken: "t", ParamSysdigRegion: "custom", ParamSysdigCustomURL: "https://sysdig.example.com",
			ParamOnPremCredentials: OnPremExistingPrincipal, ParamOnPremPrincipalArn: arn})
		got := [3]bool{e.conds[CondAttachToRole], e.conds[CondAttachToUser], e.conds[CondPrintOnPremPolicy]}
		if got != want || e.conds[CondCreateOnPremUser] || !e.conds[CondOnPrem] || e.conds[CondUseReportedAccount] {
			t.Errorf("%s: attach role/user, print = %v, want %v", arn, got, want)
		}
	}
}

// The deployer's user may assume the role in every account of the organization only.
func TestOrgOnPremPolicyCoversTheOrganizationsRoles(t *testing.T) {
	s := publishedOrg(t)
	pol := props(s.resource(t, "OnPremAssumeRole"))
	equalJSON(t, "statement", pol["PolicyDocument"].(map[string]interface{})["Statement"], `[{"Sid":"AssumeTheSysdigRole","Effect":"Allow","Action":"sts:AssumeRole",
		"Resource":{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":iam::*:role",{"Ref":"RolePath"},{"Ref":"RoleName"}]]},
		"Condition":{"StringEquals":{"aws:ResourceOrgID":{"Ref":"OrganizationId"}}}}]`)
	equalJSON(t, "member modes", publishedMember(t).section("Parameters")[ParamOnPremCredentials].(map[string]interface{})["AllowedValues"], `["None","ExistingPrincipal"]`)
	for _, tc := range []struct {
		values map[string]string
		rules  bool
	}{
		{map[string]string{ParamRegistrarTopicArn: "arn:aws:sns:us-east-1:111111111111:t", ParamAPITokenSecretArn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:s-AbCdEf", ParamExternalID: "abc"}, false},
		{map[string]string{ParamRegistrarTopicArn: "arn:aws:sns:us-east-1:111111111111:t", ParamAPITokenSecretArn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:s-AbCdEf", ParamExternalID: "abc", ParamSysdigAwsAccountID: "273107874544"}, true},
		{map[string]string{ParamRegistrarTopicArn: "arn:aws:sns:us-east-1:111111111111:t", ParamAPITokenSecretArn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:s-AbCdEf", ParamExternalID: "abc",
			ParamOnPremCredentials: OnPremExistingPrincipal, ParamOnPremPrincipalArn: "arn:aws:iam::111111111111:user/sysdig"}, true},
	} {
		if ok, rule := newEvaluator(t, publishedMember(t).doc, tc.values).rulesHold(t); ok != tc.rules {
			t.Errorf("member %v: rules hold %v (%s), want %v", tc.values, ok, rule, tc.rules)
		}
	}
}

// The depth-limited encoding is the same JSON, and no line is deeper than the limit.
func TestEncodeTemplateDepthKeepsTheTemplate(t *testing.T) {
	for _, path := range []string{PublishedTemplatePath, OrgTemplatePath} {
		b, err := os.ReadFile(filepath.Join("..", "..", path))
		if err != nil {
			t.Fatal(err)
		}
		var tmpl map[string]interface{}
		if err := json.Unmarshal(b, &tmpl); err != nil {
			t.Fatal(err)
		}
		full, err := EncodeTemplateIndent(tmpl, " ")
		if err != nil {
			t.Fatal(err)
		}
		for _, depth := range []int{2, 3, 4, 6} {
			out, err := EncodeTemplateDepth(tmpl, " ", depth)
			if err != nil {
				t.Fatal(err)
			}
			var back map[string]interface{}
			if err := json.Unmarshal(out, &back); err != nil || canon(back) != canon(tmpl) {
				t.Fatalf("%s depth %d: not the same template (%v)", path, depth, err)
			}
			if len(out) >= len(full) {
				t.Errorf("%s depth %d: %d bytes, no smaller than %d", path, depth, len(out), len(full))
			}
			for _, line := range strings.Split(string(out), "\n") {
				if n := len(line) - len(strings.TrimLeft(line, " ")); n > depth+1 {
					t.Fatalf("%s depth %d: line indented %d: %.80s", path, depth, n, line)
				}
			}
		}
	}
}
