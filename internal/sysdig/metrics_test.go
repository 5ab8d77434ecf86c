package sysdig_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"sysdig-aws-connect/internal/metrics"
	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
)

// Every call the client sends counts in the request's metrics: retries, throttled
// answers (429) and calls that got no answer included.
func TestCallsCountInTheRequestsMetrics(t *testing.T) {
	for _, tc := range []struct {
		name                 string
		fault                *sysdigemu.Fault
		unreachable          bool
		wantCalls, wantThrot int64
	}{
		{name: "one call", wantCalls: 1},
		{name: "throttled then answered", fault: &sysdigemu.Fault{Statuses: []int{429}, RetryAfter: time.Second}, wantCalls: 2, wantThrot: 1},
		{name: "server errors retried", fault: &sysdigemu.Fault{Statuses: []int{500, 503}}, wantCalls: 3},
		{name: "unreachable", unreachable: true, wantCalls: 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			emu, url := startEmu(t)
			if tc.fault != nil {
				emu.Inject(*tc.fault)
			}
			if tc.unreachable {
				srv := httptest.NewServer(http.NotFoundHandler())
				url = srv.URL
				srv.Close()
			}
			c, _ := newClient(t, url)
			rec := metrics.NewRecorder(time.Now())
			ctx := metrics.NewContext(ctxTimeout(t, 30*time.Second), rec)
			_, _ = c.ListProviders(ctx, sysdig.V1)
			f := rec.Figures()
			if f.SysdigCalls != tc.wantCalls || f.ThrottledCalls != tc.wantThrot {
				t.Errorf("counted %d calls, %d throttled; want %d, %d", f.SysdigCalls, f.ThrottledCalls, tc.wantCalls, tc.wantThrot)
			}
			if f.SysdigTime <= 0 {
				t.Errorf("no time counted: %v", f.SysdigTime)
			}
		})
	}
	// Outside a function's request (the CLI), nothing is counted and nothing breaks.
	_, url := startEmu(t)
	c, _ := newClient(t, url)
	if _, err := c.ListProviders(context.Background(), sysdig.V1); err != nil {
		t.Fatal(err)
	}
}
