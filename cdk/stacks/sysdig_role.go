// Package stacks holds the CDK constructs and the stack that connect an AWS account to
// Sysdig Monitor with role delegation. The constructs are reusable on their own: the
// role and its policies (SysdigRole) and the two custom resources (SysdigExternalID,
// SysdigProvider) take plain string tokens and any ServiceToken (a Lambda ARN or an SNS
// topic ARN), so a second stack (an Organizations StackSet member template) can use them.
package stacks

import (
	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/awsiam"
	"github.com/aws/constructs-go/constructs/v10"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
)

// CloudWatchPolicyName and S3PolicyName are the inline policy names the seed document uses.
const (
	CloudWatchPolicyName = "sysdig_cloudwatch"
	S3PolicyName         = "sysdig_s3"
)

// PolicyAction is one action of the sysdig_cloudwatch policy and why Sysdig needs it.
type PolicyAction struct {
	Action  string // exact IAM action, never a wildcard
	Service string // what the seed calls the service
	Why     string // the reason, as printed in docs/architecture.md
}

// CloudWatchActions is the sysdig_cloudwatch policy: CloudWatch metrics and the
// list/describe calls of the services the seed's "Set Up Resource Discovery" section
// names (EC2, RDS, ELB, ALB, ElastiCache, SQS, DynamoDB). Every action is read-only.
// The seed does not print the policy body; this list is our reading of what metric
// collection and resource discovery need, kept exact so a reviewer can audit it.
// docs/architecture.md renders the same table; a test keeps the two in step.
var CloudWatchActions = []PolicyAction{
	// CloudWatch: the metrics themselves.
	{"cloudwatch:GetMetricData", "CloudWatch", "Read metric values in batches (the current API for metric collection)."},
	{"cloudwatch:GetMetricStatistics", "CloudWatch", "Read statistics of one metric (the older API some collectors still call)."},
	{"cloudwatch:ListMetrics", "CloudWatch", "Discover which metrics and dimensions exist for the discovered resources."},
	// EC2.
	{"ec2:DescribeRegions", "EC2", "List the account's enabled regions when discovery covers all regions."},
	{"ec2:DescribeInstances", "EC2", "Discover instances, their state and tags."},
	// RDS.
	{"rds:DescribeDBInstances", "RDS", "Discover database instances."},
	{"rds:DescribeDBClusters", "RDS", "Discover Aurora clusters, whose metrics are per cluster."},
	{"rds:ListTagsForResource", "RDS", "Read the tags of databases and clusters (labels in Sysdig)."},
	// Classic ELB and ALB share the elasticloadbalancing action namespace.
	{"elasticloadbalancing:DescribeLoadBalancers", "ELB, ALB", "Discover Classic, Application and Network Load Balancers."},
	{"elasticloadbalancing:DescribeTargetGroups", "ALB", "Discover ALB target groups (the TargetGroup metric dimension)."},
	{"elasticloadbalancing:DescribeTags", "ELB, ALB", "Read load balancer and target group tags."},
	// ElastiCache.
	{"elasticache:DescribeCacheClusters", "ElastiCache", "Discover cache clusters and their nodes."},
	{"elasticache:ListTagsForResource", "ElastiCache", "Read cache cluster tags."},
	// SQS.
	{"sqs:ListQueues", "SQS", "Discover queues."},
	{"sqs:GetQueueAttributes", "SQS", "Read queue attributes (type, ARN) for the discovered queues."},
	{"sqs:ListQueueTags", "SQS", "Read queue tags."},
	// DynamoDB.
	{"dynamodb:ListTables", "DynamoDB", "Discover tables."},
	{"dynamodb:DescribeTable", "DynamoDB", "Read table details (ARN, indexes) for the discovered tables."},
	{"dynamodb:ListTagsOfResource", "DynamoDB", "Read table tags."},
}

// S3Actions is the sysdig_s3 policy: Sysdig stores captures in the bucket and reads them back.
var S3Actions = struct{ Bucket, Objects []string }{
	// On the bucket: list captures and find the bucket's region.
	Bucket: []string{"s3:ListBucket", "s3:GetBucketLocation"},
	// On its objects: write, read and delete capture files.
	Objects: []string{"s3:PutObject", "s3:GetObject", "s3:DeleteObject"},
}

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
