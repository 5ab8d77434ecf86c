package sysdig

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"
)

// Instances that learn the limit at the same moment start at random points of their
// second interval, so that they do not send in waves; each takes its share.
func TestPacerShareAndPhase(t *testing.T) {
	header := func(v string) http.Header {
		h := http.Header{}
		h.Set(RateLimitHeader, v)
		return h
	}
	for _, tc := range []struct {
		header    string
		instances int
		wantRate  float64 // per second
	}{
		{"600", 1, 600 * paceShare / 60},
		{"3000", 5, 3000 * paceShare / 60 / 5},
		{"100000", 2, maxRateLimit * paceShare / 60 / 2},
	} {
		p := &pacer{instances: tc.instances}
		before := time.Now()
		p.observe(header(tc.header))
		if got := float64(p.limiter.Limit()); got < tc.wantRate*0.999 || got > tc.wantRate*1.001 {
			t.Fatalf("%s/%d: %.3f per second, want %.3f", tc.header, tc.instances, got, tc.wantRate)
		}
		every := time.Duration(float64(time.Second) / tc.wantRate)
		if off := p.notBefore.Sub(before); off < every || off > 2*every+time.Millisecond {
			t.Fatalf("%s/%d: first paced request after %s, want between %s and %s", tc.header, tc.instances, off, every, 2*every)
		}
		// A limit restated changes nothing; a new one changes the rate, not the phase.
		nb := p.notBefore
		p.observe(header(tc.header))
		p.observe(header("60"))
		want := 60 * paceShare / 60 / float64(tc.instances)
		if got := float64(p.limiter.Limit()); p.notBefore != nb || got < want*0.999 || got > want*1.001 {
			t.Fatalf("%s/%d: after a new limit %.3f per second (want %.3f), phase moved %v", tc.header, tc.instances, got, want, p.notBefore != nb)
		}
	}
}

// A request marked Unpaced leaves at once even when pacing would refuse it for its
// deadline; others are still refused.
func TestUnpacedLeavesAtOnce(t *testing.T) {
	p := &pacer{instances: 5}
	h := http.Header{}
	h.Set(RateLimitHeader, "60") // 60/min shared by 5: one request every ~5.3 s
	p.observe(h)
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	if err := p.wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("paced request with 0.5 s left: %v, want it refused for the deadline", err)
	}
	// Paced, each would need seconds: within the same 0.5 s they can only pass unpaced.
	for range 3 {
		if err := p.wait(Unpaced(ctx)); err != nil {
			t.Fatalf("unpaced request: %v", err)
		}
	}
}
