package lambdarun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sysdig-aws-connect/internal/testutil"
)

// Set by TestMain: the emulator and the echofn test function built like the real one.
var (
	rie    string
	echofn string
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	root, err := RepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambdarun tests:", err)
		return 1
	}
	if rie, err = RIEPath(root); err != nil {
		fmt.Fprintln(os.Stderr, "lambdarun tests:", err)
		return 1
	}
	dir, err := os.MkdirTemp("", "lambdarun-echofn-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "lambdarun tests:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if echofn, err = Build(ctx, root, "./internal/lambdarun/testdata/echofn", dir); err != nil {
		fmt.Fprintln(os.Stderr, "lambdarun tests:", err)
		return 1
	}
	return m.Run()
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func startEcho(t *testing.T, cfg Config) *Function {
	t.Helper()
	cfg.RIE, cfg.Bootstrap = rie, echofn
	f, err := Start(testCtx(t, 30*time.Second), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := f.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return f
}

type reply struct {
	Echo       json.RawMessage   `json:"echo"`
	RequestID  string            `json:"requestId"`
	DeadlineMS int64             `json:"deadlineMs"`
	Env        map[string]string `json:"env"`
	PID        int               `json:"pid"`
}

func decode(t *testing.T, b []byte) reply {
	t.Helper()
	var r reply
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("reply %q: %v", b, err)
	}
	return r
}

// TestInvoke runs the cases on one function in order: an error or a crashed runtime
// must not break the next invocation.
func TestInvoke(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	f := startEcho(t, Config{})
	tests := []struct {
		name     string
		payload  string
		wantEcho string
		wantKind ErrorKind
		wantType string
		wantMsg  string
	}{
		{name: "echo object", payload: `{"echo":{"a":1,"b":"x"}}`, wantEcho: `{"a":1,"b":"x"}`},
		{name: "function error", payload: `{"fail":"boom"}`, wantKind: KindFunctionError, wantType: "errorString", wantMsg: "boom"},
		{name: "after an error", payload: `{"echo":2}`, wantEcho: `2`},
		{name: "runtime exits", payload: `{"exit":true}`, wantKind: KindRuntimeExit, wantType: "Runtime.ExitError"},
		{name: "after a crash", payload: `{"echo":"again"}`, wantEcho: `"again"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := f.Invoke(ctx, []byte(tt.payload))
			if tt.wantKind != "" {
				var ie *InvokeError
				if !errors.As(err, &ie) || ie.Kind != tt.wantKind || ie.ErrorType != tt.wantType || !strings.Contains(ie.ErrorMessage, tt.wantMsg) {
					t.Fatalf("err = %v, want %s %s %q", err, tt.wantKind, tt.wantType, tt.wantMsg)
				}
				if !bytes.Equal(body, ie.Body) {
					t.Errorf("body %q differs from InvokeError.Body %q", body, ie.Body)
				}
				return
			}
			if err != nil {
				t.Fatalf("Invoke: %v", err)
			}
			r := decode(t, body)
			if string(r.Echo) != tt.wantEcho || r.RequestID == "" || r.DeadlineMS == 0 {
				t.Fatalf("reply %s, want echo %s with a request id and a deadline", body, tt.wantEcho)
			}
		})
	}
}

func TestEnv(t *testing.T) {
	t.Setenv("LAMBDARUN_TEST_LEAK", "must-not-reach-the-function")
	ctx := testCtx(t, time.Minute)
	f := startEcho(t, Config{
		Env:      map[string]string{"SYSDIG_SECRET_ARN": "arn:aws:secretsmanager:eu-west-1:1:secret:x", "AWS_REGION": "eu-west-1"},
		Timeout:  1500 * time.Millisecond,
		MemoryMB: 256,
		Name:     "fn-under-test",
	})
	tests := []struct {
		key  string
		want string // "*" = any non-empty value; "" = must be absent
	}{
		{"SYSDIG_SECRET_ARN", "arn:aws:secretsmanager:eu-west-1:1:secret:x"},
		{"AWS_REGION", "eu-west-1"},
		{"AWS_DEFAULT_REGION", "us-east-1"},
		{"AWS_LAMBDA_FUNCTION_TIMEOUT", "2"},
		{"AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256"},
		{"AWS_LAMBDA_FUNCTION_NAME", "fn-under-test"},
		{"AWS_ACCESS_KEY_ID", "*"},
		{"AWS_SESSION_TOKEN", "*"},
		{"AWS_LAMBDA_RUNTIME_API", "*"},
		{"LAMBDA_TASK_ROOT", filepath.Dir(echofn)},
		{"LAMBDARUN_TEST_LEAK", ""},
		{"HOME", ""},
	}
	keys := make([]string, len(tests))
	for i, tt := range tests {
		keys[i] = tt.key
	}
	payload, err := json.Marshal(map[string]any{"env": keys})
	if err != nil {
		t.Fatal(err)
	}
	body, err := f.Invoke(ctx, payload)
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	env := decode(t, body).Env
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, ok := env[tt.key]
			switch tt.want {
			case "":
				if ok {
					t.Errorf("%s = %q, want it absent", tt.key, got)
				}
			case "*":
				if got == "" {
					t.Errorf("%s is empty", tt.key)
				}
			default:
				if got != tt.want {
					t.Errorf("%s = %q, want %q", tt.key, got, tt.want)
				}
			}
		})
	}
	if api := env["AWS_LAMBDA_RUNTIME_API"]; !strings.HasPrefix(api, "127.0.0.1:") {
		t.Errorf("AWS_LAMBDA_RUNTIME_API = %q, want a 127.0.0.1 address", api)
	}
}

// TestTimeout: the emulator, not the function, ends an invocation at the function
// timeout, kills the runtime, and the next invocation gets a fresh one.
func TestTimeout(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	f := startEcho(t, Config{Timeout: 2 * time.Second})
	first, err := f.Invoke(ctx, []byte(`{}`))
	if err != nil {
		t.Fatalf("first Invoke: %v", err)
	}
	_, err = f.Invoke(ctx, []byte(`{"sleepMs":10000}`))
	var ie *InvokeError
	if !errors.As(err, &ie) || ie.Kind != KindTimeout || !strings.Contains(ie.ErrorMessage, "2.00 seconds") {
		t.Fatalf("err = %v, want a Timeout after 2.00 seconds", err)
	}
	next, err := f.Invoke(ctx, []byte(`{}`))
	if err != nil {
		t.Fatalf("Invoke after timeout: %v", err)
	}
	if decode(t, first).PID == decode(t, next).PID {
		t.Error("the timed-out runtime was reused; want a fresh one")
	}
	pids, err := SessionProcesses(f.PID())
	if err != nil {
		t.Fatal(err)
	}
	if len(pids) != 2 {
		t.Errorf("session has processes %v, want the emulator and one runtime", pids)
	}
}

func TestLogs(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	var w testutil.SyncBuffer
	f := startEcho(t, Config{LogWriter: &w})
	const id = "0d6b3c7e-1111-4222-8333-444455556666"
	body, err := f.InvokeWithID(ctx, id, []byte(`{"echo":1}`))
	if err != nil {
		t.Fatalf("Invoke: %v", err)
	}
	if got := decode(t, body).RequestID; got != id {
		t.Fatalf("function saw request id %q, want %q", got, id)
	}
	if err := f.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	logs := f.Logs()
	var jsonLine map[string]any
	for _, l := range logs {
		if strings.HasPrefix(l, "{") && strings.Contains(l, "echofn invoked") {
			if err := json.Unmarshal([]byte(l), &jsonLine); err != nil {
				t.Fatalf("function log line %q: %v", l, err)
			}
		}
	}
	if jsonLine["requestId"] != id || jsonLine["level"] != "INFO" {
		t.Errorf("function's JSON log line = %v", jsonLine)
	}
	for _, want := range []string{"START RequestId: " + id, "END RequestId: " + id, "REPORT RequestId: " + id, "INIT START"} {
		found := false
		for _, l := range logs {
			found = found || strings.Contains(l, want)
		}
		if !found {
			t.Errorf("no log line contains %q; logs:\n%s", want, strings.Join(logs, "\n"))
		}
	}
	if got := w.String(); got != strings.Join(logs, "\n")+"\n" {
		t.Errorf("LogWriter got %d bytes, Logs() %d lines: they differ", len(got), len(logs))
	}
}

// TestSerialInvoke: concurrent Invokes on one function are queued, not rejected.
func TestSerialInvoke(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	f := startEcho(t, Config{})
	const n = 8
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			body, err := f.Invoke(ctx, fmt.Appendf(nil, `{"echo":%d,"sleepMs":20}`, i))
			if err == nil && string(decodeNoT(body).Echo) != fmt.Sprint(i) {
				err = fmt.Errorf("invoke %d got %s", i, body)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
}

func decodeNoT(b []byte) reply {
	var r reply
	_ = json.Unmarshal(b, &r)
	return r
}

func TestPool(t *testing.T) {
	ctx := testCtx(t, 2*time.Minute)
	const size, requests = 4, 200
	p, err := StartPool(ctx, Config{RIE: rie, Bootstrap: echofn}, size)
	if err != nil {
		t.Fatalf("StartPool: %v", err)
	}
	emulators := map[int]bool{}
	for _, f := range p.Functions() {
		emulators[f.PID()] = true
	}
	if len(emulators) != size {
		t.Fatalf("%d distinct emulators, want %d", len(emulators), size)
	}
	var mu sync.Mutex
	runtimes := map[int]bool{}
	errs := make(chan error, requests)
	var wg sync.WaitGroup
	for i := range requests {
		wg.Go(func() {
			body, err := p.Invoke(ctx, fmt.Appendf(nil, `{"echo":%d}`, i))
			if err != nil {
				errs <- err
				return
			}
			r := decodeNoT(body)
			if string(r.Echo) != fmt.Sprint(i) {
				errs <- fmt.Errorf("request %d answered %s", i, body)
				return
			}
			mu.Lock()
			runtimes[r.PID] = true
			mu.Unlock()
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if len(runtimes) > size {
		t.Errorf("%d runtimes answered, want at most %d", len(runtimes), size)
	}
	if err := p.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for pid := range emulators {
		if left, err := SessionProcesses(pid); err != nil || len(left) > 0 {
			t.Errorf("emulator %d left processes %v (%v)", pid, left, err)
		}
	}
	if _, err := StartPool(ctx, Config{RIE: rie, Bootstrap: echofn}, 0); err == nil {
		t.Error("StartPool with size 0 succeeded")
	}
}

// TestClose: nothing of the function survives Close, also mid-invocation.
func TestClose(t *testing.T) {
	tests := []struct {
		name      string
		busy      bool // Close while an invocation sleeps in the handler
		neverUsed bool // Close before the runtime was ever started
	}{
		{name: "idle"},
		{name: "never invoked", neverUsed: true},
		{name: "mid-invocation", busy: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := testCtx(t, time.Minute)
			f, err := Start(ctx, Config{RIE: rie, Bootstrap: echofn, Timeout: 30 * time.Second})
			if err != nil {
				t.Fatalf("Start: %v", err)
			}
			sid := f.PID()
			if !tt.neverUsed {
				if _, err := f.Invoke(ctx, []byte(`{}`)); err != nil {
					t.Fatalf("Invoke: %v", err)
				}
			}
			invokeErr := make(chan error, 1)
			if tt.busy {
				go func() {
					_, err := f.Invoke(ctx, []byte(`{"sleepMs":60000}`))
					invokeErr <- err
				}()
				if !waitFor(ctx, func() bool { return countLines(f.Logs(), `"sleepMs":60000`) == 1 }) {
					t.Fatal("the sleeping invocation never started")
				}
			}
			before, err := SessionProcesses(sid)
			if err != nil {
				t.Fatal(err)
			}
			wantBefore := 2
			if tt.neverUsed {
				wantBefore = 1
			}
			if len(before) != wantBefore {
				t.Errorf("before Close the session has %v, want %d processes", before, wantBefore)
			}
			if err := f.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if left, err := SessionProcesses(sid); err != nil || len(left) != 0 {
				t.Fatalf("after Close the session still has %v (%v)", left, err)
			}
			if tt.busy {
				if err := <-invokeErr; err == nil {
					t.Error("the invocation interrupted by Close succeeded")
				}
			}
			if err := f.Close(); err != nil {
				t.Errorf("second Close: %v", err)
			}
			if _, err := f.Invoke(ctx, []byte(`{}`)); err == nil {
				t.Error("Invoke after Close succeeded")
			}
		})
	}
}

func countLines(lines []string, sub string) int {
	n := 0
	for _, l := range lines {
		if strings.Contains(l, sub) {
			n++
		}
	}
	return n
}

// waitFor polls cond until it holds or ctx ends (bounded in count too).
func waitFor(ctx context.Context, cond func() bool) bool {
	const maxPolls = 10_000
	for range maxPolls {
		if cond() {
			return true
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(10 * time.Millisecond):
		}
	}
	return false
}

func TestStartErrors(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	dir := t.TempDir()
	notExec := filepath.Join(dir, "bootstrap")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{name: "missing bootstrap", cfg: Config{RIE: rie, Bootstrap: filepath.Join(dir, "nope")}, want: "bootstrap"},
		{name: "bootstrap not executable", cfg: Config{RIE: rie, Bootstrap: notExec}, want: "not an executable"},
		{name: "missing emulator", cfg: Config{RIE: filepath.Join(dir, "rie"), Bootstrap: echofn}, want: "runtime emulator"},
		{name: "timeout in Env", cfg: Config{RIE: rie, Bootstrap: echofn, Env: map[string]string{"AWS_LAMBDA_FUNCTION_TIMEOUT": "3"}}, want: "Config.Timeout"},
		{name: "negative timeout", cfg: Config{RIE: rie, Bootstrap: echofn, Timeout: -time.Second}, want: "negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Start(ctx, tt.cfg)
			if err == nil {
				_ = f.Close()
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		wantKind ErrorKind // "" = success
		wantType string
	}{
		{"success object", 200, `{"ok":true}`, "", ""},
		{"success with errorType among other fields", 200, `{"errorType":"x","errorMessage":"y","PhysicalResourceId":"p"}`, "", ""},
		{"success string", 200, `"hello"`, "", ""},
		{"success empty", 200, ``, "", ""},
		{"function error", 200, `{"errorMessage":"boom","errorType":"errorString"}`, KindFunctionError, "errorString"},
		{"function error with stack", 200, `{"errorMessage":"p","errorType":"runtime.Error","stackTrace":[]}`, KindFunctionError, "runtime.Error"},
		{"timeout", 200, `Task timed out after 3.00 seconds`, KindTimeout, "Sandbox.Timedout"},
		{"runtime exit", 502, `{"errorType":"Runtime.ExitError","errorMessage":"exit status 2"}`, KindRuntimeExit, "Runtime.ExitError"},
		{"reserve conflict", 400, ``, KindEmulator, ""},
		{"emulator failure", 500, ``, KindEmulator, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := classify(tt.status, []byte(tt.body))
			if tt.wantKind == "" {
				if e != nil {
					t.Fatalf("classify = %v, want success", e)
				}
				return
			}
			if e == nil || e.Kind != tt.wantKind || e.ErrorType != tt.wantType || e.StatusCode != tt.status {
				t.Fatalf("classify = %+v, want %s %s", e, tt.wantKind, tt.wantType)
			}
		})
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name      string
		stat      string
		wantState byte
		wantSID   int
		wantOK    bool
	}{
		{"plain", "1234 (bootstrap) S 1200 1234 1200 0 -1", 'S', 1200, true},
		{"comm with spaces and parens", "77 (a (b) c) R 1 77 55 0", 'R', 55, true},
		{"zombie", "9 (x) Z 1 9 9 0", 'Z', 9, true},
		{"truncated", "9 (x) S 1", 0, 0, false},
		{"garbage", "nonsense", 0, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, sid, ok := parseStat([]byte(tt.stat))
			if st != tt.wantState || sid != tt.wantSID || ok != tt.wantOK {
				t.Fatalf("parseStat = %q %d %v, want %q %d %v", st, sid, ok, tt.wantState, tt.wantSID, tt.wantOK)
			}
		})
	}
}

// TestAbandonedInvoke: a caller that gives up does not free the execution environment;
// the next invocation waits for it instead of colliding with the running one.
func TestAbandonedInvoke(t *testing.T) {
	ctx := testCtx(t, time.Minute)
	f := startEcho(t, Config{})
	callerCtx, giveUp := context.WithCancel(ctx)
	errc := make(chan error, 1)
	go func() {
		_, err := f.Invoke(callerCtx, []byte(`{"sleepMs":1500}`))
		errc <- err
	}()
	if !waitFor(ctx, func() bool { return countLines(f.Logs(), `"sleepMs":1500`) == 1 }) {
		t.Fatal("the first invocation never started")
	}
	giveUp()
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("abandoned Invoke: %v, want context.Canceled", err)
	}
	body, err := f.Invoke(ctx, []byte(`{"echo":"next"}`))
	if err != nil {
		t.Fatalf("next Invoke: %v", err)
	}
	if got := string(decode(t, body).Echo); got != `"next"` {
		t.Fatalf("next Invoke answered %s", body)
	}
	if err := f.Close(); err != nil { // flushes the log
		t.Fatalf("Close: %v", err)
	}
	if n := countLines(f.Logs(), "END RequestId"); n != 2 {
		t.Errorf("%d invocations ended, want 2", n)
	}
}
