package sysdigemu

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrorShape selects the JSON shape of error bodies (sysdig-api.md, "Errors").
type ErrorShape int

const (
	// ShapeErrorsArray answers {"errors":[{"reason":…,"message":…}]}.
	ShapeErrorsArray ErrorShape = iota
	// ShapeMessage answers {"message":…}.
	ShapeMessage
	// ShapeError answers {"error":…}.
	ShapeError
	// ShapeTypeMessage answers {"type":…,"message":…,"details":[]}.
	ShapeTypeMessage
)

// ParseErrorShape reads "errors", "message", "error" or "type".
func ParseErrorShape(s string) (ErrorShape, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "errors", "errors-array", "":
		return ShapeErrorsArray, nil
	case "message":
		return ShapeMessage, nil
	case "error":
		return ShapeError, nil
	case "type", "type-message":
		return ShapeTypeMessage, nil
	}
	return 0, fmt.Errorf("sysdigemu: unknown error shape %q: expected errors, message, error or type", s)
}

// Fault changes how the emulator answers matching API requests.
type Fault struct {
	// Method ("" = any) and PathPrefix ("" = any) select requests.
	Method     string
	PathPrefix string
	// Statuses are answered in order to matching requests, one each; then
	// the fault is used up and normal behaviour resumes.
	Statuses []int
	// RetryAfter is sent as Retry-After (whole seconds, rounded up) with
	// 429 and 503 answers.
	RetryAfter time.Duration
	// Latency delays the answer (bounded by the client going away).
	Latency time.Duration
	// Hang blocks until the client goes away or the server stops (at most 2 minutes).
	Hang bool
	// ResetConn hijacks the connection and closes it without an answer.
	ResetConn bool
	// Malformed answers 200 with broken JSON.
	Malformed bool
	// BodySize pads error bodies to this many bytes.
	BodySize int
	// Echo answers with the request's Authorization header echoed back, as a broken
	// proxy or API might (see echo.go for the forms: header, json-escaped, percent,
	// id, alias).
	Echo string `json:",omitempty"`
	// Times is how many matching requests the fault applies to when there
	// are no Statuses (0 = 1).
	Times int
}

// UnmarshalJSON accepts durations as Go duration strings or nanoseconds and
// refuses unknown fields (a typo in a test's fault should fail loudly).
func (f *Fault) UnmarshalJSON(b []byte) error {
	type plain Fault
	var w struct {
		plain
		RetryAfter json.RawMessage
		Latency    json.RawMessage
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&w); err != nil {
		return err
	}
	*f = Fault(w.plain)
	var err error
	if f.RetryAfter, err = parseJSONDuration(w.RetryAfter); err != nil {
		return fmt.Errorf("RetryAfter: %w", err)
	}
	if f.Latency, err = parseJSONDuration(w.Latency); err != nil {
		return fmt.Errorf("Latency: %w", err)
	}
	return nil
}

func parseJSONDuration(raw json.RawMessage) (time.Duration, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return time.ParseDuration(s)
	}
	var n int64
	if err := json.Unmarshal(raw, &n); err != nil {
		return 0, errors.New(`expected a duration string such as "250ms" or nanoseconds`)
	}
	return time.Duration(n), nil
}

func (f Fault) validate() error {
	for _, s := range f.Statuses {
		if s < 200 || s > 599 {
			return fmt.Errorf("status %d is not an HTTP status (200-599)", s)
		}
	}
	switch {
	case f.RetryAfter < 0 || f.Latency < 0 || f.BodySize < 0 || f.Times < 0:
		return errors.New("RetryAfter, Latency, BodySize and Times must not be negative")
	case f.Latency > maxLatency:
		return fmt.Errorf("Latency %s is above the %s bound", f.Latency, maxLatency)
	case f.BodySize > maxFaultBodySize:
		return fmt.Errorf("BodySize %d is above the %d bound", f.BodySize, maxFaultBodySize)
	case !validEcho(f.Echo):
		return fmt.Errorf("Echo %q is not one of %s", f.Echo, strings.Join(echoForms, ", "))
	case f.PathPrefix != "" && !strings.HasPrefix(f.PathPrefix, "/"):
		return fmt.Errorf("PathPrefix %q must start with /", f.PathPrefix)
	}
	return nil
}

type faultState struct {
	Fault
	remaining int // answers left (Statuses or Times)
	next      int // index into Statuses
}

// Inject adds a fault. Faults are matched in the order they were added.
// An invalid fault is ignored and logged; use the admin API to get the error.
func (s *Server) Inject(f Fault) {
	if err := s.inject(f); err != nil {
		s.logger.Error("sysdigemu: fault ignored", "error", err)
	}
}

func (s *Server) inject(f Fault) error {
	if err := f.validate(); err != nil {
		return fmt.Errorf("sysdigemu: invalid fault: %w", err)
	}
	n := len(f.Statuses)
	if n == 0 {
		n = max(f.Times, 1)
	}
	f.Statuses = slices.Clone(f.Statuses)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultState{Fault: f, remaining: n})
	return nil
}

// takeFault returns the first matching fault's action and uses it up.
func (s *Server) takeFault(method, path string) (f Fault, status int, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, fs := range s.faults {
		if (fs.Method != "" && !strings.EqualFold(fs.Method, method)) || !strings.HasPrefix(path, fs.PathPrefix) {
			continue
		}
		if len(fs.Statuses) > 0 {
			status = fs.Statuses[fs.next]
			fs.next++
		}
		fs.remaining--
		if fs.remaining <= 0 {
			s.faults = slices.Delete(s.faults, i, i+1)
		}
		return fs.Fault, status, true
	}
	return Fault{}, 0, false
}

func describeFault(f Fault, status int) string {
	var parts []string
	if f.Latency > 0 {
		parts = append(parts, "latency "+f.Latency.String())
	}
	switch {
	case f.Hang:
		parts = append(parts, "hang")
	case f.ResetConn:
		parts = append(parts, "reset")
	case status != 0:
		parts = append(parts, "status "+strconv.Itoa(status))
	case f.Malformed:
		parts = append(parts, "malformed")
	case f.Echo != "":
		parts = append(parts, "echo "+f.Echo)
	}
	if len(parts) == 0 {
		return "fault"
	}
	return strings.Join(parts, ", ")
}

// applyFault carries out a fault; it returns false when the request should
// then be answered normally (latency only).
func (s *Server) applyFault(w *recorder, r *http.Request, f Fault, status int) bool {
	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return true
		case <-s.closing:
			t.Stop()
		}
	}
	switch {
	case f.Hang:
		t := time.NewTimer(maxHang)
		defer t.Stop()
		select {
		case <-r.Context().Done():
		case <-s.closing:
		case <-t.C:
		}
		// Drop the connection without an answer.
		panic(http.ErrAbortHandler)
	case f.ResetConn:
		hj, ok := w.ResponseWriter.(http.Hijacker)
		if !ok {
			s.writeError(w, http.StatusInternalServerError, "Internal Server Error", "emulator: this connection cannot be reset", 0)
			return true
		}
		conn, _, err := hj.Hijack()
		if err != nil {
			return true
		}
		w.recordNow(0) // before the client can notice and retry
		if tc, ok := conn.(*net.TCPConn); ok {
			_ = tc.SetLinger(0) // RST instead of FIN
		}
		_ = conn.Close()
		return true
	case f.Echo != "":
		s.echo(w, r, f, status)
		return true
	case status != 0:
		if status == http.StatusTooManyRequests || status == http.StatusServiceUnavailable {
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(f.RetryAfter.Seconds()))))
		}
		if status >= 200 && status <= 299 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, "{}")
			return true
		}
		s.writeError(w, status, http.StatusText(status), "injected fault", f.BodySize)
		return true
	case f.Malformed:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_, _ = io.WriteString(w, `{"provider": {"id": 7, "name": "aws", "credentials": {"role": "arn:aws:iam::`)
		return true
	}
	return false
}
