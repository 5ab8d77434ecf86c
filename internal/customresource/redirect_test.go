package customresource

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestAnswerFollowsNoRedirect: a ResponseURL host that redirects gets the PUT, the
// Location never does; each 3xx is a failed attempt, retried, then given up, and the
// retry log names the host only.
func TestAnswerFollowsNoRedirect(t *testing.T) {
	for _, status := range []int{http.StatusMovedPermanently, http.StatusFound, http.StatusSeeOther, http.StatusTemporaryRedirect, http.StatusPermanentRedirect} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			var elsewhere atomic.Int32
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				elsewhere.Add(1)
			}))
			defer other.Close()
			var puts atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				puts.Add(1)
				http.Redirect(w, r, other.URL+"/collect/secret-path", status)
			}))
			defer srv.Close()
			var retries []string
			s := NewSender(WithSendRetry(time.Millisecond, 2*time.Millisecond, 3))
			s.onRetry = func(_ int, err error, _ time.Duration) { retries = append(retries, err.Error()) }
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			n, err := s.Send(ctx, srv.URL+"/arn%3Aaws%3Acloudformation/stack-path?X-Amz-Signature=sig", []byte(`{"Status":"SUCCESS"}`))
			var se *SendError
			if !errors.As(err, &se) || se.Status != status || !strings.Contains(err.Error(), "redirect, which is not followed") {
				t.Fatalf("err = %v, want a SendError with status %d", err, status)
			}
			if n != 3 || puts.Load() != 3 {
				t.Fatalf("%d attempts, %d PUTs received; want 3 each (a 3xx is retried like any failure)", n, puts.Load())
			}
			if elsewhere.Load() != 0 {
				t.Fatalf("the Location got %d requests", elsewhere.Load())
			}
			for _, line := range append(retries, err.Error()) {
				if strings.Contains(line, "stack-path") || strings.Contains(line, "collect") || strings.Contains(line, "sig") {
					t.Fatalf("logged more than the host: %s", line)
				}
			}
		})
	}
}
