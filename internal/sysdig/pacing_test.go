package sysdig_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
)

// The client follows X-RateLimit-Limit from the first answer on, taking its share.
func TestRateLimitHeaderFollowed(t *testing.T) {
	cases := []struct {
		name   string
		header string
		want   int
	}{
		{"stated", "600", 600},
		{"above Sysdig's documented maximum", "100000", 4096},
		{"absent", "", 0},
		{"not a number", "lots", 0},
		{"zero", "0", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tc.header != "" {
					w.Header().Set(sysdig.RateLimitHeader, tc.header)
				}
				_, _ = io.WriteString(w, `{"providers":[]}`)
			}))
			defer srv.Close()
			c, _ := newClient(t, srv.URL, sysdig.WithConcurrentInstances(3))
			if c.RateLimit() != 0 {
				t.Fatal("a limit before any answer")
			}
			if _, err := c.ListProviders(ctxTimeout(t, 10*time.Second), sysdig.V1); err != nil {
				t.Fatal(err)
			}
			if got := c.RateLimit(); got != tc.want {
				t.Fatalf("RateLimit() = %d, want %d", got, tc.want)
			}
		})
	}
}

// A paced client never meets the limit, however many calls it makes; one that would
// have to wait past its deadline fails at once, saying why, without sending.
func TestPacingAgainstTheEmulator(t *testing.T) {
	emu, url := startEmu(t, sysdigemu.WithRateLimitPerMinute(1200, 3)) // 20 per second, room for timing noise
	c, _ := newClient(t, url)
	for i := range 6 {
		if _, err := c.ListProviders(ctxTimeout(t, 10*time.Second), sysdig.V1); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	if n := count(emu.Requests(), http.StatusTooManyRequests); n != 0 {
		t.Fatalf("%d answers were 429: %+v", n, emu.Requests())
	}
	if c.RateLimit() != 1200 {
		t.Fatalf("RateLimit() = %d", c.RateLimit())
	}

	slow, err := sysdig.New(url, token, sysdig.WithRateLimit(1)) // one a minute
	if err != nil {
		t.Fatal(err)
	}
	before := len(emu.Requests())
	_, err = slow.ListProviders(ctxTimeout(t, 2*time.Second), sysdig.V1)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "limit of 1 requests per minute") || !strings.Contains(err.Error(), "not sent") {
		t.Fatalf("err = %v", err)
	}
	if len(emu.Requests()) != before {
		t.Fatal("a request that had to wait past the deadline was sent")
	}
}

// 429 answers in Sysdig's public-API shape are retried after Retry-After plus jitter.
func TestTooManyRequestsBody(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"type":"too_many_requests","message":"Too many requests","details":[]}`)
			return
		}
		_, _ = io.WriteString(w, `{"providers":[]}`)
	}))
	defer srv.Close()
	c, logs := newClient(t, srv.URL)
	start := time.Now()
	if _, err := c.ListProviders(ctxTimeout(t, 10*time.Second), sysdig.V1); err != nil {
		t.Fatal(err)
	}
	if waited := time.Since(start); waited < time.Second {
		t.Fatalf("retried after %s, before Retry-After", waited)
	}
	if !strings.Contains(logs.String(), "status=429") {
		t.Fatalf("logs:\n%s", logs)
	}
	// Without time left for Retry-After, it gives up at once and says so.
	n.Store(0)
	_, err := c.ListProviders(ctxTimeout(t, 500*time.Millisecond), sysdig.V1)
	if err == nil || !strings.Contains(err.Error(), "too_many_requests") && !strings.Contains(err.Error(), "Too many requests") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
}

// A collection GET answering 404 or 405 means the tenant offers no list.
func TestListingNotSupported(t *testing.T) {
	for _, status := range []int{404, 405} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			emu, url := startEmu(t)
			emu.Inject(sysdigemu.Fault{Method: http.MethodGet, PathPrefix: "/api/v2/providers", Statuses: []int{status}})
			c, _ := newClient(t, url)
			_, _, err := c.FindProviderByRole(ctxTimeout(t, 10*time.Second), sysdig.V2, roleA)
			if !errors.Is(err, sysdig.ErrListingNotSupported) {
				t.Fatalf("err = %v", err)
			}
			if len(emu.Requests()) != 1 {
				t.Fatalf("%d requests: a missing list is not retried", len(emu.Requests()))
			}
		})
	}
	emu, url := startEmu(t, sysdigemu.WithoutV2ProviderList())
	c, _ := newClient(t, url)
	if _, err := c.ListProviders(ctxTimeout(t, 10*time.Second), sysdig.V2); !errors.Is(err, sysdig.ErrListingNotSupported) {
		t.Fatalf("v2: %v", err)
	}
	if _, err := c.ListProviders(ctxTimeout(t, 10*time.Second), sysdig.V1); err != nil {
		t.Fatalf("v1 still lists: %v", err)
	}
	_ = emu
}

// A list of any size is read one provider at a time; finding a role stops at the match.
func TestLargeListStreamed(t *testing.T) {
	const n = 20000 // about 3 MB, beyond the single-answer cap
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"total":`+fmt.Sprint(n)+`,"providers":[`)
		for i := range n {
			if i > 0 {
				_, _ = io.WriteString(w, ",")
			}
			fmt.Fprintf(w, `{"id":%d,"name":"aws","credentials":{"role":"arn:aws:iam::%012d:role/sysdig-role"},"alias":"%s","status":{"status":"configured"}}`, i+1, i, strings.Repeat("a", 100))
		}
		_, _ = io.WriteString(w, `]}`)
	}))
	defer srv.Close()
	c, _ := newClient(t, srv.URL)
	ps, err := c.ListProviders(ctxTimeout(t, 30*time.Second), sysdig.V1)
	if err != nil || len(ps) != n || ps[n-1].ID != fmt.Sprint(n) {
		t.Fatalf("%d providers, %v", len(ps), err)
	}
	p, ok, err := c.FindProviderByRole(ctxTimeout(t, 30*time.Second), sysdig.V1, fmt.Sprintf("arn:aws:iam::%012d:role/sysdig-role", n-1))
	if err != nil || !ok || p.ID != fmt.Sprint(n) {
		t.Fatalf("find: %+v %v %v", p, ok, err)
	}
}

func count(rs []sysdigemu.RequestRecord, status int) int {
	k := 0
	for _, r := range rs {
		if r.Status == status {
			k++
		}
	}
	return k
}
