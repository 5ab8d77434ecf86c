// Package launch holds what the published template and `make publish` must agree on:
// where the function's code lives and how the console's quick-create ("Launch Stack")
// URL is built. It has no CDK dependency, so cmd/publish stays small.
package launch

import (
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// The code location: the published template reads the zip from the bucket
// <CodeBucketPrefix>-<region> at CodeKey (Lambda reads code only from a bucket in the
// function's region, hence one bucket per region). CodeBucketPrefix has no default: whoever
// owns those buckets decides what code runs with the Sysdig token, so the publisher's
// Launch Stack URL names them, or the person launching does.
const (
	DefaultCodeKey     = "sysdig-aws-connect/function.zip"
	DefaultTemplateKey = "sysdig-aws-connect/sysdig-aws-connect.json"
	DefaultStackName   = "sysdig-aws-connect"
	// The AWS Organizations deployer (make publish-org): same zip, its own template.
	DefaultOrgTemplateKey = "sysdig-aws-connect/sysdig-aws-connect-org.json"
	DefaultOrgStackName   = "sysdig-aws-connect-org"
	// The member template the deployer's StackSet reads from the same bucket
	// (MemberTemplateKey): kept out of the deployer so the deployer stays small.
	DefaultMemberTemplateKey = "sysdig-aws-connect/sysdig-aws-connect-member.json"
	// The deployer's alarms and dashboard, a nested stack read from the same bucket
	// (OperationsTemplateKey).
	DefaultOperationsTemplateKey = "sysdig-aws-connect/sysdig-aws-connect-operations.json"
)

// Parameter names of the published template that publish pre-fills.
const (
	ParamCodeBucketPrefix      = "CodeBucketPrefix"
	ParamCodeKey               = "CodeKey"
	ParamCodeSigningConfigArn  = "CodeSigningConfigArn"
	ParamMemberTemplateKey     = "MemberTemplateKey"     // the deployer only
	ParamOperationsTemplateKey = "OperationsTemplateKey" // the deployer only
)

// RegionalBucket is the bucket name for a prefix and a region.
func RegionalBucket(prefix, region string) string { return prefix + "-" + region }

// TemplateURL is the virtual-hosted-style HTTPS URL of an object, as CloudFormation
// wants it for templateURL.
func TemplateURL(bucket, region, key string) string {
	return fmt.Sprintf("https://%s.s3.%s.amazonaws.com/%s", bucket, region, escapeKey(key))
}

func escapeKey(key string) string {
	parts := strings.Split(key, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// QuickCreateURL is the CloudFormation console link that opens the "Quick create stack"
// page with the template, the stack name and the given parameters filled in
// (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cfn-console-create-stacks-quick-create-links.html).
func QuickCreateURL(region, templateURL, stackName string, params map[string]string) string {
	q := []string{
		"templateURL=" + url.QueryEscape(templateURL),
		"stackName=" + url.QueryEscape(stackName),
	}
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		q = append(q, "param_"+url.QueryEscape(k)+"="+url.QueryEscape(params[k]))
	}
	return fmt.Sprintf("https://console.aws.amazon.com/cloudformation/home?region=%s#/stacks/create/review?%s",
		url.QueryEscape(region), strings.Join(q, "&"))
}
