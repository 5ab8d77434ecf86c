package main

import (
	"bufio"
	"bytes"
	"context"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestFlagErrors(t *testing.T) {
	for _, args := range [][]string{{"-sts-port", "70000"}, {"extra"}, {"-nope"}} {
		var stdout, stderr bytes.Buffer
		if err := run(t.Context(), args, &stdout, &stderr); err == nil || stdout.Len() != 0 {
			t.Errorf("%v: err %v, stdout %q", args, err, stdout.String())
		}
	}
}

// TestBinaryStaysUpUntilInterrupted runs the command as make playground does, reads the
// export lines, checks the services answer, and stops it with SIGINT (Ctrl-C).
func TestBinaryStaysUpUntilInterrupted(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "playground")
	if out, err := exec.CommandContext(ctx, "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.CommandContext(ctx, bin)
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
	exports := map[string]string{}
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if len(line) > 100 {
			t.Errorf("line of %d columns: %s", len(line), line)
		}
		if rest, ok := strings.CutPrefix(line, "export "); ok {
			k, v, _ := strings.Cut(rest, "=")
			exports[k] = v
		}
		if strings.Contains(line, "deregister 1") {
			break
		}
	}
	for _, k := range []string{"SYSDIG_MONITOR_URL", "SYSDIG_MONITOR_API_TOKEN", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SECRETS_MANAGER"} {
		if exports[k] == "" {
			t.Fatalf("no export of %s; stderr: %s", k, stderr.String())
		}
	}
	// Still up after the lines are printed: the Sysdig emulator answers with the token.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, exports["SYSDIG_MONITOR_URL"]+"/api/users/me", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+exports["SYSDIG_MONITOR_API_TOKEN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the emulator answered %d", resp.StatusCode)
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("exit after Ctrl-C: %v; stderr: %s", err, stderr.String())
	}
	if !strings.Contains(stderr.String(), "playground: stopped") {
		t.Errorf("stderr %q", stderr.String())
	}
}
