package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// Reasons for the AwsSolutions findings we accept. The constructs record them on
// their own resources (so a reused construct carries them); the README lists them.
const (
	reasonCloudWatchWildcard = "sysdig_cloudwatch lists exact read-only actions (no service:*). Sysdig discovers and reads metrics of every resource in the account, " +
		"and most of these List/Describe/GetMetric* actions support no resource-level permissions, so Resource must be *."
	reasonS3Objects    = "sysdig_s3 names one bucket; the /* covers only the capture objects inside that bucket, whose keys Sysdig chooses."
	reasonNoAccessLogs = "Server access logs would need a second bucket for a low-volume bucket written only by Sysdig's role; " +
		"CloudTrail S3 data events are the audit trail to use when the account requires one."
	reasonNoRotation = "The Sysdig Monitor API token is issued by Sysdig, not by AWS: a Secrets Manager rotation function cannot mint a new one. " +
		"Rotate it in Sysdig and update the secret (or the ApiToken parameter)."
	reasonStackSetID = "Only DescribeStackInstance on this stack's StackSet, whose ARN ends in an id CloudFormation generates and names the management account " +
		"(unknown to a delegated administrator's template); and, with CallAs DELEGATED_ADMIN, organizations:ListDelegatedAdministrators, which has no resource."
	reasonOnPremKey = "Sysdig's on-prem backend, as its guide sets it up, authenticates to AWS with an access key (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY in its Deployments), " +
		"so OnPremCredentials=CreateUser creates an IAM user whose only permission is sts:AssumeRole on the Sysdig role, and keeps its key here. " +
		"A rotation function cannot restart the on-prem Deployments: rotate with sysdig-connect onprem rotate-key. ExistingPrincipal (an instance, IRSA or Pod Identity role) needs no key at all."
	reasonOnPremOrgRoles = "On-prem with AWS Organizations: one principal assumes the Sysdig role in every account of the organization; the resource names the role's exact " +
		"path and name in any account (*), and aws:ResourceOrgID limits it to this organization's accounts, whose ids the template cannot list."
	reasonTopicNoKMS = "Messages hold no token (only the secret's ARN) and a response URL valid for one request; TLS-only (topic policy). " +
		"aws/sns cannot serve publishers in other accounts, and a customer managed key would have to let every principal of the organization use it."
)

// Reasons of the operations resources (dead letters, alarms).
const (
	reasonIsDeadLetterQueue = "This queue is itself the dead-letter queue (the functions' on-failure destination, RedriveAllowPolicy allowAll): " +
		"a queue behind it would only move the same messages again."
	reasonDeadLetterTLS = "Only Lambda's service writes here, for the function's role; the account's operators read it with the AWS CLI or console, " +
		"which use HTTPS. The messages hold no token: the request (with its response URL) and the error."
	reasonAlarmTopicNoKMS = "CloudWatch alarms publish state changes only (no token, no request), and aws/sns cannot be used by CloudWatch; " +
		"a customer managed key would need its own policy. The subscription is e-mail."
)

// reasonSigningNoValue acknowledges CDK's validation of the CodeSigningConfigArn default.
const reasonSigningNoValue = "CodeSigningConfigArn is Fn::If(HasCodeSigningConfig, the ARN, AWS::NoValue): never empty."

// suppress records one accepted finding on c and its children.
func suppress(c constructs.IConstruct, id, reason string, appliesTo ...interface{}) {
	sup := &cdknag.NagPackSuppression{Id: jsii.String(id), Reason: jsii.String(reason)}
	if len(appliesTo) > 0 {
		sup.AppliesTo = &appliesTo
	}
	cdknag.NagSuppressions_AddResourceSuppressions(c, &[]*cdknag.NagPackSuppression{sup}, jsii.Bool(true))
}

// acknowledgeValidationWarnings acknowledges the findings of CDK's built-in template
// validation that are false positives for this template, each with the reason.
func acknowledgeValidationWarnings(s *ConnectStack) {
	ack := func(c constructs.IConstruct, id, reason string) {
		awscdk.Validations_Of(c).Acknowledge(&awscdk.Acknowledgment{
			Id:     jsii.String("CloudFormation-Validate::" + id),
			Reason: jsii.String(reason),
		})
	}
	ack(s.Stack, "W1001", "Outputs ExternalIdInUse, ApiTokenSecretArn and CaptureBucket reference a conditional resource only "+
		"inside Fn::If on that resource's own condition, which is how CloudFormation expects it.")
	ack(s.Stack, "W2509", "ApiTokenSecret is the name or ARN of a secret, not a secret; the token itself is the NoEcho ApiToken.")
	ack(s.TokenSecret, "W1030", "The secret exists only under CreateTokenSecret, i.e. when ApiToken is not empty.")
	ack(s.Stack, "W1030", reasonSigningNoValue)
	ack(s.Role.Role.Node().DefaultChild(), "W1030", "PermissionsBoundary is Fn::If(HasPermissionsBoundary, the ARN, AWS::NoValue): never empty.")
	ack(s.OnPrem.User, "W1030", "PermissionsBoundary is Fn::If(HasPermissionsBoundary, the ARN, AWS::NoValue): never empty.")
}
