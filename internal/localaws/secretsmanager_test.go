package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"sysdig-aws-connect/internal/testutil"
)

const (
	testRegion  = "eu-west-1"
	testAccount = "111122223333"
)

// testCtx bounds every test's calls.
func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func startSM(t *testing.T) (*SecretsManager, string) {
	t.Helper()
	sm := NewSecretsManager(testRegion, testAccount)
	url, stop := sm.Start()
	t.Cleanup(stop)
	return sm, url
}

// sdkClient is the real SDK client pointed at the fake, with the standard retryer
// (3 attempts) minus its backoff sleeps.
func sdkClient(url string) *secretsmanager.Client {
	return secretsmanager.New(secretsmanager.Options{
		Region:       testRegion,
		BaseEndpoint: aws.String(url),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDLOCALTEST", "local-secret-key", ""),
		Retryer: retry.NewStandard(func(o *retry.StandardOptions) {
			o.MaxAttempts = 3
			o.Backoff = retry.BackoffDelayerFunc(func(int, error) (time.Duration, error) { return time.Millisecond, nil })
		}),
	})
}

func TestSDKGetSecretValue(t *testing.T) {
	ctx := testCtx(t)
	sm, url := startSM(t)
	arn := sm.PutSecret("sysdig/api-token", "token-v1")
	sm.PutSecret("sysdig/api-token", "token-v2")
	sm.PutSecret("other", "x")
	client := sdkClient(url)

	tests := []struct {
		name      string
		in        secretsmanager.GetSecretValueInput
		want      string
		wantStage string
		wantErr   any // pointer to the typed error wanted
	}{
		{name: "by name", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("sysdig/api-token")}, want: "token-v2", wantStage: "AWSCURRENT"},
		{name: "by ARN", in: secretsmanager.GetSecretValueInput{SecretId: aws.String(arn)}, want: "token-v2", wantStage: "AWSCURRENT"},
		{name: "previous stage", in: secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionStage: aws.String("AWSPREVIOUS")}, want: "token-v1", wantStage: "AWSPREVIOUS"},
		{name: "missing", in: secretsmanager.GetSecretValueInput{SecretId: aws.String("nope")}, wantErr: new(*types.ResourceNotFoundException)},
		{name: "ARN of another account", in: secretsmanager.GetSecretValueInput{SecretId: aws.String(strings.Replace(arn, testAccount, "999999999999", 1))}, wantErr: new(*types.ResourceNotFoundException)},
		{name: "unknown version", in: secretsmanager.GetSecretValueInput{SecretId: aws.String(arn), VersionId: aws.String("00000000-0000-4000-8000-000000000000")}, wantErr: new(*types.ResourceNotFoundException)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := client.GetSecretValue(ctx, &tt.in)
			if tt.wantErr != nil {
				if !errors.As(err, tt.wantErr) {
					t.Fatalf("err = %v (%T), want %T", err, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetSecretValue: %v", err)
			}
			if got := aws.ToString(out.SecretString); got != tt.want {
				t.Errorf("SecretString = %q, want %q", got, tt.want)
			}
			if aws.ToString(out.ARN) != arn || aws.ToString(out.Name) != "sysdig/api-token" {
				t.Errorf("ARN, Name = %q, %q; want %q, sysdig/api-token", aws.ToString(out.ARN), aws.ToString(out.Name), arn)
			}
			if len(out.VersionStages) != 1 || out.VersionStages[0] != tt.wantStage {
				t.Errorf("VersionStages = %v, want [%s]", out.VersionStages, tt.wantStage)
			}
			if out.VersionId == nil || out.CreatedDate == nil || out.CreatedDate.IsZero() {
				t.Errorf("VersionId %v, CreatedDate %v: want both set", out.VersionId, out.CreatedDate)
			}
		})
	}
	if !strings.HasPrefix(arn, "arn:aws:secretsmanager:"+testRegion+":"+testAccount+":secret:sysdig/api-token-") {
		t.Errorf("ARN %q is not shaped like a Secrets Manager ARN", arn)
	}
	reqs := sm.Requests()
	if len(reqs) != len(tests) {
		t.Fatalf("recorded %d requests, want %d", len(reqs), len(tests))
	}
	if r := reqs[0]; r.Op != OpGetSecretValue || r.SecretID != "sysdig/api-token" || r.Status != 200 || r.AccessKey != "AKIDLOCALTEST" || r.Region != testRegion || r.Time.IsZero() {
		t.Errorf("first request recorded as %+v", r)
	}
	if r := reqs[3]; r.Status != 400 || r.ErrorType != ErrResourceNotFound {
		t.Errorf("missing-secret request recorded as %+v", r)
	}
}

// TestSDKErrors maps every error the fake can answer to what the SDK hands its caller.
// Secrets Manager models no AccessDeniedException or ThrottlingException type: the SDK
// returns them as smithy.APIError with that ErrorCode.
func TestSDKErrors(t *testing.T) {
	ctx := testCtx(t)
	tests := []struct {
		name         string
		inject       []string
		deny         bool
		wantErr      any    // pointer to a typed error, nil for success
		wantCode     string // ErrorCode of the smithy.APIError when wantErr is nil and the call fails
		wantRequests int
	}{
		{name: "not found", inject: []string{ErrResourceNotFound}, wantErr: new(*types.ResourceNotFoundException), wantRequests: 1},
		{name: "decryption failure", inject: []string{ErrDecryptionFailure}, wantErr: new(*types.DecryptionFailure), wantRequests: 1},
		{name: "invalid request", inject: []string{ErrInvalidRequest}, wantErr: new(*types.InvalidRequestException), wantRequests: 1},
		{name: "invalid parameter", inject: []string{ErrInvalidParameter}, wantErr: new(*types.InvalidParameterException), wantRequests: 1},
		{name: "access denied", deny: true, wantCode: ErrAccessDenied, wantRequests: 1},
		{name: "throttled twice then served", inject: []string{ErrThrottling, ErrThrottling}, wantRequests: 3},
		{name: "throttled until retries run out", inject: []string{ErrThrottling, ErrThrottling, ErrThrottling}, wantCode: ErrThrottling, wantRequests: 3},
		{name: "internal error once then served", inject: []string{ErrInternalServiceError}, wantRequests: 2},
		{name: "internal error until retries run out", inject: []string{ErrInternalServiceError, ErrInternalServiceError, ErrInternalServiceError}, wantErr: new(*types.InternalServiceError), wantRequests: 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sm, url := startSM(t)
			sm.PutSecret("tok", "value")
			sm.PutSecret("untouched", "value")
			if tt.deny {
				sm.Deny(OpGetSecretValue, "tok")
			}
			sm.Inject(OpGetSecretValue, "tok", tt.inject...)
			client := sdkClient(url)
			out, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("tok")})
			switch {
			case tt.wantErr != nil:
				if !errors.As(err, tt.wantErr) {
					t.Fatalf("err = %v (%T), want %T", err, err, tt.wantErr)
				}
			case tt.wantCode != "":
				var apiErr smithy.APIError
				if !errors.As(err, &apiErr) || apiErr.ErrorCode() != tt.wantCode {
					t.Fatalf("err = %v, want an API error with code %s", err, tt.wantCode)
				}
			default:
				if err != nil {
					t.Fatalf("GetSecretValue: %v", err)
				}
				if aws.ToString(out.SecretString) != "value" {
					t.Fatalf("SecretString = %q", aws.ToString(out.SecretString))
				}
			}
			if n := sm.Count(OpGetSecretValue, "tok"); n != tt.wantRequests {
				t.Errorf("%d requests reached the fake, want %d", n, tt.wantRequests)
			}
			// Faults are per secret: another secret is served normally.
			if _, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("untouched")}); err != nil {
				t.Errorf("other secret: %v", err)
			}
		})
	}
}

func TestDenyAllow(t *testing.T) {
	ctx := testCtx(t)
	sm, url := startSM(t)
	arn := sm.PutSecret("tok", "v")
	client := sdkClient(url)
	get := func(id string) error {
		_, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(id)})
		return err
	}
	sm.Deny("", arn) // by ARN, any op: a request by name is denied too
	for _, id := range []string{"tok", arn} {
		var apiErr smithy.APIError
		if err := get(id); !errors.As(err, &apiErr) || apiErr.ErrorCode() != ErrAccessDenied {
			t.Fatalf("get %s while denied: %v", id, err)
		}
	}
	sm.Allow("", arn)
	if err := get("tok"); err != nil {
		t.Fatalf("get after Allow: %v", err)
	}
}

func TestSDKLifecycle(t *testing.T) {
	ctx := testCtx(t)
	_, url := startSM(t)
	c := sdkClient(url)

	created, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("app/token"), SecretString: aws.String("one"), Description: aws.String("d")})
	if err != nil {
		t.Fatalf("CreateSecret: %v", err)
	}
	if _, err := c.CreateSecret(ctx, &secretsmanager.CreateSecretInput{Name: aws.String("app/token"), SecretString: aws.String("x")}); !errors.As(err, new(*types.ResourceExistsException)) {
		t.Fatalf("second CreateSecret: %v, want ResourceExistsException", err)
	}
	put, err := c.PutSecretValue(ctx, &secretsmanager.PutSecretValueInput{SecretId: created.ARN, SecretString: aws.String("two")})
	if err != nil {
		t.Fatalf("PutSecretValue: %v", err)
	}
	desc, err := c.DescribeSecret(ctx, &secretsmanager.DescribeSecretInput{SecretId: aws.String("app/token")})
	if err != nil {
		t.Fatalf("DescribeSecret: %v", err)
	}
	wantStages := map[string]string{aws.ToString(created.VersionId): "AWSPREVIOUS", aws.ToString(put.VersionId): "AWSCURRENT"}
	for id, stage := range wantStages {
		if got := desc.VersionIdsToStages[id]; len(got) != 1 || got[0] != stage {
			t.Errorf("version %s stages %v, want [%s]", id, got, stage)
		}
	}
	if aws.ToString(desc.ARN) != aws.ToString(created.ARN) || aws.ToString(desc.Description) != "d" || desc.CreatedDate == nil {
		t.Errorf("DescribeSecret = %+v", desc)
	}
	got, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/token")})
	if err != nil || aws.ToString(got.SecretString) != "two" {
		t.Fatalf("GetSecretValue after put: %v, %v", got, err)
	}

	steps := []struct {
		name    string
		del     secretsmanager.DeleteSecretInput
		wantGet any
	}{
		{name: "scheduled deletion", del: secretsmanager.DeleteSecretInput{SecretId: aws.String("app/token"), RecoveryWindowInDays: aws.Int64(7)}, wantGet: new(*types.InvalidRequestException)},
		{name: "forced deletion", del: secretsmanager.DeleteSecretInput{SecretId: aws.String("app/token"), ForceDeleteWithoutRecovery: aws.Bool(true)}, wantGet: new(*types.ResourceNotFoundException)},
	}
	for _, st := range steps {
		if _, err := c.DeleteSecret(ctx, &st.del); err != nil {
			t.Fatalf("%s: DeleteSecret: %v", st.name, err)
		}
		if _, err := c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("app/token")}); !errors.As(err, st.wantGet) {
			t.Fatalf("%s: GetSecretValue err = %v, want %T", st.name, err, st.wantGet)
		}
	}
}

// TestEnvEndpoint uses the SDK's standard service-specific endpoint variable, as the
// Lambda does when run locally.
func TestEnvEndpoint(t *testing.T) {
	ctx := testCtx(t)
	sm, url := startSM(t)
	sm.PutSecret("env/token", "from-env")
	dir := t.TempDir()
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": url,
		"AWS_ACCESS_KEY_ID":                "AKIDENV",
		"AWS_SECRET_ACCESS_KEY":            "env-secret",
		"AWS_SESSION_TOKEN":                "",
		"AWS_REGION":                       testRegion,
		"AWS_PROFILE":                      "",
		"AWS_ENDPOINT_URL":                 "",
		"AWS_CONFIG_FILE":                  filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":      filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":        "true",
	} {
		t.Setenv(k, v)
	}
	cfg, err := config.LoadDefaultConfig(ctx)
	if err != nil {
		t.Fatalf("LoadDefaultConfig: %v", err)
	}
	out, err := secretsmanager.NewFromConfig(cfg).GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("env/token")})
	if err != nil {
		t.Fatalf("GetSecretValue: %v", err)
	}
	if aws.ToString(out.SecretString) != "from-env" {
		t.Fatalf("SecretString = %q", aws.ToString(out.SecretString))
	}
	if reqs := sm.Requests(); len(reqs) != 1 || reqs[0].AccessKey != "AKIDENV" {
		t.Fatalf("requests = %+v", reqs)
	}
}

// TestWireErrors checks the error shape on the wire, including what a client that forgot
// its credentials or region gets.
func TestWireErrors(t *testing.T) {
	ctx := testCtx(t)
	sm, url := startSM(t)
	sm.PutSecret("tok", "v")
	const goodAuth = "AWS4-HMAC-SHA256 Credential=AKIDX/20260101/" + testRegion + "/secretsmanager/aws4_request, SignedHeaders=host;x-amz-date, Signature=abcd"
	tests := []struct {
		name       string
		target     string
		auth       string
		body       string
		wantStatus int
		wantType   string
		wantBody   string // exact body when set
	}{
		{name: "not found", target: "secretsmanager.GetSecretValue", auth: goodAuth, body: `{"SecretId":"nope"}`, wantStatus: 400, wantType: ErrResourceNotFound,
			wantBody: `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`},
		{name: "no authorization", target: "secretsmanager.GetSecretValue", body: `{"SecretId":"tok"}`, wantStatus: 400, wantType: ErrMissingAuthToken},
		{name: "not sigv4", target: "secretsmanager.GetSecretValue", auth: "Bearer abc", body: `{"SecretId":"tok"}`, wantStatus: 400, wantType: ErrIncompleteSignature},
		{name: "wrong region", target: "secretsmanager.GetSecretValue", auth: strings.Replace(goodAuth, testRegion, "us-east-1", 1), body: `{"SecretId":"tok"}`, wantStatus: 400, wantType: ErrInvalidSignature},
		{name: "wrong service", target: "secretsmanager.GetSecretValue", auth: strings.Replace(goodAuth, "/secretsmanager/", "/s3/", 1), body: `{"SecretId":"tok"}`, wantStatus: 400, wantType: ErrInvalidSignature},
		{name: "unknown op", target: "secretsmanager.RotateSecret", auth: goodAuth, body: `{"SecretId":"tok"}`, wantStatus: 400, wantType: ErrUnknownOperation},
		{name: "bad json", target: "secretsmanager.GetSecretValue", auth: goodAuth, body: `{"SecretId":`, wantStatus: 400, wantType: ErrSerialization},
		{name: "served", target: "secretsmanager.GetSecretValue", auth: goodAuth, body: `{"SecretId":"tok"}`, wantStatus: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/", strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-amz-json-1.1")
			req.Header.Set("X-Amz-Target", tt.target)
			req.Header.Set("X-Amz-Date", "20260101T000000Z")
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d (%s)", resp.StatusCode, tt.wantStatus, body)
			}
			if tt.wantStatus == 200 {
				var out struct{ SecretString string }
				if err := json.Unmarshal(body, &out); err != nil || out.SecretString != "v" {
					t.Fatalf("body %s: %v", body, err)
				}
				return
			}
			var e struct {
				Type    string `json:"__type"`
				Message string `json:"message"`
			}
			if err := json.Unmarshal(body, &e); err != nil || e.Type != tt.wantType || e.Message == "" {
				t.Fatalf("body %s, want __type %s and a message", body, tt.wantType)
			}
			if h := resp.Header.Get("X-Amzn-ErrorType"); !strings.HasPrefix(h, tt.wantType) {
				t.Errorf("X-Amzn-ErrorType %q, want %s", h, tt.wantType)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/x-amz-json-1.1" {
				t.Errorf("Content-Type %q", ct)
			}
			if tt.wantBody != "" && string(body) != tt.wantBody {
				t.Errorf("body %s, want %s", body, tt.wantBody)
			}
		})
	}

	// The real SDK without credentials sends no Authorization header and fails visibly.
	anon := secretsmanager.New(secretsmanager.Options{Region: testRegion, BaseEndpoint: aws.String(url), Credentials: aws.AnonymousCredentials{}})
	_, err := anon.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String("tok")})
	var apiErr smithy.APIError
	if !errors.As(err, &apiErr) || apiErr.ErrorCode() != ErrMissingAuthToken {
		t.Fatalf("anonymous SDK call: %v, want %s", err, ErrMissingAuthToken)
	}
}

// TestAWSCLI reads secrets with an independent client, the awscli.
func TestAWSCLI(t *testing.T) {
	awsPath, err := exec.LookPath("aws")
	if err != nil {
		t.Skip("aws (awscli) is not on PATH; install the Debian package awscli to run this test")
	}
	ctx := testCtx(t)
	sm, url := startSM(t)
	arn := sm.PutSecret("cli/token", `{"apiToken":"s3cr3t"}`)
	home := t.TempDir()
	env := []string{
		"AWS_ACCESS_KEY_ID=AKIDCLI",
		"AWS_SECRET_ACCESS_KEY=cli-secret",
		"AWS_DEFAULT_REGION=" + testRegion,
		"AWS_REGION=" + testRegion,
		"AWS_CONFIG_FILE=" + filepath.Join(home, "config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "credentials"),
		"AWS_PAGER=",
		"AWS_EC2_METADATA_DISABLED=true",
		"HOME=" + home,
	}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "HOME=") {
			env = append(env, kv)
		}
	}
	tests := []struct {
		name     string
		secretID string
		wantOK   bool
		want     string // SecretString on success, error type in stderr on failure
	}{
		{name: "by name", secretID: "cli/token", wantOK: true, want: `{"apiToken":"s3cr3t"}`},
		{name: "by ARN", secretID: arn, wantOK: true, want: `{"apiToken":"s3cr3t"}`},
		{name: "missing", secretID: "cli/none", want: ErrResourceNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.CommandContext(ctx, awsPath, "secretsmanager", "get-secret-value",
				"--endpoint-url", url, "--secret-id", tt.secretID, "--output", "json")
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
				ARN, Name, VersionId, SecretString string
				VersionStages                      []string
				CreatedDate                        any
			}
			if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
				t.Fatalf("aws output %q: %v", stdout.String(), err)
			}
			if out.SecretString != tt.want || out.ARN != arn || out.Name != "cli/token" || out.VersionId == "" || out.CreatedDate == nil {
				t.Fatalf("aws output %+v", out)
			}
		})
	}
	for _, r := range sm.Requests() {
		if r.AccessKey != "AKIDCLI" || r.Op != OpGetSecretValue {
			t.Errorf("request %+v: want GetSecretValue signed by AKIDCLI", r)
		}
	}
}

func TestSMControlAPI(t *testing.T) {
	ctx := testCtx(t)
	sm, url := startSM(t)
	client := sdkClient(url)
	tests := []struct {
		name, method, path, body string
		wantStatus               int
		check                    func(t *testing.T, body []byte)
	}{
		{name: "put secret", method: http.MethodPost, path: "/_local/secrets", body: `{"name":"ctl/tok","value":"v1"}`, wantStatus: 200,
			check: func(t *testing.T, body []byte) {
				var out struct{ ARN string }
				if err := json.Unmarshal(body, &out); err != nil || !strings.Contains(out.ARN, ":secret:ctl/tok-") {
					t.Fatalf("answer %s", body)
				}
				got, err := client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(out.ARN)})
				if err != nil || aws.ToString(got.SecretString) != "v1" {
					t.Fatalf("read back: %v %v", got, err)
				}
			}},
		{name: "bad secret", method: http.MethodPost, path: "/_local/secrets", body: `{"value":"v1"}`, wantStatus: 400},
		{name: "requests", method: http.MethodGet, path: "/_local/requests", wantStatus: 200,
			check: func(t *testing.T, body []byte) {
				var reqs []SMRequest
				if err := json.Unmarshal(body, &reqs); err != nil || len(reqs) != 1 || reqs[0].Op != OpGetSecretValue || reqs[0].Status != 200 {
					t.Fatalf("requests %s (%v)", body, err)
				}
			}},
		{name: "unknown", method: http.MethodGet, path: "/_local/nothing", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequestWithContext(ctx, tt.method, url+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			resp, body := testutil.Do(t, req)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, tt.wantStatus)
			}
			if tt.check != nil {
				tt.check(t, body)
			}
		})
	}
	if n := len(sm.Requests()); n != 1 {
		t.Errorf("control calls must not be recorded as AWS requests: %d recorded", n)
	}
}
