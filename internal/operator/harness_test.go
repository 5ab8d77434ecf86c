package operator

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/sysdigemu"
	"sysdig-aws-connect/internal/tokensource"
)

const (
	testToken     = "tok-5ecret-9f8e7d6c-never-print"
	testAccount   = "123456789012"
	testCallerARN = "arn:aws:sts::123456789012:assumed-role/Admin/jane"
	testStackRole = "arn:aws:iam::123456789012:role/sysdig-role"
	otherRole     = "arn:aws:iam::123456789012:role/other-role"
)

// stsStandIn answers the Query-protocol GetCallerIdentity.
type stsStandIn struct {
	mu    sync.Mutex
	arn   string
	fail  bool
	calls int
}

func (s *stsStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	if err := r.ParseForm(); err != nil || r.PostForm.Get("Action") != "GetCallerIdentity" {
		http.Error(w, "unexpected request", http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	if s.fail {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprint(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>ExpiredToken</Code><Message>The security token included in the request is expired</Message></Error><RequestId>r-1</RequestId></ErrorResponse>`)
		return
	}
	arn := s.arn
	account := strings.Split(arn, ":")[4]
	fmt.Fprintf(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult><Arn>%s</Arn><UserId>AROAEXAMPLE:jane</UserId><Account>%s</Account></GetCallerIdentityResult><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata></GetCallerIdentityResponse>`, arn, account)
}

// smStandIn answers the JSON 1.1 GetSecretValue.
type smStandIn struct {
	mu      sync.Mutex
	secrets map[string]string // SecretId → SecretString
	regions []string          // regions the client factory was asked for
}

func (s *smStandIn) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	var in struct{ SecretId string }
	body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || json.Unmarshal(body, &in) != nil {
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"InvalidRequestException","message":"unexpected request"}`)
		return
	}
	v, ok := s.secrets[in.SecretId]
	if !ok {
		w.Header().Set("X-Amzn-Errortype", "ResourceNotFoundException")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`)
		return
	}
	out, _ := json.Marshal(map[string]any{"ARN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:" + in.SecretId + "-AbCdEf", "Name": in.SecretId, "SecretString": v, "VersionId": "v1", "CreatedDate": 1.7e9})
	w.Write(out)
}

// harness is one emulated world: Sysdig, STS, Secrets Manager and the environment.
type harness struct {
	t      *testing.T
	emu    *sysdigemu.Server
	url    string
	sts    *stsStandIn
	stsURL string
	sm     *smStandIn
	smURL  string
	iam    *localaws.IAM
	iamURL string
	env    map[string]string
}

// trustFor is a trust policy as the stack writes it: principal, sts:ExternalId.
func trustFor(principal, externalID string) string {
	return `{"Version":"2012-10-17","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"AWS":"` + principal +
		`"},"Condition":{"StringEquals":{"sts:ExternalId":"` + externalID + `"}}}]}`
}

func newHarness(t *testing.T, opts ...sysdigemu.Option) *harness {
	t.Helper()
	h := &harness{
		t:   t,
		emu: sysdigemu.New(append([]sysdigemu.Option{sysdigemu.WithToken(testToken)}, opts...)...),
		sts: &stsStandIn{arn: testCallerARN},
		sm: &smStandIn{secrets: map[string]string{
			"sysdig/token": testToken,
			"sysdig/json":  `{"token":"` + testToken + `","note":"ops"}`,
			"arn:aws:secretsmanager:eu-west-1:123456789012:secret:sysdig/token-AbCdEf": testToken,
		}},
		env: map[string]string{TokenEnv: testToken},
	}
	var stop func()
	h.url, stop = h.emu.Start()
	t.Cleanup(stop)
	stsSrv := httptest.NewServer(h.sts)
	t.Cleanup(stsSrv.Close)
	h.stsURL = stsSrv.URL
	smSrv := httptest.NewServer(h.sm)
	t.Cleanup(smSrv.Close)
	h.smURL = smSrv.URL
	// The roles the tests name, trusting Sysdig's account with the tenant's external ID.
	h.iam = localaws.NewIAM(testAccount)
	for _, name := range []string{"sysdig-role", "other-role"} {
		if _, err := h.iam.CreateRole(name, "/", trustFor("arn:aws:iam::"+sysdigemu.DefaultSysdigAWSAccountID+":root", sysdigemu.DefaultExternalID)); err != nil {
			t.Fatal(err)
		}
		grantCurrent(t, h.iam, name)
	}
	var stopIAM func()
	h.iamURL, stopIAM = h.iam.Start()
	t.Cleanup(stopIAM)
	return h
}

func (h *harness) deps() Deps {
	return Deps{
		STS: func(context.Context) (CallerIdentityAPI, error) {
			return sts.New(sts.Options{Region: "us-east-1", BaseEndpoint: aws.String(h.stsURL), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1}), nil
		},
		SecretsManager: func(_ context.Context, region string) (tokensource.GetSecretValueAPI, error) {
			h.sm.mu.Lock()
			h.sm.regions = append(h.sm.regions, region)
			h.sm.mu.Unlock()
			if region == "" {
				region = "us-east-1"
			}
			return secretsmanager.New(secretsmanager.Options{Region: region, BaseEndpoint: aws.String(h.smURL), Credentials: aws.AnonymousCredentials{}, RetryMaxAttempts: 1}), nil
		},
		Retry: RetryPolicy{Initial: time.Millisecond, Max: 2 * time.Millisecond, Attempts: 2},
		IAM: func(context.Context) (IAMAPI, error) {
			return iam.New(iam.Options{Region: "us-east-1", BaseEndpoint: aws.String(h.iamURL), Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), RetryMaxAttempts: 1}), nil
		},
	}
}

// run executes a command line with --api-url pointing at the emulator (unless
// args already name an endpoint) and checks that the token was never written.
func (h *harness) run(args ...string) (code int, stdout, stderr string) {
	h.t.Helper()
	full := args
	if !hasEndpoint(args) {
		full = append([]string{"--api-url", h.url}, args...)
	}
	return h.runRaw(full...)
}

func (h *harness) runRaw(args ...string) (code int, stdout, stderr string) {
	h.t.Helper()
	var out, errOut bytes.Buffer
	code = Run(context.Background(), args, &out, &errOut, func(k string) string { return h.env[k] }, h.deps())
	stdout, stderr = out.String(), errOut.String()
	if strings.Contains(stdout, testToken) || strings.Contains(stderr, testToken) {
		h.t.Fatalf("the token was written:\nstdout: %s\nstderr: %s", stdout, stderr)
	}
	return code, stdout, stderr
}

func hasEndpoint(args []string) bool {
	for _, a := range args {
		if strings.HasPrefix(a, "--api-url") || strings.HasPrefix(a, "--sysdig-region") {
			return true
		}
	}
	return false
}

// expect checks the outcome of a command.
type expect struct {
	code      int
	stdout    []string // substrings of stdout
	stderr    []string // substrings of stderr
	notStdout []string
	noStderr  bool
}

func (e expect) check(t *testing.T, code int, stdout, stderr string) {
	t.Helper()
	if code != e.code {
		t.Errorf("exit code %d, want %d\nstdout: %s\nstderr: %s", code, e.code, stdout, stderr)
	}
	for _, s := range e.stdout {
		if !strings.Contains(stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, stdout)
		}
	}
	for _, s := range e.notStdout {
		if strings.Contains(stdout, s) {
			t.Errorf("stdout has %q:\n%s", s, stdout)
		}
	}
	for _, s := range e.stderr {
		if !strings.Contains(stderr, s) {
			t.Errorf("stderr lacks %q:\n%s", s, stderr)
		}
	}
	if e.noStderr && stderr != "" {
		t.Errorf("stderr not empty:\n%s", stderr)
	}
	if e.code != ExitOK && strings.Count(strings.TrimSpace(stderr), "\n") > 2 {
		t.Errorf("error output is not one clear line:\n%s", stderr)
	}
}

// decode parses JSON stdout.
func decode[T any](t *testing.T, stdout string) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(stdout), &v); err != nil {
		t.Fatalf("stdout is not the expected JSON: %v\n%s", err, stdout)
	}
	return v
}
