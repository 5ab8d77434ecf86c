package sysdig

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v5"

	"sysdig-aws-connect/internal/redact"
)

const (
	// maxBodyBytes bounds a successful response body read into memory.
	maxBodyBytes = 1 << 20
	// maxErrorBodyBytes bounds an error response body read into memory.
	maxErrorBodyBytes = 64 << 10

	defaultRequestTimeout = 15 * time.Second
	defaultRetryInitial   = 500 * time.Millisecond
	defaultRetryMax       = 20 * time.Second
	defaultMaxAttempts    = 8
	// maxThrottledAttempts bounds the retries that Retry-After answers ask for.
	maxThrottledAttempts = 100
	defaultUserAgent     = "sysdig-aws-connect"
)

// Client talks to one Sysdig Monitor API endpoint with one API token.
// It is safe for concurrent use.
type Client struct {
	base        *url.URL
	token       string
	scrubber    *redact.Scrubber
	httpClient  *http.Client
	insecure    bool
	logger      *slog.Logger
	reqTimeout  time.Duration
	retryInit   time.Duration
	retryMax    time.Duration
	maxAttempts int
	userAgent   string
	optErrs     []error
	pace        pacer
	// initialLimit is WithRateLimit's value, applied once the options are all read.
	initialLimit int
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient makes the client send requests through hc (its Timeout, if
// any, applies on top of the per-attempt timeout).
func WithHTTPClient(hc *http.Client) Option {
	return func(c *Client) {
		if hc == nil {
			//msg:internal a programming error: the option is set in code
			c.optErrs = append(c.optErrs, errors.New("sysdig: WithHTTPClient(nil): pass an *http.Client or leave the option out"))
			return
		}
		c.httpClient = hc
	}
}

// WithInsecureSkipVerify turns off TLS certificate verification, for on-prem
// installations with a self-signed certificate (the seed document's curl -k).
// The client logs a warning when it is created with this option.
func WithInsecureSkipVerify() Option { return func(c *Client) { c.insecure = true } }

// WithLogger sets where the client logs retries (warn) and requests (debug).
// Logs carry method, path, status, attempt and wait; never the token.
func WithLogger(l *slog.Logger) Option {
	return func(c *Client) {
		if l != nil {
			c.logger = l
		}
	}
}

// WithRequestTimeout bounds each attempt (default 15s). The caller's context
// bounds the whole call, retries included.
func WithRequestTimeout(d time.Duration) Option {
	return func(c *Client) {
		if d <= 0 {
			//msg:internal a programming error: the option is set in code
			c.optErrs = append(c.optErrs, fmt.Errorf("sysdig: request timeout %s must be positive", d))
			return
		}
		c.reqTimeout = d
	}
}

// WithRetry sets the exponential backoff: the first wait, the longest wait and
// the number of attempts in all (1 = no retries). Default 500ms, 20s, 8.
func WithRetry(initial, max time.Duration, maxAttempts int) Option {
	return func(c *Client) {
		if initial <= 0 || max < initial || maxAttempts < 1 {
			//msg:internal a programming error: the option is set in code
			c.optErrs = append(c.optErrs, fmt.Errorf("sysdig: WithRetry(%s, %s, %d): expected 0 < initial <= max and at least 1 attempt", initial, max, maxAttempts))
			return
		}
		c.retryInit, c.retryMax, c.maxAttempts = initial, max, maxAttempts
	}
}

// WithConcurrentInstances says how many clients (function instances) share the token's
// rate limit at most at once; each paces itself to its share of the limit Sysdig states
// in X-RateLimit-Limit. Default 1.
func WithConcurrentInstances(n int) Option {
	return func(c *Client) {
		if n < 1 {
			//msg:internal a programming error: the option is set in code
			c.optErrs = append(c.optErrs, fmt.Errorf("sysdig: WithConcurrentInstances(%d): expected at least 1", n))
			return
		}
		c.pace.instances = n
	}
}

// WithRateLimit paces requests to perMinute requests per minute (shared with the other
// instances) from the first request on, before any answer states the limit; an answer's
// X-RateLimit-Limit then replaces it.
func WithRateLimit(perMinute int) Option {
	return func(c *Client) {
		if perMinute < 1 {
			//msg:internal a programming error: the option is set in code
			c.optErrs = append(c.optErrs, fmt.Errorf("sysdig: WithRateLimit(%d): expected at least 1 request per minute", perMinute))
			return
		}
		c.initialLimit = min(perMinute, maxRateLimit)
	}
}

// WithUserAgent sets the User-Agent header.
func WithUserAgent(ua string) Option {
	return func(c *Client) {
		if ua = strings.TrimSpace(ua); ua != "" {
			c.userAgent = ua
		}
	}
}

// New returns a client for the Sysdig API at baseURL (see ValidateBaseURL)
// that authenticates with the given API token.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := ValidateBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return nil, errors.New("sysdig: the API token is empty: pass the Sysdig Monitor API token of an administrator (Settings > User Profile > Sysdig Monitor API)")
	}
	if strings.ContainsAny(token, "\r\n\x00") {
		return nil, errors.New("sysdig: the API token contains line breaks or NUL bytes: check how the secret was stored")
	}
	c := &Client{
		base:        u,
		token:       token,
		scrubber:    redact.New(token),
		logger:      slog.New(slog.DiscardHandler),
		reqTimeout:  defaultRequestTimeout,
		retryInit:   defaultRetryInitial,
		retryMax:    defaultRetryMax,
		maxAttempts: defaultMaxAttempts,
		userAgent:   defaultUserAgent,
	}
	for _, opt := range opts {
		opt(c)
	}
	if len(c.optErrs) > 0 {
		return nil, errors.Join(c.optErrs...)
	}
	if c.initialLimit > 0 {
		c.pace.set(c.initialLimit)
	}
	if c.httpClient == nil {
		c.httpClient = &http.Client{
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			// The Sysdig API does not redirect; following one could send
			// the token somewhere else or over plain http.
			CheckRedirect: func(req *http.Request, _ []*http.Request) error {
				return fmt.Errorf("%w to %s: set the Sysdig API URL to the final address", errRedirect, req.URL.Redacted())
			},
		}
	}
	if c.insecure {
		hc := *c.httpClient
		var tr *http.Transport
		switch t := hc.Transport.(type) {
		case nil:
			tr = http.DefaultTransport.(*http.Transport).Clone()
		case *http.Transport:
			tr = t.Clone()
		default:
			//msg:internal a programming error: the option is set in code
			return nil, fmt.Errorf("sysdig: WithInsecureSkipVerify needs an *http.Transport, the HTTP client has a %T: configure TLS on that transport instead", t)
		}
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{}
		}
		tr.TLSClientConfig.InsecureSkipVerify = true //nolint:gosec // explicit opt-in for on-prem self-signed certificates
		hc.Transport = tr
		c.httpClient = &hc
		c.logger.Warn("sysdig: TLS certificate verification is OFF for the Sysdig API; use this only for an on-prem installation with a self-signed certificate", "host", u.Host)
	}
	return c, nil
}

// BaseURL returns the validated base URL the client talks to.
func (c *Client) BaseURL() string { return c.base.String() }

// RateLimit is the limit, in requests per minute for all instances together, that the
// client paces to: the last X-RateLimit-Limit Sysdig stated (or WithRateLimit's); 0 while
// unknown.
func (c *Client) RateLimit() int { return c.pace.limit() }

// CloseIdleConnections closes the kept-alive connections the client is not using.
func (c *Client) CloseIdleConnections() { c.httpClient.CloseIdleConnections() }

// ValidateBaseURL checks a Sysdig API base URL: https://host[:port][/prefix],
// for example https://app.sysdigcloud.com or https://sysdig.example.com/monitor
// (on-prem behind a path). Plain http is accepted only for loopback hosts
// (127.0.0.0/8, ::1, localhost), for local emulators. A trailing slash is
// removed; a path prefix is kept.
func ValidateBaseURL(raw string) (*url.URL, error) {
	const expected = "expected https://<host>[/<path>], for example https://app.sysdigcloud.com or https://eu1.app.sysdig.com"
	s := strings.TrimSpace(raw)
	if s == "" {
		return nil, fmt.Errorf("sysdig: the API base URL is empty: %s", expected)
	}
	shown := capText(printable(s), 200)
	u, err := url.Parse(s)
	if err != nil {
		return nil, fmt.Errorf("sysdig: the API base URL %q does not parse (%v): %s", shown, errors.Unwrap(err), expected)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme == "" || u.Host == "" || u.Opaque != "" {
		return nil, fmt.Errorf("sysdig: the API base URL %q has no scheme or host: %s", shown, expected)
	}
	if scheme != "https" && scheme != "http" {
		return nil, fmt.Errorf("sysdig: the API base URL %q uses %q: %s", shown, u.Scheme, expected)
	}
	if u.User != nil {
		return nil, fmt.Errorf("sysdig: the API base URL must not carry credentials: %s (the API token is passed separately)", expected)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.ForceQuery {
		return nil, fmt.Errorf("sysdig: the API base URL %q has a query or fragment: %s", shown, expected)
	}
	host := u.Hostname()
	if host == "" {
		return nil, fmt.Errorf("sysdig: the API base URL %q has no host: %s", shown, expected)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("sysdig: the API base URL %q has an invalid port %q: %s", shown, p, expected)
		}
	}
	if scheme == "http" && !isLoopbackHost(host) {
		return nil, fmt.Errorf("sysdig: the API base URL %q uses plain http, which would send the API token unencrypted: use https://%s (plain http is accepted only for 127.0.0.1, ::1 and localhost)", shown, u.Host+strings.TrimRight(u.Path, "/"))
	}
	out := &url.URL{Scheme: scheme, Host: strings.ToLower(u.Host), Path: strings.TrimRight(u.Path, "/")}
	return out, nil
}

func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// errRedirect marks a refused redirect; it is not retried.
var errRedirect = errors.New("the API answered with a redirect")

// request describes one logical API call (possibly several attempts).
type request struct {
	method string
	path   string // API path, e.g. /api/providers/7
	body   []byte
	// stream, when set, reads a 2xx answer's body as it arrives instead of the client
	// reading it whole (bounded) into memory: lists grow with the tenant, and so does
	// the v1 create answer. It may be called once per attempt and must start afresh
	// each time. A *streamError it returns is final; any other error is the connection's.
	stream func(r io.Reader) error
	// beforeRetry, when set, runs before an attempt that follows an
	// attempt with an ambiguous outcome. Returning done stops the call with
	// the given error (nil when the earlier attempt is known to have worked).
	beforeRetry func(ctx context.Context) (done bool, err error)
	// onConflictAfterAmbiguous, when set, runs when an attempt answers 409
	// after an earlier attempt's outcome was ambiguous: the earlier attempt
	// probably worked.
	onConflictAfterAmbiguous func(ctx context.Context) (done bool, err error)
}

// response is a successful answer.
type response struct {
	status int
	body   []byte
	// resolved is set when a hook resolved the call without a response
	// (for example a create found to have worked after all).
	resolved bool
}

// errAmbiguous marks a failed attempt whose request may have been processed.
type attemptError struct {
	err       error
	ambiguous bool
}

func (e *attemptError) Error() string { return e.err.Error() }
func (e *attemptError) Unwrap() error { return e.err }

// deadlineBackOff stops the exponential backoff when the next wait would end
// after the context deadline: waiting would only end in a timeout.
type deadlineBackOff struct {
	ctx         context.Context
	inner       backoff.BackOff
	skipCheck   bool // the next wait comes from Retry-After, already checked
	stoppedWait time.Duration
}

func (d *deadlineBackOff) Reset() { d.inner.Reset() }

func (d *deadlineBackOff) NextBackOff() time.Duration {
	next := d.inner.NextBackOff()
	if next == backoff.Stop || d.skipCheck {
		return next
	}
	if dl, ok := d.ctx.Deadline(); ok && time.Until(dl) < next {
		d.stoppedWait = next
		return backoff.Stop
	}
	return next
}

// do runs a request with retries and returns the successful answer.
func (c *Client) do(ctx context.Context, r request) (response, error) {
	if err := ctx.Err(); err != nil {
		return response{}, fmt.Errorf("sysdig: %s %s: not sent: %w", r.method, r.path, err)
	}
	exp := backoff.NewExponentialBackOff()
	exp.InitialInterval = c.retryInit
	exp.MaxInterval = c.retryMax
	bo := &deadlineBackOff{ctx: ctx, inner: exp}

	var (
		attempts      int
		lastErr       error
		lastAmbiguous bool
		everAmbiguous bool
		permanent     bool
		// Answers that say when to come back (429/503 with Retry-After) are throttling,
		// not failure: they do not use up maxAttempts, only their own larger budget, so a
		// rate limit slows a rollout without failing it. The deadline bounds both.
		throttled int
		exhausted bool
	)
	op := func() (response, error) {
		if attempts > 0 && lastAmbiguous && r.beforeRetry != nil {
			if done, err := r.beforeRetry(ctx); done {
				permanent = true
				if err != nil {
					lastErr = err
					return response{}, backoff.Permanent(err)
				}
				return response{resolved: true}, nil
			}
		}
		attempts++
		bo.skipCheck = false
		resp, err := c.attempt(ctx, r, attempts)
		if err == nil {
			return resp, nil
		}
		lastErr = err
		var pe *backoff.PermanentError
		if errors.As(err, &pe) {
			permanent = true
			lastErr = pe.Unwrap()
			return response{}, err
		}
		var ae *attemptError
		if errors.As(err, &ae) {
			lastAmbiguous = ae.ambiguous
			everAmbiguous = everAmbiguous || ae.ambiguous
		}
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			switch {
			case apiErr.StatusCode == http.StatusConflict && everAmbiguous && r.onConflictAfterAmbiguous != nil:
				if done, herr := r.onConflictAfterAmbiguous(ctx); done {
					permanent = true
					if herr != nil {
						lastErr = herr
						return response{}, backoff.Permanent(herr)
					}
					return response{resolved: true}, nil
				}
				permanent = true
				return response{}, backoff.Permanent(err)
			case (apiErr.StatusCode == http.StatusTooManyRequests || apiErr.StatusCode == http.StatusServiceUnavailable) && apiErr.RetryAfter > 0:
				if dl, ok := ctx.Deadline(); ok && time.Until(dl) < apiErr.RetryAfter {
					permanent = true
					lastErr = fmt.Errorf("%w (gave up after %s: Retry-After %s is beyond the deadline, %s left: %w)",
						apiErr, attemptsText(attempts), apiErr.RetryAfter, time.Until(dl).Round(time.Millisecond), context.DeadlineExceeded)
					return response{}, backoff.Permanent(lastErr)
				}
				throttled++
				wait := jitter(apiErr.RetryAfter)
				if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
					wait = apiErr.RetryAfter
				}
				if throttled <= maxThrottledAttempts {
					bo.skipCheck = true
					c.logger.Warn("sysdig: retrying", "method", r.method, "path", r.path, "status", apiErr.StatusCode, "attempt", attempts, "wait", wait, "reason", "Retry-After", "rate_limit_per_minute", c.pace.limit())
				}
				return response{}, &backoff.RetryAfterError{Duration: wait}
			case !retryableStatus(apiErr.StatusCode):
				permanent = true
				return response{}, backoff.Permanent(err)
			}
		}
		if attempts-throttled >= c.maxAttempts {
			exhausted = true
			return response{}, backoff.Permanent(err)
		}
		return response{}, err
	}
	notify := func(err error, wait time.Duration) {
		var ra *backoff.RetryAfterError
		if errors.As(err, &ra) {
			return // logged above with its status
		}
		status := 0
		var apiErr *APIError
		if errors.As(err, &apiErr) {
			status = apiErr.StatusCode
		}
		c.logger.Warn("sysdig: retrying", "method", r.method, "path", r.path, "status", status, "attempt", attempts, "wait", wait, "error", c.scrub(err.Error()))
	}
	resp, err := backoff.Retry(ctx, op,
		backoff.WithBackOff(bo),
		backoff.WithMaxTries(uint(c.maxAttempts+maxThrottledAttempts)),
		backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(notify))
	if err == nil {
		return resp, nil
	}
	if lastErr == nil {
		lastErr = err
	}
	switch {
	case exhausted:
		return response{}, fmt.Errorf("%w (gave up after %s)", lastErr, attemptsText(attempts))
	case permanent:
		return response{}, lastErr
	case ctx.Err() != nil:
		return response{}, fmt.Errorf("%w (gave up after %s: %w)", lastErr, attemptsText(attempts), ctx.Err())
	case bo.stoppedWait > 0:
		return response{}, fmt.Errorf("%w (gave up after %s: the next retry in %s would pass the deadline: %w)", lastErr, attemptsText(attempts), bo.stoppedWait.Round(time.Millisecond), context.DeadlineExceeded)
	default:
		return response{}, fmt.Errorf("%w (gave up after %s)", lastErr, attemptsText(attempts))
	}
}

func attemptsText(n int) string {
	if n == 1 {
		return "1 attempt"
	}
	return strconv.Itoa(n) + " attempts"
}

// retryableStatus: 429 and 5xx, except 501 and 505, which do not get better.
func retryableStatus(code int) bool {
	switch code {
	case http.StatusNotImplemented, http.StatusHTTPVersionNotSupported:
		return false
	}
	return code == http.StatusTooManyRequests || code >= 500
}

// attempt sends the request once.
func (c *Client) attempt(ctx context.Context, r request, n int) (response, error) {
	// The wait for a slot under Sysdig's limit is not part of the attempt's timeout.
	if err := c.pace.wait(ctx); err != nil {
		return response{}, backoff.Permanent(fmt.Errorf("sysdig: %s %s: not sent: %w", r.method, r.path, err))
	}
	actx, cancel := context.WithTimeout(ctx, c.reqTimeout)
	defer cancel()
	u := *c.base
	u.Path = c.base.Path + r.path
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(actx, r.method, u.String(), body)
	if err != nil {
		return response{}, backoff.Permanent(fmt.Errorf("sysdig: %s %s: building the request: %w", r.method, r.path, err))
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	if r.body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	start := time.Now()
	resp, err := c.httpClient.Do(req)
	defer countCall(ctx, start, resp)
	if err != nil {
		if ctx.Err() != nil {
			return response{}, &attemptError{err: fmt.Errorf("sysdig: %s %s: %w", r.method, r.path, ctx.Err()), ambiguous: true}
		}
		if errors.Is(err, errRedirect) {
			return response{}, backoff.Permanent(fmt.Errorf("sysdig: %s %s: %s", r.method, r.path, c.scrub(c.transportText(err, actx))))
		}
		return response{}, &attemptError{
			err:       fmt.Errorf("sysdig: %s %s: %s (check that the API URL %s is right and reachable)", r.method, r.path, c.scrub(c.transportText(err, actx)), c.base.Host),
			ambiguous: !isDialError(err),
		}
	}
	defer resp.Body.Close()
	c.pace.observe(resp.Header)
	if r.stream != nil && resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		body := &countingReader{r: resp.Body}
		err := r.stream(body)
		c.logger.Debug("sysdig: request", "method", r.method, "path", r.path, "status", resp.StatusCode, "attempt", n, "duration", time.Since(start).Round(time.Millisecond))
		var se *streamError
		switch {
		case err == nil:
			return response{status: resp.StatusCode}, nil
		case errors.As(err, &se):
			// The answer is not what was expected: another try would read the same.
			if se.foreign && body.n <= maxBodyBytes {
				// Only its size is wanted: read on, up to the cap, holding nothing.
				_, _ = io.Copy(io.Discard, io.LimitReader(body, maxBodyBytes+1-body.n))
			}
			if se.foreign && body.n > maxBodyBytes {
				return response{}, backoff.Permanent(fmt.Errorf("sysdig: %s %s: the answer is larger than %d bytes; is the API URL %s pointing at the Sysdig API? (%s)", r.method, r.path, maxBodyBytes, c.base.String(), c.scrub(err.Error())))
			}
			return response{}, backoff.Permanent(fmt.Errorf("sysdig: %s %s answered %d but: %w", r.method, r.path, resp.StatusCode, err))
		default:
			return response{}, &attemptError{err: fmt.Errorf("sysdig: %s %s: reading the %d answer: %s", r.method, r.path, resp.StatusCode, c.scrub(c.transportText(err, actx))), ambiguous: true}
		}
	}
	limit := int64(maxBodyBytes)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		limit = maxErrorBodyBytes
	}
	data, readErr := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	c.logger.Debug("sysdig: request", "method", r.method, "path", r.path, "status", resp.StatusCode, "attempt", n, "duration", time.Since(start).Round(time.Millisecond))
	if resp.StatusCode >= 200 && resp.StatusCode <= 299 {
		if readErr != nil {
			return response{}, &attemptError{err: fmt.Errorf("sysdig: %s %s: reading the %d answer: %s", r.method, r.path, resp.StatusCode, c.scrub(c.transportText(readErr, actx))), ambiguous: true}
		}
		if int64(len(data)) > limit {
			return response{}, backoff.Permanent(fmt.Errorf("sysdig: %s %s: the answer is larger than %d bytes; is the API URL %s pointing at the Sysdig API?", r.method, r.path, maxBodyBytes, c.base.String()))
		}
		// Any 2xx is success: v1 create is documented without its status
		// (200 or 201, ASSUMED), v1 delete may answer 200 or 204 (ASSUMED).
		return response{status: resp.StatusCode, body: data}, nil
	}
	// Scrub before anything is cut to length: a token split at a cut would survive.
	// A body cut where reading stopped (at the limit, or a broken connection) ends
	// mid-token, perhaps: a run of the token's characters at its end is masked too.
	text := string(data)
	if int64(len(data)) > limit || readErr != nil {
		text = c.scrubber.Truncated(text)
	} else {
		text = c.scrubber.String(text)
	}
	if int64(len(text)) > limit {
		text = text[:limit]
	}
	typ, msg := ParseErrorBody([]byte(text))
	apiErr := &APIError{
		Method:     r.method,
		Path:       r.path,
		StatusCode: resp.StatusCode,
		Type:       c.scrub(typ),
		Message:    c.scrub(msg),
		RetryAfter: parseRetryAfter(resp.Header.Get("Retry-After"), time.Now()),
	}
	return response{}, &attemptError{err: apiErr, ambiguous: resp.StatusCode >= 500 && resp.StatusCode != http.StatusServiceUnavailable}
}

// countingReader counts the bytes of an answer read so far.
type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// transportText describes a transport error, telling a per-attempt timeout
// apart from the caller's deadline.
func (c *Client) transportText(err error, actx context.Context) string {
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Sprintf("no answer within the per-request timeout of %s", c.reqTimeout)
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// isDialError reports whether the request certainly never reached the server.
func isDialError(err error) bool {
	var opErr *net.OpError
	if errors.As(err, &opErr) && opErr.Op == "dial" {
		return true
	}
	var dnsErr *net.DNSError
	return errors.As(err, &dnsErr)
}

// parseRetryAfter reads Retry-After as seconds or an HTTP date.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > 24*3600 {
			secs = 24 * 3600
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, 24*time.Hour)
		}
	}
	return 0
}

// scrub removes the token, in any of its forms and pieces, from text that came from
// the server or the network.
func (c *Client) scrub(s string) string { return c.scrubber.String(s) }
