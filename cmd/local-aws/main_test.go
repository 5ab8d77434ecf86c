package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

func TestRunFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"secret without value", []string{"-secret", "name"}, "want name=value"},
		{"secret without name", []string{"-secret", "=v"}, "want name=value"},
		{"port out of range", []string{"-responses-port", "70000"}, "out of range"},
		{"stray argument", []string{"extra"}, "unexpected arguments"},
		{"unknown flag", []string{"-nope"}, "flag provided but not defined"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			var stdout, stderr bytes.Buffer
			err := run(ctx, tt.args, &stdout, &stderr)
			if err == nil || !strings.Contains(err.Error()+stderr.String(), tt.want) {
				t.Fatalf("err = %v (stderr %q), want %q", err, stderr.String(), tt.want)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
		})
	}
}

// TestBinary builds the command, runs it like `make demo` does, talks to both services,
// and stops it with SIGTERM.
func TestBinary(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "local-aws")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin, "-region", "eu-west-1", "-secret", "sysdig/api-token=tok=with=equals", "-secret", "other=x", "-account", "210987654321")
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	line, err := bufio.NewReader(stdout).ReadBytes('\n')
	if err != nil {
		t.Fatalf("first line: %v (stderr %s)", err, stderr.String())
	}
	var ready Ready
	if err := json.Unmarshal(line, &ready); err != nil {
		t.Fatalf("first line %q: %v", line, err)
	}
	for _, u := range []string{ready.SecretsManagerURL, ready.ResponsesURL, ready.STSURL} {
		if !strings.HasPrefix(u, "http://127.0.0.1:") {
			t.Fatalf("URL %q is not on 127.0.0.1", u)
		}
	}
	if ready.Region != "eu-west-1" || len(ready.Secrets) != 2 {
		t.Fatalf("ready line %s", line)
	}

	sm := secretsmanager.New(secretsmanager.Options{
		Region: "eu-west-1", BaseEndpoint: aws.String(ready.SecretsManagerURL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDDEMO", "demo", ""),
	})
	out, err := sm.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(ready.Secrets["sysdig/api-token"])})
	if err != nil || aws.ToString(out.SecretString) != "tok=with=equals" {
		t.Fatalf("GetSecretValue: %v %v", out, err)
	}

	id, err := sts.New(sts.Options{Region: "eu-west-1", BaseEndpoint: aws.String(ready.STSURL),
		Credentials: credentials.NewStaticCredentialsProvider("AKIDDEMO", "demo", "")}).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil || aws.ToString(id.Account) != "210987654321" || aws.ToString(id.Arn) != "arn:aws:sts::210987654321:assumed-role/Admin/local" {
		t.Fatalf("GetCallerIdentity: %+v %v", id, err)
	}

	mint, err := http.Post(ready.ResponsesURL+"/_local/response-urls", "application/json", strings.NewReader(`{"requestId":"demo-1"}`))
	if err != nil {
		t.Fatal(err)
	}
	var minted struct{ URL string }
	err = json.NewDecoder(mint.Body).Decode(&minted)
	mint.Body.Close()
	if err != nil || minted.URL == "" {
		t.Fatalf("mint: %v", err)
	}
	body := `{"Status":"SUCCESS","PhysicalResourceId":"p","StackId":"arn:aws:cloudformation:eu-west-1:1:stack/s/g","RequestId":"demo-1","LogicalResourceId":"R"}`
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, minted.URL, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("PUT: %d", resp.StatusCode)
	}
	res, err := http.Get(ready.ResponsesURL + "/_local/responses/demo-1?wait=10s")
	if err != nil {
		t.Fatal(err)
	}
	resBody, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(resBody), `"answered":true`) {
		t.Fatalf("result %s", resBody)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("exit after SIGTERM: %v; stderr:\n%s", err, stderr.String())
		}
		t.Fatal(err)
	}
	u, err := url.Parse(minted.URL)
	if err != nil {
		t.Fatal(err)
	}
	sig := u.Query().Get("X-Amz-Signature")
	if sig == "" || strings.Contains(stderr.String(), sig) || strings.Contains(stderr.String(), "tok=with=equals") {
		t.Errorf("a secret value or response URL signature reached the log:\n%s", stderr.String())
	}
	_ = os.Remove(bin)
}
