package sysdig

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

const (
	// RateLimitHeader is the header in which Sysdig's public API states its limit, in
	// requests per minute, on every answer (Sysdig's OpenAPI: 1 to 4096).
	RateLimitHeader = "X-RateLimit-Limit"
	maxRateLimit    = 4096
	// paceShare is the part of Sysdig's limit the instances use between them: the rest is
	// left for whoever else uses the token (the console, Terraform) and absorbs clock
	// differences, so a paced rollout meets no 429.
	paceShare = 0.95
)

// pacer spaces this client's requests so that all the instances sharing the token stay
// under Sysdig's limit: each takes limit/instances of it. Until an answer states the limit
// (or WithRateLimit sets one) requests are not held back.
type pacer struct {
	instances int

	mu      sync.Mutex
	limiter *rate.Limiter // nil while the limit is unknown
	perMin  int           // the limit the limiter follows
	// notBefore holds this instance's first paced request to a random point of its
	// second interval, once: instances that learn the limit at the same moment (a
	// rollout starts them together) then send at evenly spread moments rather than in
	// waves that meet Sysdig all at once.
	notBefore time.Time
}

// observe follows the limit an answer states; a missing or invalid header changes nothing.
func (p *pacer) observe(h http.Header) {
	v := strings.TrimSpace(h.Get(RateLimitHeader))
	if v == "" {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return
	}
	p.set(min(n, maxRateLimit))
}

// set paces to perMin requests per minute shared by p.instances.
func (p *pacer) set(perMin int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if perMin == p.perMin {
		return
	}
	p.perMin = perMin
	r := rate.Limit(float64(perMin) * paceShare / 60 / float64(max(p.instances, 1)))
	if p.limiter == nil {
		// A burst of one: requests leave evenly spaced, never in a clump. Its one token
		// counts as spent on the request whose answer stated the limit.
		p.limiter = rate.NewLimiter(r, 1)
		p.limiter.Allow()
		every := time.Duration(float64(time.Second) / float64(r))
		p.notBefore = time.Now().Add(every + rand.N(every+1))
		return
	}
	p.limiter.SetLimit(r)
}

// limit is the stated limit per minute, 0 while unknown.
func (p *pacer) limit() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.perMin
}

type unpacedKey struct{}

// Unpaced marks ctx's requests as leaving at once, whatever the pacing: the one-off calls
// that undo or settle a registration within a short cleanup window, which a pacer sized
// for a rollout (seconds between requests) would refuse as too late, leaking a provider.
// Sysdig may still answer 429; its Retry-After is honoured as usual.
func Unpaced(ctx context.Context) context.Context { return context.WithValue(ctx, unpacedKey{}, true) }

// wait holds the caller until its request may leave, or fails at once when that would be
// after ctx's deadline.
func (p *pacer) wait(ctx context.Context) error {
	if unpaced, _ := ctx.Value(unpacedKey{}).(bool); unpaced {
		return nil
	}
	p.mu.Lock()
	l, notBefore := p.limiter, p.notBefore
	p.notBefore = time.Time{}
	p.mu.Unlock()
	if l == nil {
		return nil
	}
	if d := time.Until(notBefore); d > 0 {
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < d {
			return fmt.Errorf("pacing to Sysdig's limit of %d requests per minute (%d instances sharing it) would pass the deadline: %w",
				p.limit(), max(p.instances, 1), context.DeadlineExceeded)
		}
		t := time.NewTimer(d)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
	if err := l.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		// rate's "would exceed context deadline": waiting could only end in a timeout.
		return fmt.Errorf("pacing to Sysdig's limit of %d requests per minute (%d instances sharing it) would pass the deadline: %w",
			p.limit(), max(p.instances, 1), context.DeadlineExceeded)
	}
	return nil
}

// jitter lengthens a Retry-After wait by up to half (at least up to 250 ms), so that
// instances told the same thing do not come back in the same instant.
func jitter(d time.Duration) time.Duration {
	spread := max(d/2, 250*time.Millisecond)
	return d + rand.N(spread)
}
