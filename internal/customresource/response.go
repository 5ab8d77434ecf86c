package customresource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/cenkalti/backoff/v5"
)

// MaxResponseBytes is CloudFormation's limit for a whole response body.
const MaxResponseBytes = 4096

// MaxPhysicalIDBytes is CloudFormation's limit for a PhysicalResourceId.
const MaxPhysicalIDBytes = 1024

// Response is the answer sent to CloudFormation.
type Response = cfn.Response

// EncodeResponse marshals r so that it fits MaxResponseBytes: it shortens the Reason first
// (never the JSON), and if Data alone is too large it drops Data and says so in the Reason.
func EncodeResponse(r Response) ([]byte, error) {
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("encode response: %w", err)
	}
	if len(body) <= MaxResponseBytes {
		return body, nil
	}
	if r.Status == cfn.StatusSuccess && len(r.Data) > 0 {
		// Data that does not fit cannot reach the stack; a truthful FAILED beats a cut value.
		r.Status = cfn.StatusFailed
		r.Reason = fmt.Sprintf("response Data of %d bytes does not fit CloudFormation's %d-byte limit", len(body), MaxResponseBytes)
		r.Data = nil
		return EncodeResponse(r)
	}
	if len(r.Data) > 0 {
		r.Data = nil
		r.Reason = "(response Data dropped: over 4096 bytes) " + r.Reason
	}
	const ellipsis = " …(cut)"
	reason := r.Reason
	fits := func(n int) ([]byte, bool) {
		r.Reason = truncateUTF8(reason, n) + ellipsis
		b, err := json.Marshal(r)
		return b, err == nil && len(b) <= MaxResponseBytes
	}
	// Binary search for the longest prefix that fits once JSON-escaped (an escaped
	// character takes up to 6 bytes, so its length cannot be computed from bytes alone).
	best, ok := fits(0)
	if !ok {
		//msg:internal the response is bounded before it is encoded; the URL was checked
		return nil, fmt.Errorf("encode response: the response without its Reason exceeds %d bytes", MaxResponseBytes)
	}
	lo, hi := 0, min(len(reason), MaxResponseBytes)
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if b, ok := fits(mid); ok {
			best, lo = b, mid
		} else {
			hi = mid - 1
		}
	}
	return best, nil
}

// truncateUTF8 cuts s to at most n bytes without splitting a rune.
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// Sender delivers a response body to a presigned ResponseURL.
type Sender struct {
	client     *http.Client
	attemptMax time.Duration
	tries      uint
	initial    time.Duration
	maxWait    time.Duration
	onRetry    func(attempt int, err error, wait time.Duration)
}

// SenderOption configures a Sender.
type SenderOption func(*Sender)

// WithSendRetry sets the backoff between attempts and the number of attempts.
func WithSendRetry(initial, maxWait time.Duration, tries uint) SenderOption {
	return func(s *Sender) { s.initial, s.maxWait, s.tries = initial, maxWait, tries }
}

// WithAttemptTimeout bounds each PUT.
func WithAttemptTimeout(d time.Duration) SenderOption { return func(s *Sender) { s.attemptMax = d } }

// NewSender returns a Sender with bounded, jittered retries.
func NewSender(opts ...SenderOption) *Sender {
	s := &Sender{
		client: &http.Client{
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			// The answer goes to the ResponseURL only: a redirect would send Data (the
			// external ID, the provider id) wherever its Location names, plain http and
			// loopback included. The 3xx comes back as the attempt's answer, a failure.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		attemptMax: 10 * time.Second,
		tries:      6,
		initial:    250 * time.Millisecond,
		maxWait:    4 * time.Second,
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// SendError is a failed delivery; Status is the last HTTP status seen (0 for transport errors).
type SendError struct {
	Status   int
	Attempts int
	Err      error
}

func (e *SendError) Error() string {
	return fmt.Sprintf("send response after %d attempt(s): %v", e.Attempts, e.Err)
}
func (e *SendError) Unwrap() error { return e.Err }

// Send PUTs body to responseURL with no Content-Type (the URL is signed for the host header
// only), retrying transport errors, 5xx and 429 with exponential backoff and jitter, all
// bounded by ctx. It returns the number of attempts made.
func (s *Sender) Send(ctx context.Context, responseURL string, body []byte) (int, error) {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = s.initial, s.maxWait
	attempts := 0
	var lastStatus int
	var lastErr error
	_, err := backoff.Retry(ctx, func() (struct{}, error) {
		attempts++
		status, err := s.put(ctx, responseURL, body)
		lastStatus, lastErr = status, err
		if err == nil {
			return struct{}{}, nil
		}
		if status >= 400 && status < 500 && status != http.StatusTooManyRequests {
			return struct{}{}, backoff.Permanent(err)
		}
		return struct{}{}, err
	}, backoff.WithBackOff(b), backoff.WithMaxTries(s.tries), backoff.WithMaxElapsedTime(0),
		backoff.WithNotify(func(err error, wait time.Duration) {
			if s.onRetry != nil {
				s.onRetry(attempts, err, wait)
			}
		}))
	if err != nil {
		if lastErr != nil && ctx.Err() != nil {
			err = fmt.Errorf("%w (last attempt: %v)", err, lastErr)
		}
		return attempts, &SendError{Status: lastStatus, Attempts: attempts, Err: err}
	}
	return attempts, nil
}

func (s *Sender) put(ctx context.Context, responseURL string, body []byte) (int, error) {
	// One stalled connection must not use up the whole window: an attempt gets at most a
	// third of the time left, so there is room to try again.
	attempt := s.attemptMax
	if dl, ok := ctx.Deadline(); ok {
		attempt = min(attempt, max(time.Until(dl)/3, 100*time.Millisecond))
	}
	ctx, cancel := context.WithTimeout(ctx, attempt)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, responseURL, bytes.NewReader(body))
	if err != nil {
		//msg:internal the response is bounded before it is encoded; the URL was checked
		return 0, backoff.Permanent(fmt.Errorf("build PUT: %s", RedactURL(responseURL)))
	}
	req.ContentLength = int64(len(body))
	res, err := s.client.Do(req)
	if err != nil {
		// url.Error repeats the whole URL, signature included: keep only the cause.
		var uerr interface{ Unwrap() error }
		if errors.As(err, &uerr) && uerr.Unwrap() != nil {
			err = uerr.Unwrap()
		}
		return 0, fmt.Errorf("PUT %s: %w", RedactURL(responseURL), err)
	}
	defer res.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	if res.StatusCode >= 300 && res.StatusCode <= 399 {
		// Named by host only: neither the ResponseURL's path nor the Location is logged.
		return res.StatusCode, fmt.Errorf("PUT to %s: HTTP %d, a redirect, which is not followed (the answer goes to the ResponseURL only)", ResponseHost(responseURL), res.StatusCode)
	}
	if res.StatusCode < 200 || res.StatusCode > 299 {
		return res.StatusCode, fmt.Errorf("PUT %s: HTTP %d", RedactURL(responseURL), res.StatusCode)
	}
	return res.StatusCode, nil
}
