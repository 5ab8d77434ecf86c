package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
)

const (
	cfnStackSet = "SysdigAwsConnectOrg-members"
	cfnMember   = "210987654321"
	cfnStackID  = "arn:aws:cloudformation:us-east-1:210987654321:stack/StackSet-SysdigAwsConnectOrg-members-0a1b2c3d/11111111-2222-4333-8444-555555555555"
)

func cfnClient(url string) *cloudformation.Client {
	return cloudformation.New(cloudformation.Options{
		Region:           "us-east-1",
		BaseEndpoint:     aws.String(url),
		Credentials:      credentials.NewStaticCredentialsProvider("AKIDLOCAL", "secret", ""),
		RetryMaxAttempts: 1,
	})
}

func startCFN(t *testing.T) (*CloudFormation, string) {
	t.Helper()
	c := NewCloudFormation("us-east-1")
	c.PutStackInstance(cfnStackSet, StackInstance{Account: cfnMember, Region: "us-east-1", StackID: cfnStackID, DetailedStatus: InstanceRunning, OU: "ou-ab12-cd34ef56"})
	c.PutStackSet("DelegatedSet", "DELEGATED_ADMIN")
	c.PutStackInstance("DelegatedSet", StackInstance{Account: cfnMember, Region: "us-east-1", StackID: cfnStackID, DetailedStatus: InstanceSucceeded})
	url, stop := c.Start()
	t.Cleanup(stop)
	return c, url
}

// The real SDK client reads stack instances, their statuses and the service's errors.
func TestCloudFormationWithTheRealSDK(t *testing.T) {
	c, url := startCFN(t)
	client := cfnClient(url)
	ctx := context.Background()
	tests := []struct {
		name       string
		in         cloudformation.DescribeStackInstanceInput
		wantStatus cfntypes.StackInstanceDetailedStatus
		wantState  cfntypes.StackInstanceStatus
		wantErr    any
		wantCode   string
	}{
		{name: "running", in: cloudformation.DescribeStackInstanceInput{StackSetName: aws.String(cfnStackSet), StackInstanceAccount: aws.String(cfnMember), StackInstanceRegion: aws.String("us-east-1")},
			wantStatus: cfntypes.StackInstanceDetailedStatusRunning, wantState: cfntypes.StackInstanceStatusOutdated},
		{name: "CallAs SELF explicitly", in: cloudformation.DescribeStackInstanceInput{StackSetName: aws.String(cfnStackSet), StackInstanceAccount: aws.String(cfnMember), StackInstanceRegion: aws.String("us-east-1"), CallAs: cfntypes.CallAsSelf},
			wantStatus: cfntypes.StackInstanceDetailedStatusRunning, wantState: cfntypes.StackInstanceStatusOutdated},
		{name: "delegated admin", in: cloudformation.DescribeStackInstanceInput{StackSetName: aws.String("DelegatedSet"), StackInstanceAccount: aws.String(cfnMember), StackInstanceRegion: aws.String("us-east-1"), CallAs: cfntypes.CallAsDelegatedAdmin},
			wantStatus: cfntypes.StackInstanceDetailedStatusSucceeded, wantState: cfntypes.StackInstanceStatusCurrent},
		{name: "delegated admin's StackSet as SELF", in: cloudformation.DescribeStackInstanceInput{StackSetName: aws.String("DelegatedSet"), StackInstanceAccount: aws.String(cfnMember), StackInstanceRegion: aws.String("us-east-1")},
			wantErr: new(*cfntypes.StackSetNotFoundException)},
		{name: "no such StackSet", in: cloudformation.DescribeStackInstanceInput{StackSetName: aws.String("nope"), StackInstanceAccount: aws.String(cfnMember), StackInstanceRegion: aws.String("us-east-1")},
			wantErr: new(*cfntypes.StackSetNotFoundException)},
		{name: "no such instance", in: cloudformation.DescribeStackInstanceInput{StackSetName: aws.String(cfnStackSet), StackInstanceAccount: aws.String("111111111111"), StackInstanceRegion: aws.String("us-east-1")},
			wantErr: new(*cfntypes.StackInstanceNotFoundException)},
		{name: "other region", in: cloudformation.DescribeStackInstanceInput{StackSetName: aws.String(cfnStackSet), StackInstanceAccount: aws.String(cfnMember), StackInstanceRegion: aws.String("eu-west-1")},
			wantErr: new(*cfntypes.StackInstanceNotFoundException)},
		{name: "bad account", in: cloudformation.DescribeStackInstanceInput{StackSetName: aws.String(cfnStackSet), StackInstanceAccount: aws.String("12345"), StackInstanceRegion: aws.String("us-east-1")},
			wantCode: "ValidationError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.DescribeStackInstance(ctx, &tt.in)
			switch {
			case tt.wantErr != nil:
				if !errors.As(err, tt.wantErr) {
					t.Fatalf("err = %v, want %T", err, tt.wantErr)
				}
				return
			case tt.wantCode != "":
				var ae smithy.APIError
				if !errors.As(err, &ae) || ae.ErrorCode() != tt.wantCode {
					t.Fatalf("err = %v, want %s", err, tt.wantCode)
				}
				return
			case err != nil:
				t.Fatal(err)
			}
			in := out.StackInstance
			if aws.ToString(in.StackId) != cfnStackID || aws.ToString(in.Account) != cfnMember || aws.ToString(in.Region) != "us-east-1" ||
				!strings.HasPrefix(aws.ToString(in.StackSetId), aws.ToString(tt.in.StackSetName)+":") {
				t.Errorf("instance = %+v", in)
			}
			if in.StackInstanceStatus == nil || in.StackInstanceStatus.DetailedStatus != tt.wantStatus || in.Status != tt.wantState {
				t.Errorf("status = %+v %s, want %s %s", in.StackInstanceStatus, in.Status, tt.wantStatus, tt.wantState)
			}
		})
	}

	// Statuses change as StackSet operations run and end.
	if !c.SetDetailedStatus(cfnStackSet, cfnMember, "us-east-1", InstanceSucceeded) {
		t.Fatal("SetDetailedStatus found no instance")
	}
	out, err := client.DescribeStackInstance(ctx, &cloudformation.DescribeStackInstanceInput{StackSetName: aws.String(cfnStackSet), StackInstanceAccount: aws.String(cfnMember), StackInstanceRegion: aws.String("us-east-1")})
	if err != nil || out.StackInstance.StackInstanceStatus.DetailedStatus != cfntypes.StackInstanceDetailedStatusSucceeded {
		t.Fatalf("after SetDetailedStatus: %v %v", out, err)
	}
	c.RemoveStackInstance(cfnStackSet, cfnMember, "us-east-1")
	_, err = client.DescribeStackInstance(ctx, &cloudformation.DescribeStackInstanceInput{StackSetName: aws.String(cfnStackSet), StackInstanceAccount: aws.String(cfnMember), StackInstanceRegion: aws.String("us-east-1")})
	var notFound *cfntypes.StackInstanceNotFoundException
	if !errors.As(err, &notFound) {
		t.Fatalf("after RemoveStackInstance: %v", err)
	}
	if n := c.Count("DescribeStackInstance"); n != len(tests)+2 {
		t.Errorf("Count = %d, want %d", n, len(tests)+2)
	}
}

// TestCloudFormationAWSCLI reads a stack instance with an independent client, the awscli.
func TestCloudFormationAWSCLI(t *testing.T) {
	_, url := startCFN(t)
	awsPath, env := awsCLI(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tests := []struct {
		name, stackSet, account, callAs string
		wantOK                          bool
		want                            string // DetailedStatus, or the error code in stderr
	}{
		{name: "running", stackSet: cfnStackSet, account: cfnMember, wantOK: true, want: "RUNNING"},
		{name: "delegated admin", stackSet: "DelegatedSet", account: cfnMember, callAs: "DELEGATED_ADMIN", wantOK: true, want: "SUCCEEDED"},
		{name: "no such instance", stackSet: cfnStackSet, account: "111111111111", want: "StackInstanceNotFoundException"},
		{name: "no such StackSet", stackSet: "nope", account: cfnMember, want: "StackSetNotFoundException"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"cloudformation", "describe-stack-instance", "--endpoint-url", url, "--output", "json",
				"--stack-set-name", tt.stackSet, "--stack-instance-account", tt.account, "--stack-instance-region", "us-east-1"}
			if tt.callAs != "" {
				args = append(args, "--call-as", tt.callAs)
			}
			cmd := exec.CommandContext(ctx, awsPath, args...)
			cmd.Env = env
			cmd.WaitDelay = 5 * time.Second
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			if !tt.wantOK {
				if err == nil || !strings.Contains(stderr.String(), tt.want) {
					t.Fatalf("err %v, stderr %q: want a failure naming %s", err, stderr.String(), tt.want)
				}
				return
			}
			if err != nil {
				t.Fatalf("aws: %v\nstderr: %s", err, stderr.String())
			}
			var out struct {
				StackInstance struct {
					StackId, Account, Region, Status string
					StackInstanceStatus              struct{ DetailedStatus string }
				}
			}
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("aws output %q: %v", stdout.String(), err)
			}
			in := out.StackInstance
			if in.StackId != cfnStackID || in.Account != tt.account || in.Region != "us-east-1" || in.StackInstanceStatus.DetailedStatus != tt.want {
				t.Fatalf("aws output %+v", in)
			}
		})
	}
}
