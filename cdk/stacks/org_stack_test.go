package stacks

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"sysdig-aws-connect/cdk/launch"
)

// The published deployer and the member template (with the AwsSolutions checks) are
// synthesized once and shared by the tests that only read them.
var (
	orgOnce, memberOnce sync.Once
	orgPublished        *synthesized
	orgStack            *OrgStack
	memberPublished     *synthesized
	memberStack         *MemberStack
)

// newTestApp is an app whose cloud assembly goes to outdir (empty: a directory of this
// test; shared stacks use one under publishedOutdir, which outlives the test).
func newTestApp(t *testing.T, outdir string, publishable bool) awscdk.App {
	t.Helper()
	if outdir == "" {
		outdir = t.TempDir()
	}
	ctx := map[string]interface{}{}
	if publishable {
		ctx = PublishedContext
	}
	return awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir), Context: &ctx})
}

func sharedOutdir(t *testing.T, name string) string {
	t.Helper()
	dir := filepath.Join(publishedOutdir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func withNag(app awscdk.App) {
	awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
}

// synthOrg builds the deployer (with the AwsSolutions checks).
func synthOrg(t *testing.T, outdir string, publishable bool, tags map[string]string) (*OrgStack, *synthesized) {
	t.Helper()
	app := newTestApp(t, outdir, publishable)
	props := &OrgStackProps{Publishable: publishable, Tags: tags}
	if !publishable {
		props.AssetDir = placeholderAssetDir(t)
	}
	s, err := NewOrgStack(app, "OrgTest", props)
	if err != nil {
		t.Fatal(err)
	}
	ApplyTags(s.Stack, tags)
	withNag(app)
	tmpl := assertions.Template_FromStack(s.Stack, nil)
	return s, &synthesized{tmpl: tmpl, doc: *tmpl.ToJSON()}
}

func publishedOrg(t *testing.T) *synthesized {
	t.Helper()
	orgOnce.Do(func() { orgStack, orgPublished = synthOrg(t, sharedOutdir(t, "org"), true, nil) })
	if orgPublished == nil {
		t.Fatal("synthesis failed in an earlier test")
	}
	return orgPublished
}

func publishedMember(t *testing.T) *synthesized {
	t.Helper()
	memberOnce.Do(func() {
		app := newTestApp(t, sharedOutdir(t, "member"), true)
		memberStack = NewMemberStack(app, "MemberTest", &awscdk.StackProps{})
		withNag(app)
		tmpl := assertions.Template_FromStack(memberStack.Stack, nil)
		memberPublished = &synthesized{tmpl: tmpl, doc: *tmpl.ToJSON()}
	})
	if memberPublished == nil {
		t.Fatal("synthesis failed in an earlier test")
	}
	return memberPublished
}

func TestOrgStackSetDeploysTheMemberTemplateOnceInEveryTargetedAccount(t *testing.T) {
	s := publishedOrg(t)
	ss := s.resource(t, "MemberStackSet")
	equalJSON(t, "type", ss["Type"], `"AWS::CloudFormation::StackSet"`)
	if _, ok := ss["Condition"]; ok {
		t.Error("the StackSet must be unconditional")
	}
	p := props(ss)
	for what, want := range map[string]string{
		"PermissionModel":      `"SERVICE_MANAGED"`,
		"AutoDeployment":       `{"Enabled":true,"RetainStacksOnAccountRemoval":false}`,
		"ManagedExecution":     `{"Active":true}`,
		"Capabilities":         `["CAPABILITY_NAMED_IAM"]`,
		"CallAs":               `{"Ref":"CallAs"}`,
		"StackSetName":         `{"Fn::Sub":"${AWS::StackName}-members"}`,
		"OperationPreferences": `{"MaxConcurrentPercentage":{"Ref":"MaxConcurrentPercentage"},"FailureTolerancePercentage":{"Ref":"FailureTolerancePercentage"},"ConcurrencyMode":{"Ref":"ConcurrencyMode"},"RegionConcurrencyType":{"Ref":"RegionConcurrencyType"}}`,
		// One group, this stack's region only, the OUs given.
		"StackInstancesGroup": `[{"DeploymentTargets":{"OrganizationalUnitIds":{"Ref":"OrganizationalUnitIds"}},"Regions":[{"Ref":"AWS::Region"}]}]`,
	} {
		equalJSON(t, what, p[what], want)
	}
	if _, ok := p["TemplateBody"]; ok {
		t.Error("the member template is read from S3 (TemplateURL), not embedded")
	}
	equalJSON(t, "the member template beside the code", p["TemplateURL"],
		`{"Fn::Sub":"https://${CodeBucketPrefix}-${AWS::Region}.s3.${AWS::Region}.${AWS::URLSuffix}/${MemberTemplateKey}"}`)
	equalJSON(t, "MemberTemplateKey default", s.section("Parameters")[ParamMemberTemplateKey].(map[string]interface{})["Default"], `"`+launch.DefaultMemberTemplateKey+`"`)
	if _, ok := p["Tags"]; ok {
		t.Error("without tags context the StackSet has no Tags (stack tags given at launch propagate instead)")
	}
	equalJSON(t, "ready before the first member publishes", ss["DependsOn"],
		`["OnPremReady","RegistrarAsyncInvokeConfig","RegistrarFunction","RegistrarInvokePermission","RegistrarSubscription","RegistrarTopicPolicy"]`)

	params := s.section("Parameters")
	equalJSON(t, "CallAs values", params[ParamCallAs].(map[string]interface{})["AllowedValues"], `["SELF","DELEGATED_ADMIN"]`)
	equalJSON(t, "OU list", params[ParamOrganizationalUnitIDs].(map[string]interface{})["Type"], `"CommaDelimitedList"`)
	if _, ok := params[ParamOrganizationalUnitIDs].(map[string]interface{})["Default"]; ok {
		t.Error("the OU ids (or the root id) must be given: no default")
	}
	equalJSON(t, "region concurrency", params[ParamRegionConcurrencyType].(map[string]interface{})["AllowedValues"], `["PARALLEL","SEQUENTIAL"]`)
	for name, cases := range map[string]map[string]bool{
		ParamOrganizationID:        {"o-a1b2c3d4e5": true, "o-abc": false, "r-ab12": false, "O-A1B2C3D4E5": false},
		ParamOrganizationalUnitIDs: {"r-ab12": true, "ou-ab12-cd34ef56": true, "o-a1b2c3d4e5": false, "ou-ab12": false},
	} {
		re := regexp.MustCompile(params[name].(map[string]interface{})["AllowedPattern"].(string))
		for v, ok := range cases {
			if re.MatchString(v) != ok {
				t.Errorf("%s pattern on %q: got %v, want %v", name, v, !ok, ok)
			}
		}
	}

	// What the StackSet passes: every member parameter without a default, and nothing
	// the member template does not declare.
	member := publishedMember(t).doc
	memberParams := member["Parameters"].(map[string]interface{})
	passed := map[string]string{}
	for _, e := range p["Parameters"].([]interface{}) {
		em := e.(map[string]interface{})
		if fi, ok := em["Fn::If"].([]interface{}); ok {
			// Either an optional parameter dropped (not emptied), or one of two parameters:
			// the on-prem principal or Sysdig's account.
			if other, ok := fi[2].(map[string]interface{}); ok && other["ParameterKey"] != nil {
				equalJSON(t, "on-prem or SaaS", fi[0], `"`+CondOnPrem+`"`)
				passed[other["ParameterKey"].(string)] = canon(other["ParameterValue"])
			} else {
				equalJSON(t, "an optional parameter is dropped, not emptied", fi[2], `{"Ref":"AWS::NoValue"}`)
			}
			em = fi[1].(map[string]interface{})
		}
		passed[em["ParameterKey"].(string)] = canon(em["ParameterValue"])
	}
	for name, pm := range memberParams {
		if _, hasDefault := pm.(map[string]interface{})["Default"]; !hasDefault && passed[name] == "" {
			t.Errorf("member parameter %s has no default and the StackSet does not pass it", name)
		}
	}
	for name := range passed {
		if _, ok := memberParams[name]; !ok {
			t.Errorf("the StackSet passes %s, which the member template does not declare", name)
		}
	}
	for name, want := range map[string]string{
		ParamRegistrarTopicArn:      `{"Ref":"RegistrarTopic"}`,
		ParamExternalID:             `{"Fn::If":["FetchExternalId",{"Fn::GetAtt":["SysdigExternalId","ExternalId"]},{"Ref":"ExternalId"}]}`,
		ParamSysdigAPIURL:           `{"Fn::If":["UseCustomEndpoint",{"Ref":"SysdigCustomUrl"},{"Fn::FindInMap":["SysdigRegionMap",{"Ref":"SysdigRegion"},"ApiUrl"]}]}`,
		ParamRoleName:               `{"Ref":"RoleName"}`,
		ParamRolePath:               `{"Ref":"RolePath"}`,
		ParamPermissionsBoundaryArn: `{"Ref":"PermissionsBoundaryArn"}`,
		ParamProviderAliasPrefix:    `{"Ref":"ProviderAliasPrefix"}`,
		ParamOnPremCredentials:      `{"Fn::If":["OnPremPrincipal","ExistingPrincipal","None"]}`,
		ParamOnPremPrincipalArn:     `{"Fn::If":["CreateOnPremUser",{"Fn::GetAtt":["OnPremUser","Arn"]},{"Ref":"OnPremPrincipalArn"}]}`,
		ParamSysdigAwsAccountID:     `{"Fn::If":["UseReportedSysdigAccount",{"Fn::GetAtt":["SysdigExternalId","SysdigAwsAccountId"]},{"Ref":"SysdigAwsAccountId"}]}`,
	} {
		if passed[name] != canon(parse(t, want)) {
			t.Errorf("StackSet parameter %s = %s, want %s", name, passed[name], want)
		}
	}
	if !strings.Contains(passed[ParamAPITokenSecretArn], `"Ref":"ApiTokenSecretResource"`) {
		t.Errorf("members get the token secret's ARN: %s", passed[ParamAPITokenSecretArn])
	}
}

// TestOrgCdkDeployReadsTheCommittedMemberTemplateFromAnAsset: in cdk deploy mode the
// StackSet's TemplateURL is a CDK file asset holding exactly the committed member
// template (the published deployer reads the same file from the code bucket).
func TestOrgCdkDeployReadsTheCommittedMemberTemplateFromAnAsset(t *testing.T) {
	committed, err := os.ReadFile(filepath.Join("..", "..", MemberTemplatePath))
	if err != nil {
		t.Fatalf("%v (run make templates)", err)
	}
	outdir := t.TempDir()
	app := newTestApp(t, outdir, false)
	dir := t.TempDir()
	s, err := NewOrgStack(app, "OrgAssetTest", &OrgStackProps{AssetDir: placeholderAssetDir(t), MemberTemplateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	doc := *assertions.Template_FromStack(s.Stack, nil).ToJSON()
	url := canon(props(doc["Resources"].(map[string]interface{})["MemberStackSet"].(map[string]interface{}))["TemplateURL"])
	if !strings.Contains(url, "cdk-hnb659fds-assets") || !strings.Contains(url, ".json") {
		t.Errorf("TemplateURL %s is not a CDK file asset", url)
	}
	written, err := os.ReadFile(filepath.Join(dir, filepath.Base(MemberTemplatePath)))
	if err != nil {
		t.Fatal(err)
	}
	if string(written) != string(committed) {
		t.Errorf("the asset is not the committed %s (run make templates)", MemberTemplatePath)
	}
	// The nested operations stack too.
	opsURL := canon(props(doc["Resources"].(map[string]interface{})["Operations"].(map[string]interface{}))["TemplateURL"])
	if !strings.Contains(opsURL, "cdk-hnb659fds-assets") {
		t.Errorf("the operations TemplateURL %s is not a CDK file asset", opsURL)
	}
	committedOps, _ := os.ReadFile(filepath.Join("..", "..", OperationsTemplatePath))
	if writtenOps, err := os.ReadFile(filepath.Join(dir, filepath.Base(OperationsTemplatePath))); err != nil || string(writtenOps) != string(committedOps) {
		t.Errorf("the operations asset is not the committed %s (run make templates): %v", OperationsTemplatePath, err)
	}
	if _, ok := doc["Parameters"].(map[string]interface{})[ParamMemberTemplateKey]; ok {
		t.Error("cdk deploy mode has no MemberTemplateKey parameter")
	}
	// The drift check runs the registrar's asset (no code signing under cdk deploy).
	res := doc["Resources"].(map[string]interface{})
	code := props(res["RegistrarFunction"].(map[string]interface{}))["Code"].(map[string]interface{})
	passed := props(res["Operations"].(map[string]interface{}))["Parameters"].(map[string]interface{})
	equalJSON(t, "the drift check's code", []interface{}{passed[ParamOpsCodeBucket], passed[ParamCodeKey], passed[ParamCodeSigningConfigArn]},
		canon([]interface{}{code["S3Bucket"], code["S3Key"], ""}))
}

func TestOrgRegistrarTopicOnlyThisOrganizationPublishesOverTLS(t *testing.T) {
	s := publishedOrg(t)
	equalJSON(t, "topic", props(s.resource(t, "RegistrarTopic")), `{"DisplayName":"sysdig-aws-connect registrar"}`)
	equalJSON(t, "topic policy", props(s.resource(t, "RegistrarTopicPolicy")), `{"Topics":[{"Ref":"RegistrarTopic"}],"PolicyDocument":{"Version":"2012-10-17","Statement":[
		{"Sid":"OrganizationPublishes","Effect":"Allow","Principal":{"AWS":"*"},"Action":"sns:Publish","Resource":{"Ref":"RegistrarTopic"},
		 "Condition":{"StringEquals":{"aws:PrincipalOrgID":{"Ref":"OrganizationId"}}}},
		{"Sid":"TLSOnly","Effect":"Deny","Principal":"*","Action":"sns:Publish","Resource":{"Ref":"RegistrarTopic"},
		 "Condition":{"Bool":{"aws:SecureTransport":"false"}}}]}}`)
	equalJSON(t, "subscription", props(s.resource(t, "RegistrarSubscription")),
		`{"Protocol":"lambda","Endpoint":{"Fn::GetAtt":["RegistrarFunction","Arn"]},"TopicArn":{"Ref":"RegistrarTopic"}}`)
	equalJSON(t, "subscription waits for the permission", s.resource(t, "RegistrarSubscription")["DependsOn"], `["RegistrarInvokePermission"]`)
	equalJSON(t, "invoke permission", props(s.resource(t, "RegistrarInvokePermission")),
		`{"Action":"lambda:InvokeFunction","FunctionName":{"Fn::GetAtt":["RegistrarFunction","Arn"]},"Principal":"sns.amazonaws.com","SourceArn":{"Ref":"RegistrarTopic"}}`)
	n := 0
	for _, r := range s.section("Resources") {
		if t := r.(map[string]interface{})["Type"]; t == "AWS::Lambda::Permission" || t == "AWS::SNS::Subscription" || t == "AWS::SNS::Topic" {
			n++
		}
	}
	// Besides the alarm topic (alarms.go), which nothing outside the account publishes to.
	if n != 4 {
		t.Errorf("%d topics, subscriptions and permissions; want exactly one of each and the alarm topic", n)
	}
}

func TestOrgRegistrarIsBoundedAndKeepsThrottledRequests(t *testing.T) {
	s := publishedOrg(t)
	fn := props(s.resource(t, "RegistrarFunction"))
	equalJSON(t, "reserved concurrency", fn["ReservedConcurrentExecutions"], `{"Ref":"RegistrarConcurrency"}`)
	equalJSON(t, "same function", fn["Runtime"], `"provided.al2023"`)
	equalJSON(t, "timeout", fn["Timeout"], `300`)
	// Members name the Sysdig URL and the secret in their requests: the registrar sends
	// the token only to this stack's endpoint, read from this stack's secret (by the id
	// this account's resources use and by the ARN members receive).
	equalJSON(t, "registrar environment", fn["Environment"], `{"Variables":{
		"ALLOWED_SYSDIG_API_URLS":{"Fn::If":["UseCustomEndpoint",{"Ref":"SysdigCustomUrl"},{"Fn::FindInMap":["SysdigRegionMap",{"Ref":"SysdigRegion"},"ApiUrl"]}]},
		"ALLOWED_TOKEN_SECRET_IDS":{"Fn::Join":[",",[
			{"Fn::If":["CreateTokenSecret",{"Ref":"ApiTokenSecretResource"},{"Ref":"ApiTokenSecret"}]},
			{"Fn::If":["CreateTokenSecret",{"Ref":"ApiTokenSecretResource"},{"Fn::If":["TokenSecretIsArn",{"Ref":"ApiTokenSecret"},
				{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":secretsmanager:",{"Ref":"AWS::Region"},":",{"Ref":"AWS::AccountId"},":secret:",{"Ref":"ApiTokenSecret"}]]}]}]}]]},
		"ALLOW_SKIP_TLS_VERIFY":{"Ref":"SkipTlsVerify"},
		"CONCURRENT_INSTANCES":{"Ref":"RegistrarConcurrency"},
		"DEPLOYER_STACK_ID":{"Ref":"AWS::StackId"},"IDEMPOTENCY_TABLE":{"Ref":"IdempotencyTable"},"REGISTRY_TABLE":{"Ref":"RegistryTable"},"STACKSET_CALL_AS":{"Ref":"CallAs"},"STACKSET_NAME":{"Fn::Sub":"${AWS::StackName}-members"}}}`)
	rc := s.section("Parameters")[ParamRegistrarConcurrency].(map[string]interface{})
	equalJSON(t, "concurrency default", rc["Default"], `5`)
	equalJSON(t, "async invoke", props(s.resource(t, "RegistrarAsyncInvokeConfig")),
		`{"FunctionName":{"Ref":"RegistrarFunction"},"MaximumEventAgeInSeconds":3240,"MaximumRetryAttempts":2,"Qualifier":"$LATEST",
		  "DestinationConfig":{"OnFailure":{"Destination":{"Fn::GetAtt":["RegistrarDeadLetterQueue","Arn"]}}}}`)
	// A queued event still answers before CloudFormation stops waiting: its age, the
	// function's whole run and the delivery margin fit in every ServiceTimeout.
	if OrgMaxEventAgeSeconds+FunctionTimeoutSeconds+AnswerDeliverySeconds > OrgServiceTimeoutSeconds || OrgServiceTimeoutSeconds > 3600 {
		t.Errorf("max event age %d s + timeout %d s + 60 s exceeds ServiceTimeout %d s (at most 3600)", OrgMaxEventAgeSeconds, FunctionTimeoutSeconds, OrgServiceTimeoutSeconds)
	}
	for _, id := range []string{"SysdigExternalId", "SysdigProvider"} {
		equalJSON(t, id+" ServiceTimeout", props(s.resource(t, id))["ServiceTimeout"], `"3600"`)
		equalJSON(t, id+" ServiceToken", props(s.resource(t, id))["ServiceToken"], `{"Fn::GetAtt":["RegistrarFunction","Arn"]}`)
	}
	equalJSON(t, "member ServiceTimeout", props(publishedMember(t).resource(t, "SysdigProvider"))["ServiceTimeout"], `"3600"`)
}

// The registrar authenticates requests through its topic: it may describe the stack
// instances of its own StackSet, and nothing else of CloudFormation.
func TestOrgRegistrarAuthenticatesMemberRequests(t *testing.T) {
	s := publishedOrg(t)
	statements := props(s.resource(t, "RegistrarRole"))["Policies"].([]interface{})[0].(map[string]interface{})["PolicyDocument"].(map[string]interface{})["Statement"].([]interface{})
	var auth []interface{}
	for _, st := range statements {
		if strings.Contains(canon(st), "cloudformation:") {
			auth = append(auth, st)
		}
	}
	if len(auth) != 1 {
		t.Fatalf("%d statements grant CloudFormation actions, want 1: %s", len(auth), canon(auth))
	}
	equalJSON(t, "DescribeStackInstance on its own StackSet", auth[0], `{"Sid":"AuthenticateMemberRequests","Effect":"Allow","Action":"cloudformation:DescribeStackInstance",
		"Resource":{"Fn::Sub":"arn:${AWS::Partition}:cloudformation:${AWS::Region}:*:stackset/${AWS::StackName}-members:*"}}`)
	// A delegated administrator also needs to read who the delegated administrators are.
	var orgs []interface{}
	for _, st := range statements {
		if strings.Contains(canon(st), "organizations:") {
			orgs = append(orgs, st)
		}
	}
	if len(orgs) != 1 {
		t.Fatalf("%d statements grant Organizations actions, want 1: %s", len(orgs), canon(orgs))
	}
	equalJSON(t, "ListDelegatedAdministrators only as a delegated administrator", orgs[0], `{"Fn::If":["DelegatedAdmin",
		{"Sid":"ActAsDelegatedAdministrator","Effect":"Allow","Action":"organizations:ListDelegatedAdministrators","Resource":"*"},{"Ref":"AWS::NoValue"}]}`)
	equalJSON(t, "condition", s.section("Conditions")[CondDelegatedAdmin], `{"Fn::Equals":[{"Ref":"CallAs"},"DELEGATED_ADMIN"]}`)
	// The StackSet the registrar asks about is the one this stack creates.
	equalJSON(t, "same StackSet", props(s.resource(t, "MemberStackSet"))["StackSetName"],
		canon(props(s.resource(t, "RegistrarFunction"))["Environment"].(map[string]interface{})["Variables"].(map[string]interface{})[EnvStackSetName]))
	equalJSON(t, "CallAs", props(s.resource(t, "MemberStackSet"))["CallAs"], `{"Ref":"CallAs"}`)
	// The one wildcard is the StackSet id CloudFormation generates, suppressed for that resource only.
	md := s.resource(t, "RegistrarRole")["Metadata"].(map[string]interface{})["cdk_nag"].(map[string]interface{})["rules_to_suppress"].([]interface{})
	if len(md) != 1 || fmt.Sprint(md[0].(map[string]interface{})["applies_to"]) != "[Resource::arn:<AWS::Partition>:cloudformation:<AWS::Region>:*:stackset/<AWS::StackName>-members:* Resource::*]" {
		t.Errorf("RegistrarRole suppressions: %s", canon(md))
	}
}

func TestOrgTokenSecretIsReadableOnlyByTheRegistrar(t *testing.T) {
	s := publishedOrg(t)
	pol := s.resource(t, "ApiTokenSecretPolicy")
	equalJSON(t, "condition", pol["Condition"], `"CreateTokenSecret"`)
	equalJSON(t, "resource policy", props(pol), `{"SecretId":{"Ref":"ApiTokenSecretResource"},"BlockPublicPolicy":true,"ResourcePolicy":{"Version":"2012-10-17","Statement":[
		{"Sid":"OnlyTheRegistrarReadsTheToken","Effect":"Deny","Principal":{"AWS":"*"},"Action":"secretsmanager:GetSecretValue","Resource":"*",
		 "Condition":{"ArnNotEquals":{"aws:PrincipalArn":{"Fn::If":["DriftCheckOn",[{"Fn::GetAtt":["RegistrarRole","Arn"]},{"Fn::GetAtt":["Operations","Outputs.DriftCheckRoleArn"]}],{"Fn::GetAtt":["RegistrarRole","Arn"]}]}}}}]}}`)
	// Administrators keep managing the secret: only reading the value is denied.
	if strings.Contains(canon(props(pol)), `secretsmanager:*`) || strings.Contains(canon(props(pol)), `"Action":"*"`) {
		t.Error("the resource policy must deny only GetSecretValue")
	}
	equalJSON(t, "secret", s.resource(t, "ApiTokenSecretResource")["Condition"], `"CreateTokenSecret"`)

	role := props(s.resource(t, "RegistrarRole"))
	partialArn := `{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":secretsmanager:",{"Ref":"AWS::Region"},":",{"Ref":"AWS::AccountId"},":secret:",{"Ref":"ApiTokenSecret"},"-??????"]]}`
	statements := role["Policies"].([]interface{})[0].(map[string]interface{})["PolicyDocument"].(map[string]interface{})["Statement"].([]interface{})
	equalJSON(t, "registrar reads only the token secret", statements[1], `{"Sid":"ReadApiToken","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":
		{"Fn::If":["CreateTokenSecret",[{"Ref":"ApiTokenSecretResource"}],
			{"Fn::If":["TokenSecretIsArn",[{"Ref":"ApiTokenSecret"},{"Fn::Join":["",[{"Ref":"ApiTokenSecret"},"-??????"]]}],[`+partialArn+`]]}]}}`)
	// Nothing else in the deployer or the member template mentions reading secrets.
	for name, doc := range map[string]map[string]interface{}{"deployer": s.doc, "member": publishedMember(t).doc} {
		for id, r := range doc["Resources"].(map[string]interface{}) {
			// The drift check reads the same secret (drift_check_test.go checks its grant).
			if id != "RegistrarRole" && id != "DriftCheckRole" && id != "ApiTokenSecretPolicy" && strings.Contains(canon(r), "GetSecretValue") {
				t.Errorf("%s: %s grants or mentions GetSecretValue", name, id)
			}
		}
	}
}

func TestOrgManagementAccountIsConnectedOnlyOnRequest(t *testing.T) {
	s := publishedOrg(t)
	for id, cond := range map[string]string{
		"SysdigRole": CondConnectManagement, "SysdigCloudWatchPolicy": CondConnectManagement, "SysdigPoliciesReady": CondConnectManagement,
		"SysdigProvider": CondConnectManagement, "SysdigS3Policy": CondConnectManagementCapture,
	} {
		equalJSON(t, id+" condition", s.resource(t, id)["Condition"], `"`+cond+`"`)
	}
	equalJSON(t, "condition", s.section("Conditions")[CondConnectManagement], `{"Fn::Equals":[{"Ref":"ConnectManagementAccount"},"true"]}`)
	equalJSON(t, "default", s.section("Parameters")[ParamConnectManagementAccount].(map[string]interface{})["Default"], `"true"`)
	prov := props(s.resource(t, "SysdigProvider"))
	equalJSON(t, "own role", prov["RoleArn"], `{"Fn::GetAtt":["SysdigRole","Arn"]}`)
	equalJSON(t, "alias", prov["Alias"], `{"Fn::Join":["",[{"Ref":"ProviderAliasPrefix"},{"Ref":"AWS::AccountId"}]]}`)
	equalJSON(t, "own role waits for its policies", s.resource(t, "SysdigProvider")["DependsOn"], `["OnPremReady","SysdigCloudWatchPolicy","SysdigPoliciesReady","SysdigRole"]`)
	role := props(s.resource(t, "SysdigRole"))
	equalJSON(t, "boundary", role["PermissionsBoundary"], `{"Fn::If":["HasPermissionsBoundary",{"Ref":"PermissionsBoundaryArn"},{"Ref":"AWS::NoValue"}]}`)
	equalJSON(t, "path", role["Path"], `{"Ref":"RolePath"}`)

	const token = "e71d7c0f-501e-47d4-a159-39da8b716f44"
	org := map[string]string{ParamOrganizationID: "o-a1b2c3d4e5"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range org {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name          string
		values        map[string]string
		rules         bool
		exist, absent []string
	}{
		{"management account, new secret, fetched external id", with(ParamAPIToken, token), true,
			[]string{"SysdigRole", "SysdigProvider", "SysdigPoliciesReady", "ApiTokenSecretResource", "ApiTokenSecretPolicy", "SysdigExternalId"},
			[]string{"SysdigS3Policy"}},
		{"management account with a capture bucket", with(ParamAPITokenSecret, "sysdig/api-token", ParamCaptureBucketName, "org-captures", ParamExternalID, "04acdd59-4c98-4d11-8ee5-424326248161", ParamSysdigAwsAccountID, "273107874544"), true,
			[]string{"SysdigRole", "SysdigS3Policy"}, []string{"ApiTokenSecretResource", "ApiTokenSecretPolicy", "SysdigExternalId"}},
		{"external id given, account read from Sysdig", with(ParamAPITokenSecret, "sysdig/api-token", ParamExternalID, "04acdd59-4c98-4d11-8ee5-424326248161"), true,
			[]string{"SysdigExternalId"}, []string{"OnPremUser", "OnPremAssumeRole"}},
		{"on-prem, CreateUser: one user for every account", with(ParamAPIToken, token, ParamSysdigRegion, "custom", ParamSysdigCustomURL, "https://sysdig.example.com", ParamOnPremCredentials, OnPremCreateUser), true,
			[]string{"OnPremUser", "OnPremAccessKey", "OnPremCredentialsSecret", "OnPremAssumeRole"}, nil},
		{"on-prem, ExistingPrincipal elsewhere", with(ParamAPIToken, token, ParamSysdigRegion, "custom", ParamSysdigCustomURL, "https://sysdig.example.com", ParamOnPremCredentials, OnPremExistingPrincipal, ParamOnPremPrincipalArn, "arn:aws:iam::210987654321:role/sysdig"), true,
			nil, []string{"OnPremUser", "OnPremAssumeRole"}},
		{"on-prem credentials with a SaaS region", with(ParamAPIToken, token, ParamOnPremCredentials, OnPremCreateUser), false, nil, nil},
		{"not the management account", with(ParamAPITokenSecret, "sysdig/api-token", ParamConnectManagementAccount, "false", ParamCaptureBucketName, "org-captures"), true,
			nil, []string{"SysdigRole", "SysdigCloudWatchPolicy", "SysdigS3Policy", "SysdigPoliciesReady", "SysdigProvider"}},
		{"delegated administrator", with(ParamAPIToken, token, ParamCallAs, "DELEGATED_ADMIN", ParamConnectManagementAccount, "false"), true,
			nil, []string{"SysdigRole", "SysdigProvider"}},
		{"delegated administrator cannot connect its own account as the management account", with(ParamAPIToken, token, ParamCallAs, "DELEGATED_ADMIN"), false, nil, nil},
		{"no token source", with(), false, nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkScenario(t, s.doc, launched(tc.values, true), tc.rules, tc.exist, tc.absent, []string{"MemberStackSet", "RegistrarFunction", "RegistrarTopic", "RegistrarTopicPolicy", "RegistrarSubscription", "RegistrarInvokePermission"})
		})
	}
}

func TestMemberTemplateHoldsTheRoleAndItsRegistrationOnly(t *testing.T) {
	s := publishedMember(t)
	types := map[string]int{}
	for _, r := range s.section("Resources") {
		types[r.(map[string]interface{})["Type"].(string)]++
	}
	equalJSON(t, "resource types", types, `{"AWS::IAM::Role":1,"AWS::IAM::Policy":2,"AWS::CloudFormation::WaitConditionHandle":1,"Custom::SysdigProvider":1}`)
	role := props(s.resource(t, "SysdigRole"))
	equalJSON(t, "trust", role["AssumeRolePolicyDocument"], `{"Version":"2012-10-17","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow",
		"Principal":{"AWS":{"Fn::If":["OnPremPrincipal",{"Ref":"OnPremPrincipalArn"},{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":iam::",{"Ref":"SysdigAwsAccountId"},":root"]]}]}},
		"Condition":{"StringEquals":{"sts:ExternalId":{"Ref":"ExternalId"}}}}]}`)
	equalJSON(t, "name", role["RoleName"], `{"Ref":"RoleName"}`)
	equalJSON(t, "path", role["Path"], `{"Ref":"RolePath"}`)
	equalJSON(t, "boundary", role["PermissionsBoundary"], `{"Fn::If":["HasPermissionsBoundary",{"Ref":"PermissionsBoundaryArn"},{"Ref":"AWS::NoValue"}]}`)
	want := []interface{}{}
	for _, a := range CloudWatchActions {
		want = append(want, a.Action)
	}
	cw := props(s.resource(t, "SysdigCloudWatchPolicy"))
	equalJSON(t, "sysdig_cloudwatch", cw["PolicyDocument"], `{"Version":"2012-10-17","Statement":[{"Sid":"SysdigMetricsAndDiscovery","Effect":"Allow","Resource":"*","Action":`+canon(want)+`}]}`)
	equalJSON(t, "sysdig_s3 only with a bucket", s.resource(t, "SysdigS3Policy")["Condition"], `"UseCaptureBucket"`)
	equalJSON(t, "sysdig_s3 bucket", props(s.resource(t, "SysdigS3Policy"))["PolicyDocument"].(map[string]interface{})["Statement"].([]interface{})[0].(map[string]interface{})["Resource"],
		`{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":s3:::",{"Ref":"CaptureBucketName"}]]}`)

	prov := s.resource(t, "SysdigProvider")
	equalJSON(t, "registration", props(prov), `{"ServiceToken":{"Ref":"RegistrarTopicArn"},"ServiceTimeout":"3600",
		"SysdigApiUrl":{"Ref":"SysdigApiUrl"},"ApiTokenSecretId":{"Ref":"ApiTokenSecretArn"},"SkipTlsVerify":{"Ref":"SkipTlsVerify"},
		"RoleArn":{"Fn::GetAtt":["SysdigRole","Arn"]},"Alias":{"Fn::Join":["",[{"Ref":"ProviderAliasPrefix"},{"Ref":"AWS::AccountId"}]]},
		"Regions":{"Ref":"DiscoveryRegions"},"OnExisting":{"Ref":"OnExisting"},"DeregisterOnDelete":{"Ref":"DeregisterOnDelete"},"ProviderApi":{"Ref":"ProviderApi"}}`)
	equalJSON(t, "registration waits for the role", prov["DependsOn"], `["SysdigCloudWatchPolicy","SysdigPoliciesReady","SysdigRole"]`)

	params := s.section("Parameters")
	for v, ok := range map[string]bool{"arn:aws:sns:us-east-1:111111111111:OrgTest-RegistrarTopic-AbC123": true, "arn:aws:lambda:us-east-1:111111111111:function:x": false} {
		if regexp.MustCompile(params[ParamRegistrarTopicArn].(map[string]interface{})["AllowedPattern"].(string)).MatchString(v) != ok {
			t.Errorf("RegistrarTopicArn pattern on %q: want %v", v, ok)
		}
	}
	if _, ok := params[ParamExternalID].(map[string]interface{})["Default"]; ok {
		t.Error("a member cannot read the external ID itself: it must be given")
	}
	text := canon(s.doc)
	for _, forbidden := range []string{"AWS::Lambda::", "AWS::SecretsManager::", "ApiToken\"", "NoEcho"} {
		if strings.Contains(text, forbidden) {
			t.Errorf("the member template contains %s: members hold no Lambda and no token", forbidden)
		}
	}
	for _, id := range []string{"no bucket", "bucket"} {
		values := map[string]string{ParamRegistrarTopicArn: "arn:aws:sns:us-east-1:111111111111:t", ParamAPITokenSecretArn: "arn:aws:secretsmanager:us-east-1:111111111111:secret:s-AbCdEf", ParamExternalID: "abc"}
		if id == "bucket" {
			values[ParamCaptureBucketName] = "org-captures"
		}
		if bad := newEvaluator(t, s.doc, values).unresolved(t); len(bad) > 0 {
			t.Errorf("%s: unresolved references %v", id, bad)
		}
	}
}

func TestOrgTemplatesHaveNoUnsuppressedAwsSolutionsFindings(t *testing.T) {
	s := publishedOrg(t)
	if f := nagFindings(orgStack.Stack); len(f) > 0 {
		t.Errorf("deployer: %d unsuppressed AwsSolutions findings:\n%s", len(f), strings.Join(f, "\n"))
	}
	publishedMember(t)
	if f := nagFindings(memberStack.Stack); len(f) > 0 {
		t.Errorf("member: %d unsuppressed AwsSolutions findings:\n%s", len(f), strings.Join(f, "\n"))
	}
	got := map[string]string{}
	for id, r := range s.section("Resources") {
		md, _ := r.(map[string]interface{})["Metadata"].(map[string]interface{})
		nag, _ := md["cdk_nag"].(map[string]interface{})
		rules, _ := nag["rules_to_suppress"].([]interface{})
		for _, rule := range rules {
			rm := rule.(map[string]interface{})
			got[id] += rm["id"].(string)
			if reason, _ := rm["reason"].(string); len(reason) < 60 {
				t.Errorf("%s: suppression without a real reason: %s", id, canon(rule))
			}
		}
	}
	equalJSON(t, "the reviewed suppressions (docs/ lists them)", got, `{"ApiTokenSecretResource":"AwsSolutions-SMG4","RegistrarTopic":"AwsSolutions-SNS2","RegistrarRole":"AwsSolutions-IAM5",
		"RegistrarDeadLetterQueue":"AwsSolutions-SQS3AwsSolutions-SQS4","AlarmTopic":"AwsSolutions-SNS2AwsSolutions-SNS3",

		"SysdigCloudWatchPolicy":"AwsSolutions-IAM5","SysdigS3Policy":"AwsSolutions-IAM5","OnPremAssumeRole":"AwsSolutions-IAM5","OnPremCredentialsSecret":"AwsSolutions-SMG4"}`)
}

func TestOrgCdkDeployStackTagsTheStackSetAndEveryTaggableResource(t *testing.T) {
	tags := map[string]string{"team": "observability", "cost-center": "42"}
	stack, s := synthOrg(t, "", false, tags)
	if f := nagFindings(stack.Stack); len(f) > 0 {
		t.Errorf("cdk deploy deployer: %d unsuppressed AwsSolutions findings:\n%s", len(f), strings.Join(f, "\n"))
	}
	code := canon(props(s.resource(t, "RegistrarFunction"))["Code"])
	if !strings.Contains(code, "cdk-hnb659fds-assets") {
		t.Errorf("cdk deploy mode reads the code from the bootstrap asset bucket, got %s", code)
	}
	equalJSON(t, "StackSet tags reach the member stacks", props(s.resource(t, "MemberStackSet"))["Tags"],
		`[{"Key":"cost-center","Value":"42"},{"Key":"team","Value":"observability"}]`)
	for id, r := range s.section("Resources") {
		rm := r.(map[string]interface{})
		switch rm["Type"] {
		case "AWS::IAM::Role", "AWS::Lambda::Function", "AWS::Logs::LogGroup", "AWS::SecretsManager::Secret", "AWS::SNS::Topic":
			if tags := canon(props(rm)["Tags"]); !strings.Contains(tags, `{"Key":"team","Value":"observability"}`) {
				t.Errorf("%s lacks the tags: %s", id, tags)
			}
		}
	}

}

func TestDocsOrgCoversParametersOutputsLinkAndRolloutTime(t *testing.T) {
	text := userDocs(t)
	s := publishedOrg(t)
	for _, section := range []string{"Parameters", "Outputs"} {
		for name := range s.section(section) {
			if !strings.Contains(text, "`"+name+"`") {
				t.Errorf("the user docs lack the deployer's %s entry %s", section, name)
			}
		}
	}
	for name := range publishedMember(t).section("Parameters") {
		if !strings.Contains(text, "`"+name+"`") {
			t.Errorf("the user docs lack the member parameter %s", name)
		}
	}
	checkLaunchDocs(t, text, "publish-org", launch.DefaultOrgTemplateKey, launch.DefaultOrgStackName)
	for _, want := range []string{"AwsSolutions-SNS2", "AwsSolutions-SNS3", "AwsSolutions-SMG4", "AwsSolutions-IAM5",
		"register-delegated-administrator --service-principal member.org.stacksets.cloudformation.amazonaws.com", "cdk deploy SysdigAwsConnectOrg",
		MemberTemplatePath, OrgTemplatePath} {
		if !strings.Contains(text, want) {
			t.Errorf("the user docs do not mention %q", want)
		}
	}
}
