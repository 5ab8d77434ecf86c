package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// awsCLI finds the awscli (skipping the test without it) and an environment that keeps it
// away from the user's own configuration and credentials.
func awsCLI(t *testing.T) (path string, env []string) {
	t.Helper()
	path, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws (awscli) is not on PATH; install the Debian package awscli to run this test")
	}
	home := t.TempDir()
	env = []string{
		"AWS_ACCESS_KEY_ID=AKIDCLI", "AWS_SECRET_ACCESS_KEY=cli-secret",
		"AWS_DEFAULT_REGION=us-east-1", "AWS_REGION=us-east-1",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_PAGER=", "AWS_EC2_METADATA_DISABLED=true", "HOME=" + home,
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	return path, env
}

// runAWS runs the awscli with args and returns stdout, failing the test on an error.
func runAWS(t *testing.T, path string, env []string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Env = env
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("aws %v: %v\nstderr: %s", args, err, stderr.String())
	}
	return stdout.String()
}

// TestListStackInstancesAWSCLI pages through 150 instances with the awscli (which follows
// NextToken) and reads the deployer stack with describe-stacks.
func TestListStackInstancesAWSCLI(t *testing.T) {
	c := NewCloudFormation("")
	url, stop := c.Start()
	defer stop()
	for i := range 150 {
		c.PutStackInstance("org-members", StackInstance{Account: fmt.Sprintf("1000000%05d", i), Region: "us-east-1", DetailedStatus: InstanceSucceeded, OU: "ou-ab12-cd34ef56"})
	}
	c.PutStackInstance("org-members", StackInstance{Account: "100000000007", Region: "us-east-1", DetailedStatus: InstanceFailed, Reason: "role exists", OU: "ou-ab12-cd34ef56"})
	c.PutStack(Stack{Name: "org", ID: "arn:aws:cloudformation:us-east-1:999900000000:stack/org/1", Status: "CREATE_COMPLETE",
		Parameters: map[string]string{"CallAs": "SELF"}, Outputs: map[string]string{"RegistryTableName": "reg"}})
	path, env := awsCLI(t)
	out := runAWS(t, path, env, "cloudformation", "list-stack-instances", "--endpoint-url", url, "--output", "json", "--stack-set-name", "org-members")
	var got struct {
		Summaries []struct {
			Account, Status, StatusReason string
			StackInstanceStatus           struct{ DetailedStatus string }
		}
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Summaries) != 150 || c.Count("ListStackInstances") < 2 {
		t.Fatalf("%d summaries in %d calls: %v", len(got.Summaries), c.Count("ListStackInstances"), err)
	}
	if s := got.Summaries[7]; s.StackInstanceStatus.DetailedStatus != "FAILED" || s.StatusReason != "role exists" || s.Status != "OUTDATED" {
		t.Fatalf("instance 7: %+v", s)
	}
	out = runAWS(t, path, env, "cloudformation", "describe-stacks", "--endpoint-url", url, "--output", "json", "--stack-name", "org")
	if !strings.Contains(out, `"OutputValue": "reg"`) || !strings.Contains(out, `"ParameterKey": "CallAs"`) {
		t.Fatalf("describe-stacks: %s", out)
	}
}
