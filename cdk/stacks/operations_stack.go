package stacks

import (
	"fmt"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudformation"
	"github.com/aws/aws-cdk-go/awscdk/v2/awscloudwatch"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Parameters of the operations template (the deployer passes them).
const (
	ParamOpsFunctionName        = "FunctionName"
	ParamOpsDeadLetterQueueName = "DeadLetterQueueName"
	ParamOpsAlarmAction         = "AlarmAction"
	ParamOpsStackSetName        = "StackSetName"
	ParamOpsDashboardName       = "DashboardName"
)

// OperationsStack is the deployer's nested stack: the registrar's alarms and its
// dashboard. They are a template of their own, read from S3 beside the code like the
// member template, so the deployer keeps room within TemplateBudgetBytes.
type OperationsStack struct {
	*templateStack
	Alarms    *FunctionAlarms
	Dashboard awscloudwatch.CfnDashboard
}

var operationsParameterGroups = []parameterGroup{
	{"Passed by the deployer stack", []string{ParamOpsFunctionName, ParamOpsDeadLetterQueueName, ParamOpsAlarmAction, ParamOpsStackSetName, ParamOpsDashboardName}},
}

// NewOperationsStack builds the operations template (always standalone).
func NewOperationsStack(scope constructs.Construct, id string) *OperationsStack {
	props := awscdk.StackProps{Description: jsii.String(describe("sysdig-aws-connect operations: the registrar's alarms and dashboard (nested in the Organizations deployer stack)."))}
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
	s.Alarms = s.functionAlarms("Registrar", s.str(ParamOpsFunctionName), s.str(ParamOpsDeadLetterQueueName), routeTo(s.str(ParamOpsAlarmAction)))
	s.Dashboard = s.newDashboard(s.str(ParamOpsDashboardName))
	s.consoleInterface(operationsParameterGroups, nil)
	return s
}

// buildOperationsStack builds the operations template in a throwaway app.
func buildOperationsStack(app awscdk.App) (awscdk.Stack, error) {
	return NewOperationsStack(app, OperationsStackName).Stack, nil
}

// operations nests the operations template in the deployer and names the dashboard.
func (s *OrgStack) operations(props *OrgStackProps) error {
	url, err := s.templateURL(props, operationsNested)
	if err != nil {
		return fmt.Errorf("stacks: operations template: %w", err)
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
		},
	})
	s.Operations.OverrideLogicalId(jsii.String("Operations"))
	s.output(OutDashboardURL, "The registrar's dashboard: requests by outcome, throttling, latency, dead letters, drift.",
		awscdk.Fn_Sub(jsii.String("https://${AWS::Region}.console.aws.amazon.com/cloudwatch/home?region=${AWS::Region}#dashboards:name="+dashboard), nil), nil)
	return nil
}
