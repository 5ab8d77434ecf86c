package sysdig_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
)

func TestRetries(t *testing.T) {
	tests := []struct {
		name     string
		fault    sysdigemu.Fault
		attempts int
		call     string // "list" or "create"
		wantErr  string
		wantReqs int
		status   int // wanted APIError status, 0 = success
	}{
		{"500 then ok", sysdigemu.Fault{Method: "GET", Statuses: []int{500}}, 4, "list", "", 2, 0},
		{"502 503 504 then ok", sysdigemu.Fault{Statuses: []int{502, 503, 504}}, 4, "list", "", 4, 0},
		{"429 then ok", sysdigemu.Fault{Statuses: []int{429, 429}}, 4, "list", "", 3, 0},
		{"5xx exhausts attempts", sysdigemu.Fault{Statuses: []int{500, 500, 500, 500}}, 3, "list", "gave up after 3 attempts", 3, 500},
		{"400 not retried", sysdigemu.Fault{Statuses: []int{400}}, 4, "list", "400 Bad Request", 1, 400},
		{"404 not retried", sysdigemu.Fault{Statuses: []int{404}}, 4, "list", "404 Not Found", 1, 404},
		{"501 not retried", sysdigemu.Fault{Statuses: []int{501}}, 4, "list", "501 Not Implemented", 1, 501},
		{"409 not retried", sysdigemu.Fault{Statuses: []int{409}}, 4, "create", "409 Conflict", 1, 409},
		{"503 on create retried without lookup", sysdigemu.Fault{Method: "POST", Statuses: []int{503}}, 4, "create", "", 2, 0},
		{"malformed not retried", sysdigemu.Fault{Malformed: true}, 4, "list", "not the expected JSON", 1, 0},
		{"reset then ok", sysdigemu.Fault{Method: "GET", ResetConn: true}, 4, "list", "", 2, 0},
		{"20 KB error body", sysdigemu.Fault{Statuses: []int{400}, BodySize: 20 << 10}, 4, "list", "injected fault", 1, 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, url := startEmu(t)
			emu.Inject(tt.fault)
			c, logs := newClient(t, url, fastRetry(tt.attempts))
			ctx := ctxTimeout(t, 30*time.Second)
			var err error
			if tt.call == "create" {
				_, err = c.CreateProvider(ctx, sysdig.V1, sysdig.ProviderSpec{RoleARN: roleA})
			} else {
				_, err = c.ListProviders(ctx, sysdig.V1)
			}
			if tt.wantErr == "" && err != nil {
				t.Fatalf("err = %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
			if tt.status != 0 {
				var apiErr *sysdig.APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.status {
					t.Errorf("err = %v, want an APIError %d", err, tt.status)
				}
				if len(apiErr.Message) > 600 {
					t.Errorf("message not capped: %d bytes", len(apiErr.Message))
				}
			}
			if n := len(emu.Requests()); n != tt.wantReqs {
				t.Errorf("%d requests, want %d: %+v", n, tt.wantReqs, emu.Requests())
			}
			if tt.wantReqs > 1 && !strings.Contains(logs.String(), "retrying") {
				t.Errorf("retries not logged:\n%s", logs)
			}
			if tt.call == "create" && tt.wantErr == "" && len(emu.Providers()) != 1 {
				t.Errorf("providers %+v", emu.Providers())
			}
		})
	}
}

func TestRetryAfterHonoured(t *testing.T) {
	emu, url := startEmu(t)
	emu.Inject(sysdigemu.Fault{Statuses: []int{429}, RetryAfter: time.Second})
	c, logs := newClient(t, url)
	if _, err := c.ListProviders(ctxTimeout(t, 30*time.Second), sysdig.V1); err != nil {
		t.Fatal(err)
	}
	// Retry-After plus jitter of up to half of it.
	if !regexp.MustCompile(`wait=1(\.\d+)?s `).MatchString(logs.String()) || !strings.Contains(logs.String(), "reason=Retry-After") {
		t.Errorf("Retry-After not used as the wait:\n%s", logs)
	}
}

// A rate limit slows the client down but does not use up its attempts: with one attempt
// allowed, two 429s with Retry-After still end in success; two 500s do not.
func TestThrottlingDoesNotUseUpAttempts(t *testing.T) {
	emu, url := startEmu(t)
	emu.Inject(sysdigemu.Fault{Statuses: []int{429, 429}, RetryAfter: time.Second})
	c, _ := newClient(t, url, sysdig.WithRetry(time.Millisecond, time.Millisecond, 1))
	if _, err := c.ListProviders(ctxTimeout(t, 30*time.Second), sysdig.V1); err != nil {
		t.Fatalf("throttled list: %v", err)
	}
	emu.Inject(sysdigemu.Fault{Statuses: []int{500, 500}})
	_, err := c.ListProviders(ctxTimeout(t, 30*time.Second), sysdig.V1)
	if err == nil || !strings.Contains(err.Error(), "gave up after 1 attempt") {
		t.Fatalf("err = %v, want the one attempt used up", err)
	}
}

func TestRetryAfterBeyondDeadline(t *testing.T) {
	emu, url := startEmu(t)
	emu.Inject(sysdigemu.Fault{Statuses: []int{429}, RetryAfter: time.Hour})
	c, _ := newClient(t, url)
	_, err := c.ListProviders(ctxTimeout(t, 30*time.Second), sysdig.V1)
	if err == nil || !strings.Contains(err.Error(), "beyond the deadline") || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v", err)
	}
	var apiErr *sysdig.APIError
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 || apiErr.RetryAfter != time.Hour {
		t.Fatalf("err = %v, want the 429 APIError inside", err)
	}
	if n := len(emu.Requests()); n != 1 {
		t.Errorf("%d requests, want 1", n)
	}
}

func TestBackoffBeyondDeadline(t *testing.T) {
	emu, url := startEmu(t)
	emu.Inject(sysdigemu.Fault{Statuses: []int{500, 500}})
	c, _ := newClient(t, url, sysdig.WithRetry(time.Hour, time.Hour, 5))
	_, err := c.ListProviders(ctxTimeout(t, 30*time.Second), sysdig.V1)
	if err == nil || !strings.Contains(err.Error(), "gave up after 1 attempt:") || !errors.Is(err, context.DeadlineExceeded) || sysdig.IsNotFound(err) {
		t.Fatalf("err = %v", err)
	}
	if statusOf(err) != 500 {
		t.Errorf("last error not wrapped: %v", err)
	}
}

func statusOf(err error) int {
	var apiErr *sysdig.APIError
	if errors.As(err, &apiErr) {
		return apiErr.StatusCode
	}
	return 0
}

func TestContextDeadlineWhileHanging(t *testing.T) {
	emu, url := startEmu(t)
	emu.Inject(sysdigemu.Fault{Hang: true, Times: 100})
	c, _ := newClient(t, url, sysdig.WithRetry(time.Millisecond, time.Millisecond, 100))
	ctx := ctxTimeout(t, 300*time.Millisecond)
	_, err := c.ListProviders(ctx, sysdig.V1)
	if err == nil || !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), "gave up after") {
		t.Fatalf("err = %v", err)
	}
}

func TestPerAttemptTimeout(t *testing.T) {
	emu, url := startEmu(t)
	emu.Inject(sysdigemu.Fault{Method: "GET", Hang: true})
	c, logs := newClient(t, url, sysdig.WithRequestTimeout(100*time.Millisecond))
	if _, err := c.ListProviders(ctxTimeout(t, 30*time.Second), sysdig.V1); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "per-request timeout") {
		t.Errorf("timeout not logged:\n%s", logs)
	}
}

func TestCanceledContext(t *testing.T) {
	emu, url := startEmu(t)
	c, _ := newClient(t, url)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := c.ListProviders(ctx, sysdig.V1)
	if !errors.Is(err, context.Canceled) || len(emu.Requests()) != 0 {
		t.Fatalf("err = %v, %d requests", err, len(emu.Requests()))
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c, _ := newClient(t, url, fastRetry(3))
	_, err := c.CreateProvider(ctxTimeout(t, 30*time.Second), sysdig.V1, sysdig.ProviderSpec{RoleARN: roleA})
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "reachable") {
		t.Fatalf("err = %v", err)
	}
}
