package sysdig_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/sysdig"
)

// The provider's status message (status.lastProviderMessages) reaches the org status
// report and the drift check's logs: an answer that echoes the token there is refused
// like one that echoes it in any other field.
func TestTokenInTheStatusMessageIsRefused(t *testing.T) {
	for _, shape := range []string{`[%q]`, `[{"message":%q}]`, `[{"text":%q}]`} {
		t.Run(shape, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				msg := fmt.Sprintf(shape, "cannot assume role: "+r.Header.Get("Authorization"))
				_, _ = fmt.Fprintf(w, `{"provider":{"id":7,"credentials":{"role":%q},"alias":"a","status":{"status":"error","lastProviderMessages":%s}}}`, roleA, msg)
			}))
			defer srv.Close()
			c, logs := leakClient(t, srv.URL)
			p, err := c.GetProvider(ctxTimeout(t, 30*time.Second), sysdig.V1, "7")
			if err == nil || !strings.Contains(err.Error(), "holds the API token") {
				t.Fatalf("GetProvider = %+v, %v; want the answer refused", p, err)
			}
			if piece := tokenPiece(err.Error() + logs.String() + p.Message); piece != "" {
				t.Fatalf("a piece of the token (%q) left the client: %v", piece, err)
			}
		})
	}
}
