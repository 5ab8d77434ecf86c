package stacks

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssns"
	"github.com/aws/aws-cdk-go/awscdk/v2/cxapi"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"sysdig-aws-connect/cdk/launch"
	"sysdig-aws-connect/internal/permissions"
)

// Synthesis is slow: the published variant (with the AwsSolutions checks) is built once
// and shared by the tests that only read it.
var (
	publishedOnce   sync.Once
	published       *synthesized
	publishedOutdir string // outlives the test that synthesizes it; removed by TestMain
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sysdig-cdk-test-")
	if err != nil {
		panic(err)
	}
	publishedOutdir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func publishedStack(t *testing.T) *synthesized {
	t.Helper()
	publishedOnce.Do(func() { published = synth(t, publishedOutdir, true, true, nil) })
	if published == nil {
		t.Fatal("synthesis failed in an earlier test")
	}
	return published
}

// trustedPrincipal: the on-prem principal, or the root of Sysdig's account as the
// custom resource answers it (SysdigAwsAccountId empty) or as given.
const trustedPrincipal = `{"Fn::If":["OnPremPrincipal",{"Fn::If":["CreateOnPremUser",{"Fn::GetAtt":["OnPremUser","Arn"]},{"Ref":"OnPremPrincipalArn"}]},
	{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":iam::",{"Fn::If":["UseReportedSysdigAccount",{"Fn::GetAtt":["SysdigExternalId","SysdigAwsAccountId"]},{"Ref":"SysdigAwsAccountId"}]},":root"]]}]}`

const externalIDInUse = `{"Fn::If":["FetchExternalId",{"Fn::GetAtt":["SysdigExternalId","ExternalId"]},{"Ref":"ExternalId"}]}`

func TestSysdigRoleTrustsSysdigAccountWithExternalID(t *testing.T) {
	s := publishedStack(t)
	role := props(s.resource(t, "SysdigRole"))
	equalJSON(t, "trust policy", role["AssumeRolePolicyDocument"], `{
		"Version": "2012-10-17",
		"Statement": [{
			"Action": "sts:AssumeRole",
			"Effect": "Allow",
			"Principal": {"AWS": `+trustedPrincipal+`},
			"Condition": {"StringEquals": {"sts:ExternalId": `+externalIDInUse+`}}
		}]}`)
	equalJSON(t, "role name", role["RoleName"], `{"Ref":"RoleName"}`)
	equalJSON(t, "role path", role["Path"], `{"Ref":"RolePath"}`)
	equalJSON(t, "permissions boundary", role["PermissionsBoundary"],
		`{"Fn::If":["HasPermissionsBoundary",{"Ref":"PermissionsBoundaryArn"},{"Ref":"AWS::NoValue"}]}`)
	if _, ok := role["ManagedPolicyArns"]; ok {
		t.Error("the Sysdig role must carry no managed policies")
	}
	// The same through the assertions package's matchers.
	assertCDK(t, "no MFA condition", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), &map[string]interface{}{
			"RoleName": map[string]interface{}{"Ref": "RoleName"},
			"AssumeRolePolicyDocument": assertions.Match_ObjectLike(&map[string]interface{}{
				"Statement": []interface{}{assertions.Match_ObjectLike(&map[string]interface{}{
					"Condition": assertions.Match_ObjectEquals(&map[string]interface{}{
						"StringEquals": assertions.Match_ObjectEquals(&map[string]interface{}{"sts:ExternalId": assertions.Match_AnyValue()}),
					}),
				})},
			}),
		})
	})
}

func TestSysdigCloudWatchPolicyListsExactReadOnlyActions(t *testing.T) {
	s := publishedStack(t)
	pol := s.resource(t, "SysdigCloudWatchPolicy")
	if _, conditional := pol["Condition"]; conditional {
		t.Error("sysdig_cloudwatch must be unconditional")
	}
	p := props(pol)
	equalJSON(t, "name", p["PolicyName"], `"sysdig_cloudwatch"`)
	equalJSON(t, "roles", p["Roles"], `[{"Ref":"SysdigRole"}]`)
	want := []interface{}{}
	for _, a := range CloudWatchActions {
		want = append(want, a.Action)
	}
	equalJSON(t, "statements", p["PolicyDocument"], `{"Version":"2012-10-17","Statement":[{"Sid":"SysdigMetricsAndDiscovery",
		"Effect":"Allow","Resource":"*","Action":`+canon(want)+`}]}`)

	read := regexp.MustCompile(`^[a-z0-9]+:(Get|List|Describe)[A-Za-z]+$`)
	services := map[string]bool{}
	for _, a := range CloudWatchActions {
		if strings.Contains(a.Action, "*") || !read.MatchString(a.Action) {
			t.Errorf("%s is not an exact read-only action", a.Action)
		}
		if a.Why == "" {
			t.Errorf("%s is not documented", a.Action)
		}
		services[strings.SplitN(a.Action, ":", 2)[0]] = true
	}
	for _, svc := range []string{"cloudwatch", "ec2", "rds", "elasticloadbalancing", "elasticache", "sqs", "dynamodb"} {
		if !services[svc] {
			t.Errorf("no %s action: the seed's resource discovery covers it", svc)
		}
	}
}

func TestSysdigS3PolicyNamesOnlyTheCaptureBucket(t *testing.T) {
	s := publishedStack(t)
	pol := s.resource(t, "SysdigS3Policy")
	equalJSON(t, "condition", pol["Condition"], `"UseCaptureBucket"`)
	p := props(pol)
	equalJSON(t, "name", p["PolicyName"], `"sysdig_s3"`)
	equalJSON(t, "roles", p["Roles"], `[{"Ref":"SysdigRole"}]`)
	bucket := `{"Fn::If":["CreateCaptureBucketCondition",{"Ref":"CaptureBucket"},{"Ref":"CaptureBucketName"}]}`
	equalJSON(t, "statements", p["PolicyDocument"], `{"Version":"2012-10-17","Statement":[
		{"Sid":"CaptureBucket","Effect":"Allow","Action":["s3:ListBucket","s3:GetBucketLocation"],
		 "Resource":{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":s3:::",`+bucket+`]]}},
		{"Sid":"CaptureObjects","Effect":"Allow","Action":["s3:PutObject","s3:GetObject","s3:DeleteObject"],
		 "Resource":{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":s3:::",`+bucket+`,"/*"]]}}]}`)
}

func TestCaptureBucketIsPrivateEncryptedTLSOnlyAndExpiresCaptures(t *testing.T) {
	s := publishedStack(t)
	b := s.resource(t, "CaptureBucket")
	equalJSON(t, "condition", b["Condition"], `"CreateCaptureBucketCondition"`)
	equalJSON(t, "deletion policy", b["DeletionPolicy"], `"Retain"`)
	p := props(b)
	equalJSON(t, "encryption", p["BucketEncryption"], `{"ServerSideEncryptionConfiguration":[{"ServerSideEncryptionByDefault":{"SSEAlgorithm":"AES256"}}]}`)
	equalJSON(t, "public access", p["PublicAccessBlockConfiguration"], `{"BlockPublicAcls":true,"BlockPublicPolicy":true,"IgnorePublicAcls":true,"RestrictPublicBuckets":true}`)
	equalJSON(t, "lifecycle", p["LifecycleConfiguration"], `{"Rules":[{"Id":"ExpireOldCaptures","Status":"Enabled",
		"ExpirationInDays":{"Ref":"CaptureRetentionDays"},"AbortIncompleteMultipartUpload":{"DaysAfterInitiation":7}}]}`)
	equalJSON(t, "name", p["BucketName"], `{"Fn::If":["HasCaptureBucketName",{"Ref":"CaptureBucketName"},{"Ref":"AWS::NoValue"}]}`)
	pol := s.resource(t, "CaptureBucketPolicy")
	equalJSON(t, "policy condition", pol["Condition"], `"CreateCaptureBucketCondition"`)
	assertCDK(t, "TLS-only bucket policy", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::S3::BucketPolicy"), &map[string]interface{}{
			"PolicyDocument": assertions.Match_ObjectLike(&map[string]interface{}{
				"Statement": []interface{}{map[string]interface{}{
					"Effect": "Deny", "Action": "s3:*", "Principal": map[string]interface{}{"AWS": "*"},
					"Condition": map[string]interface{}{"Bool": map[string]interface{}{"aws:SecureTransport": "false"}},
					"Resource":  assertions.Match_AnyValue(),
				}},
			}),
		})
	})
}

func TestConnectorFunctionSettings(t *testing.T) {
	s := publishedStack(t)
	assertCDK(t, "function", func() {
		s.tmpl.HasResourceProperties(jsii.String("AWS::Lambda::Function"), &map[string]interface{}{
			"Runtime":       "provided.al2023",
			"Architectures": []interface{}{"arm64"},
			"Handler":       "bootstrap",
			"MemorySize":    128,
			"Timeout":       FunctionTimeoutSeconds,
			"Role":          map[string]interface{}{"Fn::GetAtt": []interface{}{"ConnectorRole", "Arn"}},
			"LoggingConfig": map[string]interface{}{"LogGroup": map[string]interface{}{"Ref": "ConnectorLogGroup"}},
		})
	})
	fn := props(s.resource(t, "ConnectorFunction"))
	// The token goes only to the endpoint the stack chose, from the secret it chose,
	// whatever a request names.
	equalJSON(t, "function environment", fn["Environment"], `{"Variables":{
		"ALLOWED_SYSDIG_API_URLS":{"Fn::If":["UseCustomEndpoint",{"Ref":"SysdigCustomUrl"},{"Fn::FindInMap":["SysdigRegionMap",{"Ref":"SysdigRegion"},"ApiUrl"]}]},
		"ALLOWED_TOKEN_SECRET_IDS":{"Fn::If":["CreateTokenSecret",{"Ref":"ApiTokenSecretResource"},{"Ref":"ApiTokenSecret"}]},
		"ALLOW_SKIP_TLS_VERIFY":{"Ref":"SkipTlsVerify"},
		"CONCURRENT_INSTANCES":"1"}}`)
	equalJSON(t, "published code location", fn["Code"], `{"S3Bucket":{"Fn::Join":["-",[{"Ref":"CodeBucketPrefix"},{"Ref":"AWS::Region"}]]},"S3Key":{"Ref":"CodeKey"}}`)
	equalJSON(t, "log group", props(s.resource(t, "ConnectorLogGroup")), `{"RetentionInDays":{"Ref":"LogRetentionDays"},
		"KmsKeyId":{"Fn::If":["HasLogKmsKey",{"Ref":"LogKmsKeyArn"},{"Ref":"AWS::NoValue"}]}}`)
	equalJSON(t, "in your VPC", fn["VpcConfig"], `{"Fn::If":["InVpc",{"SubnetIds":{"Ref":"SubnetIds"},"SecurityGroupIds":{"Ref":"SecurityGroupIds"}},{"Ref":"AWS::NoValue"}]}`)
	equalJSON(t, "async invoke", props(s.resource(t, "ConnectorAsyncInvokeConfig")),
		`{"FunctionName":{"Ref":"ConnectorFunction"},"MaximumEventAgeInSeconds":60,"MaximumRetryAttempts":2,"Qualifier":"$LATEST",
		  "DestinationConfig":{"OnFailure":{"Destination":{"Fn::GetAtt":["ConnectorDeadLetterQueue","Arn"]}}}}`)
	if DefaultMaxEventAgeSeconds+FunctionTimeoutSeconds+AnswerDeliverySeconds > DefaultServiceTimeoutSeconds {
		t.Errorf("an event queued %d s, run %d s and answered in %d s would outlive ServiceTimeout %d s",
			DefaultMaxEventAgeSeconds, FunctionTimeoutSeconds, AnswerDeliverySeconds, DefaultServiceTimeoutSeconds)
	}
	if FunctionTimeoutSeconds > 900 || FunctionTimeoutSeconds < 60 {
		t.Errorf("function timeout %d s is outside what the work needs and Lambda allows", FunctionTimeoutSeconds)
	}
}

func TestConnectorRoleReadsOnlyTheTokenSecretAndWritesOwnLogs(t *testing.T) {
	s := publishedStack(t)
	role := props(s.resource(t, "ConnectorRole"))
	equalJSON(t, "trust", role["AssumeRolePolicyDocument"], `{"Version":"2012-10-17","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"}}]}`)
	if _, ok := role["ManagedPolicyArns"]; ok {
		t.Error("the connector role must have no managed policies (no AWSLambdaBasicExecutionRole)")
	}
	partialArn := `{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":secretsmanager:",{"Ref":"AWS::Region"},":",{"Ref":"AWS::AccountId"},":secret:",{"Ref":"ApiTokenSecret"},"-??????"]]}`
	equalJSON(t, "inline policy", role["Policies"], `[{"PolicyName":"sysdig-connector","PolicyDocument":{"Version":"2012-10-17","Statement":[
		{"Sid":"OwnLogs","Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":{"Fn::GetAtt":["ConnectorLogGroup","Arn"]}},
		{"Sid":"ReadApiToken","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":
			{"Fn::If":["CreateTokenSecret",[{"Ref":"ApiTokenSecretResource"}],
				{"Fn::If":["TokenSecretIsArn",[{"Ref":"ApiTokenSecret"},{"Fn::Join":["",[{"Ref":"ApiTokenSecret"},"-??????"]]}],[`+partialArn+`]]}]}},
		{"Fn::If":["HasTokenKmsKey",{"Sid":"DecryptApiToken","Effect":"Allow","Action":"kms:Decrypt","Resource":{"Ref":"ApiTokenKmsKeyArn"},
			"Condition":{"StringLike":{"kms:ViaService":"secretsmanager.*.amazonaws.com"}}},{"Ref":"AWS::NoValue"}]},
		{"Sid":"DeadLetters","Effect":"Allow","Action":"sqs:SendMessage","Resource":{"Fn::GetAtt":["ConnectorDeadLetterQueue","Arn"]}},
		{"Fn::If":["InVpc",{"Sid":"VpcNetworkInterfaces","Effect":"Allow","Resource":"*","Action":["ec2:CreateNetworkInterface","ec2:DescribeNetworkInterfaces",
			"ec2:DescribeSubnets","ec2:DeleteNetworkInterface","ec2:AssignPrivateIpAddresses","ec2:UnassignPrivateIpAddresses"]},{"Ref":"AWS::NoValue"}]}]}}]`)
	// No other IAM resource grants the function anything.
	for id, r := range s.section("Resources") {
		rm := r.(map[string]interface{})
		if rm["Type"] == "AWS::IAM::Policy" && strings.Contains(canon(props(rm)["Roles"]), "ConnectorRole") {
			t.Errorf("%s adds permissions to the connector role", id)
		}
	}
}

func TestCustomResourcesWiring(t *testing.T) {
	s := publishedStack(t)
	apiURL := `{"Fn::If":["UseCustomEndpoint",{"Ref":"SysdigCustomUrl"},{"Fn::FindInMap":["SysdigRegionMap",{"Ref":"SysdigRegion"},"ApiUrl"]}]}`
	secretID := `{"Fn::If":["CreateTokenSecret",{"Ref":"ApiTokenSecretResource"},{"Ref":"ApiTokenSecret"}]}`
	token := `{"Fn::GetAtt":["ConnectorFunction","Arn"]}`

	ext := s.resource(t, "SysdigExternalId")
	equalJSON(t, "external id type", ext["Type"], `"Custom::SysdigExternalId"`)
	equalJSON(t, "external id condition", ext["Condition"], `"AskSysdig"`)
	equalJSON(t, "external id properties", props(ext), `{"ServiceToken":`+token+`,"ServiceTimeout":"420",
		"SysdigApiUrl":`+apiURL+`,"ApiTokenSecretId":`+secretID+`,"SkipTlsVerify":{"Ref":"SkipTlsVerify"},
		"SysdigRegion":{"Ref":"SysdigRegion"},"SysdigAwsAccountId":{"Ref":"SysdigAwsAccountId"},"OnPremCredentials":{"Ref":"OnPremCredentials"}}`)

	prov := s.resource(t, "SysdigProvider")
	equalJSON(t, "provider type", prov["Type"], `"Custom::SysdigProvider"`)
	if _, ok := prov["Condition"]; ok {
		t.Error("the provider registration must be unconditional")
	}
	equalJSON(t, "provider properties", props(prov), `{"ServiceToken":`+token+`,"ServiceTimeout":"420",
		"SysdigApiUrl":`+apiURL+`,"ApiTokenSecretId":`+secretID+`,"SkipTlsVerify":{"Ref":"SkipTlsVerify"},
		"RoleArn":{"Fn::GetAtt":["SysdigRole","Arn"]},"Alias":{"Ref":"ProviderAlias"},"Regions":{"Ref":"DiscoveryRegions"},
		"OnExisting":{"Ref":"OnExisting"},"DeregisterOnDelete":{"Ref":"DeregisterOnDelete"},"ProviderApi":{"Ref":"ProviderApi"}}`)
	equalJSON(t, "provider waits for the role, every policy and the on-prem access", prov["DependsOn"], `["OnPremReady","SysdigCloudWatchPolicy","SysdigPoliciesReady","SysdigRole"]`)
	equalJSON(t, "policies handle", s.resource(t, "SysdigPoliciesReady")["Metadata"],
		`{"PoliciesAttached":{"sysdig_cloudwatch":{"Ref":"SysdigCloudWatchPolicy"},"sysdig_s3":{"Fn::If":["UseCaptureBucket",{"Ref":"SysdigS3Policy"},""]}}}`)

	if DefaultServiceTimeoutSeconds <= FunctionTimeoutSeconds {
		t.Errorf("ServiceTimeout %d s must exceed the function timeout %d s", DefaultServiceTimeoutSeconds, FunctionTimeoutSeconds)
	}
	var urls []string
	for _, r := range SaaSRegions {
		urls = append(urls, r.URL)
	}
	mapping := canon(s.section("Mappings")["SysdigRegionMap"])
	for _, r := range SaaSRegions {
		if !strings.Contains(mapping, `"`+r.Region+`":{"ApiUrl":"`+r.URL+`"}`) {
			t.Errorf("mapping lacks %s -> %s: %s", r.Region, r.URL, mapping)
		}
	}
	if len(SaaSRegions) != 10 {
		t.Errorf("want the 10 SaaS regions of sysdig-api.md, have %v", urls)
	}
}

func TestOutputs(t *testing.T) {
	s := publishedStack(t)
	out := s.section("Outputs")
	want := map[string]string{
		OutRoleArn:            `{"Fn::GetAtt":["SysdigRole","Arn"]}`,
		OutExternalID:         externalIDInUse,
		OutProviderID:         `{"Fn::GetAtt":["SysdigProvider","ProviderId"]}`,
		OutProviderStatus:     `{"Fn::GetAtt":["SysdigProvider","Status"]}`,
		OutProviderAlias:      `{"Fn::GetAtt":["SysdigProvider","Alias"]}`,
		OutReportedSysdigAcct: `{"Fn::GetAtt":["SysdigExternalId","SysdigAwsAccountId"]}`,
		OutConnectorLogGroup:  `{"Ref":"ConnectorLogGroup"}`,
		OutTrustedPrincipal:   trustedPrincipal,
		OutPermissionsVersion: `"` + permissions.VersionString() + `"`,
		OutOnPremSecretArn:    `{"Ref":"OnPremCredentialsSecret"}`,
		OutOnPremUserName:     `{"Ref":"OnPremUser"}`,
		OutOnPremPolicy: `{"Fn::Join":["",["{\"Statement\":[{\"Action\":\"sts:AssumeRole\",\"Effect\":\"Allow\",\"Resource\":\"",
			{"Fn::GetAtt":["SysdigRole","Arn"]},"\",\"Sid\":\"AssumeTheSysdigRole\"}],\"Version\":\"2012-10-17\"}"]]}`,
		OutCaptureBucket: `{"Fn::If":["CreateCaptureBucketCondition",{"Ref":"CaptureBucket"},{"Ref":"CaptureBucketName"}]}`,
		OutTokenSecretArn: `{"Fn::If":["CreateTokenSecret",{"Ref":"ApiTokenSecretResource"},{"Fn::If":["TokenSecretIsArn",{"Ref":"ApiTokenSecret"},
			{"Fn::Join":["",["arn:",{"Ref":"AWS::Partition"},":secretsmanager:",{"Ref":"AWS::Region"},":",{"Ref":"AWS::AccountId"},":secret:",{"Ref":"ApiTokenSecret"}]]}]}]}`,
	}
	if len(out) != len(want) {
		t.Errorf("outputs %v, want %d", keys(out), len(want))
	}
	for name, value := range want {
		o, ok := out[name].(map[string]interface{})
		if !ok {
			t.Errorf("no output %s", name)
			continue
		}
		equalJSON(t, "output "+name, o["Value"], value)
		if o["Description"] == nil {
			t.Errorf("output %s has no description", name)
		}
	}
	equalJSON(t, "capture bucket output condition", out[OutCaptureBucket].(map[string]interface{})["Condition"], `"UseCaptureBucket"`)
	equalJSON(t, "reported account output condition", out[OutReportedSysdigAcct].(map[string]interface{})["Condition"], `"AskSysdig"`)
	for name, cond := range map[string]string{OutOnPremSecretArn: CondCreateOnPremUser, OutOnPremUserName: CondCreateOnPremUser, OutOnPremPolicy: CondPrintOnPremPolicy} {
		equalJSON(t, name+" condition", out[name].(map[string]interface{})["Condition"], `"`+cond+`"`)
	}
}

func TestParametersAreDescribedValidatedAndGrouped(t *testing.T) {
	s := publishedStack(t)
	params := s.section("Parameters")
	iface := s.section("Metadata")["AWS::CloudFormation::Interface"].(map[string]interface{})
	grouped := map[string]bool{}
	for _, g := range iface["ParameterGroups"].([]interface{}) {
		for _, p := range g.(map[string]interface{})["Parameters"].([]interface{}) {
			grouped[p.(string)] = true
		}
	}
	labels := iface["ParameterLabels"].(map[string]interface{})
	for name, p := range params {
		pm := p.(map[string]interface{})
		if d, _ := pm["Description"].(string); len(d) < 20 {
			t.Errorf("%s: no useful Description", name)
		}
		if !grouped[name] || labels[name] == nil {
			t.Errorf("%s is not grouped and labelled for the console", name)
		}
		_, values := pm["AllowedValues"]
		_, pattern := pm["AllowedPattern"]
		_, minV := pm["MinValue"]
		_, maxLen := pm["MaxLength"]
		if !values && !pattern && !minV && !maxLen {
			t.Errorf("%s is not validated", name)
		}
	}
	equalJSON(t, "NoEcho token", params[ParamAPIToken].(map[string]interface{})["NoEcho"], `true`)
	equalJSON(t, "Sysdig regions", params[ParamSysdigRegion].(map[string]interface{})["AllowedValues"],
		`["us1","us2","us3","us4","eu1","eu2","au1","in1","me2","jp1","custom"]`)
	equalJSON(t, "default account: the one Sysdig reports", params[ParamSysdigAwsAccountID].(map[string]interface{})["Default"], `""`)
	equalJSON(t, "on-prem modes", params[ParamOnPremCredentials].(map[string]interface{})["AllowedValues"], `["None","CreateUser","ExistingPrincipal"]`)
	equalJSON(t, "default on-prem mode", params[ParamOnPremCredentials].(map[string]interface{})["Default"], `"None"`)
	equalJSON(t, "default role", params[ParamRoleName].(map[string]interface{})["Default"], `"sysdig-role"`)
	// No default code bucket: its owner chooses the code that reads the token.
	equalJSON(t, "no default code prefix", params[ParamCodeBucketPrefix].(map[string]interface{})["Default"], `""`)
	equalJSON(t, "default code key", params[ParamCodeKey].(map[string]interface{})["Default"], `"`+launch.DefaultCodeKey+`"`)

	for name, cases := range map[string]map[string]bool{
		ParamAPITokenSecret:     {"": true, "sysdig/api-token": true, "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sysdig-AbCdEf": true, "bad name!": false},
		ParamDiscoveryRegions:   {"": true, "us-east-1": true, "us-east-1, eu-west-1,ap-southeast-2": true, "us-gov-west-1": true, "US_EAST_1,US_EAST_2": true, "us_east_1": false, "us-east-1,": true, "us-foo-1": false},
		ParamExternalID:         {"": true, "04acdd59-4c98-4d11-8ee5-424326248161": true, "x": false},
		ParamSysdigCustomURL:    {"": true, "https://sysdig.example.com": true, "https://10.0.0.1:8443/": true, "ftp://x": false, "http://sysdig.example.com": false},
		ParamRolePath:           {"/": true, "/sysdig/": true, "sysdig": false, "/sysdig": false},
		ParamCaptureBucketName:  {"": true, "my-captures": true, "My_Bucket": false},
		ParamSysdigAwsAccountID: {"": true, "273107874544": true, "27310787454": false},
		ParamOnPremPrincipalArn: {"": true, "arn:aws:iam::123456789012:role/sysdig-onprem": true, "arn:aws:iam::123456789012:user/ops/sysdig": true,
			"arn:aws:sts::123456789012:assumed-role/x/y": false, "arn:aws:iam::123456789012:root": false},
	} {
		re := regexp.MustCompile(params[name].(map[string]interface{})["AllowedPattern"].(string))
		for v, ok := range cases {
			if re.MatchString(v) != ok {
				t.Errorf("%s pattern on %q: got %v, want %v", name, v, !ok, ok)
			}
		}
	}
}

// TestConditionsScenarios evaluates the published template's conditions and rules for
// each way to launch it, and checks that every reference of an existing resource or
// output resolves (what CloudFormation rejects as "Unresolved resource dependencies").
func TestConditionsScenarios(t *testing.T) {
	s := publishedStack(t)
	const token = "e71d7c0f-501e-47d4-a159-39da8b716f44"
	for _, tc := range []struct {
		name   string
		values map[string]string
		noCode bool // launched without CodeBucketPrefix (not from a Launch Stack URL)
		rules  bool
		exist  []string
		absent []string
	}{
		{name: "new secret, fetched external id, no bucket",
			values: map[string]string{ParamAPIToken: token}, rules: true,
			exist:  []string{"ApiTokenSecretResource", "ApiTokenSecretPolicy", "SysdigExternalId"},
			absent: []string{"CaptureBucket", "CaptureBucketPolicy", "SysdigS3Policy"}},
		{name: "existing secret by name, given external id (the account still read from Sysdig), existing bucket",
			values: map[string]string{ParamAPITokenSecret: "sysdig/api-token", ParamExternalID: "04acdd59-4c98-4d11-8ee5-424326248161", ParamCaptureBucketName: "my-captures"}, rules: true,
			exist:  []string{"SysdigS3Policy", "SysdigExternalId"},
			absent: []string{"ApiTokenSecretResource", "ApiTokenSecretPolicy", "CaptureBucket"}},
		{name: "no code bucket prefix", values: map[string]string{ParamAPIToken: token}, noCode: true, rules: false},
		{name: "external id and account given: Sysdig is not asked",
			values: map[string]string{ParamAPITokenSecret: "sysdig/api-token", ParamExternalID: "04acdd59-4c98-4d11-8ee5-424326248161", ParamSysdigAwsAccountID: "273107874544"}, rules: true,
			absent: []string{"SysdigExternalId", "OnPremUser", "OnPremAccessKey", "OnPremCredentialsSecret", "OnPremAssumeRole"}},
		{name: "on-prem, CreateUser",
			values: map[string]string{ParamAPIToken: token, ParamSysdigRegion: "custom", ParamSysdigCustomURL: "https://sysdig.example.com", ParamOnPremCredentials: OnPremCreateUser}, rules: true,
			exist: []string{"SysdigExternalId", "OnPremUser", "OnPremAccessKey", "OnPremCredentialsSecret", "OnPremAssumeRole"}},
		{name: "on-prem, CreateUser, external id given: Sysdig is not asked",
			values: map[string]string{ParamAPIToken: token, ParamSysdigRegion: "custom", ParamSysdigCustomURL: "https://sysdig.example.com", ParamOnPremCredentials: OnPremCreateUser, ParamExternalID: "abc"}, rules: true,
			exist: []string{"OnPremUser", "OnPremAssumeRole"}, absent: []string{"SysdigExternalId"}},
		{name: "on-prem, ExistingPrincipal role of this account: policy attached",
			values: map[string]string{ParamAPIToken: token, ParamSysdigRegion: "custom", ParamSysdigCustomURL: "https://sysdig.example.com", ParamOnPremCredentials: OnPremExistingPrincipal, ParamOnPremPrincipalArn: "arn:aws:iam::123456789012:role/sysdig-backend"}, rules: true,
			exist: []string{"OnPremAssumeRole"}, absent: []string{"OnPremUser", "OnPremAccessKey", "OnPremCredentialsSecret"}},
		{name: "on-prem, ExistingPrincipal in another account: policy printed",
			values: map[string]string{ParamAPIToken: token, ParamSysdigRegion: "custom", ParamSysdigCustomURL: "https://sysdig.example.com", ParamOnPremCredentials: OnPremExistingPrincipal, ParamOnPremPrincipalArn: "arn:aws:iam::210987654321:role/sysdig-backend"}, rules: true,
			absent: []string{"OnPremAssumeRole", "OnPremUser", "OnPremAccessKey", "OnPremCredentialsSecret"}},
		{name: "on-prem, ExistingPrincipal without its ARN", values: map[string]string{ParamAPIToken: token, ParamOnPremCredentials: OnPremExistingPrincipal}, rules: false},
		{name: "on-prem credentials with a SaaS region", values: map[string]string{ParamAPIToken: token, ParamOnPremCredentials: OnPremCreateUser}, rules: false},
		{name: "a principal ARN without ExistingPrincipal", values: map[string]string{ParamAPIToken: token, ParamOnPremPrincipalArn: "arn:aws:iam::123456789012:role/x"}, rules: false},
		{name: "existing secret by ARN with KMS key, created bucket with a generated name",
			values: map[string]string{ParamAPITokenSecret: "arn:aws:secretsmanager:us-east-1:123456789012:secret:sysdig-AbCdEf", ParamAPITokenKmsKeyArn: "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", ParamCreateCaptureBucket: "true"}, rules: true,
			exist:  []string{"CaptureBucket", "CaptureBucketPolicy", "SysdigS3Policy", "SysdigExternalId"},
			absent: []string{"ApiTokenSecretResource"}},
		{name: "on-prem with custom URL and boundary",
			values: map[string]string{ParamAPIToken: token, ParamSysdigRegion: "custom", ParamSysdigCustomURL: "https://sysdig.example.com", ParamSysdigAwsAccountID: "123456789012", ParamPermissionsBoundaryArn: "arn:aws:iam::123456789012:policy/boundary"}, rules: true},
		{name: "both token sources", values: map[string]string{ParamAPIToken: token, ParamAPITokenSecret: "sysdig/api-token"}, rules: false},
		{name: "no token source", values: map[string]string{}, rules: false},
		{name: "custom region without URL", values: map[string]string{ParamAPIToken: token, ParamSysdigRegion: "custom"}, rules: false},
		{name: "URL with a SaaS region", values: map[string]string{ParamAPIToken: token, ParamSysdigCustomURL: "https://sysdig.example.com"}, rules: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			values := launched(tc.values, !tc.noCode)
			checkScenario(t, s.doc, values, tc.rules, tc.exist, tc.absent, []string{"SysdigRole", "SysdigCloudWatchPolicy", "SysdigProvider", "ConnectorFunction", "ConnectorRole", "ConnectorLogGroup"})
		})
	}
	// The checker itself: a DependsOn naming the conditional sysdig_s3 policy directly
	// (what SysdigPoliciesReady exists to avoid) is reported when there is no bucket.
	mutated := parse(t, canon(s.doc)).(map[string]interface{})
	prov := mutated["Resources"].(map[string]interface{})["SysdigProvider"].(map[string]interface{})
	prov["DependsOn"] = append(prov["DependsOn"].([]interface{}), "SysdigS3Policy")
	bad := newEvaluator(t, mutated, map[string]string{ParamAPIToken: token}).unresolved(t)
	if len(bad) != 1 || bad[0] != "SysdigProvider DependsOn -> SysdigS3Policy" {
		t.Errorf("the reference checker missed a DependsOn on a conditional resource: %v", bad)
	}

	// The ARN test of the condition, on its own.
	for v, want := range map[string]bool{"arn:aws:secretsmanager:us-east-1:123456789012:secret:x": true, "sysdig/api-token": false, "": false} {
		e := newEvaluator(t, s.doc, map[string]string{ParamAPITokenSecret: v})
		if e.conds[CondTokenSecretIsArn] != want {
			t.Errorf("TokenSecretIsArn(%q) = %v, want %v", v, !want, want)
		}
	}
}

// nagFindings returns every AwsSolutions error and warning cdk-nag annotated.
func nagFindings(stack awscdk.Stack) []string {
	var out []string
	a := assertions.Annotations_FromStack(stack)
	for _, find := range []func(*string, interface{}) *[]*cxapi.SynthesisMessage{a.FindError, a.FindWarning} {
		for _, m := range *find(jsii.String("*"), assertions.Match_StringLikeRegexp(jsii.String("AwsSolutions-.*"))) {
			out = append(out, *m.Id+": "+canon(m.Entry.Data))
		}
	}
	return out
}

func TestAwsSolutionsHasNoUnsuppressedFindings(t *testing.T) {
	s := publishedStack(t)
	if f := nagFindings(s.stack.Stack); len(f) > 0 {
		t.Errorf("published template: %d unsuppressed AwsSolutions findings:\n%s", len(f), strings.Join(f, "\n"))
	}
	asset := synth(t, "", false, true, map[string]string{"team": "observability"})
	if f := nagFindings(asset.stack.Stack); len(f) > 0 {
		t.Errorf("cdk deploy stack: %d unsuppressed AwsSolutions findings:\n%s", len(f), strings.Join(f, "\n"))
	}
	// Every suppression carries a reason a reviewer can judge.
	n := 0
	for id, r := range s.section("Resources") {
		md, _ := r.(map[string]interface{})["Metadata"].(map[string]interface{})
		nag, _ := md["cdk_nag"].(map[string]interface{})
		rules, _ := nag["rules_to_suppress"].([]interface{})
		for _, rule := range rules {
			n++
			reason, _ := rule.(map[string]interface{})["reason"].(string)
			if len(reason) < 60 {
				t.Errorf("%s: suppression without a real reason: %s", id, canon(rule))
			}
		}
	}
	if n != 9 {
		t.Errorf("%d suppressions; the nine reviewed ones are IAM5 x3, S1, SMG4 x2, SQS3, SQS4, and SNS2+SNS3 (update the docs when this changes)", n)
	}
}

func TestCdkDeployStackUsesAssetsAndTagsEveryTaggableResource(t *testing.T) {
	s := synth(t, "", false, false, map[string]string{"team": "observability", "cost-center": "42"})
	fn := props(s.resource(t, "ConnectorFunction"))
	code := canon(fn["Code"])
	if !strings.Contains(code, "cdk-hnb659fds-assets") || !strings.Contains(code, ".zip") {
		t.Errorf("cdk deploy mode should read the code from the bootstrap asset bucket, got %s", code)
	}
	if _, ok := s.section("Parameters")[ParamCodeKey]; ok {
		t.Error("cdk deploy mode has no code location parameters")
	}
	if _, ok := s.section("Parameters")["BootstrapVersion"]; !ok {
		t.Error("cdk deploy mode is ordinary bootstrapped CDK")
	}
	taggable := map[string]bool{"AWS::IAM::Role": true, "AWS::Lambda::Function": true, "AWS::Logs::LogGroup": true, "AWS::SecretsManager::Secret": true, "AWS::S3::Bucket": true}
	seen := map[string]bool{}
	for id, r := range s.section("Resources") {
		rm := r.(map[string]interface{})
		typ := rm["Type"].(string)
		if !taggable[typ] {
			continue
		}
		seen[typ] = true
		tags := canon(props(rm)["Tags"])
		for _, want := range []string{`{"Key":"cost-center","Value":"42"}`, `{"Key":"team","Value":"observability"}`} {
			if !strings.Contains(tags, want) {
				t.Errorf("%s (%s) lacks tag %s: %s", id, typ, want, tags)
			}
		}
	}
	if len(seen) != len(taggable) {
		t.Errorf("taggable types present: %v", seen)
	}
}

// TestPublishedTemplateIsCurrent checks every committed template (single account,
// Organizations deployer, StackSet member) against the CDK code, byte for byte.
func TestPublishedTemplateIsCurrent(t *testing.T) {
	for _, tmpl := range PublishedTemplates {
		got, err := RenderTemplate(tmpl.Path)
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join("..", "..", tmpl.Path)
		committed, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%v (run make templates)", err)
			continue
		}
		if !bytes.Equal(got, committed) {
			t.Errorf("%s differs from the CDK code (%d vs %d bytes): run `make templates` and commit the result", tmpl.Path, len(committed), len(got))
		}
		// The deployer and the single-account template keep 10% of CloudFormation's
		// request-body limit free; the member template (read from S3 by the StackSet, or
		// launched by hand) stays under the limit itself.
		budget := TemplateBudgetBytes
		if tmpl.Path == MemberTemplatePath || tmpl.Path == OperationsTemplatePath {
			budget = MaxTemplateBodyBytes
		}
		if len(committed) > budget {
			t.Errorf("%s is %d bytes; its budget is %d (CloudFormation takes at most %d in a request body)", tmpl.Path, len(committed), budget, MaxTemplateBodyBytes)
		}
		t.Logf("%s: %d bytes", tmpl.Path, len(committed))
		text := string(committed)
		for _, cdkOnly := range []string{"BootstrapVersion", "CheckBootstrapVersion", "CDKMetadata", "AssetParameters", "aws:cdk:path", "aws:asset:", "cdk-hnb659fds", "${Token["} {
			if strings.Contains(text, cdkOnly) {
				t.Errorf("the standalone template %s contains %q", tmpl.Path, cdkOnly)
			}
		}
	}
	if len(PublishedTemplates) != 4 {
		t.Errorf("%d committed templates, want the single-account, deployer, member and operations ones", len(PublishedTemplates))
	}
}

func TestDocsCoverActionsParametersOutputsAndSuppressions(t *testing.T) {
	text := userDocs(t)
	for _, a := range CloudWatchActions {
		if !strings.Contains(text, "`"+a.Action+"`") {
			t.Errorf("the user docs lack the action %s", a.Action)
		}
	}
	s := publishedStack(t)
	for _, section := range []string{"Parameters", "Outputs"} {
		for name := range s.section(section) {
			if !strings.Contains(text, "`"+name+"`") {
				t.Errorf("the user docs lack the %s entry %s", section, name)
			}
		}
	}
	checkLaunchDocs(t, text, "publish", launch.DefaultTemplateKey, launch.DefaultStackName)
	for _, id := range []string{"AwsSolutions-IAM5", "AwsSolutions-S1", "AwsSolutions-SMG4"} {
		if !strings.Contains(text, id) {
			t.Errorf("the user docs do not explain the %s suppression", id)
		}
	}
}

// TestConstructsReuseWithAnotherServiceToken builds what a StackSet member template
// needs: the role with an unconditional S3 policy and the provider registration whose
// ServiceToken is an SNS topic in another account.
func TestConstructsReuseWithAnotherServiceToken(t *testing.T) {
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(t.TempDir())})
	stack := awscdk.NewStack(app, jsii.String("Member"), &awscdk.StackProps{})
	topic := awssns.Topic_FromTopicArn(stack, jsii.String("Topic"), jsii.String("arn:aws:sns:us-east-1:111111111111:sysdig-connector"))
	role := NewSysdigRole(stack, "Sysdig", &SysdigRoleProps{
		SysdigAccountID:   jsii.String("273107874544"),
		ExternalID:        jsii.String("04acdd59-4c98-4d11-8ee5-424326248161"),
		CaptureBucketName: jsii.String("org-captures"),
	})
	NewSysdigProvider(stack, "Provider", &SysdigProviderProps{
		CommonProps: CommonProps{
			ServiceToken:     topic.TopicArn(),
			SysdigApiUrl:     jsii.String("https://eu1.app.sysdig.com"),
			ApiTokenSecretId: jsii.String("arn:aws:secretsmanager:us-east-1:111111111111:secret:sysdig-AbCdEf"),
		},
		RoleArn:   role.Role.RoleArn(),
		DependsOn: role.Dependables(),
	})
	tmpl := assertions.Template_FromStack(stack, nil)
	assertCDK(t, "provider with SNS service token", func() {
		tmpl.HasResource(jsii.String("Custom::SysdigProvider"), &map[string]interface{}{
			"Properties": map[string]interface{}{
				"ServiceToken":     "arn:aws:sns:us-east-1:111111111111:sysdig-connector",
				"ServiceTimeout":   "420",
				"SysdigApiUrl":     "https://eu1.app.sysdig.com",
				"ApiTokenSecretId": "arn:aws:secretsmanager:us-east-1:111111111111:secret:sysdig-AbCdEf",
				"RoleArn":          assertions.Match_AnyValue(),
				"Alias":            assertions.Match_Absent(),
			},
			"DependsOn": assertions.Match_ArrayWith(&[]interface{}{assertions.Match_StringLikeRegexp(jsii.String("SysdigPoliciesReady.*"))}),
		})
	})
	assertCDK(t, "unconditional sysdig_s3", func() {
		tmpl.HasResource(jsii.String("AWS::IAM::Policy"), &map[string]interface{}{
			"Properties": assertions.Match_ObjectLike(&map[string]interface{}{"PolicyName": "sysdig_s3"}),
			"Condition":  assertions.Match_Absent(),
		})
	})
	assertCDK(t, "trust with a literal account", func() {
		tmpl.HasResourceProperties(jsii.String("AWS::IAM::Role"), &map[string]interface{}{
			"AssumeRolePolicyDocument": assertions.Match_ObjectLike(&map[string]interface{}{
				"Statement": []interface{}{assertions.Match_ObjectLike(&map[string]interface{}{
					"Condition": map[string]interface{}{"StringEquals": map[string]interface{}{"sts:ExternalId": "04acdd59-4c98-4d11-8ee5-424326248161"}},
				})},
			}),
		})
	})
	if f := func() []string {
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(nil), nil)
		return nagFindings(stack)
	}(); len(f) > 0 {
		t.Errorf("reused constructs: unsuppressed findings:\n%s", strings.Join(f, "\n"))
	}
}

// The single-account stack's token secret, when the stack creates it, is readable by the
// connector's role only, as the deployer's is by the registrar's.
func TestTokenSecretIsReadableOnlyByTheConnector(t *testing.T) {
	s := publishedStack(t)
	pol := s.resource(t, "ApiTokenSecretPolicy")
	equalJSON(t, "condition", pol["Condition"], `"CreateTokenSecret"`)
	equalJSON(t, "resource policy", props(pol), `{"SecretId":{"Ref":"ApiTokenSecretResource"},"BlockPublicPolicy":true,"ResourcePolicy":{"Version":"2012-10-17","Statement":[
		{"Sid":"OnlyTheConnectorReadsTheToken","Effect":"Deny","Principal":{"AWS":"*"},"Action":"secretsmanager:GetSecretValue","Resource":"*",
		 "Condition":{"ArnNotEquals":{"aws:PrincipalArn":{"Fn::GetAtt":["ConnectorRole","Arn"]}}}}]}}`)
	for id, r := range s.section("Resources") {
		if id != "ConnectorRole" && id != "ApiTokenSecretPolicy" && strings.Contains(canon(r), "GetSecretValue") {
			t.Errorf("%s grants or mentions GetSecretValue", id)
		}
	}
	// The cdk deploy stack gets the same policy.
	asset := synth(t, "", false, false, nil)
	assertCDK(t, "cdk deploy stack's secret policy", func() {
		asset.tmpl.ResourceCountIs(jsii.String("AWS::SecretsManager::ResourcePolicy"), jsii.Number(1))
	})
}

// Both templates that carry code read it from buckets the launcher names (no default, a
// rule), and let Lambda enforce a code signature when a configuration is given.
func TestCodeProvenance(t *testing.T) {
	for name, c := range map[string]struct {
		s  *synthesized
		fn string
	}{"single account": {publishedStack(t), "ConnectorFunction"}, "deployer": {publishedOrg(t), "RegistrarFunction"}} {
		t.Run(name, func(t *testing.T) {
			params := c.s.section("Parameters")
			equalJSON(t, "no default prefix", params[ParamCodeBucketPrefix].(map[string]interface{})["Default"], `""`)
			equalJSON(t, "rule", c.s.section("Rules")["CodeBucketPrefixRequired"].(map[string]interface{})["Assertions"].([]interface{})[0].(map[string]interface{})["Assert"],
				`{"Fn::Not":[{"Fn::Equals":[{"Ref":"CodeBucketPrefix"},""]}]}`)
			signing := params[ParamCodeSigningConfigArn].(map[string]interface{})
			equalJSON(t, "signing optional", signing["Default"], `""`)
			re := regexp.MustCompile(signing["AllowedPattern"].(string))
			for v, ok := range map[string]bool{"": true, "arn:aws:lambda:us-east-1:123456789012:code-signing-config:csc-0123456789abcdef0": true,
				"arn:aws-cn:lambda:cn-north-1:123456789012:code-signing-config:csc-0123456789abcdef0": true, "csc-0123456789abcdef0": false,
				"arn:aws:lambda:us-east-1:123456789012:function:f": false} {
				if re.MatchString(v) != ok {
					t.Errorf("CodeSigningConfigArn pattern on %q: got %v", v, !ok)
				}
			}
			equalJSON(t, "condition", c.s.section("Conditions")[CondHasCodeSigning], `{"Fn::Not":[{"Fn::Equals":[{"Ref":"CodeSigningConfigArn"},""]}]}`)
			equalJSON(t, "function", props(c.s.resource(t, c.fn))["CodeSigningConfigArn"],
				`{"Fn::If":["HasCodeSigningConfig",{"Ref":"CodeSigningConfigArn"},{"Ref":"AWS::NoValue"}]}`)
		})
	}
	// The cdk deploy stack builds its code locally: no code parameters, no signing.
	asset := synth(t, "", false, false, nil)
	if _, ok := asset.section("Parameters")[ParamCodeBucketPrefix]; ok || strings.Contains(canon(asset.doc), "CodeSigningConfigArn") {
		t.Error("the cdk deploy stack carries code parameters")
	}
}
