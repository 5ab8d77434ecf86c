package playground

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/operator"
	"sysdig-aws-connect/internal/testutil"
)

// TestTheCLIWorksAgainstThePlayground pastes the printed export lines (through a real
// shell, where there is one) and runs the CLI as a user would: the real AWS SDK
// configuration from the environment, the real Sysdig client.
func TestTheCLIWorksAgainstThePlayground(t *testing.T) {
	env, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := env.Close(); err != nil {
			t.Error(err)
		}
	})
	var out bytes.Buffer
	if err := env.WriteInstructions(&out); err != nil {
		t.Fatal(err)
	}
	vars := exportsFrom(t, out.String())
	for _, k := range Unset {
		t.Setenv(k, "")
		os.Unsetenv(k)
	}
	for k, v := range vars {
		t.Setenv(k, v)
	}
	// Keep the SDK off any shared config of the machine running the test.
	t.Setenv("AWS_CONFIG_FILE", os.DevNull)
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)

	role := "arn:aws:iam::" + AccountID + ":role/sysdig-role"
	steps := []struct {
		args   []string
		code   int
		stdout []string
	}{
		{[]string{"whoami"}, 0, []string{CallerARN, role}},
		{[]string{"external-id"}, 0, []string{"External ID:"}},
		{[]string{"check"}, 1, []string{"[ OK ] Sysdig API token", "[ OK ] Sysdig API and token", "[ OK ] AWS role: " + role, "[FAIL] Role registered at Sysdig"}},
		{[]string{"register", "--regions", "us-east-1,eu-west-1"}, 0, []string{"Registered role " + role, "US_EAST_1,EU_WEST_1"}},
		{[]string{"--token-secret", SecretName, "providers", "list"}, 0, []string{role}},
		{[]string{"check"}, 0, []string{"All checks passed."}},
		{[]string{"deregister", "1", "--role-arn", role}, 0, []string{"Deregistered provider 1."}},
	}
	for _, s := range steps {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		var stdout, stderr bytes.Buffer
		code := operator.Run(ctx, s.args, &stdout, &stderr, os.Getenv, operator.DefaultDeps())
		cancel()
		if code != s.code {
			t.Errorf("sysdig-connect %s: exit %d, want %d\nstdout: %s\nstderr: %s", strings.Join(s.args, " "), code, s.code, stdout.String(), stderr.String())
			continue
		}
		for _, want := range s.stdout {
			if !strings.Contains(stdout.String(), want) {
				t.Errorf("sysdig-connect %s: stdout lacks %q:\n%s", strings.Join(s.args, " "), want, stdout.String())
			}
		}
		if strings.Contains(stdout.String()+stderr.String(), env.Token) {
			t.Errorf("sysdig-connect %s printed the token", strings.Join(s.args, " "))
		}
	}
	if n := len(env.Sysdig.Providers()); n != 0 {
		t.Errorf("Sysdig still holds %d providers", n)
	}
}

// exportsFrom reads the export lines the way a shell would: through sh when present.
func exportsFrom(t *testing.T, script string) map[string]string {
	t.Helper()
	vars := map[string]string{}
	if _, err := exec.LookPath("sh"); err == nil {
		out, err := exec.Command("sh", "-c", script+"\nenv").Output()
		if err != nil {
			t.Fatalf("the printed lines do not run in sh: %v\n%s", err, script)
		}
		for _, line := range strings.Split(string(out), "\n") {
			k, v, _ := strings.Cut(line, "=")
			if strings.HasPrefix(k, "SYSDIG_") || strings.HasPrefix(k, "AWS_") {
				vars[k] = v
			}
		}
	} else {
		for _, line := range strings.Split(script, "\n") {
			if rest, ok := strings.CutPrefix(line, "export "); ok {
				k, v, _ := strings.Cut(rest, "=")
				vars[k] = strings.Trim(v, "'")
			}
		}
	}
	for _, want := range []string{"SYSDIG_MONITOR_URL", "SYSDIG_MONITOR_API_TOKEN", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SECRETS_MANAGER", "AWS_REGION"} {
		if vars[want] == "" {
			t.Fatalf("the printed lines do not set %s:\n%s", want, script)
		}
	}
	for _, k := range Unset {
		if _, set := vars[k]; set {
			t.Errorf("the printed lines leave %s set", k)
		}
	}
	return vars
}

func TestEverythingListensOnLoopbackOnly(t *testing.T) {
	env, err := Start(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	for _, u := range []string{env.SysdigURL, env.SecretsManagerURL, env.STSURL} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Errorf("%s is not on 127.0.0.1", u)
		}
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	var out testutil.SyncBuffer
	go func() { done <- Run(ctx, Config{}, &out) }()
	deadline := time.After(10 * time.Second)
	for !strings.Contains(out.String(), "export SYSDIG_MONITOR_URL=") {
		select {
		case <-deadline:
			t.Fatalf("no export lines after 10s: %q", out.String())
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}
