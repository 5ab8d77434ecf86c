// Package lambdarun runs a real Lambda bootstrap under AWS's Lambda Runtime Interface
// Emulator (aws-lambda-rie), so tests and demos exercise the exact binary that ships,
// its Runtime API client, its timeout and its environment, without an AWS account.
//
// Each Function is one emulator process (one execution environment, one invocation at a
// time), listening on 127.0.0.1 only. A Pool runs several for concurrency tests.
package lambdarun

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	defaultTimeout      = 30 * time.Second
	defaultStartTimeout = 20 * time.Second
	defaultMemoryMB     = 128
	defaultName         = "sysdig-connect-local"
	defaultRegion       = "us-east-1"

	// invokeGrace is added to the function timeout to bound an Invoke whose context has no
	// deadline: it covers the cold start and the emulator's own bookkeeping.
	invokeGrace = 30 * time.Second
	// maxResponseBytes is Lambda's limit on a synchronous response (6 MB), plus slack.
	maxResponseBytes = 7 << 20
	// maxLogLines bounds the log lines kept per function; older lines are dropped first.
	maxLogLines = 200_000
	// closeTimeout bounds Close.
	closeTimeout = 10 * time.Second
	// startAttempts bounds retries when a freshly picked port was taken meanwhile.
	startAttempts = 3

	invokePath = "/2015-03-31/functions/function/invocations"
)

// Config describes one function.
type Config struct {
	// RIE is the aws-lambda-rie binary. Empty means RIEPath(RepoRoot()).
	RIE string
	// Bootstrap is the function's executable (built by BuildBootstrap).
	Bootstrap string
	// Env is the function's environment on top of the Lambda-like defaults (region,
	// dummy credentials, AWS_LAMBDA_FUNCTION_*; see Start). The function sees nothing
	// of the test process's environment.
	Env map[string]string
	// Timeout is the function timeout the emulator enforces, in whole seconds (rounded
	// up). Zero means 30 s.
	Timeout time.Duration
	// MemoryMB is reported as AWS_LAMBDA_FUNCTION_MEMORY_SIZE. Zero means 128.
	MemoryMB int
	// Name is AWS_LAMBDA_FUNCTION_NAME. Empty means "sysdig-connect-local".
	Name string
	// LogWriter, when set, receives every line the function and the emulator print, as
	// they come.
	LogWriter io.Writer
	// StartTimeout bounds Start. Zero means 20 s.
	StartTimeout time.Duration
}

// ErrorKind classifies a failed invocation.
type ErrorKind string

const (
	// KindFunctionError: the handler returned an error (or panicked); Lambda's
	// X-Amz-Function-Error: Unhandled.
	KindFunctionError ErrorKind = "FunctionError"
	// KindTimeout: the emulator ended the invocation at the function timeout.
	KindTimeout ErrorKind = "Timeout"
	// KindRuntimeExit: the runtime process exited or crashed during the invocation.
	KindRuntimeExit ErrorKind = "RuntimeExit"
	// KindEmulator: the emulator answered with an unexpected HTTP status.
	KindEmulator ErrorKind = "Emulator"
)

// InvokeError is returned by Invoke when the invocation did not succeed.
type InvokeError struct {
	Kind         ErrorKind
	StatusCode   int
	ErrorType    string // from the Lambda error body, when there is one
	ErrorMessage string
	Body         []byte
}

func (e *InvokeError) Error() string {
	msg := e.ErrorMessage
	if msg == "" {
		msg = strings.TrimSpace(string(e.Body))
	}
	return fmt.Sprintf("lambda invoke: %s (HTTP %d, %s): %s", e.Kind, e.StatusCode, e.ErrorType, msg)
}

// Function is one running emulator with the bootstrap behind it.
type Function struct {
	cfg     Config
	timeout time.Duration
	url     string // invoke URL
	cmd     *exec.Cmd
	logs    *logStore
	client  *http.Client

	ctx    context.Context // ends at Close; bounds in-flight invocations
	cancel context.CancelFunc

	exited  chan struct{} // closed when the emulator process ended
	waitErr error         // set before exited is closed

	busy chan struct{} // holds a token during an invocation: the emulator serves one at a time

	closeOnce sync.Once
	closeErr  error
}

// Start launches the emulator with cfg.Bootstrap and waits (bounded by ctx and
// cfg.StartTimeout) until it accepts invocations. Like Lambda, the bootstrap itself starts
// on the first Invoke (a cold start).
//
// The function's environment is: PATH, LANG, TZ=:UTC, LAMBDA_TASK_ROOT (the bootstrap's
// directory), AWS_REGION and AWS_DEFAULT_REGION (us-east-1), dummy AWS_ACCESS_KEY_ID /
// AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN, AWS_LAMBDA_FUNCTION_NAME / _VERSION /
// _MEMORY_SIZE / _TIMEOUT, ALLOW_LOOPBACK_RESPONSE_URLS=true, then cfg.Env on top. The emulator adds AWS_LAMBDA_RUNTIME_API.
func Start(ctx context.Context, cfg Config) (*Function, error) {
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultTimeout
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("negative timeout %s", cfg.Timeout)
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = defaultStartTimeout
	}
	if _, ok := cfg.Env["AWS_LAMBDA_FUNCTION_TIMEOUT"]; ok {
		return nil, errors.New("set Config.Timeout, not AWS_LAMBDA_FUNCTION_TIMEOUT in Config.Env")
	}
	if cfg.RIE == "" {
		root, err := RepoRoot()
		if err != nil {
			return nil, err
		}
		if cfg.RIE, err = RIEPath(root); err != nil {
			return nil, err
		}
	} else if err := checkExecutable(cfg.RIE); err != nil {
		return nil, fmt.Errorf("runtime emulator: %w", err)
	}
	bootstrap, err := filepath.Abs(cfg.Bootstrap)
	if err != nil {
		return nil, err
	}
	if err := checkExecutable(bootstrap); err != nil {
		return nil, fmt.Errorf("bootstrap: %w", err)
	}
	cfg.Bootstrap = bootstrap

	ctx, cancel := context.WithTimeout(ctx, cfg.StartTimeout)
	defer cancel()
	var errs []error
	for range startAttempts {
		f, retry, err := startOnce(ctx, cfg)
		if err == nil {
			return f, nil
		}
		errs = append(errs, err)
		if !retry || ctx.Err() != nil {
			break
		}
	}
	return nil, errors.Join(errs...)
}

// startOnce starts one emulator on freshly picked ports. retry is true when the failure
// looks like a port taken between picking and binding.
func startOnce(ctx context.Context, cfg Config) (f *Function, retry bool, err error) {
	ports, err := freePorts(2)
	if err != nil {
		return nil, false, err
	}
	rieAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	apiAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[1]))

	seconds := int(math.Ceil(cfg.Timeout.Seconds()))
	fctx, fcancel := context.WithCancel(context.Background())
	f = &Function{
		ctx:     fctx,
		cancel:  fcancel,
		cfg:     cfg,
		timeout: time.Duration(seconds) * time.Second,
		url:     "http://" + rieAddr + invokePath,
		logs:    &logStore{w: cfg.LogWriter},
		exited:  make(chan struct{}),
		busy:    make(chan struct{}, 1),
		client:  &http.Client{Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}},
	}
	// Not CommandContext: the process must outlive Start's context; Close ends it.
	cmd := exec.Command(cfg.RIE,
		"--runtime-interface-emulator-address", rieAddr,
		"--runtime-api-address", apiAddr,
		cfg.Bootstrap)
	cmd.Dir = filepath.Dir(cfg.Bootstrap)
	cmd.Env = functionEnv(cfg, seconds)
	cmd.Stdout = f.logs.writer()
	cmd.Stderr = f.logs.writer()
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		fcancel()
		return nil, false, fmt.Errorf("start %s: %w", cfg.RIE, err)
	}
	f.cmd = cmd
	go func() {
		f.waitErr = cmd.Wait()
		close(f.exited)
	}()

	// Readiness: the emulator's HTTP port accepts connections. Bounded by ctx (which
	// carries StartTimeout) and by a maximum number of probes.
	const maxProbes = 2000
	var dialer net.Dialer
	for range maxProbes {
		select {
		case <-f.exited:
			fcancel()
			logs := f.logs.lines()
			retry := slices.ContainsFunc(logs, func(l string) bool { return strings.Contains(l, "address already in use") })
			return nil, retry, fmt.Errorf("runtime emulator exited during start (%v); its output:\n%s", f.waitErr, strings.Join(tail(logs, 30), "\n"))
		default:
		}
		dctx, dcancel := context.WithTimeout(ctx, time.Second)
		conn, err := dialer.DialContext(dctx, "tcp", rieAddr)
		dcancel()
		if err == nil {
			_ = conn.Close()
			return f, false, nil
		}
		select {
		case <-ctx.Done():
			_ = f.Close()
			return nil, false, fmt.Errorf("runtime emulator not ready on %s: %w; its output:\n%s", rieAddr, context.Cause(ctx), strings.Join(tail(f.logs.lines(), 30), "\n"))
		case <-time.After(10 * time.Millisecond):
		}
	}
	_ = f.Close()
	return nil, false, fmt.Errorf("runtime emulator not ready on %s after %d probes", rieAddr, maxProbes)
}

func functionEnv(cfg Config, timeoutSeconds int) []string {
	name := cfg.Name
	if name == "" {
		name = defaultName
	}
	mem := cfg.MemoryMB
	if mem == 0 {
		mem = defaultMemoryMB
	}
	env := map[string]string{
		"PATH":                            "/usr/local/bin:/usr/bin/:/bin:/opt/bin",
		"LANG":                            "en_US.UTF-8",
		"TZ":                              ":UTC",
		"LAMBDA_TASK_ROOT":                filepath.Dir(cfg.Bootstrap),
		"AWS_REGION":                      defaultRegion,
		"AWS_DEFAULT_REGION":              defaultRegion,
		"AWS_ACCESS_KEY_ID":               "ASIALOCALLAMBDAKEY00",
		"AWS_SECRET_ACCESS_KEY":           "local-lambda-secret-access-key",
		"AWS_SESSION_TOKEN":               "local-lambda-session-token",
		"AWS_LAMBDA_FUNCTION_NAME":        name,
		"AWS_LAMBDA_FUNCTION_VERSION":     "$LATEST",
		"AWS_LAMBDA_FUNCTION_MEMORY_SIZE": strconv.Itoa(mem),
		"AWS_LAMBDA_LOG_GROUP_NAME":       "/aws/lambda/" + name,
		"AWS_LAMBDA_LOG_STREAM_NAME":      "local/[$LATEST]" + name,
		// Local answers go to loopback catchers, which the function refuses elsewhere.
		"ALLOW_LOOPBACK_RESPONSE_URLS": "true",
	}
	for k, v := range cfg.Env {
		env[k] = v
	}
	env["AWS_LAMBDA_FUNCTION_TIMEOUT"] = strconv.Itoa(timeoutSeconds)
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	slices.Sort(out)
	return out
}

// freePorts returns n distinct free loopback ports.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	ls := make([]net.Listener, 0, n)
	defer func() {
		for _, l := range ls {
			_ = l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// URL is the emulator's invoke URL (http://127.0.0.1:PORT/2015-03-31/functions/function/invocations).
func (f *Function) URL() string { return f.url }

// PID is the emulator's process id, which is also the session id of every process the
// function started.
func (f *Function) PID() int { return f.cmd.Process.Pid }

// Timeout is the function timeout the emulator enforces.
func (f *Function) Timeout() time.Duration { return f.timeout }

// Invoke invokes the function synchronously with payload and returns its response. A
// failed invocation returns an *InvokeError (the body is returned too). Invocations of one
// Function are serialized, like one Lambda execution environment. Without a deadline on
// ctx the call is bounded by the function timeout plus a grace period.
func (f *Function) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return f.InvokeWithID(ctx, "", payload)
}

// InvokeWithID is Invoke with the Lambda request id set (empty: the emulator picks one).
//
// When ctx ends before the function answers, InvokeWithID returns at once, but the
// function stays busy (later Invokes wait) until the emulator ends the invocation, at the
// latest at the function timeout: an execution environment is not free while it runs.
func (f *Function) InvokeWithID(ctx context.Context, requestID string, payload []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.timeout+invokeGrace)
		defer cancel()
	}
	select {
	case f.busy <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for the function to be free: %w", context.Cause(ctx))
	}
	select {
	case <-f.exited:
		<-f.busy
		return nil, fmt.Errorf("runtime emulator is not running (%v)", f.waitErr)
	default:
	}
	type result struct {
		body []byte
		err  error
	}
	done := make(chan result, 1)
	go func() {
		defer func() { <-f.busy }()
		// Bounded by the function timeout (the emulator enforces it) plus a grace period,
		// and by Close; not by the caller's ctx.
		rctx, cancel := context.WithTimeout(f.ctx, f.timeout+invokeGrace)
		defer cancel()
		body, err := f.post(rctx, requestID, payload)
		done <- result{body, err}
	}()
	select {
	case r := <-done:
		return r.body, r.err
	case <-ctx.Done():
		return nil, fmt.Errorf("lambda invoke: %w (the invocation continues until the function timeout)", context.Cause(ctx))
	}
}

func (f *Function) post(ctx context.Context, requestID string, payload []byte) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.url, bytes.NewReader(payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if requestID != "" {
		req.Header.Set("X-Amzn-RequestId", requestID)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("lambda invoke: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return nil, fmt.Errorf("lambda invoke: read response: %w", err)
	}
	if ierr := classify(resp.StatusCode, body); ierr != nil {
		return body, ierr
	}
	return body, nil
}

// classify turns the emulator's answer into an *InvokeError, or nil on success.
func classify(status int, body []byte) *InvokeError {
	var lerr struct {
		ErrorType    *string `json:"errorType"`
		ErrorMessage *string `json:"errorMessage"`
	}
	isLambdaError := func() bool {
		var m map[string]json.RawMessage
		if json.Unmarshal(body, &m) != nil || json.Unmarshal(body, &lerr) != nil || lerr.ErrorType == nil || lerr.ErrorMessage == nil {
			return false
		}
		for k := range m {
			if k != "errorType" && k != "errorMessage" && k != "stackTrace" && k != "cause" {
				return false
			}
		}
		return true
	}
	e := &InvokeError{StatusCode: status, Body: body}
	switch {
	case status == http.StatusOK && bytes.HasPrefix(body, []byte("Task timed out after ")):
		e.Kind, e.ErrorType, e.ErrorMessage = KindTimeout, "Sandbox.Timedout", string(body)
	case status == http.StatusOK && isLambdaError():
		e.Kind, e.ErrorType, e.ErrorMessage = KindFunctionError, *lerr.ErrorType, *lerr.ErrorMessage
	case status == http.StatusOK:
		return nil
	case status == http.StatusBadGateway:
		e.Kind = KindRuntimeExit
		if isLambdaError() {
			e.ErrorType, e.ErrorMessage = *lerr.ErrorType, *lerr.ErrorMessage
		}
	default:
		e.Kind = KindEmulator
	}
	return e
}

// Logs returns every line the function and the emulator printed so far, oldest first.
// Lines are read from the processes' output asynchronously: a line printed just before an
// Invoke returned may not be there yet. After Close, every line is.
func (f *Function) Logs() []string { return f.logs.lines() }

// Close kills the emulator and every process it started (the whole session), and waits,
// bounded, until none is left. It is safe to call more than once.
func (f *Function) Close() error {
	f.closeOnce.Do(func() {
		defer f.cancel()
		sid := f.cmd.Process.Pid
		// The emulator first, so it cannot start another runtime, then the rest.
		if err := f.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
			f.closeErr = fmt.Errorf("kill runtime emulator: %w", err)
		}
		deadline := time.Now().Add(closeTimeout)
		if err := killSession(sid, closeTimeout); err != nil {
			f.closeErr = errors.Join(f.closeErr, err)
		}
		select {
		case <-f.exited:
		case <-time.After(time.Until(deadline)):
			f.closeErr = errors.Join(f.closeErr, fmt.Errorf("runtime emulator %d not reaped within %s", sid, closeTimeout))
		}
		f.logs.flush()
		f.client.CloseIdleConnections()
	})
	return f.closeErr
}

func tail(lines []string, n int) []string {
	if len(lines) > n {
		return lines[len(lines)-n:]
	}
	return lines
}

// logStore keeps the output lines of one emulator and forwards them to an optional writer.
type logStore struct {
	mu      sync.Mutex
	w       io.Writer
	all     []string
	dropped int
	parts   []*lineWriter
}

type lineWriter struct {
	s       *logStore
	partial []byte
}

func (s *logStore) writer() io.Writer {
	s.mu.Lock()
	defer s.mu.Unlock()
	lw := &lineWriter{s: s}
	s.parts = append(s.parts, lw)
	return lw
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.s.mu.Lock()
	defer w.s.mu.Unlock()
	data := append(w.partial, p...)
	const maxLine = 1 << 20
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		w.s.addLocked(string(bytes.TrimRight(data[:i], "\r")))
		data = data[i+1:]
	}
	if len(data) > maxLine {
		w.s.addLocked(string(data))
		data = nil
	}
	w.partial = append([]byte(nil), data...)
	return len(p), nil
}

func (s *logStore) addLocked(line string) {
	if len(s.all) >= maxLogLines {
		s.all = slices.Delete(s.all, 0, len(s.all)/10)
		s.dropped += maxLogLines / 10
	}
	s.all = append(s.all, line)
	if s.w != nil {
		_, _ = io.WriteString(s.w, line+"\n")
	}
}

// flush records unterminated output.
func (s *logStore) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range s.parts {
		if len(p.partial) > 0 {
			s.addLocked(string(p.partial))
			p.partial = nil
		}
	}
}

func (s *logStore) lines() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.all)
}
