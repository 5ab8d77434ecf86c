package localaws

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

const (
	// MaxResponseBytes is CloudFormation's limit on a custom resource response body.
	MaxResponseBytes = 4096
	// maxPhysicalIDBytes is CloudFormation's limit on PhysicalResourceId.
	maxPhysicalIDBytes = 1024
	// maxAttemptBody bounds how much of an attempt's body is read and kept.
	maxAttemptBody = 1 << 20
	// maxAttempts bounds the attempts recorded per request id.
	maxAttempts = 1000
	// maxTargets bounds the URLs one catcher hands out.
	maxTargets = 100_000

	responsesPrefix = "/cloudformation-responses/"
	controlPrefix   = "/_local/"

	// ReasonTooLong is what CloudFormation reports for a body over MaxResponseBytes.
	ReasonTooLong = "Response object is too long."
)

// Fault modes for FailNext.
const (
	// FaultReset closes the connection with a TCP reset instead of answering.
	FaultReset = -1
)

// Response is a custom resource response as CloudFormation decodes it.
type Response struct {
	Status             string         `json:"Status"`
	Reason             string         `json:"Reason,omitempty"`
	PhysicalResourceID string         `json:"PhysicalResourceId"`
	StackID            string         `json:"StackId"`
	RequestID          string         `json:"RequestId"`
	LogicalResourceID  string         `json:"LogicalResourceId"`
	NoEcho             bool           `json:"NoEcho,omitempty"`
	Data               map[string]any `json:"Data,omitempty"`
}

// Attempt is one HTTP request made to a response URL.
type Attempt struct {
	Time          time.Time   `json:"time"`
	Method        string      `json:"method"`
	Status        int         `json:"status"` // HTTP status answered; 0 when the connection was reset
	Fault         string      `json:"fault,omitempty"`
	Header        http.Header `json:"header"`
	ContentType   string      `json:"contentType"`   // as sent; "" when absent
	ContentLength int64       `json:"contentLength"` // as declared; -1 when unknown (chunked)
	Body          []byte      `json:"body"`
	// Accepted is true for the PUT that S3 stored and CloudFormation read.
	Accepted bool `json:"accepted"`
	// Invalid says why CloudFormation would reject the stored response; "" when valid.
	Invalid string `json:"invalid,omitempty"`
}

// Target describes the custom resource request a response URL belongs to. StackID and
// LogicalResourceID are checked against the response when set.
type Target struct {
	RequestID         string `json:"requestId"`
	StackID           string `json:"stackId,omitempty"`
	LogicalResourceID string `json:"logicalResourceId,omitempty"`
}

// InvalidResponseError is returned by Wait when the accepted response is one
// CloudFormation would reject (the stack fails the resource with Reason).
type InvalidResponseError struct {
	RequestID string
	Reason    string
}

func (e *InvalidResponseError) Error() string {
	return fmt.Sprintf("response for request %s rejected by CloudFormation: %s", e.RequestID, e.Reason)
}

type fault struct {
	n      int
	status int // FaultReset or an HTTP status
}

type catcherTarget struct {
	Target
	path      string
	signature string
	faults    []fault
	attempts  []Attempt
	answered  chan struct{} // closed on the first accepted PUT
	final     *Response
	invalid   string
	accepted  int
}

// ResponseCatcher stands in for the presigned S3 URL CloudFormation passes as
// ResponseURL. It hands out URLs with a random signature per request, accepts PUTs to
// them like S3 (403 on a missing or wrong signature, 200 otherwise), and records every
// attempt and the response CloudFormation would read.
//
// Like the SigV2 presigned URLs CloudFormation handed out for years, a URL is signed with
// an empty Content-Type: a PUT that sends a Content-Type gets 403 SignatureDoesNotMatch
// unless AllowContentType is set.
//
// It also serves a small JSON control API under /_local/ for out-of-process use:
// POST /_local/response-urls {"requestId":...} mints a URL, and
// GET /_local/responses/<requestId>?wait=30s returns the outcome.
type ResponseCatcher struct {
	logger *slog.Logger

	mu               sync.Mutex
	base             string
	allowContentType bool
	targets          map[string]*catcherTarget // by request id
}

// NewResponseCatcher returns a catcher. Call Start (or Listen and SetBaseURL) before NewURL.
func NewResponseCatcher() *ResponseCatcher {
	return &ResponseCatcher{
		logger:  slog.New(slog.DiscardHandler),
		targets: map[string]*catcherTarget{},
	}
}

// SetLogger makes the catcher log one line per attempt (never the signature or the body).
func (c *ResponseCatcher) SetLogger(l *slog.Logger) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.logger = l
}

// AllowContentType makes the catcher accept PUTs that send a Content-Type (as S3 does for
// SigV4 URLs signed for the host header only).
func (c *ResponseCatcher) AllowContentType(allow bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.allowContentType = allow
}

// Start serves the catcher on a free 127.0.0.1 port and sets its base URL. It panics if no
// loopback port is available.
func (c *ResponseCatcher) Start() (url string, stop func()) {
	u, stop := start(c)
	c.SetBaseURL(u)
	return u, stop
}

// SetBaseURL sets the "http://host:port" the minted URLs point to.
func (c *ResponseCatcher) SetBaseURL(u string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.base = strings.TrimRight(u, "/")
}

// NewURL mints a response URL for requestID with a default stack and logical id.
func (c *ResponseCatcher) NewURL(requestID string) string {
	u, err := c.NewURLFor(Target{RequestID: requestID})
	if err != nil {
		panic(fmt.Sprintf("localaws: NewURL: %v", err))
	}
	return u
}

// NewURLFor mints a response URL for t. Minting again for the same request id returns a
// new URL with a new signature and forgets the old one's attempts.
func (c *ResponseCatcher) NewURLFor(t Target) (string, error) {
	if t.RequestID == "" || strings.ContainsAny(t.RequestID, "/?#%") {
		return "", fmt.Errorf("request id %q is empty or has URL-reserved characters", t.RequestID)
	}
	stack := "local-stack"
	if t.StackID != "" {
		// arn:aws:cloudformation:region:account:stack/<name>/<guid>
		if parts := strings.Split(t.StackID, "/"); len(parts) >= 2 && parts[1] != "" {
			stack = parts[1]
		}
	}
	logical := t.LogicalResourceID
	if logical == "" {
		logical = "Resource"
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.base == "" {
		return "", errors.New("catcher has no base URL: call Start or SetBaseURL first")
	}
	if _, ok := c.targets[t.RequestID]; !ok && len(c.targets) >= maxTargets {
		return "", fmt.Errorf("catcher holds %d request ids already", maxTargets)
	}
	ct := &catcherTarget{
		Target:    t,
		path:      responsesPrefix + url.PathEscape(stack) + "/" + url.PathEscape(logical) + "/" + t.RequestID,
		signature: randomHex(32),
		answered:  make(chan struct{}),
	}
	c.targets[t.RequestID] = ct
	now := time.Now().UTC()
	q := url.Values{}
	q.Set("X-Amz-Algorithm", "AWS4-HMAC-SHA256")
	q.Set("X-Amz-Date", now.Format("20060102T150405Z"))
	q.Set("X-Amz-SignedHeaders", "host")
	q.Set("X-Amz-Expires", "7200")
	q.Set("X-Amz-Credential", "AKIALOCALCLOUDFORMATION/"+now.Format("20060102")+"/us-east-1/s3/aws4_request")
	q.Set("X-Amz-Signature", ct.signature)
	return c.base + ct.path + "?" + q.Encode(), nil
}

// Signature returns the secret part of the URL minted for requestID, so tests can make
// sure it never appears in logs.
func (c *ResponseCatcher) Signature(requestID string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.targets[requestID]; ok {
		return t.signature
	}
	return ""
}

// FailNext makes the next n attempts on requestID's URL fail with the HTTP status (for
// example 500 or 503, answered in S3's XML error shape) or, with FaultReset, with a
// connection reset. Calls queue up.
func (c *ResponseCatcher) FailNext(requestID string, n, status int) error {
	if n <= 0 || (status != FaultReset && (status < 400 || status > 599)) {
		return fmt.Errorf("FailNext(%d, %d): need n > 0 and a 4xx/5xx status or FaultReset", n, status)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.targets[requestID]
	if !ok {
		return fmt.Errorf("no URL minted for request id %q", requestID)
	}
	t.faults = append(t.faults, fault{n: n, status: status})
	return nil
}

// Attempts returns every attempt made on requestID's URL, oldest first.
func (c *ResponseCatcher) Attempts(requestID string) []Attempt {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.targets[requestID]
	if !ok {
		return nil
	}
	out := make([]Attempt, len(t.attempts))
	for i, a := range t.attempts {
		a.Header = a.Header.Clone()
		a.Body = slices.Clone(a.Body)
		out[i] = a
	}
	return out
}

// Answers is how many PUTs to requestID's URL S3 accepted (stored). A correct custom
// resource answers exactly once.
func (c *ResponseCatcher) Answers(requestID string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t, ok := c.targets[requestID]; ok {
		return t.accepted
	}
	return 0
}

// Response returns the first accepted response for requestID without waiting; ok is false
// when none arrived yet. err is an *InvalidResponseError when CloudFormation would reject it.
func (c *ResponseCatcher) Response(requestID string) (resp Response, ok bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, found := c.targets[requestID]
	if !found || t.accepted == 0 {
		return Response{}, false, nil
	}
	return t.resultLocked()
}

func (t *catcherTarget) resultLocked() (Response, bool, error) {
	var r Response
	if t.final != nil {
		r = *t.final
	}
	if t.invalid != "" {
		return r, true, &InvalidResponseError{RequestID: t.RequestID, Reason: t.invalid}
	}
	return r, true, nil
}

// Wait blocks until S3 accepted a PUT for requestID or ctx ends, and returns the decoded
// response. The error is an *InvalidResponseError when CloudFormation would reject the
// response (too long, malformed, missing fields, ids that do not match).
func (c *ResponseCatcher) Wait(ctx context.Context, requestID string) (Response, error) {
	c.mu.Lock()
	t, ok := c.targets[requestID]
	c.mu.Unlock()
	if !ok {
		return Response{}, fmt.Errorf("no URL minted for request id %q", requestID)
	}
	select {
	case <-t.answered:
	case <-ctx.Done():
		return Response{}, fmt.Errorf("waiting for the response to request %s: %w", requestID, context.Cause(ctx))
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	r, _, err := t.resultLocked()
	return r, err
}

// ServeHTTP serves response URLs and the control API.
func (c *ResponseCatcher) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, controlPrefix) {
		c.serveControl(w, r)
		return
	}
	c.serveResponse(w, r)
}

func (c *ResponseCatcher) serveResponse(w http.ResponseWriter, r *http.Request) {
	body, readErr := io.ReadAll(io.LimitReader(r.Body, maxAttemptBody))
	a := Attempt{
		Time:          time.Now(),
		Method:        r.Method,
		Header:        r.Header.Clone(),
		ContentType:   r.Header.Get("Content-Type"),
		ContentLength: r.ContentLength,
		Body:          body,
	}
	requestID := r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]

	c.mu.Lock()
	t, ok := c.targets[requestID]
	var logger = c.logger
	switch {
	case !strings.HasPrefix(r.URL.Path, responsesPrefix) || !ok:
		c.mu.Unlock()
		logger.Warn("response URL unknown", "path", r.URL.Path, "method", r.Method)
		writeS3Error(w, http.StatusForbidden, "AccessDenied", "Access Denied")
		return
	case len(t.attempts) >= maxAttempts:
		c.mu.Unlock()
		writeS3Error(w, http.StatusServiceUnavailable, "SlowDown", "Please reduce your request rate.")
		return
	}
	status, code, msg := http.StatusOK, "", ""
	sig := r.URL.Query().Get("X-Amz-Signature")
	switch {
	case r.URL.Path != t.path || r.URL.Query().Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || sig == "":
		status, code, msg = http.StatusForbidden, "AccessDenied", "Query-string authentication requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters."
	case subtle.ConstantTimeCompare([]byte(sig), []byte(t.signature)) != 1:
		status, code, msg = http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	case r.Method != http.MethodPut:
		// The method is part of the signature: a GET or POST on a PUT URL does not match.
		status, code, msg = http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method."
	case a.ContentType != "" && !c.allowContentType:
		status, code, msg = http.StatusForbidden, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided (the URL was signed without a Content-Type)."
	case readErr != nil:
		status, code, msg = http.StatusBadRequest, "IncompleteBody", "You did not provide the number of bytes specified by the Content-Length HTTP header."
	}
	reset := false
	if status == http.StatusOK && len(t.faults) > 0 {
		f := &t.faults[0]
		if f.status == FaultReset {
			reset = true
			a.Status, a.Fault = 0, "connection reset"
		} else {
			status, code, msg = f.status, s3CodeFor(f.status), "injected fault"
			a.Fault = fmt.Sprintf("injected %d", f.status)
		}
		f.n--
		if f.n == 0 {
			t.faults = t.faults[1:]
		}
	}
	if !reset {
		a.Status = status
	}
	if status == http.StatusOK && !reset {
		a.Accepted = true
		t.accepted++
		if t.accepted == 1 {
			t.final, t.invalid = validateResponse(t.Target, body)
			a.Invalid = t.invalid
			close(t.answered)
		}
	}
	t.attempts = append(t.attempts, a)
	c.mu.Unlock()

	logger.Info("cloudformation response attempt", "requestId", requestID, "method", r.Method,
		"status", a.Status, "fault", a.Fault, "bytes", len(body), "accepted", a.Accepted, "invalid", a.Invalid)
	if reset {
		resetConnection(w)
		return
	}
	if status != http.StatusOK {
		writeS3Error(w, status, code, msg)
		return
	}
	w.Header().Set("ETag", `"`+randomHex(16)+`"`)
	w.Header().Set("x-amz-request-id", strings.ToUpper(randomHex(8)))
	w.WriteHeader(http.StatusOK)
}

// validateResponse decodes body as CloudFormation does and says why it would reject it.
func validateResponse(t Target, body []byte) (*Response, string) {
	var r Response
	if err := json.Unmarshal(body, &r); err != nil {
		return nil, "Invalid response object: " + err.Error()
	}
	switch {
	case len(body) > MaxResponseBytes:
		return &r, ReasonTooLong
	case r.Status != "SUCCESS" && r.Status != "FAILED":
		return &r, fmt.Sprintf("Invalid response object: Status %q is not SUCCESS or FAILED", r.Status)
	case r.Status == "FAILED" && r.Reason == "":
		return &r, "Invalid response object: Reason is required when Status is FAILED"
	case r.PhysicalResourceID == "":
		return &r, "Invalid PhysicalResourceId"
	case len(r.PhysicalResourceID) > maxPhysicalIDBytes:
		return &r, fmt.Sprintf("Invalid PhysicalResourceId: %d bytes exceeds %d", len(r.PhysicalResourceID), maxPhysicalIDBytes)
	case r.RequestID != t.RequestID:
		return &r, fmt.Sprintf("Invalid response object: RequestId %q does not match the request", r.RequestID)
	case r.StackID == "" || (t.StackID != "" && r.StackID != t.StackID):
		return &r, fmt.Sprintf("Invalid response object: StackId %q does not match the request", r.StackID)
	case r.LogicalResourceID == "" || (t.LogicalResourceID != "" && r.LogicalResourceID != t.LogicalResourceID):
		return &r, fmt.Sprintf("Invalid response object: LogicalResourceId %q does not match the request", r.LogicalResourceID)
	}
	return &r, ""
}

func s3CodeFor(status int) string {
	switch status {
	case http.StatusInternalServerError:
		return "InternalError"
	case http.StatusServiceUnavailable:
		return "SlowDown"
	case http.StatusForbidden:
		return "AccessDenied"
	default:
		return http.StatusText(status)
	}
}

func writeS3Error(w http.ResponseWriter, status int, code, msg string) {
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n<Error><Code>")
	_ = xmlEscape(&b, code)
	b.WriteString("</Code><Message>")
	_ = xmlEscape(&b, msg)
	b.WriteString("</Message><RequestId>" + strings.ToUpper(randomHex(8)) + "</RequestId></Error>")
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

func xmlEscape(b *bytes.Buffer, s string) error {
	r := strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;")
	_, err := r.WriteString(b, s)
	return err
}

// resetConnection aborts the connection with a TCP RST.
func resetConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// maxControlWait bounds the wait a control-API client may ask for.
const maxControlWait = 15 * time.Minute

// ControlResult is what GET /_local/responses/<requestId> answers.
type ControlResult struct {
	RequestID string    `json:"requestId"`
	Answered  bool      `json:"answered"`
	Answers   int       `json:"answers"`
	Response  *Response `json:"response,omitempty"`
	Invalid   string    `json:"invalid,omitempty"`
	Attempts  []Attempt `json:"attempts"`
}

func (c *ResponseCatcher) serveControl(w http.ResponseWriter, r *http.Request) {
	writeJSON := func(status int, v any) {
		b, err := json.Marshal(v)
		if err != nil {
			status, b = http.StatusInternalServerError, []byte(`{"error":"marshal"}`)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write(append(b, '\n'))
	}
	errJSON := func(status int, err error) { writeJSON(status, map[string]string{"error": err.Error()}) }

	switch {
	case r.URL.Path == controlPrefix+"response-urls" && r.Method == http.MethodPost:
		var t Target
		if err := json.NewDecoder(io.LimitReader(r.Body, 64<<10)).Decode(&t); err != nil {
			errJSON(http.StatusBadRequest, err)
			return
		}
		u, err := c.NewURLFor(t)
		if err != nil {
			errJSON(http.StatusBadRequest, err)
			return
		}
		writeJSON(http.StatusOK, map[string]string{"url": u})
	case strings.HasPrefix(r.URL.Path, controlPrefix+"responses/") && r.Method == http.MethodGet:
		id := strings.TrimPrefix(r.URL.Path, controlPrefix+"responses/")
		ctx := r.Context()
		if ws := r.URL.Query().Get("wait"); ws != "" {
			d, err := time.ParseDuration(ws)
			if err != nil || d < 0 || d > maxControlWait {
				errJSON(http.StatusBadRequest, fmt.Errorf("wait %q: want a duration up to %s", ws, maxControlWait))
				return
			}
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, d)
			defer cancel()
			if _, err := c.Wait(ctx, id); err != nil && !errors.As(err, new(*InvalidResponseError)) && ctx.Err() == nil {
				errJSON(http.StatusNotFound, err)
				return
			}
		}
		c.mu.Lock()
		_, ok := c.targets[id]
		c.mu.Unlock()
		if !ok {
			errJSON(http.StatusNotFound, fmt.Errorf("no URL minted for request id %q", id))
			return
		}
		res := ControlResult{RequestID: id, Attempts: c.Attempts(id)}
		resp, answered, err := c.Response(id)
		res.Answered, res.Answers = answered, c.Answers(id)
		if answered && (resp.Status != "" || resp.RequestID != "") {
			res.Response = &resp
		}
		var ire *InvalidResponseError
		if errors.As(err, &ire) {
			res.Invalid = ire.Reason
		}
		writeJSON(http.StatusOK, res)
	default:
		errJSON(http.StatusNotFound, fmt.Errorf("no control endpoint %s %s", r.Method, r.URL.Path))
	}
}
