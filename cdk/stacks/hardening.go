package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/jsii-runtime-go"
)

// Hardening options (issue 16): all optional, empty by default. With them set, AWS
// Control Tower's proactive controls find nothing in the templates (docs/control-tower.md).
const (
	ParamLogKmsKeyArn     = "LogKmsKeyArn"
	ParamSubnetIDs        = "SubnetIds"
	ParamSecurityGroupIDs = "SecurityGroupIds"

	CondHasLogKmsKey = "HasLogKmsKey"
	CondInVpc        = "InVpc"
)

// hardeningParams: LogKmsKeyArn, SubnetIds, SecurityGroupIds, their conditions and the
// rule that takes the subnets and security groups together.
func (s *templateStack) hardeningParams() {
	s.param(ParamLogKmsKeyArn, &awscdk.CfnParameterProps{
		Default:               jsii.String(""),
		AllowedPattern:        jsii.String(`^$|^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$`),
		ConstraintDescription: jsii.String("a KMS key ARN"),
		Description:           jsii.String("Optional KMS key ARN for the function's logs (its policy must allow CloudWatch Logs)."),
	})
	s.param(ParamSubnetIDs, &awscdk.CfnParameterProps{
		Type:           jsii.String("CommaDelimitedList"),
		Default:        jsii.String(""),
		AllowedPattern: jsii.String(`^$|^subnet-[0-9a-f]{8,17}$`),
		Description:    jsii.String("Optional subnets for the function (with SecurityGroupIds); it must reach Sysdig and AWS APIs."),
	})
	s.param(ParamSecurityGroupIDs, &awscdk.CfnParameterProps{
		Type:           jsii.String("CommaDelimitedList"),
		Default:        jsii.String(""),
		AllowedPattern: jsii.String(`^$|^sg-[0-9a-f]{8,17}$`),
		Description:    jsii.String("The function's security groups (HTTPS out)."),
	})
	s.cond(CondHasLogKmsKey, notEmpty(s.str(ParamLogKmsKeyArn)))
	joined := func(p string) *string {
		return awscdk.Fn_Join(jsii.String(","), s.Params[p].ValueAsList())
	}
	s.cond(CondInVpc, notEmpty(joined(ParamSubnetIDs)))
	// Rules take no Fn::Join: an empty list parameter is [""].
	none := func(p string) awscdk.ICfnConditionExpression {
		return awscdk.Fn_ConditionContains(s.Params[p].ValueAsList(), jsii.String(""))
	}
	s.rule("SubnetsWithSecurityGroups", "Set SubnetIds and SecurityGroupIds together, or neither.",
		awscdk.Fn_ConditionOr(
			awscdk.Fn_ConditionAnd(none(ParamSubnetIDs), none(ParamSecurityGroupIDs)),
			awscdk.Fn_ConditionAnd(awscdk.Fn_ConditionNot(none(ParamSubnetIDs)), awscdk.Fn_ConditionNot(none(ParamSecurityGroupIDs)))))
}

// harden applies the options to a function: its log group encrypted with LogKmsKeyArn,
// the function in SubnetIds/SecurityGroupIds, and the network interface permissions
// Lambda needs for that (only then).
func (s *templateStack) harden(f *ConnectorFunction) {
	s.hardenResources(f.LogGroup.Node().DefaultChild().(awscdk.CfnResource), f.Function.Node().DefaultChild().(awscdk.CfnResource))
}

// hardenResources applies the options to a log group and the function writing to it.
func (s *templateStack) hardenResources(logGroup, fn awscdk.CfnResource) {
	logGroup.AddPropertyOverride(jsii.String("KmsKeyId"),
		awscdk.Fn_ConditionIf(jsii.String(CondHasLogKmsKey), s.str(ParamLogKmsKeyArn), awscdk.Aws_NO_VALUE()))
	fn.AddPropertyOverride(jsii.String("VpcConfig"),
		awscdk.Fn_ConditionIf(jsii.String(CondInVpc), map[string]interface{}{
			"SubnetIds":        s.Params[ParamSubnetIDs].ValueAsList(),
			"SecurityGroupIds": s.Params[ParamSecurityGroupIDs].ValueAsList(),
		}, awscdk.Aws_NO_VALUE()))
	awscdk.Validations_Of(fn).Acknowledge(&awscdk.Acknowledgment{Id: jsii.String("CloudFormation-Validate::F3031"), Reason: jsii.String(reasonVpcOnlyWhenSet)})
	awscdk.Validations_Of(fn).Acknowledge(&awscdk.Acknowledgment{Id: jsii.String("CloudFormation-Validate::E1150"), Reason: jsii.String(reasonVpcOnlyWhenSet)})
}

// reasonVpcOnlyWhenSet: the validator reads the empty defaults as ids.
const reasonVpcOnlyWhenSet = "VpcConfig is Fn::If(InVpc, SubnetIds and SecurityGroupIds, AWS::NoValue): the empty defaults never reach it."

// vpcStatement: what Lambda checks the execution role for before it puts a function in
// a VPC (the actions of AWSLambdaVPCAccessExecutionRole); none of them takes a resource.
func vpcStatement() interface{} {
	return awscdk.Fn_ConditionIf(jsii.String(CondInVpc), map[string]interface{}{
		"Sid": "VpcNetworkInterfaces", "Effect": "Allow", "Resource": "*",
		"Action": []string{"ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets",
			"ec2:DeleteNetworkInterface", "ec2:AssignPrivateIpAddresses", "ec2:UnassignPrivateIpAddresses"},
	}, awscdk.Aws_NO_VALUE())
}
