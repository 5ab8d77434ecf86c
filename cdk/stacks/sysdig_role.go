// Package stacks holds the CDK constructs and the stack that connect an AWS account to
// Sysdig Monitor with role delegation. The constructs are reusable on their own: the
// role and its policies (SysdigRole) and the two custom resources (SysdigExternalID,
// SysdigProvider) take plain string tokens and any ServiceToken (a Lambda ARN or an SNS
// topic ARN), so a second stack (an Organizations StackSet member template) can use them.
package stacks

import (
	"strings"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"sysdig-aws-connect/internal/permissions"
)

// CloudWatchPolicyName and S3PolicyName are the inline policy names the seed document uses.
const (
	CloudWatchPolicyName = permissions.CloudWatchPolicy
	S3PolicyName         = permissions.S3Policy
)

// PolicyAction is one action of the role's policies and why Sysdig needs it.
type PolicyAction = permissions.Action

// CloudWatchActions is the sysdig_cloudwatch policy: CloudWatch metrics and the
// list/describe calls of the services the seed's "Set Up Resource Discovery" section
// names (EC2, RDS, ELB, ALB, ElastiCache, SQS, DynamoDB). Every action is read-only.
// The seed does not print the policy body; this list is our reading of what metric
// collection and resource discovery need, kept exact so a reviewer can audit it. It is
// the current version of internal/permissions' history, which docs/permissions.md
// lists version by version; docs/architecture.md renders the same table (tests keep
// both in step).
var CloudWatchActions = permissions.Current(permissions.CloudWatchPolicy)

// S3Actions is the sysdig_s3 policy: Sysdig stores captures in the bucket and reads them
// back. IAM names every object-level S3 action ...Object...; the others act on the bucket.
var S3Actions = func() (s struct{ Bucket, Objects []string }) {
	for _, a := range permissions.Current(permissions.S3Policy) {
		if strings.Contains(a.Action, "Object") {
			s.Objects = append(s.Objects, a.Action)
		} else {
			s.Bucket = append(s.Bucket, a.Action)
		}
	}
	return s
}()

// SysdigRoleProps configures SysdigRole. Every value may be a CloudFormation token.
type SysdigRoleProps struct {
	// TrustedPrincipalArn is the principal ARN the role trusts (Sysdig's account root, or
	// the on-prem principal). When nil, SysdigAccountID's root is trusted.
	TrustedPrincipalArn *string
	// SysdigAccountID is Sysdig's AWS account (used when TrustedPrincipalArn is nil).
	SysdigAccountID *string
	// ExternalID is required in sts:ExternalId when Sysdig assumes the role.
	ExternalID *string
	// RoleName, Path and PermissionsBoundaryArn are optional. PermissionsBoundaryArn may
	// resolve to AWS::NoValue (an Fn::If) to leave the role without a boundary.
	RoleName               *string
	Path                   *string
	PermissionsBoundaryArn *string
	// CaptureBucketName, when set, adds the sysdig_s3 policy naming only that bucket and
	// its objects. CaptureBucketCondition, when set, makes that policy conditional.
	CaptureBucketName      *string
	CaptureBucketCondition awscdk.CfnCondition
	// Condition, when set, creates the role and its policies only when it holds. A
	// CaptureBucketCondition given with it must imply it (e.g. Fn::And of both).
	Condition awscdk.CfnCondition
}

// SysdigRole is the role Sysdig assumes (trusting Sysdig's account root with the
// external ID, no MFA) with the sysdig_cloudwatch policy and, optionally, sysdig_s3.
type SysdigRole struct {
	constructs.Construct
	Role             awsiam.Role
	CloudWatchPolicy awsiam.Policy
	S3Policy         awsiam.Policy // nil without a capture bucket
	// PoliciesReady is a no-op resource that references every policy (the conditional
	// one through Fn::If). Depend on it, never on S3Policy directly: a DependsOn that
	// names a resource whose condition is false makes CloudFormation reject the template.
	PoliciesReady awscdk.CfnWaitConditionHandle
}

// NewSysdigRole creates the role and its policies.
func NewSysdigRole(scope constructs.Construct, id string, props *SysdigRoleProps) *SysdigRole {
	c := constructs.NewConstruct(scope, jsii.String(id))
	r := &SysdigRole{Construct: c}

	var trusted awsiam.IPrincipal
	if props.TrustedPrincipalArn != nil {
		trusted = awsiam.NewArnPrincipal(props.TrustedPrincipalArn)
	} else {
		trusted = awsiam.NewAccountPrincipal(props.SysdigAccountID)
	}
	var boundary awsiam.IManagedPolicy
	if props.PermissionsBoundaryArn != nil {
		boundary = awsiam.ManagedPolicy_FromManagedPolicyArn(c, jsii.String("Boundary"), props.PermissionsBoundaryArn)
	}
	r.Role = awsiam.NewRole(c, jsii.String("Role"), &awsiam.RoleProps{
		RoleName:    props.RoleName,
		Path:        props.Path,
		Description: jsii.String("Assumed by Sysdig Monitor (role delegation) to read CloudWatch metrics and discover resources."),
		// Sysdig's account root (or the on-prem principal), condition sts:ExternalId; no MFA.
		AssumedBy:           trusted,
		ExternalIds:         &[]*string{props.ExternalID},
		PermissionsBoundary: boundary,
	})

	// Which version of internal/permissions' history the policies hold (docs/permissions.md).
	awscdk.Tags_Of(r.Role).Add(jsii.String(permissions.TagKey), jsii.String(permissions.VersionString()), nil)

	actions := make([]*string, 0, len(CloudWatchActions))
	for _, a := range CloudWatchActions {
		actions = append(actions, jsii.String(a.Action))
	}
	r.CloudWatchPolicy = awsiam.NewPolicy(c, jsii.String("CloudWatchPolicy"), &awsiam.PolicyProps{
		PolicyName: jsii.String(CloudWatchPolicyName),
		Roles:      &[]awsiam.IRole{r.Role},
		Statements: &[]awsiam.PolicyStatement{awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
			Sid:     jsii.String("SysdigMetricsAndDiscovery"),
			Actions: &actions,
			// These list/describe calls act on every resource of the account (most of
			// them support no resource-level permissions at all).
			Resources: jsii.Strings("*"),
		})},
	})

	suppress(r.CloudWatchPolicy, "AwsSolutions-IAM5", reasonCloudWatchWildcard, "Resource::*")

	ready := map[string]interface{}{CloudWatchPolicyName: policyRef(r.CloudWatchPolicy)}
	if props.CaptureBucketName != nil {
		bucketArn := awscdk.Fn_Join(jsii.String(""), &[]*string{
			jsii.String("arn:"), awscdk.Aws_PARTITION(), jsii.String(":s3:::"), props.CaptureBucketName,
		})
		objectsArn := awscdk.Fn_Join(jsii.String(""), &[]*string{bucketArn, jsii.String("/*")})
		r.S3Policy = awsiam.NewPolicy(c, jsii.String("S3Policy"), &awsiam.PolicyProps{
			PolicyName: jsii.String(S3PolicyName),
			Roles:      &[]awsiam.IRole{r.Role},
			Statements: &[]awsiam.PolicyStatement{
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String("CaptureBucket"),
					Actions:   jsii.Strings(S3Actions.Bucket...),
					Resources: &[]*string{bucketArn},
				}),
				awsiam.NewPolicyStatement(&awsiam.PolicyStatementProps{
					Sid:       jsii.String("CaptureObjects"),
					Actions:   jsii.Strings(S3Actions.Objects...),
					Resources: &[]*string{objectsArn},
				}),
			},
		})
		suppress(r.S3Policy, "AwsSolutions-IAM5", reasonS3Objects,
			&cdknag.RegexAppliesTo{Regex: jsii.String(`/^Resource::arn:<AWS::Partition>:s3:::.*\/\*$/g`)})
		ref := interface{}(policyRef(r.S3Policy))
		if props.CaptureBucketCondition != nil {
			SetCondition(r.S3Policy, props.CaptureBucketCondition)
			ref = awscdk.Fn_ConditionIf(props.CaptureBucketCondition.LogicalId(), ref, jsii.String(""))
		}
		ready[S3PolicyName] = ref
	}
	r.PoliciesReady = awscdk.NewCfnWaitConditionHandle(c, jsii.String("PoliciesReady"), &awscdk.CfnWaitConditionHandleProps{})
	r.PoliciesReady.CfnOptions().SetMetadata(&map[string]interface{}{"PoliciesAttached": ready})
	if props.Condition != nil {
		SetCondition(r.Role, props.Condition)
		SetCondition(r.CloudWatchPolicy, props.Condition)
		r.PoliciesReady.CfnOptions().SetCondition(props.Condition)
		if r.S3Policy != nil && props.CaptureBucketCondition == nil {
			SetCondition(r.S3Policy, props.Condition)
		}
	}
	return r
}

// Dependables are the resources a consumer (the provider registration) must wait for:
// the role, its unconditional policy and the handle that waits for the conditional one.
func (r *SysdigRole) Dependables() []constructs.IConstruct {
	return []constructs.IConstruct{r.Role, r.CloudWatchPolicy, r.PoliciesReady}
}

// policyRef is a Ref to an L2 policy's AWS::IAM::Policy.
func policyRef(p awsiam.Policy) *string {
	return p.Node().DefaultChild().(awscdk.CfnResource).Ref()
}

// SetCondition puts cond on every CloudFormation resource under scope.
func SetCondition(scope constructs.IConstruct, cond awscdk.CfnCondition) {
	for _, child := range *scope.Node().FindAll(constructs.ConstructOrder_PREORDER) {
		if res, ok := child.(awscdk.CfnResource); ok && *awscdk.CfnResource_IsCfnResource(child) {
			res.CfnOptions().SetCondition(cond)
		}
	}
}
