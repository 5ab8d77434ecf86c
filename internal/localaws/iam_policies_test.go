package localaws

import (
	"context"
	"net/url"
	"slices"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/iam/types"
)

// The real SDK client reads and writes a role's inline and attached policies and tags,
// pages through them, and meets IAM's rules (no deleting a role with policies).
func TestIAMRolePoliciesWithTheRealSDK(t *testing.T) {
	s := NewIAM("123456789012")
	base, stop := s.Start()
	defer stop()
	c := iamClient(base)
	ctx := context.Background()
	if _, err := s.CreateRole("sysdig-role", "/", `{"Version":"2012-10-17","Statement":[]}`); err != nil {
		t.Fatal(err)
	}
	doc := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["cloudwatch:GetMetricData"],"Resource":"*"}]}`
	for _, name := range []string{"sysdig_cloudwatch", "b", "c"} {
		if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("sysdig-role"), PolicyName: aws.String(name), PolicyDocument: aws.String(doc)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.PutRolePolicy(ctx, &iam.PutRolePolicyInput{RoleName: aws.String("sysdig-role"), PolicyName: aws.String("bad"), PolicyDocument: aws.String("{")}); apiCode(err) != "MalformedPolicyDocument" {
		t.Fatalf("malformed document: %v", err)
	}
	got, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("sysdig-role"), PolicyName: aws.String("sysdig_cloudwatch")})
	if err != nil {
		t.Fatal(err)
	}
	if dec, _ := url.QueryUnescape(aws.ToString(got.PolicyDocument)); dec != doc || aws.ToString(got.PolicyName) != "sysdig_cloudwatch" {
		t.Fatalf("GetRolePolicy = %+v", got)
	}
	if _, err := c.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String("sysdig-role"), PolicyName: aws.String("nope")}); apiCode(err) != "NoSuchEntity" {
		t.Fatalf("missing policy: %v", err)
	}
	// Two pages of two names.
	var names []string
	pages := iam.NewListRolePoliciesPaginator(c, &iam.ListRolePoliciesInput{RoleName: aws.String("sysdig-role"), MaxItems: aws.Int32(2)})
	for n := 0; pages.HasMorePages() && n < 10; n++ {
		out, err := pages.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, out.PolicyNames...)
	}
	if !slices.Equal(names, []string{"b", "c", "sysdig_cloudwatch"}) {
		t.Fatalf("ListRolePolicies = %v", names)
	}

	for _, arn := range []string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::123456789012:policy/team/extra"} {
		if _, err := c.AttachRolePolicy(ctx, &iam.AttachRolePolicyInput{RoleName: aws.String("sysdig-role"), PolicyArn: aws.String(arn)}); err != nil {
			t.Fatal(err)
		}
	}
	att, err := c.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String("sysdig-role")})
	if err != nil {
		t.Fatal(err)
	}
	var attached []string
	for _, p := range att.AttachedPolicies {
		attached = append(attached, aws.ToString(p.PolicyName))
	}
	slices.Sort(attached)
	if !slices.Equal(attached, []string{"ReadOnlyAccess", "extra"}) {
		t.Fatalf("ListAttachedRolePolicies names %v", attached)
	}
	if _, err := c.TagRole(ctx, &iam.TagRoleInput{RoleName: aws.String("sysdig-role"), Tags: []types.Tag{{Key: aws.String("sysdig-aws-connect:permissions-version"), Value: aws.String("1")}}}); err != nil {
		t.Fatal(err)
	}
	r, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("sysdig-role")})
	if err != nil || len(r.Role.Tags) != 1 || aws.ToString(r.Role.Tags[0].Value) != "1" {
		t.Fatalf("GetRole tags = %+v, %v", r, err)
	}

	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("sysdig-role")}); apiCode(err) != "DeleteConflict" {
		t.Fatalf("delete a role with policies: %v", err)
	}
	for _, name := range names {
		if _, err := c.DeleteRolePolicy(ctx, &iam.DeleteRolePolicyInput{RoleName: aws.String("sysdig-role"), PolicyName: aws.String(name)}); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range att.AttachedPolicies {
		if _, err := c.DetachRolePolicy(ctx, &iam.DetachRolePolicyInput{RoleName: aws.String("sysdig-role"), PolicyArn: p.PolicyArn}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("sysdig-role")}); err != nil {
		t.Fatal(err)
	}
}
