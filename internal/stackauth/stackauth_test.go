package stackauth

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"

	"sysdig-aws-connect/internal/localaws"
)

const (
	stackSet = "SysdigAwsConnectOrg-members"
	region   = "us-east-1"
	member   = "210987654321"
	other    = "111122223333"
	deployer = "arn:aws:cloudformation:us-east-1:123456789012:stack/SysdigAwsConnectOrg/00000000-1111-4222-8333-444444444444"
)

func memberStack(account, suffix string) string {
	return "arn:aws:cloudformation:us-east-1:" + account + ":stack/StackSet-SysdigAwsConnectOrg-members-" + suffix + "/aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
}

// counting wraps the real SDK client: it counts calls and runs a hook before each.
type counting struct {
	api    API
	calls  atomic.Int32
	before func(n int32)
}

func (c *counting) DescribeStackInstance(ctx context.Context, in *cloudformation.DescribeStackInstanceInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStackInstanceOutput, error) {
	n := c.calls.Add(1)
	if c.before != nil {
		c.before(n)
	}
	return c.api.DescribeStackInstance(ctx, in, opts...)
}

func world(t *testing.T) (*localaws.CloudFormation, *cloudformation.Client) {
	t.Helper()
	cf := localaws.NewCloudFormation(region)
	cf.PutStackInstance(stackSet, localaws.StackInstance{Account: member, Region: region, StackID: memberStack(member, "a"), DetailedStatus: localaws.InstanceRunning})
	cf.PutStackInstance(stackSet, localaws.StackInstance{Account: "333333333333", Region: region, StackID: memberStack("333333333333", "p"), DetailedStatus: localaws.InstancePending})
	cf.PutStackInstance(stackSet, localaws.StackInstance{Account: "444444444444", Region: region, StackID: memberStack("444444444444", "s"), DetailedStatus: localaws.InstanceSucceeded})
	cf.PutStackInstance(stackSet, localaws.StackInstance{Account: "555555555555", Region: region, DetailedStatus: localaws.InstanceRunning})
	cf.PutStackSet("Delegated-members", "DELEGATED_ADMIN")
	cf.PutStackInstance("Delegated-members", localaws.StackInstance{Account: member, Region: region, StackID: memberStack(member, "d"), DetailedStatus: localaws.InstanceRunning})
	url, stop := cf.Start()
	t.Cleanup(stop)
	return cf, cloudformation.New(cloudformation.Options{
		Region: region, BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""),
	})
}

func TestCheck(t *testing.T) {
	_, client := world(t)
	fast := WithRetry(3, time.Millisecond, 5*time.Millisecond)
	tests := []struct {
		name       string
		stackSet   string
		opts       []Option
		req        Request
		wantReason string // empty: accepted
		wantCalls  int32
		wantAcct   string
	}{
		{name: "member in a running operation", req: Request{StackID: memberStack(member, "a"), ViaTopic: true}, wantCalls: 1},
		{name: "member in a pending operation", req: Request{StackID: memberStack("333333333333", "p"), ViaTopic: true}, wantCalls: 1},
		{name: "member without an operation", req: Request{StackID: memberStack("444444444444", "s"), ViaTopic: true},
			wantReason: "no StackSet operation is running", wantCalls: 3, wantAcct: "444444444444"},
		{name: "another stack of the member's account", req: Request{StackID: memberStack(member, "forged"), ViaTopic: true},
			wantReason: "is not account " + member + "'s stack instance", wantCalls: 3, wantAcct: member},
		{name: "instance without its stack yet", req: Request{StackID: memberStack("555555555555", "x"), ViaTopic: true},
			wantReason: "is not account 555555555555's stack instance", wantCalls: 3, wantAcct: "555555555555"},
		{name: "account outside the StackSet", req: Request{StackID: memberStack(other, "a"), ViaTopic: true},
			wantReason: "has no stack instance", wantCalls: 3, wantAcct: other},
		{name: "another region", req: Request{StackID: strings.Replace(memberStack(member, "a"), "us-east-1", "eu-west-1", 1), ViaTopic: true},
			wantReason: "has no stack instance", wantCalls: 3, wantAcct: member},
		{name: "StackSet missing", stackSet: "nope", req: Request{StackID: memberStack(member, "a"), ViaTopic: true},
			wantReason: "StackSet nope not found with CallAs SELF", wantCalls: 1, wantAcct: member},
		{name: "delegated administrator", stackSet: "Delegated-members", opts: []Option{WithCallAs("DELEGATED_ADMIN")},
			req: Request{StackID: memberStack(member, "d"), ViaTopic: true}, wantCalls: 1},
		{name: "delegated administrator's StackSet as SELF", stackSet: "Delegated-members",
			req: Request{StackID: memberStack(member, "d"), ViaTopic: true}, wantReason: "not found with CallAs SELF", wantCalls: 1, wantAcct: member},
		{name: "not a stack ARN", req: Request{StackID: "arn:aws:s3:::bucket", ViaTopic: true}, wantReason: "not a CloudFormation stack ARN"},
		{name: "not an ARN", req: Request{StackID: "my-stack", ViaTopic: true}, wantReason: "not an ARN"},
		{name: "the deployer through the topic", req: Request{StackID: deployer, ViaTopic: true}, wantReason: "came through the registrar topic", wantAcct: "123456789012"},
		{name: "the deployer directly", req: Request{StackID: deployer}},
		{name: "another stack directly", req: Request{StackID: memberStack(member, "a")}, wantReason: "invoked the registrar directly", wantAcct: member},
		{name: "directly, no deployer configured", opts: []Option{WithDeployerStackID("")}, req: Request{StackID: memberStack(member, "a")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api := &counting{api: client}
			name := stackSet
			if tt.stackSet != "" {
				name = tt.stackSet
			}
			c, err := New(api, name, append([]Option{fast, WithDeployerStackID(deployer)}, tt.opts...)...)
			if err != nil {
				t.Fatal(err)
			}
			err = c.Check(context.Background(), tt.req)
			// The refusal may reach the sender: it never reveals the member's real stack id.
			if real := memberStack(member, "a"); err != nil && tt.req.StackID != real && strings.Contains(err.Error(), real) {
				t.Errorf("the refusal reveals a real stack id: %v", err)
			}
			if got := api.calls.Load(); got != tt.wantCalls {
				t.Errorf("%d DescribeStackInstance calls, want %d", got, tt.wantCalls)
			}
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var refused *RefusedError
			if !errors.As(err, &refused) || !strings.Contains(err.Error(), tt.wantReason) || !strings.HasPrefix(err.Error(), "refused: ") {
				t.Fatalf("err = %v, want a refusal with %q", err, tt.wantReason)
			}
			if refused.Account != tt.wantAcct || refused.StackID != tt.req.StackID {
				t.Errorf("refusal names account %q stack %q", refused.Account, refused.StackID)
			}
		})
	}
}

// A member's request may arrive before CloudFormation's StackSet records show its stack
// and operation: the check asks again, briefly.
func TestCheckWaitsForEventualConsistency(t *testing.T) {
	cf, client := world(t)
	id := memberStack(other, "late")
	api := &counting{api: client, before: func(n int32) {
		switch n {
		case 2: // the instance appears, its stack not yet known
			cf.PutStackInstance(stackSet, localaws.StackInstance{Account: other, Region: region, DetailedStatus: localaws.InstancePending})
		case 3:
			cf.PutStackInstance(stackSet, localaws.StackInstance{Account: other, Region: region, StackID: id, DetailedStatus: localaws.InstanceRunning})
		}
	}}
	c, err := New(api, stackSet, WithRetry(4, time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Check(context.Background(), Request{StackID: id, ViaTopic: true}); err != nil {
		t.Fatal(err)
	}
	if n := api.calls.Load(); n != 3 {
		t.Errorf("%d calls, want 3", n)
	}
}

// The deadline bounds the retries, and the refusal still says what was found.
func TestCheckWithinTheDeadline(t *testing.T) {
	_, client := world(t)
	c, err := New(&counting{api: client}, stackSet, WithRetry(100, 50*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = c.Check(ctx, Request{StackID: memberStack("444444444444", "s"), ViaTopic: true})
	if !strings.Contains(fmtErr(err), "no StackSet operation is running") {
		t.Fatalf("err = %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s, past the 300ms deadline", d)
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// failing answers errs in turn, then the member's instance in an operation.
type failing struct {
	calls int
	errs  []error
}

func (f *failing) DescribeStackInstance(context.Context, *cloudformation.DescribeStackInstanceInput, ...func(*cloudformation.Options)) (*cloudformation.DescribeStackInstanceOutput, error) {
	f.calls++
	if f.calls <= len(f.errs) {
		return nil, f.errs[f.calls-1]
	}
	return &cloudformation.DescribeStackInstanceOutput{StackInstance: &cfntypes.StackInstance{StackId: aws.String(memberStack(member, "a")),
		StackInstanceStatus: &cfntypes.StackInstanceComprehensiveStatus{DetailedStatus: cfntypes.StackInstanceDetailedStatusRunning}}}, nil
}

// A call refused for good refuses at once, saying what the role needs and never the
// message (it names the management account); a call that failed for a passing reason
// (after the SDK's own attempts) is asked again while the check has time.
func TestCheckFailsClosed(t *testing.T) {
	denied := &smithy.GenericAPIError{Code: "AccessDenied", Message: "User: arn:aws:sts::999988887777:assumed-role/Registrar/x is not authorized", Fault: smithy.FaultClient}
	notAdmin := &smithy.GenericAPIError{Code: "ValidationError", Message: "Account used is not a delegated administrator", Fault: smithy.FaultClient}
	throttled := &smithy.GenericAPIError{Code: "Throttling", Message: "Rate exceeded", Fault: smithy.FaultClient}
	unavailable := &smithy.GenericAPIError{Code: "InternalFailure", Message: "try again", Fault: smithy.FaultServer}
	network := errors.New("dial tcp: connection reset")
	tests := []struct {
		name      string
		errs      []error
		wantErr   string // empty: accepted
		wantCalls int
	}{
		{"access denied", []error{denied}, "(AccessDenied): the registrar's role needs cloudformation:DescribeStackInstance", 1},
		{"not a delegated administrator", []error{notAdmin}, "organizations:ListDelegatedAdministrators", 1},
		{"throttled, then answered", []error{throttled}, "", 2},
		{"server error, then answered", []error{unavailable}, "", 2},
		{"network error, then answered", []error{network}, "", 2},
		{"unavailable every time", []error{unavailable, unavailable, unavailable, unavailable}, "could not confirm", 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			api := &failing{errs: tc.errs}
			c, err := New(api, stackSet, WithRetry(4, time.Millisecond, 5*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			err = c.Check(context.Background(), Request{StackID: memberStack(member, "a"), ViaTopic: true})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && !strings.Contains(fmtErr(err), tc.wantErr) || api.calls != tc.wantCalls {
				t.Fatalf("err = %v after %d calls; want %q after %d", err, api.calls, tc.wantErr, tc.wantCalls)
			}
			if strings.Contains(fmtErr(err), "999988887777") {
				t.Errorf("the Reason names the management account: %v", err)
			}
		})
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name, stackSet string
		opts           []Option
		wantErr        string
	}{
		{name: "defaults", stackSet: stackSet},
		{name: "delegated", stackSet: stackSet, opts: []Option{WithCallAs("DELEGATED_ADMIN")}},
		{name: "empty CallAs is SELF", stackSet: stackSet, opts: []Option{WithCallAs(" ")}},
		{name: "no name", stackSet: " ", wantErr: "no StackSet name"},
		{name: "bad CallAs", stackSet: stackSet, opts: []Option{WithCallAs("ADMIN")}, wantErr: "not SELF or DELEGATED_ADMIN"},
		{name: "bad deployer", stackSet: stackSet, opts: []Option{WithDeployerStackID("stack")}, wantErr: "deployer stack id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(&failing{}, tt.stackSet, tt.opts...)
			if tt.wantErr == "" {
				if err != nil || c.StackSetName() != stackSet {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func FuzzParseStackID(f *testing.F) {
	f.Add(deployer)
	f.Add("arn:aws-cn:cloudformation:cn-north-1:123456789012:stack/a/b")
	f.Add("arn:aws:cloudformation:us-east-1:12345678901x:stack/a/b")
	f.Add("arn:aws:cloudformation::123456789012:stack//")
	f.Fuzz(func(t *testing.T, id string) {
		s, err := ParseStackID(id)
		if err != nil {
			return
		}
		if !isAccountID(s.Account) || s.Region == "" || s.Name == "" || !strings.Contains(id, ":stack/"+s.Name+"/") {
			t.Fatalf("ParseStackID(%q) = %+v", id, s)
		}
	})
}

// One accepted check through the real SDK client against the loopback stand-in: the
// client-side cost of the extra call a topic request makes.
func BenchmarkCheck(b *testing.B) {
	cf := localaws.NewCloudFormation(region)
	cf.PutStackInstance(stackSet, localaws.StackInstance{Account: member, Region: region, StackID: memberStack(member, "a"), DetailedStatus: localaws.InstanceRunning})
	url, stop := cf.Start()
	defer stop()
	client := cloudformation.New(cloudformation.Options{Region: region, BaseEndpoint: aws.String(url), RetryMaxAttempts: 1,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", "")})
	c, err := New(client, stackSet)
	if err != nil {
		b.Fatal(err)
	}
	req := Request{StackID: memberStack(member, "a"), ViaTopic: true}
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Check(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}

// A check that runs out of tries on passing failures says so with the error code only.
func TestCheckOutOfTimeNamesTheCodeOnly(t *testing.T) {
	unavailable := &smithy.GenericAPIError{Code: "InternalFailure", Message: "arn:aws:iam::999988887777:role/Registrar: try again", Fault: smithy.FaultServer}
	api := &failing{errs: []error{unavailable, unavailable, unavailable}}
	c, err := New(api, stackSet, WithRetry(3, time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Check(context.Background(), Request{StackID: memberStack(member, "a"), ViaTopic: true})
	if !strings.Contains(fmtErr(err), "in time (InternalFailure)") || strings.Contains(fmtErr(err), "999988887777") {
		t.Fatalf("err = %v", err)
	}
}
