package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awss3"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"

	"sysdig-aws-connect/internal/driftcheck"
)

// Parameters of the operations template (the deployer passes them). Those with the
// deployer's meaning keep its names (LogRetentionDays, SubnetIds, DriftCheckSchedule, ...).
const (
	ParamOpsFunctionName        = "FunctionName"
	ParamOpsDeadLetterQueueName = "DeadLetterQueueName"
	ParamOpsAlarmAction         = "AlarmAction"
	ParamOpsStackSetName        = "StackSetName"
	ParamOpsDashboardName       = "DashboardName"
	ParamOpsDeployerStackID     = "DeployerStackId"
	ParamOpsRegistryTableArn    = "RegistryTableArn"
	ParamOpsTokenSecretArns     = "TokenSecretArns"
	ParamOpsCodeBucket          = "CodeBucket"

	// OutOpsDriftCheckRoleArn is the drift check's role (under DriftCheckOn): the
	// deployer's token secret policy lets it read the token.
	OutOpsDriftCheckRoleArn = "DriftCheckRoleArn"
)

// OperationsStack is the deployer's nested stack: the registrar's alarms, its dashboard
// and the scheduled drift check. They are a template of their own, read from S3 beside
// the code like the member template, so the deployer keeps room within TemplateBudgetBytes.
type OperationsStack struct {
	*templateStack
	Alarms     *FunctionAlarms
	Dashboard  awscloudwatch.CfnDashboard
	DriftCheck *DriftCheck
}

var operationsParameterGroups = []parameterGroup{
	{"Passed by the deployer stack", []string{ParamOpsFunctionName, ParamOpsDeadLetterQueueName, ParamOpsAlarmAction, ParamOpsStackSetName, ParamOpsDashboardName}},
	{"The drift check (passed by the deployer stack)", []string{ParamDriftCheckSchedule, ParamOpsDeployerStackID, ParamOpsRegistryTableArn, ParamOpsTokenSecretArns,
		ParamAPITokenKmsKeyArn, ParamSysdigAPIURL, ParamRegistrarConcurrency, ParamOpsCodeBucket, ParamCodeKey, ParamCodeSigningConfigArn, ParamLogRetentionDays}},
	{"Hardening (as the deployer's)", []string{ParamLogKmsKeyArn, ParamSubnetIDs, ParamSecurityGroupIDs}},
}

// NewOperationsStack builds the operations template (always standalone).
func NewOperationsStack(scope constructs.Construct, id string) *OperationsStack {
	props := awscdk.StackProps{Description: jsii.String(describe("sysdig-aws-connect operations: the registrar's alarms and dashboard, the scheduled drift check (nested in the Organizations deployer stack)."))}
	standaloneStackProps(&props)
	s := &OperationsStack{templateStack: newTemplateStack(awscdk.NewStack(scope, jsii.String(id), &props))}
	for _, p := range []struct{ name, desc string }{
		{ParamOpsFunctionName, "The registrar function's name."},
		{ParamOpsDeadLetterQueueName, "Its dead-letter queue's name."},
		{ParamOpsAlarmAction, "The SNS topic ARN the alarms go to."},
		{ParamOpsStackSetName, "The deployer's StackSet (the drift check's metrics name it)."},
		{ParamOpsDashboardName, "The dashboard's name."},
	} {
		s.param(p.name, &awscdk.CfnParameterProps{Description: jsii.String(p.desc)})
	}
	s.driftCheckParams()
	s.Alarms = s.functionAlarms("Registrar", s.str(ParamOpsFunctionName), s.str(ParamOpsDeadLetterQueueName), routeTo(s.str(ParamOpsAlarmAction)))
	s.Dashboard = s.newDashboard(s.str(ParamOpsDashboardName))
	s.driftCheck()
	s.consoleInterface(operationsParameterGroups, nil)
	for id, reason := range map[string]string{
		"W1030": "The deployer always passes the code's bucket and key; the optional ARNs reach resources only inside Fn::If on their condition.",
		"W2509": "TokenSecretArns holds the secret's ARNs, not a secret.",
	} {
		awscdk.Validations_Of(s.Stack).Acknowledge(&awscdk.Acknowledgment{Id: jsii.String("CloudFormation-Validate::" + id), Reason: jsii.String(reason)})
	}
	return s
}

// driftCheckParams: what the drift check needs from the deployer, and the hardening options.
func (s *OperationsStack) driftCheckParams() {
	s.driftCheckScheduleParam("The deployer's DriftCheckSchedule; none: no drift check.")
	for _, p := range []struct{ name, def, desc string }{
		{ParamOpsDeployerStackID, "", "The deployer stack's ARN (the check reads its parameters and outputs)."},
		{ParamOpsRegistryTableArn, "", "The registry of record's table ARN (the check scans it)."},
		{ParamOpsTokenSecretArns, "", "The token secret, as the registrar may read it: ARNs, comma-separated."},
		{ParamAPITokenKmsKeyArn, "", "The token secret's KMS key ARN (empty: AWS managed)."},
		{ParamSysdigAPIURL, "", "The Sysdig API URL the registrar uses."},
		{ParamRegistrarConcurrency, "", "The registrar's concurrency: the check takes one instance's share of Sysdig's rate limit."},
		{ParamOpsCodeBucket, "", "The bucket of the function's zip (the registrar's)."},
		{ParamCodeKey, "", "Its key."},
		{ParamCodeSigningConfigArn, "", "The registrar's code signing configuration (empty: none)."},
	} {
		s.param(p.name, &awscdk.CfnParameterProps{Default: jsii.String(p.def), Description: jsii.String(p.desc)})
	}
	s.cond(CondHasTokenKmsKey, notEmpty(s.str(ParamAPITokenKmsKeyArn)))
	s.cond(CondHasCodeSigning, notEmpty(s.str(ParamCodeSigningConfigArn)))
	s.logRetentionParam()
	s.hardeningParams()
}

// driftCheck adds the scheduled drift check: the registrar's code under its own handler,
// its alarm routed like the registrar's, its log group and network like the registrar's.
// It runs with the share of Sysdig's rate limit one registrar instance takes.
func (s *OperationsStack) driftCheck() {
	bucket := awss3.Bucket_FromBucketName(s.Stack, jsii.String("DriftCheckCode"), s.str(ParamOpsCodeBucket))
	s.DriftCheck = NewDriftCheck(s.Stack, "DriftCheck", &DriftCheckProps{
		Code:                 awslambda.Code_FromBucket(bucket, s.str(ParamCodeKey), nil),
		CodeSigningConfigArn: s.ifCond(CondHasCodeSigning, s.str(ParamCodeSigningConfigArn), awscdk.Aws_NO_VALUE()),
		TokenSecretResources: awscdk.Fn_Split(jsii.String(","), s.str(ParamOpsTokenSecretArns), nil),
		TokenKmsKeyArn:       s.str(ParamAPITokenKmsKeyArn),
		TokenKmsKeyCondition: s.Conditions[CondHasTokenKmsKey],
		Environment: map[string]*string{
			driftcheck.EnvDeployerStackID:     s.str(ParamOpsDeployerStackID),
			driftcheck.EnvSysdigAPIURL:        s.str(ParamSysdigAPIURL),
			driftcheck.EnvConcurrentInstances: s.str(ParamRegistrarConcurrency),
		},
		StackSetResource: awscdk.Fn_Sub(jsii.String("arn:${AWS::Partition}:cloudformation:${AWS::Region}:*:stackset/${"+ParamOpsStackSetName+"}:*"), nil),
		StackSetName:     s.str(ParamOpsStackSetName),
		DeployerStackID:  s.str(ParamOpsDeployerStackID),
		RegistryTableArn: s.str(ParamOpsRegistryTableArn),
		Schedule:         s.str(ParamDriftCheckSchedule),
		LogRetentionDays: s.Params[ParamLogRetentionDays].ValueAsNumber(),
		Statements:       []interface{}{vpcStatement()},
		AlarmActions:     routeTo(s.str(ParamOpsAlarmAction)).Actions,
		Condition:        s.Conditions[CondDriftCheck],
	})
	s.hardenResources(s.DriftCheck.LogGroup, s.DriftCheck.Function)
	s.output(OutOpsDriftCheckRoleArn, "The drift check's role (the deployer's token secret lets it read the token).",
		s.DriftCheck.Role.AttrArn(), s.Conditions[CondDriftCheck])
}

// buildOperationsStack builds the operations template in a throwaway app.
func buildOperationsStack(app awscdk.App) (awscdk.Stack, error) {
	return NewOperationsStack(app, OperationsStackName).Stack, nil
}

// operations nests the operations template in the deployer, passing what the alarms,
// the dashboard and the drift check need, and names the dashboard.
func (s *OrgStack) operations(props *OrgStackProps, registrar *ConnectorFunctionProps, apiURL *string) error {
	url, err := s.templateURL(props, operationsNested)
	if err != nil {
		return fmt.Errorf("stacks: operations template: %w", err)
	}
	code := registrar.Code.Bind(s.Stack)
	joined := func(p string) *string { return awscdk.Fn_Join(jsii.String(","), s.Params[p].ValueAsList()) }
	signing := jsii.String("")
	if props.Publishable {
		signing = s.str(ParamCodeSigningConfigArn)
	}
	dashboard := "${AWS::StackName}-registrar"
	s.Operations = awscloudformation.NewCfnStack(s.Stack, jsii.String("Operations"), &awscloudformation.CfnStackProps{
		TemplateUrl: url,
		Parameters: &map[string]*string{
			ParamOpsFunctionName:        s.Registrar.Function.FunctionName(),
			ParamOpsDeadLetterQueueName: s.Registrar.DeadLetters.AttrQueueName(),
			ParamOpsAlarmAction:         (*s.AlarmRouting.Actions)[0],
			ParamOpsStackSetName:        s.stackSetName(),
			ParamOpsDashboardName:       awscdk.Fn_Sub(jsii.String(dashboard), nil),
			ParamDriftCheckSchedule:     s.str(ParamDriftCheckSchedule),
			ParamOpsDeployerStackID:     awscdk.Aws_STACK_ID(),
			ParamOpsRegistryTableArn:    s.RegistryTable.AttrArn(),
			ParamOpsTokenSecretArns:     awscdk.Fn_Join(jsii.String(","), awscdk.Token_AsList(registrar.TokenSecretResources, nil)),
			ParamAPITokenKmsKeyArn:      s.str(ParamAPITokenKmsKeyArn),
			ParamSysdigAPIURL:           apiURL,
			ParamRegistrarConcurrency:   s.str(ParamRegistrarConcurrency),
			ParamOpsCodeBucket:          code.S3Location.BucketName,
			ParamCodeKey:                code.S3Location.ObjectKey,
			ParamCodeSigningConfigArn:   signing,
			ParamLogRetentionDays:       s.str(ParamLogRetentionDays),
			ParamLogKmsKeyArn:           s.str(ParamLogKmsKeyArn),
			ParamSubnetIDs:              joined(ParamSubnetIDs),
			ParamSecurityGroupIDs:       joined(ParamSecurityGroupIDs),
		},
	})
	s.Operations.OverrideLogicalId(jsii.String("Operations"))
	s.output(OutDashboardURL, "The registrar's dashboard: requests by outcome, throttling, latency, dead letters, drift.",
		awscdk.Fn_Sub(jsii.String("https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards:name="+dashboard), nil), nil)
	// The secret this stack creates denies its value to every other principal: the drift
	// check reads it too, when it exists (its role is the operations stack's output).
	registrarRoleArn := s.Registrar.Role.AttrArn()
	s.SecretPolicy.AddPropertyOverride(jsii.String("ResourcePolicy.Statement.0.Condition.ArnNotEquals.aws:PrincipalArn"),
		awscdk.Fn_ConditionIf(jsii.String(CondDriftCheck), []interface{}{registrarRoleArn, s.Operations.GetAtt(jsii.String("Outputs."+OutOpsDriftCheckRoleArn), awscdk.ResolutionTypeHint_STRING)}, registrarRoleArn))
	return nil
}
