package sysdigemu

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"sysdig-aws-connect/internal/sysdig"
)

const (
	// DefaultToken is the bearer token the emulator accepts unless WithToken says otherwise.
	DefaultToken = "emulator-token"
	// DefaultExternalID is the tenant external id unless WithExternalID says otherwise.
	DefaultExternalID = "04acdd59-4c98-4d11-8ee5-424326248161"
	// DefaultSysdigAWSAccountID is Sysdig's SaaS us1 AWS account (SEED).
	DefaultSysdigAWSAccountID = "273107874544"

	maxRequestBody   = 1 << 20
	maxRecords       = 10000
	maxRecordedBody  = 4096
	maxHang          = 2 * time.Minute
	maxLatency       = 2 * time.Minute
	maxFaultBodySize = 8 << 20
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

// StoredProvider is a provider in the emulator's store.
type StoredProvider struct {
	ID         string
	RoleARN    string
	Alias      string
	Regions    []string
	Status     string
	Message    string // the last of status.lastProviderMessages (SetStatus); empty: none
	CreatedVia string // "v1", "v2" or "seed"
	Created    time.Time
	// Counters of API calls that touched this provider.
	Gets    int
	Updates int
}

// RequestRecord is one API request the emulator answered (never the token).
type RequestRecord struct {
	Method   string
	Path     string
	Status   int // 0 when the connection was reset or the client went away
	Duration time.Duration
	Time     time.Time
	Body     string // request body, first 4 KiB
	Fault    string `json:",omitempty"` // which fault answered, if any
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

type provider struct {
	StoredProvider
	seq int
}

// Server is the emulator. The zero value is not usable; call New.
type Server struct {
	token         string
	readOnlyToken string
	externalID    string
	awsAccount    string
	noCloudInfo   bool
	shape         ErrorShape
	rate          float64
	burst         int
	perMinute     int // stated in X-RateLimit-Limit; 0 = no header
	noV2List      bool
	noWriteStatus bool
	listOnCreate  bool
	logger        *slog.Logger

	mu        sync.Mutex
	providers map[string]*provider
	nextID    int
	requests  []RequestRecord
	faults    []*faultState
	tokens    float64
	lastFill  time.Time
	inFlight  int
	bytesOut  int64 // API answer bytes (headers and bodies) sent
	total     int   // API requests recorded since New or Reset (not capped like requests)
	throttled int   // of which answered 429
	conns     int   // TCP connections accepted (StartOn only)

	closeOnce sync.Once
	closing   chan struct{}
}

// Option configures a Server.
type Option func(*Server)

// WithToken sets the accepted bearer token (default "emulator-token").
func WithToken(token string) Option { return func(s *Server) { s.token = token } }

// RotateToken makes the emulator accept newToken, and no longer the token it accepted,
// as a tenant does after an administrator rotates the API token.
func (s *Server) RotateToken(newToken string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = newToken
}

// WithReadOnlyToken adds a second valid token that may read but answers 403
// on writes (a non-administrator's token).
func WithReadOnlyToken(token string) Option { return func(s *Server) { s.readOnlyToken = token } }

// WithExternalID sets the tenant's external id.
func WithExternalID(id string) Option { return func(s *Server) { s.externalID = id } }

// WithSysdigAWSAccountID sets the account awsCloudInformation reports.
func WithSysdigAWSAccountID(id string) Option { return func(s *Server) { s.awsAccount = id } }

// WithoutCloudInformation makes awsCloudInformation answer 404, like an older tenant.
func WithoutCloudInformation() Option { return func(s *Server) { s.noCloudInfo = true } }

// WithErrorShape sets the shape of error bodies.
func WithErrorShape(shape ErrorShape) Option { return func(s *Server) { s.shape = shape } }

// WithRateLimit puts a token bucket over all API calls; beyond it the
// emulator answers 429 with Retry-After and Sysdig's public-API body
// {"type":"too_many_requests",…}. Every API answer states the limit in
// X-RateLimit-Limit, in requests per minute. perSecond <= 0 disables it.
func WithRateLimit(perSecond float64, burst int) Option {
	return func(s *Server) {
		s.rate = perSecond
		s.burst = max(burst, 1)
		s.perMinute = 0
		if perSecond > 0 {
			s.perMinute = int(math.Round(perSecond * 60))
		}
	}
}

// WithRateLimitPerMinute is Sysdig's own way of stating a limit: perMinute requests per
// minute, refilled evenly (perMinute/60 each second), with room for burst requests at
// once. Every API answer carries X-RateLimit-Limit: perMinute.
func WithRateLimitPerMinute(perMinute, burst int) Option {
	return func(s *Server) {
		WithRateLimit(float64(perMinute)/60, burst)(s)
		s.perMinute = perMinute
	}
}

// WithoutStatusInWriteAnswers leaves "status" out of the provider in create and update
// answers (GET still has it), as a tenant might: no source shows v2's answer in full.
func WithoutStatusInWriteAnswers() Option { return func(s *Server) { s.noWriteStatus = true } }

// WithProviderListInCreateAnswers makes a v1 create answer {"providers":[…]} with every
// provider of the tenant, the new one included, as Sysdig's guide says it does ("the
// response lists all the providers"), instead of the guide's example {"provider":{…}}.
func WithProviderListInCreateAnswers() Option { return func(s *Server) { s.listOnCreate = true } }

// WithoutV2ProviderList makes GET /api/v2/providers answer 404, as a tenant that offers
// no list there would (no Sysdig document or client lists it).
func WithoutV2ProviderList() Option { return func(s *Server) { s.noV2List = true } }

// WithLogger logs every API request at debug level and faults at info.
func WithLogger(l *slog.Logger) Option {
	return func(s *Server) {
		if l != nil {
			s.logger = l
		}
	}
}

// New returns an emulator with an empty store.
func New(opts ...Option) *Server {
	s := &Server{
		token:      DefaultToken,
		externalID: DefaultExternalID,
		awsAccount: DefaultSysdigAWSAccountID,
		logger:     slog.New(slog.DiscardHandler),
		providers:  map[string]*provider{},
		nextID:     1,
		closing:    make(chan struct{}),
	}
	for _, o := range opts {
		o(s)
	}
	s.tokens = float64(s.burst)
	s.lastFill = time.Now()
	return s
}

// Start listens on 127.0.0.1 on a free port and serves until stop is called.
// It panics when it cannot listen, like httptest.NewServer.
func (s *Server) Start() (baseURL string, stop func()) {
	baseURL, stop, err := s.StartOn("127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	return baseURL, stop
}

// StartOn listens on addr, which must be a loopback address, and serves
// until stop is called. stop releases hanging requests and waits (bounded)
// for the server to finish.
func (s *Server) StartOn(addr string) (baseURL string, stop func(), err error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return "", nil, fmt.Errorf("sysdigemu: listen address %q: %w (expected 127.0.0.1:PORT)", addr, err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return "", nil, fmt.Errorf("sysdigemu: refusing to listen on %q: the emulator accepts any client with its token, so it listens on loopback only (use 127.0.0.1:PORT)", addr)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("sysdigemu: listening on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, ConnState: func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
		}
	}}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.logger.Error("sysdigemu: serve", "error", err)
		}
	}()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			s.Close()
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if err := srv.Shutdown(ctx); err != nil {
				_ = srv.Close()
			}
			<-done
		})
	}
	return "http://" + l.Addr().String(), stop, nil
}

// Close releases requests held by Hang faults; the handler keeps answering.
func (s *Server) Close() { s.closeOnce.Do(func() { close(s.closing) }) }

// Seed stores a pre-existing provider (one registered before, by hand or by
// another tool) and returns its id. Regions may be AWS codes or Sysdig names.
func (s *Server) Seed(p sysdig.ProviderSpec) (id string) {
	regions := make([]string, 0, len(p.Regions))
	for _, r := range p.Regions {
		if n, err := sysdig.SysdigRegionName(r); err == nil {
			regions = append(regions, n)
		} else {
			regions = append(regions, r)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.insertLocked(p.RoleARN, p.Alias, regions, "seed").ID
}

func (s *Server) insertLocked(role, alias string, regions []string, via string) *provider {
	id := strconv.Itoa(s.nextID)
	if len(regions) == 0 {
		regions = nil
	}
	p := &provider{StoredProvider: StoredProvider{ID: id, RoleARN: role, Alias: alias, Regions: regions, Status: "configured", CreatedVia: via, Created: time.Now().UTC()}, seq: s.nextID}
	s.nextID++
	s.providers[id] = p
	return p
}

// Providers returns a snapshot of the store, in creation order.
func (s *Server) Providers() []StoredProvider {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.providersLocked()
}

func (s *Server) providersLocked() []StoredProvider {
	list := make([]*provider, 0, len(s.providers))
	for _, p := range s.providers {
		list = append(list, p)
	}
	slices.SortFunc(list, func(a, b *provider) int { return a.seq - b.seq })
	out := make([]StoredProvider, len(list))
	for i, p := range list {
		out[i] = p.StoredProvider
		out[i].Regions = slices.Clone(p.Regions)
	}
	return out
}

// Stats are running totals since New or Reset, not capped like Requests.
type Stats struct {
	// Requests is the number of API requests answered (or dropped by a fault).
	Requests int
	// Throttled is how many of them were answered 429.
	Throttled int
	// Bytes is BytesSent.
	Bytes int64
	// Connections is the number of TCP connections clients opened (when serving through
	// Start or StartOn): with kept-alive connections, far fewer than Requests.
	Connections int
}

// Stats returns the running totals.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{Requests: s.total, Throttled: s.throttled, Bytes: s.bytesOut, Connections: s.conns}
}

// BytesSent is the number of bytes of API answers (status line, headers and bodies, as
// written by the handler) sent so far; Reset sets it back to 0.
func (s *Server) BytesSent() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.bytesOut
}

func (s *Server) countBytes(n int) {
	s.mu.Lock()
	s.bytesOut += int64(n)
	s.mu.Unlock()
}

// InFlight returns how many API requests are being answered right now
// (including those held by Latency or Hang faults).
func (s *Server) InFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inFlight
}

// Requests returns every API request answered so far (at most the last 10000).
func (s *Server) Requests() []RequestRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.requests)
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

// Reset forgets providers, requests and faults and refills the rate limit.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.providers = map[string]*provider{}
	s.nextID = 1
	s.requests = nil
	s.faults = nil
	s.tokens = float64(s.burst)
	s.lastFill = time.Now()
	s.bytesOut = 0
	s.total, s.throttled, s.conns = 0, 0, 0
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

// allow takes a token from the rate-limit bucket; it returns the wait until
// the next token when the bucket is empty.
func (s *Server) allow(now time.Time) (bool, time.Duration) {
	if s.rate <= 0 {
		return true, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens = math.Min(float64(s.burst), s.tokens+now.Sub(s.lastFill).Seconds()*s.rate)
	s.lastFill = now
	if s.tokens >= 1 {
		s.tokens--
		return true, 0
	}
	return false, time.Duration((1 - s.tokens) / s.rate * float64(time.Second))
}

func (s *Server) record(r RequestRecord) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total++
	if r.Status == http.StatusTooManyRequests {
		s.throttled++
	}
	if len(s.requests) >= maxRecords {
		s.requests = slices.Delete(s.requests, 0, len(s.requests)-maxRecords+1)
	}
	s.requests = append(s.requests, r)
}

// recorder captures the status written and records the request the moment
// the status is known, before any byte of the answer leaves: a client that
// has its answer always finds the request in Requests().
type recorder struct {
	http.ResponseWriter
	status   int
	recorded bool
	onRecord func(status int)
	count    func(n int)
}

// recordNow records the request once, with the given status.
func (r *recorder) recordNow(status int) {
	if !r.recorded {
		r.recorded = true
		r.onRecord(status)
	}
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
		r.recordNow(code)
		if r.count != nil {
			// Status line and headers as they go on the wire (HTTP/1.1).
			n := len("HTTP/1.1 000 ") + len(http.StatusText(code)) + 2 + 2
			for k, vs := range r.Header() {
				for _, v := range vs {
					n += len(k) + 2 + len(v) + 2
				}
			}
			r.count(n + len("Date: Mon, 02 Jan 2006 15:04:05 GMT\r\n"))
		}
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.WriteHeader(http.StatusOK)
	}
	n, err := r.ResponseWriter.Write(b)
	if r.count != nil {
		r.count(n)
	}
	return n, err
}

func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// ServeHTTP answers API and admin requests.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_emulator/") {
		s.serveAdmin(w, r)
		return
	}
	start := time.Now()
	s.mu.Lock()
	s.inFlight++
	s.mu.Unlock()
	body, readErr := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	faultName := ""
	rec := &recorder{ResponseWriter: w, count: s.countBytes}
	if s.perMinute > 0 {
		rec.Header().Set("X-RateLimit-Limit", strconv.Itoa(s.perMinute))
	}
	rec.onRecord = func(status int) {
		rb := body
		if len(rb) > maxRecordedBody {
			rb = rb[:maxRecordedBody]
		}
		d := time.Since(start)
		s.record(RequestRecord{Method: r.Method, Path: r.URL.Path, Status: status, Duration: d, Time: start.UTC(), Body: string(rb), Fault: faultName})
		s.logger.Debug("sysdigemu: request", "method", r.Method, "path", r.URL.Path, "status", status, "duration", d, "fault", faultName)
	}
	defer func() {
		s.mu.Lock()
		s.inFlight--
		s.mu.Unlock()
		// No answer (hang, client gone): record with status 0.
		rec.recordNow(rec.status)
	}()
	if readErr != nil {
		s.writeError(rec, http.StatusBadRequest, "Bad Request", "could not read the request body", 0)
		return
	}
	if len(body) > maxRequestBody {
		s.writeError(rec, http.StatusRequestEntityTooLarge, "Payload Too Large", "request body too large", 0)
		return
	}
	if ok, wait := s.allow(start); !ok {
		faultName = "rate-limit"
		rec.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(wait.Seconds())))))
		// Sysdig's public API (OpenAPI): this body, whatever the endpoint's usual shape.
		writeJSONSized(rec, http.StatusTooManyRequests, map[string]any{"type": "too_many_requests", "message": "Too many requests", "details": []any{}})
		return
	}
	if f, status, ok := s.takeFault(r.Method, r.URL.Path); ok {
		faultName = describeFault(f, status)
		s.logger.Info("sysdigemu: fault", "method", r.Method, "path", r.URL.Path, "fault", faultName)
		if handled := s.applyFault(rec, r, f, status); handled {
			return
		}
	}
	s.serveAPI(rec, r, body)
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

// writeError answers an error in the configured shape, padded to size bytes.
func (s *Server) writeError(w http.ResponseWriter, status int, reason, message string, size int) {
	var v any
	switch s.shape {
	case ShapeMessage:
		v = map[string]any{"message": message}
	case ShapeError:
		v = map[string]any{"error": message}
	case ShapeTypeMessage:
		v = map[string]any{"type": strings.ReplaceAll(strings.ToLower(reason), " ", "_"), "message": message, "details": []any{}}
	default:
		v = map[string]any{"errors": []map[string]string{{"reason": reason, "message": message}}}
	}
	b, _ := json.Marshal(v)
	if size > len(b) {
		// Pad inside the JSON (white space) so the body stays valid.
		b = append(b[:len(b)-1], append(bytes.Repeat([]byte(" "), size-len(b)), '}')...)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeJSONSized is writeJSON with Content-Length set.
func writeJSONSized(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// authorize checks the bearer token; write says whether the call modifies.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request, write bool) bool {
	auth := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	tok = strings.TrimSpace(tok)
	eq := func(a, b string) bool { return b != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }
	s.mu.Lock()
	current := s.token
	s.mu.Unlock()
	switch {
	case ok && eq(tok, current):
		return true
	case ok && eq(tok, s.readOnlyToken):
		if write {
			s.writeError(w, http.StatusForbidden, "Forbidden", "the user is not allowed to change providers: an administrator's token is required", 0)
			return false
		}
		return true
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="sysdig"`)
	s.writeError(w, http.StatusUnauthorized, "Unauthorized", "Bad credentials", 0)
	return false
}

var (
	roleARNRE    = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\x21-\x7e]{1,512}$`)
	accountRE    = regexp.MustCompile(`^[0-9]{12}$`)
	roleNameRE   = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)
	sysdigRegion = regexp.MustCompile(`^[A-Z]{2}(_[A-Z]+)+_[0-9]{1,2}$`)
)

// serveAPI answers the Sysdig API routes.
func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request, body []byte) {
	path := r.URL.Path
	switch {
	case path == "/api/users/me":
		if !s.methodIs(w, r, http.MethodGet) || !s.authorize(w, r, false) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"user": map[string]any{
			"id": 1, "username": "admin@example.com",
			"customer": map[string]any{"id": 1, "name": "emulator", "externalId": s.externalID},
		}})
	case path == "/api/v2/providers/info/awsCloudInformation":
		if s.noCloudInfo {
			s.writeError(w, http.StatusNotFound, "Not Found", "no handler for "+path, 0)
			return
		}
		if !s.methodIs(w, r, http.MethodGet) || !s.authorize(w, r, false) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"externalId": s.externalID, "awsSystemAccountId": s.awsAccount})
	case path == "/api/providers" || path == "/api/v2/providers":
		v := versionOf(path)
		switch r.Method {
		case http.MethodGet:
			if v == "v2" && s.noV2List {
				s.writeError(w, http.StatusNotFound, "Not Found", "no handler for GET "+path, 0)
				return
			}
			if s.authorize(w, r, false) {
				s.list(w, v)
			}
		case http.MethodPost:
			if s.authorize(w, r, true) {
				s.create(w, v, body)
			}
		default:
			s.notAllowed(w, "GET, POST")
		}
	case strings.HasPrefix(path, "/api/providers/") || strings.HasPrefix(path, "/api/v2/providers/"):
		v := versionOf(path)
		id := strings.TrimPrefix(strings.TrimPrefix(path, "/api/v2/providers/"), "/api/providers/")
		if id == "" || strings.Contains(id, "/") {
			s.writeError(w, http.StatusNotFound, "Not Found", "no handler for "+path, 0)
			return
		}
		switch r.Method {
		case http.MethodGet:
			if s.authorize(w, r, false) {
				s.get(w, v, id)
			}
		case http.MethodPut:
			if s.authorize(w, r, true) {
				s.update(w, v, id, body)
			}
		case http.MethodDelete:
			if s.authorize(w, r, true) {
				s.remove(w, v, id)
			}
		default:
			s.notAllowed(w, "GET, PUT, DELETE")
		}
	default:
		s.writeError(w, http.StatusNotFound, "Not Found", "no handler for "+path, 0)
	}
}

func versionOf(path string) string {
	if strings.HasPrefix(path, "/api/v2/") {
		return "v2"
	}
	return "v1"
}

func (s *Server) methodIs(w http.ResponseWriter, r *http.Request, m string) bool {
	if r.Method != m {
		s.notAllowed(w, m)
		return false
	}
	return true
}

func (s *Server) notAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	s.writeError(w, http.StatusMethodNotAllowed, "Method Not Allowed", "method not allowed; allowed: "+allow, 0)
}

// wire renders a stored provider in the version's shape.
func wire(v string, p *provider) map[string]any {
	opts := ""
	if len(p.Regions) > 0 {
		b, _ := json.Marshal(map[string][]string{"regions": p.Regions})
		opts = string(b)
	}
	id, _ := strconv.Atoi(p.ID)
	if v == "v1" {
		m := map[string]any{
			"id":          id,
			"name":        "aws",
			"credentials": map[string]any{"id": p.Alias, "role": p.RoleARN},
			"tags":        []any{},
			"status":      map[string]any{"status": p.Status, "lastUpdate": nil, "percentage": 0, "lastProviderMessages": providerMessages(p)},
			"alias":       p.Alias,
		}
		if opts != "" {
			m["additionalOptions"] = opts
		}
		return m
	}
	account := ""
	if parts := strings.Split(p.RoleARN, ":"); len(parts) > 4 {
		account = parts[4]
	}
	return map[string]any{
		"id":              id,
		"platform":        "AWS",
		"integrationType": "API",
		// TF: GET returns roleName as the full ARN.
		"credentials":       map[string]any{"accountId": account, "roleName": p.RoleARN},
		"additionalOptions": opts,
		"alias":             p.Alias,  // ASSUMED
		"status":            p.Status, // ASSUMED: a plain string in v2
	}
}

// writeAnswer is the provider as create and update answer it.
func (s *Server) writeAnswer(v string, p *provider) map[string]any {
	w := wire(v, p)
	if s.noWriteStatus {
		delete(w, "status")
	}
	return w
}

// parsed is a validated create/update body.
type parsed struct {
	id      json.RawMessage
	role    string
	alias   string
	regions []string
}

// parseBody validates a create/update body like the real API would.
func parseBody(v string, body []byte) (parsed, string) {
	var out parsed
	dec := json.NewDecoder(bytes.NewReader(body))
	var raw map[string]json.RawMessage
	if err := dec.Decode(&raw); err != nil || raw == nil {
		return out, "the request body is not a JSON object"
	}
	out.id = raw["id"]
	str := func(key string) (string, bool) {
		b, ok := raw[key]
		if !ok || string(b) == "null" {
			return "", true
		}
		var s string
		return s, json.Unmarshal(b, &s) == nil
	}
	var creds map[string]json.RawMessage
	if b, ok := raw["credentials"]; !ok || json.Unmarshal(b, &creds) != nil || creds == nil {
		return out, "credentials: must be an object"
	}
	credStr := func(key string) string {
		var s string
		_ = json.Unmarshal(creds[key], &s)
		return strings.TrimSpace(s)
	}
	if v == "v1" {
		if name, ok := str("name"); !ok || name != "aws" {
			return out, `name: must be "aws"`
		}
		out.role = credStr("role")
		if out.role == "" {
			return out, "credentials.role: must not be empty"
		}
		if !roleARNRE.MatchString(out.role) {
			return out, "credentials.role: must be an IAM role ARN"
		}
	} else {
		if p, ok := str("platform"); !ok || p != "AWS" {
			return out, `platform: must be "AWS"`
		}
		if t, ok := str("integrationType"); !ok || (t != "API" && t != "Metrics Streams") {
			return out, `integrationType: must be "API" or "Metrics Streams"`
		}
		account, name := credStr("accountId"), credStr("roleName")
		if !accountRE.MatchString(account) {
			return out, "credentials.accountId: must be a 12-digit AWS account id"
		}
		if name == "" {
			return out, "credentials.roleName: must not be empty"
		}
		if !roleNameRE.MatchString(name) {
			return out, "credentials.roleName: must be a bare IAM role name"
		}
		out.role = "arn:aws:iam::" + account + ":role/" + name
	}
	alias, ok := str("alias")
	if !ok {
		return out, "alias: must be a string"
	}
	out.alias = alias
	if b, present := raw["additionalOptions"]; present && string(b) != "null" {
		var opts string
		if json.Unmarshal(b, &opts) != nil {
			return out, "additionalOptions: must be a string holding JSON"
		}
		if strings.TrimSpace(opts) != "" {
			var o struct {
				Regions []string `json:"regions"`
			}
			if json.Unmarshal([]byte(opts), &o) != nil {
				return out, `additionalOptions: must hold JSON such as {"regions":["US_EAST_1"]}`
			}
			for _, r := range o.Regions {
				if !sysdigRegion.MatchString(r) {
					return out, fmt.Sprintf("additionalOptions.regions: %q is not a region name such as US_EAST_1", r)
				}
			}
			out.regions = o.Regions
		}
	}
	return out, ""
}

// roleKey identifies a role the way IAM does: account id and role name
// (unique per account regardless of path and case). v2 keeps only the bare
// name, so comparing whole ARNs would miss a duplicate across versions.
func roleKey(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return strings.ToLower(arn)
	}
	name := parts[5][strings.LastIndex(parts[5], "/")+1:]
	return strings.ToLower(parts[4] + "/" + name)
}

func (s *Server) findRoleLocked(role, except string) *provider {
	key := roleKey(role)
	for _, p := range s.providers {
		if p.ID != except && roleKey(p.RoleARN) == key {
			return p
		}
	}
	return nil
}

// sortedLocked is the store in creation order.
func (s *Server) sortedLocked() []*provider {
	list := make([]*provider, 0, len(s.providers))
	for _, p := range s.providers {
		list = append(list, p)
	}
	slices.SortFunc(list, func(a, b *provider) int { return a.seq - b.seq })
	return list
}

func (s *Server) list(w http.ResponseWriter, v string) {
	s.mu.Lock()
	list := s.sortedLocked()
	items := make([]map[string]any, len(list))
	for i, p := range list {
		items[i] = wire(v, p)
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"providers": items}) // ASSUMED for both versions
}

func (s *Server) create(w http.ResponseWriter, v string, body []byte) {
	in, problem := parseBody(v, body)
	if problem != "" {
		s.writeError(w, http.StatusBadRequest, "Bad Request", problem, 0)
		return
	}
	s.mu.Lock()
	if dup := s.findRoleLocked(in.role, ""); dup != nil {
		s.mu.Unlock()
		// ASSUMED: a duplicate role answers 409.
		s.writeError(w, http.StatusConflict, "Conflict", fmt.Sprintf("a provider for role %s already exists (id %s)", in.role, dup.ID), 0)
		return
	}
	p := s.insertLocked(in.role, in.alias, in.regions, v)
	out := map[string]any{"provider": s.writeAnswer(v, p)}
	if s.listOnCreate && v == "v1" {
		items := make([]map[string]any, 0, len(s.providers))
		for _, sp := range s.sortedLocked() {
			items = append(items, s.writeAnswer(v, sp))
		}
		out = map[string]any{"providers": items}
	}
	s.mu.Unlock()
	status := http.StatusCreated // TF
	if v == "v1" {
		status = http.StatusOK // ASSUMED: the seed shows the body, not the status
	}
	writeJSON(w, status, out)
}

func (s *Server) get(w http.ResponseWriter, v, id string) {
	s.mu.Lock()
	p, ok := s.providers[id]
	var out map[string]any
	if ok {
		p.Gets++
		out = map[string]any{"provider": wire(v, p)}
	}
	s.mu.Unlock()
	if !ok {
		s.writeError(w, http.StatusNotFound, "Not Found", "provider "+id+" not found", 0)
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) update(w http.ResponseWriter, v, id string, body []byte) {
	in, problem := parseBody(v, body)
	if problem != "" {
		s.writeError(w, http.StatusBadRequest, "Bad Request", problem, 0)
		return
	}
	if len(in.id) > 0 && string(in.id) != "null" && string(in.id) != "0" {
		var bodyID string
		if json.Unmarshal(in.id, &bodyID) != nil {
			bodyID = string(in.id)
		}
		if bodyID != id {
			s.writeError(w, http.StatusBadRequest, "Bad Request", fmt.Sprintf("id: the body's id %s does not match the path's %s", bodyID, id), 0)
			return
		}
	}
	s.mu.Lock()
	p, ok := s.providers[id]
	if !ok {
		s.mu.Unlock()
		s.writeError(w, http.StatusNotFound, "Not Found", "provider "+id+" not found", 0)
		return
	}
	if dup := s.findRoleLocked(in.role, id); dup != nil {
		s.mu.Unlock()
		s.writeError(w, http.StatusConflict, "Conflict", fmt.Sprintf("a provider for role %s already exists (id %s)", in.role, dup.ID), 0)
		return
	}
	p.RoleARN, p.Alias, p.Regions = in.role, in.alias, in.regions
	if len(p.Regions) == 0 {
		p.Regions = nil
	}
	p.Updates++
	out := map[string]any{"provider": s.writeAnswer(v, p)}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) remove(w http.ResponseWriter, v, id string) {
	s.mu.Lock()
	_, ok := s.providers[id]
	delete(s.providers, id)
	s.mu.Unlock()
	if !ok {
		s.writeError(w, http.StatusNotFound, "Not Found", "provider "+id+" not found", 0) // ASSUMED
		return
	}
	if v == "v1" {
		w.WriteHeader(http.StatusNoContent) // ASSUMED
		return
	}
	w.WriteHeader(http.StatusOK) // TF
}

// serveAdmin answers /_emulator/ routes.
func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	adminErr := func(status int, msg string) {
		writeJSON(w, status, map[string]string{"error": msg})
	}
	route := r.Method + " " + r.URL.Path
	switch route {
	case "GET /_emulator/providers":
		writeJSON(w, http.StatusOK, s.Providers())
	case "GET /_emulator/requests":
		writeJSON(w, http.StatusOK, s.Requests())
	case "POST /_emulator/faults":
		var f Fault
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			adminErr(http.StatusBadRequest, "sysdigemu: fault body: "+err.Error()+` (expected {"Method":"POST","PathPrefix":"/api/providers","Statuses":[500]} and the other Fault fields)`)
			return
		}
		if err := s.inject(f); err != nil {
			adminErr(http.StatusBadRequest, err.Error())
			return
		}
		w.WriteHeader(http.StatusNoContent)
	case "POST /_emulator/seed":
		var spec sysdig.ProviderSpec
		dec := json.NewDecoder(io.LimitReader(r.Body, 1<<16))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&spec); err != nil {
			adminErr(http.StatusBadRequest, "sysdigemu: seed body: "+err.Error()+` (expected {"RoleARN":"arn:aws:iam::123456789012:role/x","Alias":"…","Regions":["us-east-1"]})`)
			return
		}
		if !roleARNRE.MatchString(spec.RoleARN) {
			adminErr(http.StatusBadRequest, "sysdigemu: seed: RoleARN must be an IAM role ARN")
			return
		}
		writeJSON(w, http.StatusCreated, map[string]string{"id": s.Seed(spec)})
	case "POST /_emulator/reset":
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	default:
		adminErr(http.StatusNotFound, "sysdigemu: unknown admin route "+route+"; see the package documentation")
	}
}
