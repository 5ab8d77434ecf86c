// Package permissions is the history of what the Sysdig role may do: every version of
// its policies' actions, each with what it added and removed and why. The current set is
// derived from the history, so the policies (cdk/stacks), the role's tag and output, the
// docs (docs/permissions.md) and `sysdig-connect check` all read the same list, and a
// change cannot land without a new version (TestHistoryIsAppendOnly).
package permissions

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// TagKey is the tag the role carries, whose value is the permissions version.
const TagKey = "sysdig-aws-connect:permissions-version"

// The role's inline policy names.
const (
	CloudWatchPolicy = "sysdig_cloudwatch"
	S3Policy         = "sysdig_s3"
)

// Action is one IAM action a policy allows and why Sysdig needs it.
type Action struct {
	Action  string // exact IAM action, never a wildcard
	Service string // what Sysdig's docs call the service
	Why     string // the reason, as the docs print it
}

// Change is an action added to or removed from one policy.
type Change struct {
	Policy string // CloudWatchPolicy or S3Policy
	Action
}

// Release is one version of the role's permissions.
type Release struct {
	Version int
	// Product is the release of sysdig-aws-connect (VERSION) that first shipped it.
	Product string
	// Why says, in a sentence, why this version exists.
	Why string
	// Added and Removed are the changes from the previous version; a removed action's
	// Why says why it went.
	Added, Removed []Change
}

// History is every version, oldest first. Append a Release to change the permissions;
// never edit a released one (the test pins each release's digest), and describe it in
// docs/permissions.md.
var History = []Release{
	{
		Version: 1,
		Product: "0.1.0",
		Why:     "First release: CloudWatch metrics and the resource discovery Sysdig's AWS integration documents, plus the optional capture bucket.",
		Added: []Change{
			// CloudWatch: the metrics themselves.
			{CloudWatchPolicy, Action{"cloudwatch:GetMetricData", "CloudWatch", "Read metric values in batches (the current API for metric collection)."}},
			{CloudWatchPolicy, Action{"cloudwatch:GetMetricStatistics", "CloudWatch", "Read statistics of one metric (the older API some collectors still call)."}},
			{CloudWatchPolicy, Action{"cloudwatch:ListMetrics", "CloudWatch", "Discover which metrics and dimensions exist for the discovered resources."}},
			{CloudWatchPolicy, Action{"ec2:DescribeRegions", "EC2", "List the account's enabled regions when discovery covers all regions."}},
			{CloudWatchPolicy, Action{"ec2:DescribeInstances", "EC2", "Discover instances, their state and tags."}},
			{CloudWatchPolicy, Action{"rds:DescribeDBInstances", "RDS", "Discover database instances."}},
			{CloudWatchPolicy, Action{"rds:DescribeDBClusters", "RDS", "Discover Aurora clusters, whose metrics are per cluster."}},
			{CloudWatchPolicy, Action{"rds:ListTagsForResource", "RDS", "Read the tags of databases and clusters (labels in Sysdig)."}},
			// Classic ELB and ALB share the elasticloadbalancing action namespace.
			{CloudWatchPolicy, Action{"elasticloadbalancing:DescribeLoadBalancers", "ELB, ALB", "Discover Classic, Application and Network Load Balancers."}},
			{CloudWatchPolicy, Action{"elasticloadbalancing:DescribeTargetGroups", "ALB", "Discover ALB target groups (the TargetGroup metric dimension)."}},
			{CloudWatchPolicy, Action{"elasticloadbalancing:DescribeTags", "ELB, ALB", "Read load balancer and target group tags."}},
			{CloudWatchPolicy, Action{"elasticache:DescribeCacheClusters", "ElastiCache", "Discover cache clusters and their nodes."}},
			{CloudWatchPolicy, Action{"elasticache:ListTagsForResource", "ElastiCache", "Read cache cluster tags."}},
			{CloudWatchPolicy, Action{"sqs:ListQueues", "SQS", "Discover queues."}},
			{CloudWatchPolicy, Action{"sqs:GetQueueAttributes", "SQS", "Read queue attributes (type, ARN) for the discovered queues."}},
			{CloudWatchPolicy, Action{"sqs:ListQueueTags", "SQS", "Read queue tags."}},
			{CloudWatchPolicy, Action{"dynamodb:ListTables", "DynamoDB", "Discover tables."}},
			{CloudWatchPolicy, Action{"dynamodb:DescribeTable", "DynamoDB", "Read table details (ARN, indexes) for the discovered tables."}},
			{CloudWatchPolicy, Action{"dynamodb:ListTagsOfResource", "DynamoDB", "Read table tags."}},
			// sysdig_s3, only with a capture bucket: on the bucket, then on its objects.
			{S3Policy, Action{"s3:ListBucket", "S3", "List the captures in the capture bucket."}},
			{S3Policy, Action{"s3:GetBucketLocation", "S3", "Find the capture bucket's region."}},
			{S3Policy, Action{"s3:PutObject", "S3", "Write capture files."}},
			{S3Policy, Action{"s3:GetObject", "S3", "Read capture files back."}},
			{S3Policy, Action{"s3:DeleteObject", "S3", "Delete capture files."}},
		},
	},
}

// Version is the current permissions version: the last release's.
func Version() int { return History[len(History)-1].Version }

// VersionString is Version as the tag and the output carry it.
func VersionString() string { return strconv.Itoa(Version()) }

// Current is what policy allows at the current version, in the order actions were added.
func Current(policy string) []Action {
	return At(policy, Version())
}

// At is what policy allowed at version v.
func At(policy string, v int) []Action {
	var out []Action
	for _, r := range History {
		if r.Version > v {
			break
		}
		for _, c := range r.Removed {
			if c.Policy == policy {
				out = slices.DeleteFunc(out, func(a Action) bool { return a.Action == c.Action.Action })
			}
		}
		for _, c := range r.Added {
			if c.Policy == policy && !slices.ContainsFunc(out, func(a Action) bool { return a.Action == c.Action.Action }) {
				out = append(out, c.Action)
			}
		}
	}
	return out
}

// Names are the actions' names.
func Names(actions []Action) []string {
	out := make([]string, len(actions))
	for i, a := range actions {
		out[i] = a.Action
	}
	return out
}

// Policies are the role's policy names, in the order the stacks create them.
var Policies = []string{CloudWatchPolicy, S3Policy}

// Validate checks the history's own rules: versions 1, 2, 3, ... each with a reason and
// at least one change; exact actions (service:Name, no wildcard), each with a reason;
// an action is added only when absent and removed only when present.
func Validate() error {
	held := map[string]map[string]bool{}
	for i, r := range History {
		if r.Version != i+1 {
			return fmt.Errorf("release %d has version %d: versions go 1, 2, 3, ...", i+1, r.Version)
		}
		if strings.TrimSpace(r.Why) == "" || r.Product == "" || len(r.Added)+len(r.Removed) == 0 {
			return fmt.Errorf("version %d needs a Why, the Product release and at least one change", r.Version)
		}
		for _, c := range r.Removed {
			if !held[c.Policy][c.Action.Action] {
				return fmt.Errorf("version %d removes %s from %s, which does not allow it", r.Version, c.Action.Action, c.Policy)
			}
			if strings.TrimSpace(c.Why) == "" {
				return fmt.Errorf("version %d removes %s without saying why", r.Version, c.Action.Action)
			}
			delete(held[c.Policy], c.Action.Action)
		}
		for _, c := range r.Added {
			if !slices.Contains(Policies, c.Policy) {
				return fmt.Errorf("version %d: %s is not one of the role's policies %v", r.Version, c.Policy, Policies)
			}
			name := c.Action.Action
			svc, op, ok := strings.Cut(name, ":")
			if !ok || svc == "" || op == "" || strings.ContainsAny(name, "*? ") {
				return fmt.Errorf("version %d: %q is not an exact IAM action", r.Version, name)
			}
			if strings.TrimSpace(c.Why) == "" || c.Service == "" {
				return fmt.Errorf("version %d adds %s without saying why (Service, Why)", r.Version, name)
			}
			if held[c.Policy] == nil {
				held[c.Policy] = map[string]bool{}
			}
			if held[c.Policy][name] {
				return fmt.Errorf("version %d adds %s to %s, which allows it already", r.Version, name, c.Policy)
			}
			held[c.Policy][name] = true
		}
	}
	return nil
}
