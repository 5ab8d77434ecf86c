package localaws

import (
	"context"
	"errors"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/smithy-go"
)

func iamClient(url string) *iam.Client {
	return iam.New(iam.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func apiCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

// The real SDK client drives users, keys and roles, and meets IAM's rules.
func TestIAMWithTheRealSDK(t *testing.T) {
	s := NewIAM("123456789012")
	base, stop := s.Start()
	defer stop()
	c := iamClient(base)
	ctx := context.Background()

	u, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("sysdig-onprem"), Path: aws.String("/sysdig/")})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToString(u.User.Arn); got != "arn:aws:iam::123456789012:user/sysdig/sysdig-onprem" {
		t.Fatalf("user ARN %s", got)
	}
	if _, err := c.CreateUser(ctx, &iam.CreateUserInput{UserName: aws.String("sysdig-onprem")}); apiCode(err) != "EntityAlreadyExists" {
		t.Fatalf("duplicate user: %v", err)
	}
	var ids []string
	for range 2 {
		k, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("sysdig-onprem")})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(aws.ToString(k.AccessKey.AccessKeyId), "AKIA") || len(aws.ToString(k.AccessKey.SecretAccessKey)) != 40 || k.AccessKey.Status != "Active" {
			t.Fatalf("key %+v", k.AccessKey)
		}
		ids = append(ids, aws.ToString(k.AccessKey.AccessKeyId))
	}
	if _, err := c.CreateAccessKey(ctx, &iam.CreateAccessKeyInput{UserName: aws.String("sysdig-onprem")}); apiCode(err) != "LimitExceeded" {
		t.Fatalf("third key: %v", err)
	}
	list, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("sysdig-onprem")})
	if err != nil || len(list.AccessKeyMetadata) != 2 || aws.ToString(list.AccessKeyMetadata[0].AccessKeyId) != ids[0] {
		t.Fatalf("list: %+v %v", list, err)
	}
	if _, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("sysdig-onprem")}); apiCode(err) != "DeleteConflict" {
		t.Fatalf("delete a user with keys: %v", err)
	}
	for _, id := range ids {
		if _, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("sysdig-onprem"), AccessKeyId: aws.String(id)}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.DeleteAccessKey(ctx, &iam.DeleteAccessKeyInput{UserName: aws.String("sysdig-onprem"), AccessKeyId: aws.String(ids[0])}); apiCode(err) != "NoSuchEntity" {
		t.Fatalf("delete a deleted key: %v", err)
	}
	if list, err := c.ListAccessKeys(ctx, &iam.ListAccessKeysInput{UserName: aws.String("sysdig-onprem")}); err != nil || len(list.AccessKeyMetadata) != 0 {
		t.Fatalf("list after delete: %+v %v", list, err)
	}
	if _, err := c.DeleteUser(ctx, &iam.DeleteUserInput{UserName: aws.String("sysdig-onprem")}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.GetUser(ctx, &iam.GetUserInput{UserName: aws.String("sysdig-onprem")}); apiCode(err) != "NoSuchEntity" {
		t.Fatalf("get a deleted user: %v", err)
	}

	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::273107874544:root"},"Action":"sts:AssumeRole","Condition":{"StringEquals":{"sts:ExternalId":"a+b/c=d"}}}]}`
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("sysdig-role"), AssumeRolePolicyDocument: aws.String(trust)}); err != nil {
		t.Fatal(err)
	}
	r, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("sysdig-role")})
	if err != nil {
		t.Fatal(err)
	}
	// IAM answers the document URL-encoded; decoding it gives the document back.
	doc, err := url.QueryUnescape(aws.ToString(r.Role.AssumeRolePolicyDocument))
	if err != nil || doc != trust || aws.ToString(r.Role.AssumeRolePolicyDocument) == trust {
		t.Fatalf("trust policy %q (%v)", aws.ToString(r.Role.AssumeRolePolicyDocument), err)
	}
	if _, err := c.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("nope")}); apiCode(err) != "NoSuchEntity" {
		t.Fatalf("missing role: %v", err)
	}
	if _, err := c.CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bad name!"), AssumeRolePolicyDocument: aws.String(trust)}); apiCode(err) != "ValidationError" {
		t.Fatalf("bad name: %v", err)
	}
	if got := s.Count("GetRole"); got != 2 {
		t.Errorf("GetRole count %d", got)
	}
}

// The awscli, an independent client, reads the same answers.
func TestIAMWithTheAWSCLI(t *testing.T) {
	awsBin, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("awscli not installed (CI installs it)")
	}
	s := NewIAM("123456789012")
	base, stop := s.Start()
	defer stop()
	if _, err := s.CreateRole("sysdig-role", "/", `{"Version":"2012-10-17","Statement":[]}`); err != nil {
		t.Fatal(err)
	}
	run := func(args ...string) string {
		cmd := exec.Command(awsBin, append([]string{"--endpoint-url", base, "--region", "us-east-1", "--output", "json", "iam"}, args...)...)
		cmd.Env = append(os.Environ(), "AWS_ACCESS_KEY_ID=AKIDLOCAL", "AWS_SECRET_ACCESS_KEY=secret", "AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("aws iam %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	if out := run("create-user", "--user-name", "ops"); !strings.Contains(out, `"Arn": "arn:aws:iam::123456789012:user/ops"`) {
		t.Fatalf("create-user: %s", out)
	}
	if out := run("create-access-key", "--user-name", "ops"); !strings.Contains(out, `"SecretAccessKey"`) {
		t.Fatalf("create-access-key: %s", out)
	}
	if out := run("list-access-keys", "--user-name", "ops"); !strings.Contains(out, `"Status": "Active"`) {
		t.Fatalf("list-access-keys: %s", out)
	}
	// The awscli decodes the URL-encoded document into JSON.
	if out := run("get-role", "--role-name", "sysdig-role"); !strings.Contains(out, `"Version": "2012-10-17"`) {
		t.Fatalf("get-role: %s", out)
	}
}
