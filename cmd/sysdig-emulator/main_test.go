package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/testutil"
)

func TestRunRefuses(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"-listen", "0.0.0.0:0"}, 1, "loopback only"},
		{[]string{"-listen", ":8080"}, 1, "loopback only"},
		{[]string{"-error-shape", "xml"}, 2, "unknown error shape"},
		{[]string{"-rate-limit", "-1"}, 2, "-rate-limit"},
		{[]string{"-token", ""}, 2, "-token must not be empty"},
		{[]string{"-nope"}, 2, "flag provided but not defined"},
		{[]string{"extra"}, 2, "unexpected arguments"},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stdout, stderr testutil.SyncBuffer
			if code := run(context.Background(), tt.args, &stdout, &stderr); code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.want)
			}
			if stdout.String() != "" {
				t.Errorf("stdout %q", stdout.String())
			}
		})
	}
}

func TestRunServesAndStops(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pr, pw := io.Pipe()
	var stderr testutil.SyncBuffer
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"-token", "tok", "-no-cloud-information", "-rate-limit", "100", "-burst", "5"}, pw, &stderr)
		_ = pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok || !strings.HasPrefix(url, "http://127.0.0.1:") {
		t.Fatalf("first line %q", line)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	rctx, rcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer rcancel()
	for path, want := range map[string]int{"/api/users/me": 200, "/api/v2/providers/info/awsCloudInformation": 404} {
		req, _ := http.NewRequestWithContext(rctx, "GET", url+path, nil)
		req.Header.Set("Authorization", "Bearer tok")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%s = %d, want %d", path, resp.StatusCode, want)
		}
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit %d", code)
	}
	logs := stderr.String()
	for _, want := range []string{`"msg":"sysdig emulator started"`, `"msg":"stopped"`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "Bearer tok") {
		t.Error("token logged")
	}
}
