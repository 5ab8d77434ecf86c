package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"sysdig-aws-connect/internal/cfnsim"
	"sysdig-aws-connect/internal/localrun"
	"sysdig-aws-connect/internal/onprem"
	"sysdig-aws-connect/internal/operator"
	"sysdig-aws-connect/internal/sysdigemu"
)

const eu1Account = "210987654321" // the account an eu1-like tenant reports

// trustOf reads the role's trust policy back from the IAM stand-in with the real SDK.
func trustOf(t *testing.T, iamURL, role string) (principal, externalID string) {
	t.Helper()
	c := iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(iamURL), Credentials: credentials.NewStaticCredentialsProvider("AKIDE2E", "s", ""), RetryMaxAttempts: 1})
	out, err := c.GetRole(context.Background(), &iam.GetRoleInput{RoleName: aws.String(role)})
	if err != nil {
		t.Fatalf("GetRole %s: %v", role, err)
	}
	doc, _ := url.QueryUnescape(aws.ToString(out.Role.AssumeRolePolicyDocument))
	var p struct {
		Statement []struct {
			Principal struct{ AWS string }
			Condition struct {
				StringEquals map[string]string
			}
		}
	}
	if err := json.Unmarshal([]byte(doc), &p); err != nil || len(p.Statement) != 1 {
		t.Fatalf("trust policy %s: %v", doc, err)
	}
	return p.Statement[0].Principal.AWS, p.Statement[0].Condition.StringEquals["sts:ExternalId"]
}

func created(events []cfnsim.Event, logicalID string) bool {
	for _, e := range events {
		if e.LogicalID == logicalID && e.RequestType == "Create" && e.Status == "SUCCESS" {
			return true
		}
	}
	return false
}

// The single-account template played through the real bootstrap: the role trusts the
// account the tenant reports; a mismatch or an unknown account fails before the role exists.
func TestTrustedAccountFromTheTenant(t *testing.T) {
	for _, tc := range []struct {
		name        string
		opts        []sysdigemu.Option
		params      []string
		wantAccount string   // the role trusts its root
		wantFail    []string // the create fails at SysdigExternalId with all of these
	}{
		{name: "reported", opts: []sysdigemu.Option{sysdigemu.WithSysdigAWSAccountID(eu1Account)}, wantAccount: eu1Account},
		{name: "reported equals given", opts: []sysdigemu.Option{sysdigemu.WithSysdigAWSAccountID(eu1Account)}, params: []string{"SysdigAwsAccountId", eu1Account}, wantAccount: eu1Account},
		{name: "given differs from reported", opts: []sysdigemu.Option{sysdigemu.WithSysdigAWSAccountID(eu1Account)}, params: []string{"SysdigAwsAccountId", "111122223333"},
			wantFail: []string{"SysdigAwsAccountId is 111122223333", "reports its AWS account as " + eu1Account}},
		{name: "not reported, custom region", opts: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()},
			wantFail: []string{"set the SysdigAwsAccountId parameter", "SysdigRegion custom", "AWS account IDs"}},
		{name: "not reported, given", opts: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()}, params: []string{"SysdigAwsAccountId", "111122223333"}, wantAccount: "111122223333"},
		{name: "external id given, account still read", opts: []sysdigemu.Option{sysdigemu.WithSysdigAWSAccountID(eu1Account)}, params: []string{"ExternalId", sysdigemu.DefaultExternalID}, wantAccount: eu1Account},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t), Sysdig: tc.opts})
			iamSrv, iamURL := env.StartIAM()
			stack := env.NewStack(loadTemplate(t, "sysdig-aws-connect.json"), "SysdigAwsConnect", env.AWSProvisioners(iamSrv)...)
			err := stack.Create(ctx(t), stackParams(env, tc.params...))
			if len(tc.wantFail) > 0 {
				var se *cfnsim.StackError
				if !errors.As(err, &se) || se.LogicalID != "SysdigExternalId" {
					t.Fatalf("create: %v", err)
				}
				for _, w := range tc.wantFail {
					if !strings.Contains(se.Reason, w) {
						t.Fatalf("Reason %q lacks %q", se.Reason, w)
					}
				}
				if created(stack.Events(), "SysdigRole") || len(env.Sysdig.Providers()) != 0 {
					t.Fatal("the role or the registration was created before the account was known")
				}
				checkLogs(t, env)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			principal, ext := trustOf(t, iamURL, "sysdig-role")
			if principal != "arn:aws:iam::"+tc.wantAccount+":root" || ext != sysdigemu.DefaultExternalID {
				t.Fatalf("trust %s / %s, want the root of %s", principal, ext, tc.wantAccount)
			}
			out, _ := stack.Outputs()
			if out["SysdigTrustedPrincipal"] != principal {
				t.Fatalf("outputs %v", out)
			}
			if err := stack.Delete(ctx(t)); err != nil {
				t.Fatal(err)
			}
			checkLogs(t, env)
		})
	}
}

// The region rule of Custom::SysdigExternalId, sent straight to the function: without a
// reported account only us1 has a default; any other region fails naming the parameter.
func TestTrustedAccountWhenTheTenantDoesNotReportIt(t *testing.T) {
	env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t), Sysdig: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()}})
	props := func(region string) map[string]any {
		p := providerProps(env)
		delete(p, "RoleArn")
		p["SysdigRegion"] = region
		return p
	}
	out := send(t, env, request{requestType: "Create", resourceType: "Custom::SysdigExternalId", props: props("us1")})
	checkAnswer(t, env, out, templateTimeout(t), "SUCCESS", "")
	if out.resp.Data["SysdigAwsAccountId"] != "273107874544" || out.resp.Data["ExternalId"] != sysdigemu.DefaultExternalID {
		t.Fatalf("us1: Data %v", out.resp.Data)
	}
	for _, region := range []string{"eu1", "au1"} {
		out := send(t, env, request{requestType: "Create", resourceType: "Custom::SysdigExternalId", props: props(region)})
		checkAnswer(t, env, out, templateTimeout(t), "FAILED", "SysdigAwsAccountId")
		if !strings.Contains(out.resp.Reason, "SysdigRegion "+region) || !strings.Contains(out.resp.Reason, "AWS account IDs") {
			t.Fatalf("%s: Reason %q", region, out.resp.Reason)
		}
	}
}

// cli runs sysdig-connect against the local world.
func cli(t *testing.T, env *localrun.Env, iamURL string, args ...string) (int, string, string) {
	t.Helper()
	creds := credentials.NewStaticCredentialsProvider("AKIDE2E", "s", "")
	deps := operator.Deps{
		IAM: func(context.Context) (operator.IAMAPI, error) {
			return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(iamURL), Credentials: creds, RetryMaxAttempts: 1}), nil
		},
		Secrets: func(context.Context, string) (operator.SecretsAPI, error) {
			return secretsmanager.New(secretsmanager.Options{Region: localrun.Region, BaseEndpoint: aws.String(env.SecretsURL), Credentials: creds, RetryMaxAttempts: 1}), nil
		},
	}
	var stdout, stderr bytes.Buffer
	code := operator.Run(context.Background(), args, &stdout, &stderr, func(k string) string {
		if k == operator.TokenEnv {
			return env.Token
		}
		return ""
	}, deps)
	return code, stdout.String(), stderr.String()
}

// On-prem, CreateUser: the stack creates the user, its key and the secret; the role trusts
// exactly that user; the CLI turns the secret into the Kubernetes manifest and check
// verifies the trust; delete deregisters.
func TestOnPremCreateUserCreateAndDelete(t *testing.T) {
	// An on-prem tenant that does not answer awsCloudInformation: no account is needed.
	env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t), Sysdig: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()}})
	iamSrv, iamURL := env.StartIAM()
	stack := env.NewStack(loadTemplate(t, "sysdig-aws-connect.json"), "SysdigAwsConnect", env.AWSProvisioners(iamSrv)...)
	if err := stack.Create(ctx(t), stackParams(env, "OnPremCredentials", "CreateUser")); err != nil {
		t.Fatal(err)
	}
	out, err := stack.Outputs()
	if err != nil {
		t.Fatal(err)
	}
	user := out["OnPremUserName"]
	userARN := "arn:aws:iam::" + localrun.AccountID + ":user/" + user
	principal, ext := trustOf(t, iamURL, "sysdig-role")
	if principal != userARN || ext != sysdigemu.DefaultExternalID || out["SysdigTrustedPrincipal"] != userARN {
		t.Fatalf("trust %s / %s, outputs %v", principal, ext, out)
	}
	if _, ok := out["OnPremAssumeRolePolicy"]; ok {
		t.Fatal("the policy is printed although the stack attached it")
	}
	keys := iamSrv.AccessKeyIDs(user)
	if len(keys) != 1 || out["OnPremCredentialsSecretArn"] == "" {
		t.Fatalf("keys %v, outputs %v", keys, out)
	}
	for k, v := range out {
		if strings.Contains(v, "aws.secretKey") {
			t.Fatalf("output %s holds the key: %s", k, v)
		}
	}
	if ps := env.Sysdig.Providers(); len(ps) != 1 || ps[0].RoleARN != roleARN(localrun.AccountID, "sysdig-role") {
		t.Fatalf("Sysdig %+v", ps)
	}

	code, manifest, stderr := cli(t, env, iamURL, "onprem", "k8s-secret", "--secret", out["OnPremCredentialsSecretArn"], "--namespace", "sysdigcloud")
	if code != 0 {
		t.Fatalf("k8s-secret: %d %s", code, stderr)
	}
	first, _, _ := strings.Cut(manifest, "\n---\n")
	var s corev1.Secret
	if err := yaml.UnmarshalStrict([]byte(first), &s); err != nil || string(s.Data[onprem.AccessKeyField]) != keys[0] || len(s.Data[onprem.SecretKeyField]) != 40 {
		t.Fatalf("manifest Secret %+v (%v)", s, err)
	}
	code, report, _ := cli(t, env, iamURL, "--api-url", env.SysdigURL, "check", "--onprem-principal", userARN, "--role-arn", roleARN(localrun.AccountID, "sysdig-role"))
	if code != 0 || !strings.Contains(report, "[ OK ] Role trust: principal") || !strings.Contains(report, "[ OK ] Role trust: external ID") {
		t.Fatalf("check: %d\n%s", code, report)
	}
	for _, line := range env.Logs() {
		if strings.Contains(line, string(s.Data[onprem.SecretKeyField])) {
			t.Fatal("a log line holds the secret key")
		}
	}

	if err := stack.Delete(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if ps := env.Sysdig.Providers(); len(ps) != 0 {
		t.Fatalf("after delete: %+v", ps)
	}
	checkLogs(t, env)
}

// On-prem, ExistingPrincipal: no key; the policy is attached to a principal of this
// account and printed for one elsewhere.
func TestOnPremExistingPrincipal(t *testing.T) {
	for _, tc := range []struct {
		name, principal string
		printed         bool
	}{
		{"this account", "arn:aws:iam::" + localrun.AccountID + ":role/sysdig-backend", false},
		{"another account", "arn:aws:iam::210987654321:role/eks-sysdig-backend", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t)})
			iamSrv, iamURL := env.StartIAM()
			stack := env.NewStack(loadTemplate(t, "sysdig-aws-connect.json"), "SysdigAwsConnect", env.AWSProvisioners(iamSrv)...)
			if err := stack.Create(ctx(t), stackParams(env, "OnPremCredentials", "ExistingPrincipal", "OnPremPrincipalArn", tc.principal)); err != nil {
				t.Fatal(err)
			}
			principal, _ := trustOf(t, iamURL, "sysdig-role")
			out, _ := stack.Outputs()
			_, printed := out["OnPremAssumeRolePolicy"]
			if principal != tc.principal || printed != tc.printed || created(stack.Events(), "OnPremAssumeRole") == tc.printed || created(stack.Events(), "OnPremUser") {
				t.Fatalf("trust %s, outputs %v", principal, out)
			}
			if tc.printed && !strings.Contains(out["OnPremAssumeRolePolicy"], `"Resource":"`+roleARN(localrun.AccountID, "sysdig-role")+`"`) {
				t.Fatalf("printed policy %s", out["OnPremAssumeRolePolicy"])
			}
			if err := stack.Delete(ctx(t)); err != nil {
				t.Fatal(err)
			}
			if len(env.Sysdig.Providers()) != 0 {
				t.Fatal("registration left after delete")
			}
		})
	}
}
