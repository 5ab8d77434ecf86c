package stacks

import (
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/jsii-runtime-go"

	"sysdig-aws-connect/internal/driftcheck"
)

var driftCheckResources = []string{"DriftCheckLogGroup", "DriftCheckRole", "DriftCheckFunction", "DriftCheckSchedulerRole", "DriftCheckTrigger", "DriftCheckAlarm"}

// opsValues are what the deployer passes the operations stack (its names, resolved).
var opsValues = map[string]string{ParamOpsFunctionName: "sysdig-RegistrarFunction-x", ParamOpsDeadLetterQueueName: "sysdig-RegistrarDeadLetterQueue-x",
	ParamOpsAlarmAction: "arn:aws:sns:us-east-1:123456789012:sysdig-AlarmTopic-x", ParamOpsStackSetName: "sysdig-members", ParamOpsDashboardName: "sysdig-registrar",
	ParamDriftCheckSchedule: "rate(1 day)", ParamOpsDeployerStackID: "arn:aws:cloudformation:us-east-1:123456789012:stack/sysdig/0a1b",
	ParamOpsRegistryTableArn: "arn:aws:dynamodb:us-east-1:123456789012:table/sysdig-RegistryTable-x",
	ParamOpsTokenSecretArns:  "arn:aws:secretsmanager:us-east-1:123456789012:secret:sysdig/api-token-??????",
	ParamSysdigAPIURL:        "https://app.sysdigcloud.com", ParamRegistrarConcurrency: "5", ParamOpsCodeBucket: "acme-sysdig-us-east-1", ParamCodeKey: "sysdig-aws-connect/bootstrap.zip"}

func TestDriftCheckRunsDailyByDefaultAndNotAtAllWithNone(t *testing.T) {
	org, ops := publishedOrg(t), publishedOperations(t)
	// The deployer takes the schedule and passes it to the operations stack, which holds the check.
	for _, s := range []*synthesized{org, ops} {
		equalJSON(t, "condition", s.section("Conditions")[CondDriftCheck], `{"Fn::Not":[{"Fn::Equals":[{"Ref":"DriftCheckSchedule"},"none"]}]}`)
	}
	equalJSON(t, "parameter", org.section("Parameters")[ParamDriftCheckSchedule], `{"Type":"String","Default":"rate(1 day)",
		"AllowedPattern":"^(none|(rate|cron)\\(.+\\))$","Description":"Scheduler expression (UTC), e.g. rate(6 hours); none: no drift check."}`)
	equalJSON(t, "passed on", props(org.resource(t, "Operations"))["Parameters"].(map[string]interface{})[ParamDriftCheckSchedule], `{"Ref":"DriftCheckSchedule"}`)
	for _, id := range driftCheckResources {
		equalJSON(t, id+" condition", ops.resource(t, id)["Condition"], `"DriftCheckOn"`)
		if _, ok := org.section("Resources")[id]; ok {
			t.Errorf("%s is in the deployer: it belongs in the operations stack", id)
		}
	}
	sched := props(ops.resource(t, "DriftCheckTrigger"))
	equalJSON(t, "schedule", sched, `{"ScheduleExpression":{"Ref":"DriftCheckSchedule"},"FlexibleTimeWindow":{"Mode":"OFF"},
		"Target":{"Arn":{"Fn::GetAtt":["DriftCheckFunction","Arn"]},"RoleArn":{"Fn::GetAtt":["DriftCheckSchedulerRole","Arn"]},"Input":"{\"check\":\"drift\"}"}}`)

	base := map[string]string{ParamOrganizationID: "o-a1b2c3d4e5", ParamAPIToken: "e71d7c0f-501e-47d4-a159-39da8b716f44"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range base {
			m[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return launched(m, true)
	}
	always := []string{"RegistrarFunction", "MemberStackSet", "Operations", "ApiTokenSecretPolicy"}
	t.Run("deployer default", func(t *testing.T) { checkScenario(t, org.doc, with(), true, nil, nil, always) })
	t.Run("deployer none", func(t *testing.T) {
		checkScenario(t, org.doc, with(ParamDriftCheckSchedule, "none"), true, nil, nil, always)
	})
	t.Run("default", func(t *testing.T) {
		checkScenario(t, ops.doc, opsValues, true, driftCheckResources, nil, []string{"Dashboard"})
	})
	t.Run("every 6 hours", func(t *testing.T) {
		checkScenario(t, ops.doc, withValues(opsValues, map[string]string{ParamDriftCheckSchedule: "rate(6 hours)"}), true, driftCheckResources, nil, nil)
	})
	t.Run("none", func(t *testing.T) {
		checkScenario(t, ops.doc, withValues(opsValues, map[string]string{ParamDriftCheckSchedule: "none"}), true, nil, driftCheckResources, []string{"Dashboard", "RegistrarRequestsFAILED"})
	})
	if strings.Contains(canon(org.section("Parameters")), `"DriftCheckSchedule":{"AllowedValues"`) {
		t.Error("DriftCheckSchedule takes any Scheduler expression")
	}
	// The drift check's role is the operations stack's output, under the same condition.
	out := ops.section("Outputs")[OutOpsDriftCheckRoleArn].(map[string]interface{})
	equalJSON(t, "role output", []interface{}{out["Value"], out["Condition"]}, `[{"Fn::GetAtt":["DriftCheckRole","Arn"]},"DriftCheckOn"]`)
}

// statements is a role's one inline policy.
func statements(t *testing.T, s *synthesized, role string) []interface{} {
	t.Helper()
	p := props(s.resource(t, role))["Policies"].([]interface{})
	if len(p) != 1 {
		t.Fatalf("%s: %d inline policies", role, len(p))
	}
	return p[0].(map[string]interface{})["PolicyDocument"].(map[string]interface{})["Statement"].([]interface{})
}

func TestDriftCheckOnlyReads(t *testing.T) {
	s, org := publishedOperations(t), publishedOrg(t)
	role := props(s.resource(t, "DriftCheckRole"))
	equalJSON(t, "trust", role["AssumeRolePolicyDocument"], `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	if _, ok := role["ManagedPolicyArns"]; ok {
		t.Error("the drift check's role must have no managed policy")
	}
	// The token: exactly what the registrar may read (the deployer passes it joined).
	registrarRead := statements(t, org, "RegistrarRole")[1].(map[string]interface{})
	equalJSON(t, "token passed", props(org.resource(t, "Operations"))["Parameters"].(map[string]interface{})[ParamOpsTokenSecretArns],
		`{"Fn::Join":[",",`+canon(registrarRead["Resource"])+`]}`)
	equalJSON(t, "the drift check's policy", statements(t, s, "DriftCheckRole"), `[
		{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":{"Fn::GetAtt":["DriftCheckLogGroup","Arn"]}},
		{"Effect":"Allow","Action":["organizations:ListAccountsForParent","organizations:ListOrganizationalUnitsForParent","organizations:DescribeAccount","organizations:ListDelegatedAdministrators"],"Resource":"*"},
		{"Effect":"Allow","Action":"cloudformation:DescribeStacks","Resource":{"Ref":"DeployerStackId"}},
		{"Effect":"Allow","Action":"cloudformation:ListStackInstances","Resource":{"Fn::Sub":"arn:${AWS::Partition}:cloudformation:${AWS::Region}:*:stackset/${StackSetName}:*"}},
		{"Effect":"Allow","Action":"dynamodb:Scan","Resource":{"Ref":"RegistryTableArn"}},
		{"Sid":"ReadApiToken","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":{"Fn::Split":[",",{"Ref":"TokenSecretArns"}]}},
		{"Fn::If":["HasTokenKmsKey",{"Sid":"DecryptApiToken","Effect":"Allow","Action":"kms:Decrypt","Resource":{"Ref":"ApiTokenKmsKeyArn"},
			"Condition":{"StringLike":{"kms:ViaService":"secretsmanager.*.amazonaws.com"}}},{"Ref":"AWS::NoValue"}]},
		`+canon(vpcStatementJSON)+`]`)
	// Every action reads (or writes the function's own logs, or attaches it to your VPC as Lambda requires).
	for _, st := range statements(t, s, "DriftCheckRole") {
		m := st.(map[string]interface{})
		if cond, ok := m["Fn::If"].([]interface{}); ok { // the statement when its condition holds
			m = cond[1].(map[string]interface{})
		}
		for _, a := range strings.Split(strings.Trim(canon(m["Action"]), `[]`), ",") {
			a = strings.Trim(a, `"`)
			verb := a[strings.Index(a, ":")+1:]
			if a != "" && !strings.HasPrefix(verb, "List") && !strings.HasPrefix(verb, "Describe") && !strings.HasPrefix(verb, "Get") &&
				verb != "Scan" && verb != "Decrypt" && a != "logs:CreateLogStream" && a != "logs:PutLogEvents" && !strings.HasPrefix(a, "ec2:") {
				t.Errorf("the drift check may %s: it only reads", a)
			}
		}
	}
	// The token secret this stack creates: the registrar and the drift check read it, nobody else.
	equalJSON(t, "secret policy", props(org.resource(t, "ApiTokenSecretPolicy"))["ResourcePolicy"].(map[string]interface{})["Statement"].([]interface{})[0].(map[string]interface{})["Condition"],
		`{"ArnNotEquals":{"aws:PrincipalArn":{"Fn::If":["DriftCheckOn",[{"Fn::GetAtt":["RegistrarRole","Arn"]},{"Fn::GetAtt":["Operations","Outputs.DriftCheckRoleArn"]}],{"Fn::GetAtt":["RegistrarRole","Arn"]}]}}}`)

	// Scheduler may invoke this function only, for this account's schedules.
	sched := props(s.resource(t, "DriftCheckSchedulerRole"))
	equalJSON(t, "scheduler trust", sched["AssumeRolePolicyDocument"], `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"scheduler.amazonaws.com"},
		"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":{"Ref":"AWS::AccountId"}}}}]}`)
	equalJSON(t, "scheduler policy", statements(t, s, "DriftCheckSchedulerRole"), `[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":{"Fn::GetAtt":["DriftCheckFunction","Arn"]}}]`)
}

func TestDriftCheckFunctionIsTheRegistrarsCodeUnderItsOwnHandler(t *testing.T) {
	s, org := publishedOperations(t), publishedOrg(t)
	fn := props(s.resource(t, "DriftCheckFunction"))
	reg := props(org.resource(t, "RegistrarFunction"))
	passed := props(org.resource(t, "Operations"))["Parameters"].(map[string]interface{})
	equalJSON(t, "code", fn["Code"], `{"S3Bucket":{"Ref":"CodeBucket"},"S3Key":{"Ref":"CodeKey"}}`)
	equalJSON(t, "the registrar's code", []interface{}{passed[ParamOpsCodeBucket], passed[ParamCodeKey]},
		canon([]interface{}{reg["Code"].(map[string]interface{})["S3Bucket"], reg["Code"].(map[string]interface{})["S3Key"]}))
	equalJSON(t, "signing", fn["CodeSigningConfigArn"], `{"Fn::If":["HasCodeSigningConfig",{"Ref":"CodeSigningConfigArn"},{"Ref":"AWS::NoValue"}]}`)
	equalJSON(t, "the registrar's signing", passed[ParamCodeSigningConfigArn], `{"Ref":"CodeSigningConfigArn"}`)
	// The hardening options, as the registrar's.
	equalJSON(t, "in your VPC", fn["VpcConfig"], canon(reg["VpcConfig"]))
	for k, want := range map[string]string{
		"Handler": `"` + driftcheck.Handler + `"`, "Runtime": `"provided.al2023"`, "Architectures": `["arm64"]`, "Timeout": `900`,
		"ReservedConcurrentExecutions": `1`, "MemorySize": `null`, "Role": `{"Fn::GetAtt":["DriftCheckRole","Arn"]}`,
		"LoggingConfig": `{"LogGroup":{"Ref":"DriftCheckLogGroup"}}`,
		"Environment": `{"Variables":{"DEPLOYER_STACK_ID":{"Ref":"DeployerStackId"},"CONCURRENT_INSTANCES":{"Ref":"RegistrarConcurrency"},
			"SYSDIG_API_URL":{"Ref":"SysdigApiUrl"}}}`,
	} {
		equalJSON(t, k, fn[k], want)
	}
	lg := s.resource(t, "DriftCheckLogGroup")
	equalJSON(t, "log retention", props(lg)["RetentionInDays"], `{"Ref":"LogRetentionDays"}`)
	equalJSON(t, "log kept", lg["DeletionPolicy"], `"Retain"`)
	equalJSON(t, "log key", props(lg)["KmsKeyId"], canon(props(org.resource(t, "RegistrarLogGroup"))["KmsKeyId"]))
	equalJSON(t, "the registrar's API URL", passed[ParamSysdigAPIURL],
		canon(reg["Environment"].(map[string]interface{})["Variables"].(map[string]interface{})[EnvAllowedAPIURLs]))
}

func TestDriftCheckAlarmSumsTheVerdictsThatNeedAPersonOverTwoChecks(t *testing.T) {
	s := publishedOperations(t)
	metric := func(id, verdict string) string {
		return `{"Id":"` + id + `","ReturnData":false,"MetricStat":{"Period":86400,"Stat":"Maximum","Metric":{"Namespace":"SysdigAwsConnect","MetricName":"Accounts",
			"Dimensions":[{"Name":"StackSet","Value":{"Ref":"StackSetName"}},{"Name":"Verdict","Value":"` + verdict + `"}]}}}`
	}
	alarm := props(s.resource(t, "DriftCheckAlarm"))
	equalJSON(t, "metrics", alarm["Metrics"], `[`+metric("m1", "FAILED")+`,`+metric("m2", "MISSING")+`,`+metric("m3", "ORPHAN")+`,`+metric("m4", "UNHEALTHY")+
		`,{"Id":"needsAction","Expression":"m1+m2+m3+m4"}]`)
	for k, want := range map[string]string{"ComparisonOperator": `"GreaterThanThreshold"`, "Threshold": `0`, "EvaluationPeriods": `2`, "DatapointsToAlarm": `2`} {
		equalJSON(t, k, alarm[k], want)
	}
	// Routed like every other alarm of the deployer (AlarmEmail's topic, or AlarmTopicArn).
	equalJSON(t, "routing", alarm["AlarmActions"], `[{"Ref":"AlarmAction"}]`)
	equalJSON(t, "the registrar's routing", alarm["AlarmActions"], canon(props(s.resource(t, "RegistrarRequestsFAILED"))["AlarmActions"]))
	// The dashboard's drift widget filters StackSet by the value the check emits: the
	// deployer's stack name + "-members" (orgreport.ReadStack), passed as StackSetName.
	equalJSON(t, "StackSet dimension", props(publishedOrg(t).resource(t, "Operations"))["Parameters"].(map[string]interface{})[ParamOpsStackSetName],
		`{"Fn::Sub":"${AWS::StackName}-members"}`)

	// The construct takes the alarm actions (the deployer's alarm routing).
	app := newTestApp(t, "", true)
	stack := awscdk.NewStack(app, jsii.String("Actions"), nil)
	NewDriftCheck(stack, "DriftCheck", &DriftCheckProps{
		Code:             awslambda.Code_FromBucket(awss3.Bucket_FromBucketName(stack, jsii.String("Code"), jsii.String("code")), jsii.String("bootstrap.zip"), nil),
		StackSetResource: jsii.String("arn:aws:cloudformation:us-east-1:*:stackset/x-members:*"),
		StackSetName:     jsii.String("x-members"), DeployerStackID: jsii.String("arn:aws:cloudformation:us-east-1:123456789012:stack/x/1"), RegistryTableArn: jsii.String("arn:aws:dynamodb:us-east-1:123456789012:table/registry"),
		Schedule: jsii.String("rate(1 hour)"), TokenSecretResources: "arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbCdEf",
		AlarmActions: &[]*string{jsii.String("arn:aws:sns:us-east-1:123456789012:ops")},
	})
	doc := *assertions.Template_FromStack(stack, nil).ToJSON()
	got := props(doc["Resources"].(map[string]interface{})["DriftCheckAlarm"].(map[string]interface{}))
	equalJSON(t, "actions", got["AlarmActions"], `["arn:aws:sns:us-east-1:123456789012:ops"]`)
}

// vpcStatementJSON is the statement Lambda needs to put a function in your VPC (only then).
var vpcStatementJSON = map[string]interface{}{"Fn::If": []interface{}{"InVpc", map[string]interface{}{"Sid": "VpcNetworkInterfaces", "Effect": "Allow", "Resource": "*",
	"Action": []interface{}{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
		"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"}}, map[string]interface{}{"Ref": "AWS::NoValue"}}}
