package operator

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
)

// TestDefaultDeps runs the program's own AWS wiring, pointed at the stand-ins
// through the SDK's standard endpoint variables. It sets process environment
// variables, so it does not run in parallel.
func TestDefaultDeps(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	base := map[string]string{
		"AWS_ENDPOINT_URL_STS":             h.stsURL,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": h.smURL,
		"AWS_ACCESS_KEY_ID":                "AKIAEXAMPLE",
		"AWS_SECRET_ACCESS_KEY":            "example-secret-key",
		"AWS_SESSION_TOKEN":                "",
		"AWS_PROFILE":                      "",
		"AWS_DEFAULT_PROFILE":              "",
		"AWS_CONFIG_FILE":                  filepath.Join(dir, "config"),
		"AWS_SHARED_CREDENTIALS_FILE":      filepath.Join(dir, "credentials"),
		"AWS_EC2_METADATA_DISABLED":        "true",
		"AWS_ENDPOINT_URL":                 "",
		"AWS_DEFAULT_REGION":               "",
	}
	for _, c := range []struct {
		name   string
		region string
		args   []string
		want   expect
	}{
		{name: "whoami", region: "eu-west-1", args: []string{"whoami"},
			want: expect{code: 0, noStderr: true, stdout: []string{testStackRole}}},
		{name: "whoami without a region", region: "", args: []string{"whoami"},
			want: expect{code: 0, stdout: []string{testStackRole}}},
		{name: "secret by name", region: "eu-west-1", args: []string{"--api-url", h.url, "external-id", "--token-secret", "sysdig/token"},
			want: expect{code: 0, noStderr: true, stdout: []string{sysdigemu.DefaultExternalID}}},
		{name: "secret by ARN without a region", region: "", args: []string{"--api-url", h.url, "external-id", "--token-secret", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sysdig/token-AbCdEf"},
			want: expect{code: 0, stdout: []string{sysdigemu.DefaultExternalID}}},
		{name: "secret by name without a region", region: "", args: []string{"--api-url", h.url, "external-id", "--token-secret", "sysdig/token"},
			want: expect{code: 1, stderr: []string{"no AWS region configured", "AWS_REGION"}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			for k, v := range base {
				t.Setenv(k, v)
			}
			t.Setenv("AWS_REGION", c.region)
			deps := DefaultDeps()
			deps.SysdigOptions = []sysdig.Option{sysdig.WithRetry(time.Millisecond, 2*time.Millisecond, 2)}
			var out, errOut bytes.Buffer
			code := Run(context.Background(), c.args, &out, &errOut, func(string) string { return "" }, deps)
			if strings.Contains(out.String()+errOut.String(), testToken) {
				t.Fatalf("token written")
			}
			c.want.check(t, code, out.String(), errOut.String())
		})
	}
}
