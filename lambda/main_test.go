package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/customresource"
	"sysdig-aws-connect/internal/dedupe"
	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localdynamo"
	"sysdig-aws-connect/internal/registrar"
	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdigemu"
	"sysdig-aws-connect/internal/testutil"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// These tests drive the function exactly as main builds it: the AWS SDK configured from the
// environment (AWS_ENDPOINT_URL_SECRETS_MANAGER pointing at a local Secrets Manager), the
// Sysdig emulator on loopback and a stand-in for CloudFormation's ResponseURL.

const (
	account    = "123456789012"
	stackID    = "arn:aws:cloudformation:us-east-1:" + account + ":stack/sysdig/guid"
	roleARN    = "arn:aws:iam::" + account + ":role/sysdig-role"
	secretName = "sysdig/api-token"
	token      = "0f6c1f9e-2b7a-4c55-9d1e-7a4b6d3c2e10"
)

type world struct {
	t       *testing.T
	sysdig  *sysdigemu.Server
	sysURL  string
	secrets *localaws.SecretsManager
	catcher *localaws.ResponseCatcher
	fn      *customresource.Function
	logs    *testutil.SyncBuffer
	seq     int
}

func newWorld(t *testing.T) *world { return newWorldEnv(t, nil) }

// newWorldEnv is newWorld with extra function environment variables.
func newWorldEnv(t *testing.T, env map[string]string) *world {
	t.Helper()
	w := &world{t: t, logs: &testutil.SyncBuffer{}}
	w.sysdig = sysdigemu.New(sysdigemu.WithToken(token))
	var stop func()
	w.sysURL, stop = w.sysdig.Start()
	t.Cleanup(stop)
	w.secrets = localaws.NewSecretsManager("us-east-1", account)
	w.secrets.PutSecret(secretName, `{"token":"`+token+`"}`)
	smURL, stopSM := w.secrets.Start()
	t.Cleanup(stopSM)
	w.catcher = localaws.NewResponseCatcher()
	_, stopC := w.catcher.Start()
	t.Cleanup(stopC)

	t.Setenv("AWS_ENDPOINT_URL_SECRETS_MANAGER", smURL)
	t.Setenv("AWS_REGION", "us-east-1")
	t.Setenv(envAllowLoopbackAnswers, "true") // the test's ResponseURLs are on loopback
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDLOCAL")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "local-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", "/dev/null")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
	for _, k := range []string{envStackSetName, envStackSetCallAs, envDeployerStackID, envAllowedAPIURLs, envAllowedSecretIDs} {
		t.Setenv(k, "")
	}
	if env[envStackSetName] != "" {
		// As the deployer sets them: with a StackSet the allow-lists are required.
		t.Setenv(envAllowedAPIURLs, w.sysURL)
		t.Setenv(envAllowedSecretIDs, secretName)
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	fn, err := newFunction(context.Background(), slog.New(slog.NewJSONHandler(w.logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	w.fn = fn
	return w
}

func (w *world) props(kv ...string) map[string]any {
	p := map[string]any{
		"ServiceToken":     "arn:aws:lambda:us-east-1:" + account + ":function:sysdig",
		"ServiceTimeout":   "360",
		"SysdigApiUrl":     w.sysURL,
		"ApiTokenSecretId": secretName,
		"RoleArn":          roleARN,
	}
	for i := 0; i+1 < len(kv); i += 2 {
		p[kv[i]] = kv[i+1]
	}
	return p
}

type call struct {
	requestType, resourceType, physicalID, stackID string
	props, old                                     map[string]any
	sns                                            bool
	failPuts                                       int
	timeout                                        time.Duration
}

// invoke sends one request through the real handler and returns the accepted answer.
func (w *world) invoke(c call) (localaws.Response, string) {
	w.t.Helper()
	w.seq++
	requestID := "req-" + strings.Repeat("0", 4) + string(rune('a'+w.seq%26)) + time.Now().Format("150405.000000000")
	if c.resourceType == "" {
		c.resourceType = "Custom::SysdigProvider"
	}
	if c.stackID == "" {
		c.stackID = stackID
	}
	url := w.catcher.NewURL(requestID)
	if c.failPuts > 0 {
		if err := w.catcher.FailNext(requestID, c.failPuts, http.StatusInternalServerError); err != nil {
			w.t.Fatal(err)
		}
	}
	req := map[string]any{
		"RequestType": c.requestType, "RequestId": requestID, "ResponseURL": url, "ResourceType": c.resourceType,
		"LogicalResourceId": "SysdigProvider", "StackId": c.stackID, "ResourceProperties": c.props,
	}
	if c.physicalID != "" {
		req["PhysicalResourceId"] = c.physicalID
	}
	if c.old != nil {
		req["OldResourceProperties"] = c.old
	}
	payload, _ := json.Marshal(req)
	if c.sns {
		payload, _ = json.Marshal(map[string]any{"Records": []any{map[string]any{"EventSource": "aws:sns", "Sns": map[string]any{
			"TopicArn": "arn:aws:sns:us-east-1:999999999999:sysdig-registrar", "Message": string(payload)}}}})
	}
	if c.timeout == 0 {
		c.timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	if err := w.fn.Invoke(ctx, payload); err != nil {
		w.t.Fatalf("Invoke returned %v", err)
	}
	if ctx.Err() != nil {
		w.t.Fatal("the answer came after the function's deadline")
	}
	waitCtx, cancelWait := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelWait()
	resp, err := w.catcher.Wait(waitCtx, requestID)
	if err != nil {
		w.t.Fatalf("no valid answer: %v", err)
	}
	if n := w.catcher.Answers(requestID); n != 1 {
		w.t.Fatalf("%d accepted answers, want exactly 1", n)
	}
	for _, a := range w.catcher.Attempts(requestID) {
		if len(a.Body) > customresource.MaxResponseBytes || a.ContentType != "" {
			w.t.Fatalf("attempt of %d bytes with Content-Type %q", len(a.Body), a.ContentType)
		}
	}
	return resp, w.catcher.Signature(requestID)
}

func (w *world) assertClean(signatures ...string) {
	w.t.Helper()
	logs := w.logs.String()
	if strings.Contains(logs, token) {
		w.t.Fatal("a log line holds the token")
	}
	for _, s := range signatures {
		if s != "" && strings.Contains(logs, s) {
			w.t.Fatal("a log line holds a ResponseURL signature")
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(logs), "\n") {
		if !json.Valid([]byte(line)) {
			w.t.Fatalf("log line is not JSON: %s", line)
		}
	}
}

func TestLifecycleThroughTheHandler(t *testing.T) {
	w := newWorld(t)
	var sigs []string

	ext, sig := w.invoke(call{requestType: "Create", resourceType: "Custom::SysdigExternalId",
		props: map[string]any{"SysdigApiUrl": w.sysURL, "ApiTokenSecretId": secretName, "ServiceToken": "x"}})
	sigs = append(sigs, sig)
	if ext.Status != "SUCCESS" || ext.Data["ExternalId"] != sysdigemu.DefaultExternalID || ext.Data["SysdigAwsAccountId"] != sysdigemu.DefaultSysdigAWSAccountID {
		t.Fatalf("external id: %+v", ext)
	}

	created, sig := w.invoke(call{requestType: "Create", props: w.props("Regions", "us-east-1")})
	sigs = append(sigs, sig)
	if created.Status != "SUCCESS" || created.Data["Status"] != "configured" || created.Data["Alias"] != "role_delegation" {
		t.Fatalf("create: %+v", created)
	}

	updated, sig := w.invoke(call{requestType: "Update", physicalID: created.PhysicalResourceID, props: w.props("Alias", "prod"), old: w.props("Regions", "us-east-1")})
	sigs = append(sigs, sig)
	if updated.Status != "SUCCESS" || updated.PhysicalResourceID != created.PhysicalResourceID {
		t.Fatalf("update in place: %+v", updated)
	}
	if ps := w.sysdig.Providers(); len(ps) != 1 || ps[0].Alias != "prod" || len(ps[0].Regions) != 0 {
		t.Fatalf("Sysdig holds %+v", ps)
	}

	deleted, sig := w.invoke(call{requestType: "Delete", physicalID: created.PhysicalResourceID, props: w.props("Alias", "prod")})
	sigs = append(sigs, sig)
	if deleted.Status != "SUCCESS" || len(w.sysdig.Providers()) != 0 {
		t.Fatalf("delete: %+v, Sysdig holds %+v", deleted, w.sysdig.Providers())
	}
	w.assertClean(sigs...)
}

func TestFailuresAnswerOnceAndClearly(t *testing.T) {
	cases := []struct {
		name       string
		setup      func(w *world)
		call       func(w *world) call
		wantStatus string
		wantReason string
		noSysdig   bool
	}{
		{
			name:       "secret not found",
			call:       func(w *world) call { return call{requestType: "Create", props: w.props("ApiTokenSecretId", "nope")} },
			wantStatus: "FAILED", wantReason: "secret nope not found", noSysdig: true,
		},
		{
			name:       "secret access denied",
			setup:      func(w *world) { w.secrets.Deny(localaws.OpGetSecretValue, "") },
			call:       func(w *world) call { return call{requestType: "Create", props: w.props()} },
			wantStatus: "FAILED", wantReason: "access denied to secret", noSysdig: true,
		},
		{
			name:       "secret throttled, then served",
			setup:      func(w *world) { w.secrets.Inject(localaws.OpGetSecretValue, "", localaws.ErrThrottling) },
			call:       func(w *world) call { return call{requestType: "Create", props: w.props()} },
			wantStatus: "SUCCESS",
		},
		{
			name:       "json secret without token",
			setup:      func(w *world) { w.secrets.PutSecret("other", `{"apiToken":"`+token+`"}`) },
			call:       func(w *world) call { return call{requestType: "Create", props: w.props("ApiTokenSecretId", "other")} },
			wantStatus: "FAILED", wantReason: `without a "token" field`, noSysdig: true,
		},
		{
			name: "SNS-wrapped request for another account's role",
			call: func(w *world) call {
				return call{requestType: "Create", sns: true, props: w.props(), stackID: "arn:aws:cloudformation:us-east-1:210987654321:stack/StackSet-sysdig/guid"}
			},
			wantStatus: "FAILED", wantReason: "refused", noSysdig: true,
		},
		{
			name:       "SNS-wrapped request of the same account",
			call:       func(w *world) call { return call{requestType: "Create", sns: true, props: w.props()} },
			wantStatus: "SUCCESS",
		},
		{
			name:       "response PUT fails twice",
			call:       func(w *world) call { return call{requestType: "Create", props: w.props(), failPuts: 2} },
			wantStatus: "SUCCESS",
		},
		{
			name: "20 KB error body",
			setup: func(w *world) {
				w.sysdig.Inject(sysdigemu.Fault{Method: http.MethodPost, Statuses: []int{400}, BodySize: 20 << 10})
			},
			call:       func(w *world) call { return call{requestType: "Create", props: w.props()} },
			wantStatus: "FAILED", wantReason: "400",
		},
		{
			name:       "Sysdig hangs past the deadline",
			setup:      func(w *world) { w.sysdig.Inject(sysdigemu.Fault{Hang: true, Times: 50}) },
			call:       func(w *world) call { return call{requestType: "Create", props: w.props(), timeout: 4 * time.Second} },
			wantStatus: "FAILED", wantReason: "deadline",
		},
		{
			name:       "bad property",
			call:       func(w *world) call { return call{requestType: "Create", props: w.props("OnExisting", "Overwrite")} },
			wantStatus: "FAILED", wantReason: "property OnExisting", noSysdig: true,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t)
			if tc.setup != nil {
				tc.setup(w)
			}
			resp, sig := w.invoke(tc.call(w))
			if resp.Status != tc.wantStatus || !strings.Contains(resp.Reason, tc.wantReason) {
				t.Fatalf("answered %s %q; want %s containing %q", resp.Status, resp.Reason, tc.wantStatus, tc.wantReason)
			}
			if tc.noSysdig && len(w.sysdig.Requests()) != 0 {
				t.Fatalf("Sysdig was called: %+v", w.sysdig.Requests())
			}
			if strings.Contains(resp.Reason, token) {
				t.Fatal("the Reason holds the token")
			}
			// Whatever the outcome, every provider Sysdig holds is the one the answer names.
			named := ""
			if ref, err := registrar.ParseProviderRef(resp.PhysicalResourceID); err == nil {
				named = ref.ID
			}
			for _, p := range w.sysdig.Providers() {
				if p.ID != named {
					t.Fatalf("Sysdig holds provider %s that the answer %q does not name", p.ID, resp.PhysicalResourceID)
				}
			}
			w.assertClean(sig)
		})
	}
}

func TestLogLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{"": slog.LevelInfo, "debug": slog.LevelDebug, "TRACE": slog.LevelDebug, "WARN": slog.LevelWarn, "error": slog.LevelError, "FATAL": slog.LevelError} {
		if got := logLevel(in); got != want {
			t.Errorf("logLevel(%q) = %v, want %v", in, got, want)
		}
	}
}

// With STACKSET_NAME the function asks CloudFormation (AWS_ENDPOINT_URL_CLOUDFORMATION)
// about every request through the topic before anything else.
func TestStackSetAuthentication(t *testing.T) {
	const stackSet = "SysdigAwsConnectOrg-members"
	const member = "210987654321"
	memberStack := "arn:aws:cloudformation:us-east-1:" + member + ":stack/StackSet-" + stackSet + "-1/guid"
	cf := localaws.NewCloudFormation("us-east-1")
	cf.PutStackInstance(stackSet, localaws.StackInstance{Account: member, Region: "us-east-1", StackID: memberStack, DetailedStatus: localaws.InstanceRunning})
	cfURL, stop := cf.Start()
	t.Cleanup(stop)
	w := newWorldEnv(t, map[string]string{
		"AWS_ENDPOINT_URL_CLOUDFORMATION": cfURL,
		envStackSetName:                   stackSet,
		envStackSetCallAs:                 "SELF",
		envDeployerStackID:                stackID,
	})
	memberRole := "arn:aws:iam::" + member + ":role/sysdig-role"

	// The member's own stack, in a StackSet operation: registered.
	ok, _ := w.invoke(call{requestType: "Create", sns: true, stackID: memberStack, props: w.props("RoleArn", memberRole)})
	if ok.Status != "SUCCESS" || len(w.sysdig.Providers()) != 1 {
		t.Fatalf("member create: %+v", ok)
	}
	calls := len(w.sysdig.Requests())
	// The deployer's own resources, invoked directly: no CloudFormation call.
	before := cf.Count("DescribeStackInstance")
	own, _ := w.invoke(call{requestType: "Create", resourceType: "Custom::SysdigExternalId",
		props: map[string]any{"SysdigApiUrl": w.sysURL, "ApiTokenSecretId": secretName, "ServiceToken": "x"}})
	if own.Status != "SUCCESS" || cf.Count("DescribeStackInstance") != before {
		t.Fatalf("deployer's own request: %+v", own)
	}
	calls = len(w.sysdig.Requests())

	// Forgeries: no Sysdig call, a FAILED answer saying why.
	for _, c := range []call{
		{requestType: "Delete", sns: true, stackID: strings.Replace(memberStack, "-1/guid", "-forged/guid", 1), physicalID: ok.PhysicalResourceID, props: w.props("RoleArn", memberRole)},
		{requestType: "Create", sns: true, stackID: "arn:aws:cloudformation:us-east-1:111122223333:stack/x/guid", props: w.props("RoleArn", "arn:aws:iam::111122223333:role/sysdig-role")},
		{requestType: "Delete", sns: true, stackID: stackID, physicalID: ok.PhysicalResourceID, props: w.props("RoleArn", memberRole)},
	} {
		resp, _ := w.invoke(c)
		if resp.Status != "FAILED" || !strings.Contains(resp.Reason, "refused") {
			t.Fatalf("forged %s for %s: %+v", c.requestType, c.stackID, resp)
		}
	}
	if len(w.sysdig.Requests()) != calls || len(w.sysdig.Providers()) != 1 {
		t.Fatalf("a refused request reached Sysdig: %d calls, %d providers", len(w.sysdig.Requests())-calls, len(w.sysdig.Providers()))
	}
	if !strings.Contains(w.logs.String(), `"claimed_account":"111122223333"`) {
		t.Fatal("the refusal is not logged with the claimed account")
	}
	w.assertClean()
}

// The function does not start with a configuration it cannot honour.
func TestStartRefusesBadConfiguration(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"no region":       {"AWS_REGION": ""},
		"bad CallAs":      {envStackSetName: "s", envStackSetCallAs: "ADMIN"},
		"bad deployer id": {envStackSetName: "s", envDeployerStackID: "not-an-arn"},
	} {
		t.Run(name, func(t *testing.T) {
			t.Setenv("AWS_REGION", "us-east-1")
			t.Setenv("AWS_CONFIG_FILE", "/dev/null")
			t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
			for _, k := range []string{envStackSetName, envStackSetCallAs, envDeployerStackID} {
				t.Setenv(k, "")
			}
			t.Setenv(envAllowedAPIURLs, "https://app.sysdigcloud.com")
			t.Setenv(envAllowedSecretIDs, "sysdig/api-token")
			for k, v := range env {
				t.Setenv(k, v)
			}
			if _, err := newFunction(context.Background(), slog.Default()); err == nil {
				t.Fatal("started")
			}
		})
	}
}

func TestConcurrentInstances(t *testing.T) {
	for _, tc := range []struct {
		in      string
		want    int
		wantErr bool
	}{
		{"", 1, false}, {" 5 ", 5, false}, {"1", 1, false}, {"1000", 1000, false},
		{"0", 0, true}, {"-3", 0, true}, {"five", 0, true}, {"2.5", 0, true},
	} {
		got, err := concurrentInstances(tc.in)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("concurrentInstances(%q) = %d, %v; want %d (error %v)", tc.in, got, err, tc.want, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "CONCURRENT_INSTANCES") {
			t.Errorf("error %v does not name the variable", err)
		}
	}
}

// With IDEMPOTENCY_TABLE set, main builds the function with the DynamoDB deduplicator
// (the SDK finding the local DynamoDB through AWS_ENDPOINT_URL_DYNAMODB): the same Create
// delivered twice registers once and gets the same answer twice.
func TestIdempotencyTableFromTheEnvironment(t *testing.T) {
	withLocalTable(t, envIdempotencyTable, dedupe.CreateTableInput("sysdig-idempotency"))
	w := newWorld(t)

	url := w.catcher.NewURL("req-twice")
	payload, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{"EventSource": "aws:sns", "Sns": map[string]any{
		"TopicArn": "arn:aws:sns:us-east-1:" + account + ":sysdig-registrar",
		"Message": mustJSON(t, map[string]any{"RequestType": "Create", "RequestId": "req-twice", "ResponseURL": url,
			"ResourceType": "Custom::SysdigProvider", "LogicalResourceId": "SysdigProvider", "StackId": stackID, "ResourceProperties": w.props()}),
	}}}})
	for i := range 2 {
		ictx, icancel := context.WithTimeout(context.Background(), 30*time.Second)
		err := w.fn.Invoke(ictx, payload)
		icancel()
		if err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	var bodies []string
	for _, a := range w.catcher.Attempts("req-twice") {
		if a.Accepted {
			bodies = append(bodies, string(a.Body))
		}
	}
	if len(bodies) != 2 || bodies[0] != bodies[1] || !strings.Contains(bodies[0], `"Status":"SUCCESS"`) {
		t.Fatalf("answers %q, want two identical SUCCESS", bodies)
	}
	if ps := w.sysdig.Providers(); len(ps) != 1 {
		t.Fatalf("Sysdig holds %d providers, want 1", len(ps))
	}
	w.assertClean(w.catcher.Signature("req-twice"))
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// With REGISTRY_TABLE set, main gives the registrar the registry of record (the SDK
// finding the local DynamoDB through AWS_ENDPOINT_URL_DYNAMODB): a Create is recorded.
func TestRegistryTableFromTheEnvironment(t *testing.T) {
	db, table := withLocalTable(t, envRegistryTable, registry.CreateTableInput("sysdig-registry"))
	w := newWorld(t)

	url := w.catcher.NewURL("req-recorded")
	payload := mustJSON(t, map[string]any{"RequestType": "Create", "RequestId": "req-recorded", "ResponseURL": url,
		"ResourceType": "Custom::SysdigProvider", "LogicalResourceId": "SysdigProvider", "StackId": stackID, "ResourceProperties": w.props()})
	ictx, icancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer icancel()
	if err := w.fn.Invoke(ictx, []byte(payload)); err != nil {
		t.Fatal(err)
	}
	ps := w.sysdig.Providers()
	if len(ps) != 1 {
		t.Fatalf("Sysdig holds %d providers, want 1", len(ps))
	}
	rec, ok, err := registry.New(db.Client(), table).Get(ictx, registry.Key{StackID: stackID, LogicalResourceID: "SysdigProvider"})
	if err != nil || !ok || rec.ProviderID != ps[0].ID || rec.State != registry.StateActive {
		t.Fatalf("registry: %+v %v %v", rec, ok, err)
	}
	w.assertClean(w.catcher.Signature("req-recorded"))
}

// withLocalTable starts a local DynamoDB for the test, creates the table and points the
// function at it: the SDK finds it through AWS_ENDPOINT_URL_DYNAMODB, main through env.
func withLocalTable(t *testing.T, env string, in *dynamodb.CreateTableInput) (*localdynamo.Server, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	db, err := localdynamo.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	table, err := db.CreateTable(ctx, in)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_ENDPOINT_URL_DYNAMODB", db.URL)
	t.Setenv(env, table)
	return db, table
}
