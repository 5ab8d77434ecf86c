package sysdigemu

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
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
	noReadRole    bool // readshape.go
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
