// Package e2e runs the real bootstrap, built from ./lambda, under AWS's Lambda Runtime
// Interface Emulator, against the Sysdig emulator, a Secrets Manager that speaks the AWS
// protocol and a stand-in for CloudFormation's ResponseURLs — all on loopback — and checks
// the custom resources' lifecycle rules there: sequences played from the committed
// templates the way CloudFormation would, a matrix of faults, and an Organization rollout.
package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/cfnsim"
	"sysdig-aws-connect/internal/customresource"
	"sysdig-aws-connect/internal/lambdarun"
	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localrun"
	"sysdig-aws-connect/internal/sysdig"
)

var (
	repoRoot  string
	bootstrap string
	rie       string
)

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func setup(m *testing.M) (int, error) {
	var err error
	if repoRoot, err = lambdarun.RepoRoot(); err != nil {
		return 0, err
	}
	// No skipping: without the emulator these tests cannot say anything, so they fail
	// and say how to install it.
	if rie, err = lambdarun.RIEPath(repoRoot); err != nil {
		return 0, err
	}
	dir, err := os.MkdirTemp("", "sysdig-e2e-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if bootstrap, err = lambdarun.BuildBootstrap(ctx, repoRoot, dir); err != nil {
		return 0, err
	}
	return m.Run(), nil
}

// start brings up the local world with the prebuilt bootstrap.
func start(t *testing.T, opts localrun.Options) *localrun.Env {
	t.Helper()
	opts.Bootstrap, opts.RIE = bootstrap, rie
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	env, err := localrun.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return env
}

func loadTemplate(t *testing.T, name string) *cfnsim.Template {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "templates", name))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := cfnsim.ParseTemplate(b)
	if err != nil {
		t.Fatal(err)
	}
	return tpl
}

// templateTimeout is the function timeout the single-account template sets.
func templateTimeout(t *testing.T) time.Duration {
	tpl := loadTemplate(t, "sysdig-aws-connect.json")
	fn, ok := tpl.Resources["ConnectorFunction"]
	if !ok {
		t.Fatal("the template has no ConnectorFunction")
	}
	var secs int
	if _, err := fmt.Sscan(fmt.Sprint(fn.Properties["Timeout"]), &secs); err != nil || secs <= 0 {
		t.Fatalf("ConnectorFunction Timeout %v", fn.Properties["Timeout"])
	}
	return time.Duration(secs) * time.Second
}

// request is one custom-resource request sent straight to the function.
type request struct {
	requestType  string
	resourceType string
	physicalID   string
	stackAccount string
	stackID      string // empty: stackIDFor(stackAccount)
	props        map[string]any
	old          map[string]any
	sns          bool
	failPuts     int
}

// outcome is what came of it.
type outcome struct {
	requestID string
	resp      localaws.Response
	started   time.Time
	answered  time.Time
	attempts  []localaws.Attempt
	signature string
	invokeErr error
}

func stackIDFor(account string) string {
	return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/SysdigAwsConnect/%s", localrun.Region, account, "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
}

var seq int

// send delivers req through the real function and waits for its single answer.
func send(t *testing.T, env *localrun.Env, req request) outcome {
	t.Helper()
	seq++
	id := fmt.Sprintf("%08d-e2e0-4000-8000-%012d", seq, time.Now().UnixNano()%1e12)
	if req.resourceType == "" {
		req.resourceType = "Custom::SysdigProvider"
	}
	if req.stackAccount == "" {
		req.stackAccount = localrun.AccountID
	}
	stackID := stackIDFor(req.stackAccount)
	if req.stackID != "" {
		stackID = req.stackID
	}
	url, err := env.Catcher.NewURLFor(localaws.Target{RequestID: id, StackID: stackID, LogicalResourceID: "SysdigProvider"})
	if err != nil {
		t.Fatal(err)
	}
	if req.failPuts > 0 {
		if err := env.Catcher.FailNext(id, req.failPuts, 503); err != nil {
			t.Fatal(err)
		}
	}
	body := map[string]any{
		"RequestType": req.requestType, "RequestId": id, "ResponseURL": url, "ResourceType": req.resourceType,
		"LogicalResourceId": "SysdigProvider", "StackId": stackID, "ResourceProperties": req.props,
	}
	if req.physicalID != "" {
		body["PhysicalResourceId"] = req.physicalID
	}
	if req.old != nil {
		body["OldResourceProperties"] = req.old
	}
	payload, _ := json.Marshal(body)
	if req.sns {
		payload, _ = json.Marshal(map[string]any{"Records": []any{map[string]any{"EventSource": "aws:sns", "Sns": map[string]any{
			"TopicArn": "arn:aws:sns:us-east-1:" + localrun.AccountID + ":sysdig-registrar", "Message": string(payload)}}}})
	}
	out := outcome{requestID: id, started: time.Now(), signature: env.Catcher.Signature(id)}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	_, out.invokeErr = env.Function.Invoke(ctx, payload)
	waitCtx, cancelWait := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancelWait()
	out.resp, err = env.Catcher.Wait(waitCtx, id)
	if err != nil {
		t.Fatalf("no valid answer to %s (invoke: %v): %v", req.requestType, out.invokeErr, err)
	}
	out.attempts = env.Catcher.Attempts(id)
	for _, a := range out.attempts {
		if a.Accepted {
			out.answered = a.Time
		}
	}
	return out
}

// checkAnswer asserts the rules every answer obeys: exactly one accepted answer, the
// expected status, within 4096 bytes, before the function's deadline, no Content-Type, and
// neither the token nor the signature in the answer or any log line.
func checkAnswer(t *testing.T, env *localrun.Env, out outcome, timeout time.Duration, wantStatus, wantReason string) {
	t.Helper()
	if n := env.Catcher.Answers(out.requestID); n != 1 {
		t.Fatalf("%d accepted answers, want exactly 1", n)
	}
	if out.resp.Status != wantStatus || !strings.Contains(out.resp.Reason, wantReason) {
		t.Fatalf("answered %s %q; want %s with %q", out.resp.Status, out.resp.Reason, wantStatus, wantReason)
	}
	if out.answered.After(out.started.Add(timeout)) {
		t.Fatalf("answered %s after the invocation started; the function's deadline was %s", out.answered.Sub(out.started), timeout)
	}
	for _, a := range out.attempts {
		if len(a.Body) > customresource.MaxResponseBytes || a.ContentType != "" {
			t.Fatalf("a PUT of %d bytes with Content-Type %q", len(a.Body), a.ContentType)
		}
	}
	if strings.Contains(out.resp.Reason, env.Token) {
		t.Fatal("the answer holds the token")
	}
	checkLogs(t, env, out.signature)
}

func checkLogs(t testing.TB, env *localrun.Env, signatures ...string) {
	t.Helper()
	for _, line := range env.Logs() {
		if strings.Contains(line, env.Token) {
			t.Fatalf("a log line holds the token: %.200s", line)
		}
		for _, s := range signatures {
			if s != "" && strings.Contains(line, s) {
				t.Fatalf("a log line holds the ResponseURL signature: %.200s", line)
			}
		}
	}
}

func providerProps(env *localrun.Env, kv ...string) map[string]any {
	p := map[string]any{
		"ServiceToken":     "arn:aws:lambda:us-east-1:" + localrun.AccountID + ":function:SysdigAwsConnect-ConnectorFunction",
		"ServiceTimeout":   "360",
		"SysdigApiUrl":     env.SysdigURL,
		"ApiTokenSecretId": localrun.SecretName,
		"RoleArn":          roleARN(localrun.AccountID, "sysdig-role"),
	}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return p
}

func sysdigProviderSpec(role string) sysdig.ProviderSpec {
	return sysdig.ProviderSpec{RoleARN: role, Alias: "registered before the stack"}
}

func roleARN(account, name string) string { return "arn:aws:iam::" + account + ":role/" + name }

// logsUntil returns the function's log lines once done holds for them, or after 5 s: the
// emulator's output reaches the test through a pipe, so a line written just before an
// invocation returned may not be read yet.
func logsUntil(src interface{ Logs() []string }, done func(lines []string) bool) []string {
	deadline := time.Now().Add(5 * time.Second)
	for {
		lines := src.Logs()
		if done(lines) || time.Now().After(deadline) {
			return lines
		}
		time.Sleep(20 * time.Millisecond)
	}
}
