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

func TestDriftCheckRunsDailyByDefaultAndNotAtAllWithNone(t *testing.T) {
	s := publishedOrg(t)
	equalJSON(t, "parameter", s.section("Parameters")[ParamDriftCheckSchedule], `{"Type":"String","Default":"rate(1 day)",
		"AllowedPattern":"^(none|(rate|cron)\\(.+\\))$","Description":"Scheduler expression (UTC), e.g. rate(6 hours); none: no drift check."}`)
	equalJSON(t, "condition", s.section("Conditions")[CondDriftCheck], `{"Fn::Not":[{"Fn::Equals":[{"Ref":"DriftCheckSchedule"},"none"]}]}`)
	for _, id := range driftCheckResources {
		equalJSON(t, id+" condition", s.resource(t, id)["Condition"], `"DriftCheckOn"`)
	}
	sched := props(s.resource(t, "DriftCheckTrigger"))
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
	always := []string{"RegistrarFunction", "MemberStackSet"}
	t.Run("default", func(t *testing.T) { checkScenario(t, s.doc, with(), true, driftCheckResources, nil, always) })
	t.Run("every 6 hours", func(t *testing.T) {
		checkScenario(t, s.doc, with(ParamDriftCheckSchedule, "rate(6 hours)"), true, driftCheckResources, nil, always)
	})
	t.Run("none", func(t *testing.T) {
		checkScenario(t, s.doc, with(ParamDriftCheckSchedule, "none"), true, nil, driftCheckResources, always)
	})
	t.Run("delegated administrator, existing secret", func(t *testing.T) {
		v := with(ParamCallAs, "DELEGATED_ADMIN", ParamConnectManagementAccount, "false", ParamAPITokenSecret, "sysdig/api-token")
		delete(v, ParamAPIToken)
		checkScenario(t, s.doc, v, true, driftCheckResources, []string{"ApiTokenSecretPolicy"}, always)
	})
	if strings.Contains(canon(s.section("Parameters")), `"DriftCheckSchedule":{"AllowedValues"`) {
		t.Error("DriftCheckSchedule takes any Scheduler expression")
	}
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
	s := publishedOrg(t)
	role := props(s.resource(t, "DriftCheckRole"))
	equalJSON(t, "trust", role["AssumeRolePolicyDocument"], `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)
	if _, ok := role["ManagedPolicyArns"]; ok {
		t.Error("the drift check's role must have no managed policy")
	}
	registrarRead := statements(t, s, "RegistrarRole")[1].(map[string]interface{})
	equalJSON(t, "the drift check's policy", statements(t, s, "DriftCheckRole"), `[
		{"Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],"Resource":{"Fn::GetAtt":["DriftCheckLogGroup","Arn"]}},
		{"Effect":"Allow","Action":["organizations:ListAccountsForParent","organizations:ListOrganizationalUnitsForParent","organizations:DescribeAccount","organizations:ListDelegatedAdministrators"],"Resource":"*"},
		{"Effect":"Allow","Action":"cloudformation:DescribeStacks","Resource":{"Ref":"AWS::StackId"}},
		{"Effect":"Allow","Action":"cloudformation:ListStackInstances","Resource":{"Fn::Sub":"arn:${AWS::Partition}:cloudformation:${AWS::Region}:*:stackset/${AWS::StackName}-members:*"}},
		{"Effect":"Allow","Action":"dynamodb:Scan","Resource":{"Fn::GetAtt":["RegistryTable","Arn"]}},
		{"Sid":"ReadApiToken","Effect":"Allow","Action":"secretsmanager:GetSecretValue","Resource":`+canon(registrarRead["Resource"])+`},
		{"Fn::If":["HasTokenKmsKey",{"Sid":"DecryptApiToken","Effect":"Allow","Action":"kms:Decrypt","Resource":{"Ref":"ApiTokenKmsKeyArn"},
			"Condition":{"StringLike":{"kms:ViaService":"secretsmanager.*.amazonaws.com"}}},{"Ref":"AWS::NoValue"}]}]`)
	// Every action reads (or writes the function's own logs).
	for _, st := range statements(t, s, "DriftCheckRole") {
		m := st.(map[string]interface{})
		if cond, ok := m["Fn::If"].([]interface{}); ok { // the statement when its condition holds
			m = cond[1].(map[string]interface{})
		}
		for _, a := range strings.Split(strings.Trim(canon(m["Action"]), `[]`), ",") {
			a = strings.Trim(a, `"`)
			verb := a[strings.Index(a, ":")+1:]
			if a != "" && !strings.HasPrefix(verb, "List") && !strings.HasPrefix(verb, "Describe") && !strings.HasPrefix(verb, "Get") &&
				verb != "Scan" && verb != "Decrypt" && a != "logs:CreateLogStream" && a != "logs:PutLogEvents" {
				t.Errorf("the drift check may %s: it only reads", a)
			}
		}
	}
	// The token secret this stack creates: the registrar and the drift check read it, nobody else.
	equalJSON(t, "secret policy", props(s.resource(t, "ApiTokenSecretPolicy"))["ResourcePolicy"].(map[string]interface{})["Statement"].([]interface{})[0].(map[string]interface{})["Condition"],
		`{"ArnNotEquals":{"aws:PrincipalArn":{"Fn::If":["DriftCheckOn",[{"Fn::GetAtt":["RegistrarRole","Arn"]},{"Fn::GetAtt":["DriftCheckRole","Arn"]}],{"Fn::GetAtt":["RegistrarRole","Arn"]}]}}}`)

	// Scheduler may invoke this function only, for this account's schedules.
	sched := props(s.resource(t, "DriftCheckSchedulerRole"))
	equalJSON(t, "scheduler trust", sched["AssumeRolePolicyDocument"], `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"scheduler.amazonaws.com"},
		"Action":"sts:AssumeRole","Condition":{"StringEquals":{"aws:SourceAccount":{"Ref":"AWS::AccountId"}}}}]}`)
	equalJSON(t, "scheduler policy", statements(t, s, "DriftCheckSchedulerRole"), `[{"Effect":"Allow","Action":"lambda:InvokeFunction","Resource":{"Fn::GetAtt":["DriftCheckFunction","Arn"]}}]`)
}

func TestDriftCheckFunctionIsTheRegistrarsCodeUnderItsOwnHandler(t *testing.T) {
	s := publishedOrg(t)
	fn := props(s.resource(t, "DriftCheckFunction"))
	reg := props(s.resource(t, "RegistrarFunction"))
	equalJSON(t, "same code", fn["Code"], canon(reg["Code"]))
	equalJSON(t, "same signing", fn["CodeSigningConfigArn"], canon(reg["CodeSigningConfigArn"]))
	for k, want := range map[string]string{
		"Handler": `"` + driftcheck.Handler + `"`, "Runtime": `"provided.al2023"`, "Architectures": `["arm64"]`, "Timeout": `900`,
		"ReservedConcurrentExecutions": `1`, "MemorySize": `null`, "Role": `{"Fn::GetAtt":["DriftCheckRole","Arn"]}`,
		"LoggingConfig": `{"LogGroup":{"Ref":"DriftCheckLogGroup"}}`,
		"Environment": `{"Variables":{"DEPLOYER_STACK_ID":{"Ref":"AWS::StackId"},"CONCURRENT_INSTANCES":{"Ref":"RegistrarConcurrency"},
			"SYSDIG_API_URL":` + canon(reg["Environment"].(map[string]interface{})["Variables"].(map[string]interface{})[EnvAllowedAPIURLs]) + `}}`,
	} {
		equalJSON(t, k, fn[k], want)
	}
	lg := s.resource(t, "DriftCheckLogGroup")
	equalJSON(t, "log retention", props(lg)["RetentionInDays"], `{"Ref":"LogRetentionDays"}`)
	equalJSON(t, "log kept", lg["DeletionPolicy"], `"Retain"`)
}

func TestDriftCheckAlarmSumsTheVerdictsThatNeedAPersonOverTwoChecks(t *testing.T) {
	s := publishedOrg(t)
	metric := func(id, verdict string) string {
		return `{"Id":"` + id + `","ReturnData":false,"MetricStat":{"Period":86400,"Stat":"Maximum","Metric":{"Namespace":"SysdigAwsConnect","MetricName":"Accounts",
			"Dimensions":[{"Name":"StackSet","Value":{"Fn::Sub":"${AWS::StackName}-members"}},{"Name":"Verdict","Value":"` + verdict + `"}]}}}`
	}
	alarm := props(s.resource(t, "DriftCheckAlarm"))
	equalJSON(t, "metrics", alarm["Metrics"], `[`+metric("m1", "FAILED")+`,`+metric("m2", "MISSING")+`,`+metric("m3", "ORPHAN")+`,`+metric("m4", "UNHEALTHY")+
		`,{"Id":"needsAction","Expression":"m1+m2+m3+m4"}]`)
	for k, want := range map[string]string{"ComparisonOperator": `"GreaterThanThreshold"`, "Threshold": `0`, "EvaluationPeriods": `2`, "DatapointsToAlarm": `2`} {
		equalJSON(t, k, alarm[k], want)
	}
	if _, ok := alarm["AlarmActions"]; ok {
		t.Error("alarm actions without routing")
	}

	// The construct takes the alarm actions (the deployer's alarm routing).
	app := newTestApp(t, "", true)
	stack := awscdk.NewStack(app, jsii.String("Actions"), nil)
	NewDriftCheck(stack, "DriftCheck", &DriftCheckProps{
		Code:             awslambda.Code_FromBucket(awss3.Bucket_FromBucketName(stack, jsii.String("Code"), jsii.String("code")), jsii.String("bootstrap.zip"), nil),
		StackSetResource: jsii.String("arn:aws:cloudformation:us-east-1:*:stackset/x-members:*"),
		StackSetName:     jsii.String("x-members"), RegistryTableArn: jsii.String("arn:aws:dynamodb:us-east-1:123456789012:table/registry"),
		Schedule: jsii.String("rate(1 hour)"), TokenSecretResources: "arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbCdEf",
		AlarmActions: &[]*string{jsii.String("arn:aws:sns:us-east-1:123456789012:ops")},
	})
	doc := *assertions.Template_FromStack(stack, nil).ToJSON()
	got := props(doc["Resources"].(map[string]interface{})["DriftCheckAlarm"].(map[string]interface{}))
	equalJSON(t, "actions", got["AlarmActions"], `["arn:aws:sns:us-east-1:123456789012:ops"]`)
}
