package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslambda"
	"github.com/aws/aws-cdk-go/awscdk/v2/awslogs"
	"github.com/aws/aws-cdk-go/awscdk/v2/awssqs"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
)

// Function settings (the numbers).
const (
	FunctionMemoryMB = 128
	FunctionHandler  = "bootstrap"
)

// ConnectorFunctionProps configures the Lambda behind both custom resources.
type ConnectorFunctionProps struct {
	// Code is the bootstrap: an asset directory (cdk deploy) or an S3 object (published template).
	Code awslambda.Code
	// CodeSigningConfigArn makes Lambda check the zip's signature (optional; may be a token).
	CodeSigningConfigArn *string
	// Statements are added to the role's policy (what a function needs beyond the token
	// and its logs, such as the registrar's DescribeStackInstance and its idempotency table).
	Statements []interface{}
	// TokenSecretResources is the IAM Resource value for secretsmanager:GetSecretValue:
	// a string, a list, or a token resolving to either. Nothing else is readable.
	TokenSecretResources interface{}
	// TokenKmsKeyArn is a customer-managed KMS key that encrypts the secret (optional);
	// with TokenKmsKeyCondition the kms:Decrypt statement exists only when it holds.
	TokenKmsKeyArn       *string
	TokenKmsKeyCondition awscdk.CfnCondition
	// LogRetentionDays may be a token (a parameter); nil means 30 days.
	LogRetentionDays *float64
	// ReservedConcurrency bounds the concurrent executions (a token is fine); nil: unreserved.
	ReservedConcurrency *float64
	// MaxEventAgeSeconds is how long an asynchronous event (CloudFormation's, or SNS's)
	// may wait in Lambda's queue, throttled ones included; 0 means
	// DefaultMaxEventAgeSeconds. It must not exceed the custom resources' ServiceTimeout
	// minus the function's timeout and AnswerDeliverySeconds, or an answer could arrive
	// after CloudFormation stopped waiting.
	MaxEventAgeSeconds float64
	// Environment is the function's environment: ALLOWED_SYSDIG_API_URLS and
	// ALLOWED_TOKEN_SECRET_IDS (comma-separated) restrict where the token may be read from
	// and sent to, whatever a request says.
	Environment map[string]*string
}

// ConnectorFunction is the provided.al2023/arm64 Lambda, its own log group and an
// execution role that may only read the token secret (and decrypt it with the
// customer-managed key when there is one) and write its own logs.
type ConnectorFunction struct {
	constructs.Construct
	Function    awslambda.Function
	LogGroup    awslogs.LogGroup
	Role        awsiam.CfnRole
	AsyncInvoke awslambda.EventInvokeConfig
	// DeadLetters keeps the asynchronous events Lambda gave up on (its on-failure
	// destination): encrypted, for DeadLetterRetentionSeconds.
	DeadLetters awssqs.CfnQueue
}

// DeadLetterRetentionSeconds is how long a failed delivery is kept: 14 days, SQS's most.
const DeadLetterRetentionSeconds = 14 * 24 * 3600

// NewConnectorFunction creates the function, its log group and its role.
func NewConnectorFunction(scope constructs.Construct, id string, props *ConnectorFunctionProps) *ConnectorFunction {
	c := constructs.NewConstruct(scope, jsii.String(id))
	f := &ConnectorFunction{Construct: c}

	// The log group outlives the stack so the log of a failed Delete can still be read;
	// its retention bounds what it keeps.
	f.LogGroup = awslogs.NewLogGroup(c, jsii.String("LogGroup"), &awslogs.LogGroupProps{
		Retention:     awslogs.RetentionDays_ONE_MONTH,
		RemovalPolicy: awscdk.RemovalPolicy_RETAIN,
	})
	if props.LogRetentionDays != nil {
		f.LogGroup.Node().DefaultChild().(awslogs.CfnLogGroup).SetRetentionInDays(props.LogRetentionDays)
	}

	f.DeadLetters = newDeadLetterQueue(c)

	statements := []interface{}{
		map[string]interface{}{
			"Sid":    "OwnLogs",
			"Effect": "Allow",
			// The log group exists (this stack creates it): no logs:CreateLogGroup.
			"Action":   []string{"logs:CreateLogStream", "logs:PutLogEvents"},
			"Resource": f.LogGroup.LogGroupArn(),
		},
	}
	statements = append(statements, tokenStatements(props.TokenSecretResources, props.TokenKmsKeyArn, props.TokenKmsKeyCondition)...)
	statements = append(statements, map[string]interface{}{
		"Sid": "DeadLetters", "Effect": "Allow", "Action": "sqs:SendMessage", "Resource": f.DeadLetters.AttrArn(),
	})
	statements = append(statements, props.Statements...)

	f.Role = awsiam.NewCfnRole(c, jsii.String("Role"), &awsiam.CfnRoleProps{
		Description: jsii.String("Execution role of the Sysdig connector function: read the API token secret, write its own logs."),
		AssumeRolePolicyDocument: map[string]interface{}{
			"Version": "2012-10-17",
			"Statement": []interface{}{map[string]interface{}{
				"Effect":    "Allow",
				"Principal": map[string]interface{}{"Service": "lambda.amazonaws.com"},
				"Action":    "sts:AssumeRole",
			}},
		},
		Policies: &[]interface{}{&awsiam.CfnRole_PolicyProperty{
			PolicyName: jsii.String("sysdig-connector"),
			PolicyDocument: map[string]interface{}{
				"Version":   "2012-10-17",
				"Statement": statements,
			},
		}},
	})

	f.Function = awslambda.NewFunction(c, jsii.String("Function"), &awslambda.FunctionProps{
		Description:  jsii.String("Sysdig connector: answers Custom::SysdigExternalId and Custom::SysdigProvider."),
		Runtime:      awslambda.Runtime_PROVIDED_AL2023(),
		Architecture: awslambda.Architecture_ARM_64(),
		Handler:      jsii.String(FunctionHandler),
		Code:         props.Code,
		MemorySize:   jsii.Number(FunctionMemoryMB),
		Timeout:      seconds(FunctionTimeoutSeconds),
		// Throttled asynchronous events go back to Lambda's queue and are retried
		// until MaxEventAge (they do not count as retry attempts).
		ReservedConcurrentExecutions: props.ReservedConcurrency,
		Role: awsiam.Role_FromRoleArn(c, jsii.String("RoleRef"), f.Role.AttrArn(), &awsiam.FromRoleArnOptions{
			Mutable: jsii.Bool(false),
		}),
		LogGroup:    f.LogGroup,
		Environment: &props.Environment,
	})
	if props.CodeSigningConfigArn != nil {
		f.Function.Node().DefaultChild().(awslambda.CfnFunction).SetCodeSigningConfigArn(props.CodeSigningConfigArn)
	}
	// CloudFormation invokes the function asynchronously. Lambda retries a crashed
	// invocation, but an event that could only be answered after the custom resources'
	// ServiceTimeout is useless: CloudFormation has stopped waiting.
	maxAge := props.MaxEventAgeSeconds
	if maxAge == 0 {
		maxAge = DefaultMaxEventAgeSeconds
	}
	f.AsyncInvoke = awslambda.NewEventInvokeConfig(c, jsii.String("AsyncInvoke"), &awslambda.EventInvokeConfigProps{
		Function:      f.Function,
		MaxEventAge:   seconds(maxAge),
		RetryAttempts: jsii.Number(2),
	})
	// An event Lambda gives up on (retries exhausted, or too old) is kept there with the
	// request and the last error, instead of vanishing (docs/operations.md).
	f.AsyncInvoke.Node().DefaultChild().(awscdk.CfnResource).AddPropertyOverride(jsii.String("DestinationConfig"),
		map[string]interface{}{"OnFailure": map[string]interface{}{"Destination": f.DeadLetters.AttrArn()}})
	return f
}

// ServiceToken is the function ARN to use as the custom resources' ServiceToken.
func (f *ConnectorFunction) ServiceToken() *string { return f.Function.FunctionArn() }

// newDeadLetterQueue is the on-failure destination: SQS-managed encryption, kept 14 days,
// and marked as a dead-letter queue (RedriveAllowPolicy), so it needs none of its own.
func newDeadLetterQueue(scope constructs.Construct) awssqs.CfnQueue {
	q := awssqs.NewCfnQueue(scope, jsii.String("DeadLetters"), &awssqs.CfnQueueProps{
		SqsManagedSseEnabled:   jsii.Bool(true),
		MessageRetentionPeriod: jsii.Number(DeadLetterRetentionSeconds),
		RedriveAllowPolicy:     map[string]interface{}{"redrivePermission": "allowAll"},
	})
	suppress(q, "AwsSolutions-SQS3", reasonIsDeadLetterQueue)
	suppress(q, "AwsSolutions-SQS4", reasonDeadLetterTLS)
	return q
}

// tokenStatements let a function read the token secret (resources) and, when the secret
// has a customer-managed key, decrypt it through Secrets Manager only.
func tokenStatements(resources interface{}, kmsKeyArn *string, kmsKeyCondition awscdk.CfnCondition) []interface{} {
	out := []interface{}{map[string]interface{}{
		"Sid":      "ReadApiToken",
		"Effect":   "Allow",
		"Action":   "secretsmanager:GetSecretValue",
		"Resource": resources,
	}}
	if kmsKeyArn != nil {
		var kms interface{} = map[string]interface{}{
			"Sid":      "DecryptApiToken",
			"Effect":   "Allow",
			"Action":   "kms:Decrypt",
			"Resource": kmsKeyArn,
			// Only when Secrets Manager asks on the function's behalf.
			"Condition": map[string]interface{}{
				"StringLike": map[string]interface{}{"kms:ViaService": "secretsmanager.*.amazonaws.com"},
			},
		}
		if kmsKeyCondition != nil {
			kms = awscdk.Fn_ConditionIf(kmsKeyCondition.LogicalId(), kms, awscdk.Aws_NO_VALUE())
		}
		out = append(out, kms)
	}
	return out
}
