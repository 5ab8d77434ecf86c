package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsscheduler"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"sysdig-aws-connect/internal/driftcheck"
)

// The scheduled drift check: EventBridge Scheduler runs the function's drift-check
// handler (the same code as the registrar, with a role of its own that may only read),
// which writes the counts per verdict as CloudWatch metrics; an alarm watches them.
const (
	ParamDriftCheckSchedule   = "DriftCheckSchedule"
	DefaultDriftCheckSchedule = "rate(1 day)"
	// CondDriftCheck holds unless DriftCheckSchedule is none.
	CondDriftCheck = "DriftCheckOn"
	// DriftCheckTimeoutSeconds is Lambda's maximum: the run stops reading Sysdig before it.
	DriftCheckTimeoutSeconds = 900
	// driftCheckAlarmPeriod is one day: the alarm compares each day's worst check.
	driftCheckAlarmPeriod = 86400
)

// The verdicts the alarm sums: each one needs a person (orgreport.Verdict values).
var driftCheckAlarmVerdicts = []string{"FAILED", "MISSING", "ORPHAN", "UNHEALTHY"}

// DriftCheckProps configures DriftCheck.
type DriftCheckProps struct {
	// Code and CodeSigningConfigArn are the registrar's: one binary serves both.
	Code                 awslambda.Code
	CodeSigningConfigArn *string
	// Environment is the function's (driftcheck.Env* names): the stack's settings.
	Environment map[string]*string
	// TokenSecretResources, TokenKmsKeyArn and TokenKmsKeyCondition: as the registrar's.
	TokenSecretResources interface{}
	TokenKmsKeyArn       *string
	TokenKmsKeyCondition awscdk.CfnCondition
	// StackSetResource is the StackSet in IAM resource form (ListStackInstances).
	StackSetResource *string
	// StackSetName is the metrics' StackSet dimension.
	StackSetName *string
	// DeployerStackID is the deployer stack's ARN: the check reads its parameters and outputs.
	DeployerStackID *string
	// Statements are added to the role's policy (the VPC network interfaces, when in one).
	Statements []interface{}
	// RegistryTableArn is the registry of record the check scans.
	RegistryTableArn *string
	// Schedule is the EventBridge Scheduler expression.
	Schedule *string
	// LogRetentionDays may be a token.
	LogRetentionDays *float64
	// AlarmActions are notified when the alarm fires (optional).
	AlarmActions *[]*string
	// Condition, when set, makes every resource conditional (DriftCheckSchedule none).
	Condition awscdk.CfnCondition
}

// DriftCheck is the scheduled drift check: its function, role, log group, schedule and alarm.
type DriftCheck struct {
	constructs.Construct
	Function      awslambda.CfnFunction
	Role          awsiam.CfnRole
	LogGroup      awslogs.CfnLogGroup
	SchedulerRole awsiam.CfnRole
	Schedule      awsscheduler.CfnSchedule
	Alarm         awscloudwatch.CfnAlarm
}

// NewDriftCheck creates the drift check. Its role reads, and only what the report needs:
// the OU tree, its own StackSet's instances, the registry, the token.
func NewDriftCheck(scope constructs.Construct, id string, p *DriftCheckProps) *DriftCheck {
	c := constructs.NewConstruct(scope, jsii.String(id))
	d := &DriftCheck{Construct: c}
	d.LogGroup = awslogs.NewCfnLogGroup(c, jsii.String("LogGroup"), &awslogs.CfnLogGroupProps{RetentionInDays: p.LogRetentionDays})
	d.LogGroup.ApplyRemovalPolicy(awscdk.RemovalPolicy_RETAIN, nil)

	// No Sids: the template must stay small (docs/organizations.md names each grant).
	statements := append([]interface{}{
		allow([]string{"logs:CreateLogStream", "logs:PutLogEvents"}, d.LogGroup.AttrArn()),
		// The Organizations listings support no resource-level permission; with CallAs
		// DELEGATED_ADMIN, CloudFormation checks ListDelegatedAdministrators first.
		allow([]string{"organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent",
			"organizations:DescribeAccount", "organizations:ListDelegatedAdministrators"}, "*"),
		allow("cloudformation:DescribeStacks", p.DeployerStackID),
		allow("cloudformation:ListStackInstances", p.StackSetResource),
		allow("dynamodb:Scan", p.RegistryTableArn),
	}, tokenStatements(p.TokenSecretResources, p.TokenKmsKeyArn, p.TokenKmsKeyCondition)...)
	statements = append(statements, p.Statements...)
	d.Role = awsiam.NewCfnRole(c, jsii.String("Role"), &awsiam.CfnRoleProps{
		AssumeRolePolicyDocument: assumedBy("lambda.amazonaws.com", nil),
		Policies: &[]interface{}{&awsiam.CfnRole_PolicyProperty{
			PolicyName:     jsii.String("drift-check"),
			PolicyDocument: map[string]interface{}{"Version": "2012-10-17", "Statement": statements},
		}},
	})

	code := p.Code.Bind(c)
	env := map[string]*string{}
	for k, v := range p.Environment {
		env[k] = v
	}
	d.Function = awslambda.NewCfnFunction(c, jsii.String("Function"), &awslambda.CfnFunctionProps{
		Runtime:       jsii.String("provided.al2023"),
		Architectures: jsii.Strings("arm64"),
		// The bootstrap serves the drift check under this handler name (lambda/main.go).
		Handler:              jsii.String(driftcheck.Handler),
		Code:                 &awslambda.CfnFunction_CodeProperty{S3Bucket: code.S3Location.BucketName, S3Key: code.S3Location.ObjectKey},
		CodeSigningConfigArn: p.CodeSigningConfigArn,
		// MemorySize: Lambda's default, 128 MB, as the registrar's (FunctionMemoryMB).
		Timeout:                      jsii.Number(DriftCheckTimeoutSeconds),
		ReservedConcurrentExecutions: jsii.Number(1), // one check at a time
		Role:                         d.Role.AttrArn(),
		LoggingConfig:                &awslambda.CfnFunction_LoggingConfigProperty{LogGroup: d.LogGroup.Ref()},
		Environment:                  &awslambda.CfnFunction_EnvironmentProperty{Variables: &env},
	})

	// Scheduler's role may invoke this function only, for schedules of this account.
	d.SchedulerRole = awsiam.NewCfnRole(c, jsii.String("SchedulerRole"), &awsiam.CfnRoleProps{
		AssumeRolePolicyDocument: assumedBy("scheduler.amazonaws.com",
			map[string]interface{}{"StringEquals": map[string]interface{}{"aws:SourceAccount": awscdk.Aws_ACCOUNT_ID()}}),
		Policies: &[]interface{}{&awsiam.CfnRole_PolicyProperty{
			PolicyName: jsii.String("invoke"),
			PolicyDocument: map[string]interface{}{"Version": "2012-10-17", "Statement": []interface{}{
				allow("lambda:InvokeFunction", d.Function.AttrArn()),
			}},
		}},
	})
	d.Schedule = awsscheduler.NewCfnSchedule(c, jsii.String("Schedule"), &awsscheduler.CfnScheduleProps{
		ScheduleExpression: p.Schedule,
		FlexibleTimeWindow: &awsscheduler.CfnSchedule_FlexibleTimeWindowProperty{Mode: jsii.String("OFF")},
		Target: &awsscheduler.CfnSchedule_TargetProperty{
			Arn: d.Function.AttrArn(), RoleArn: d.SchedulerRole.AttrArn(), Input: jsii.String(driftcheck.ScheduleInput),
		},
	})

	// FAILED + MISSING + ORPHAN + UNHEALTHY above zero in two consecutive days' worst checks
	// (Maximum: a check that ran twice does not count twice).
	var metrics []interface{}
	var ids []string
	for _, v := range driftCheckAlarmVerdicts {
		id := fmt.Sprintf("m%d", len(ids)+1)
		ids = append(ids, id)
		dim := func(name string, value *string) interface{} {
			return &awscloudwatch.CfnAlarm_DimensionProperty{Name: jsii.String(name), Value: value}
		}
		metrics = append(metrics, &awscloudwatch.CfnAlarm_MetricDataQueryProperty{Id: jsii.String(id), ReturnData: jsii.Bool(false),
			MetricStat: &awscloudwatch.CfnAlarm_MetricStatProperty{
				Metric: &awscloudwatch.CfnAlarm_MetricProperty{Namespace: jsii.String(driftcheck.Namespace), MetricName: jsii.String(driftcheck.MetricAccounts),
					Dimensions: []interface{}{dim(driftcheck.DimStackSet, p.StackSetName), dim(driftcheck.DimVerdict, jsii.String(v))}},
				Period: jsii.Number(driftCheckAlarmPeriod), Stat: jsii.String("Maximum")}})
	}
	metrics = append(metrics, &awscloudwatch.CfnAlarm_MetricDataQueryProperty{Id: jsii.String("needsAction"),
		Expression: jsii.String(fmt.Sprintf("%s+%s+%s+%s", ids[0], ids[1], ids[2], ids[3]))})
	d.Alarm = awscloudwatch.NewCfnAlarm(c, jsii.String("Alarm"), &awscloudwatch.CfnAlarmProps{
		AlarmDescription:   jsii.String("Accounts FAILED, MISSING, ORPHAN or UNHEALTHY two days running: see sysdig-connect org status"),
		Metrics:            metrics,
		ComparisonOperator: jsii.String("GreaterThanThreshold"),
		Threshold:          jsii.Number(0),
		EvaluationPeriods:  jsii.Number(2),
		DatapointsToAlarm:  jsii.Number(2),
	})
	if p.AlarmActions != nil {
		d.Alarm.SetAlarmActions(p.AlarmActions)
	}

	if p.Condition != nil {
		for _, r := range []awscdk.CfnResource{d.LogGroup, d.Role, d.Function, d.SchedulerRole, d.Schedule, d.Alarm} {
			r.CfnOptions().SetCondition(p.Condition)
		}
	}
	for r, name := range map[awscdk.CfnResource]string{d.LogGroup: "DriftCheckLogGroup", d.Role: "DriftCheckRole", d.Function: "DriftCheckFunction",
		d.SchedulerRole: "DriftCheckSchedulerRole", d.Schedule: "DriftCheckTrigger", d.Alarm: "DriftCheckAlarm"} {
		r.OverrideLogicalId(jsii.String(name))
	}
	suppress(d.Role, "AwsSolutions-IAM5", reasonDriftCheckReads)
	return d
}

const reasonDriftCheckReads = "Read-only. Organizations listings have no resource; one StackSet, whose ARN ends in a generated id."

// allow is one Allow statement.
func allow(action, resource interface{}) map[string]interface{} {
	return map[string]interface{}{"Effect": "Allow", "Action": action, "Resource": resource}
}

// assumedBy is a trust policy for one AWS service, with an optional condition.
func assumedBy(service string, condition map[string]interface{}) map[string]interface{} {
	st := map[string]interface{}{"Effect": "Allow", "Principal": map[string]interface{}{"Service": service}, "Action": "sts:AssumeRole"}
	if condition != nil {
		st["Condition"] = condition
	}
	return map[string]interface{}{"Version": "2012-10-17", "Statement": []interface{}{st}}
}

// driftCheckScheduleParam declares DriftCheckSchedule and its condition (the deployer
// takes it; the operations stack, which holds the check, receives it).
func (s *templateStack) driftCheckScheduleParam(description string) {
	s.param(ParamDriftCheckSchedule, &awscdk.CfnParameterProps{
		Default:        jsii.String(DefaultDriftCheckSchedule),
		AllowedPattern: jsii.String(`^(none|(rate|cron)\(.+\))$`),
		Description:    jsii.String(description),
	})
	s.cond(CondDriftCheck, awscdk.Fn_ConditionNot(awscdk.Fn_ConditionEquals(s.str(ParamDriftCheckSchedule), jsii.String("none"))))
}
