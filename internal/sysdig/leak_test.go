package sysdig_test

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
	"sysdig-aws-connect/internal/testutil"
)

// uuidToken looks like a real Sysdig API token: no 8-character piece of it occurs in
// ordinary text by chance.
const uuidToken = "5b0e7c1d-93fa-4d62-b8e4-2a6f0c9d7e31"

// tokenPiece returns the first 8-character piece of uuidToken found in text.
func tokenPiece(text string) string { return testutil.SecretPiece(text, uuidToken) }

func leakClient(t *testing.T, url string) (*sysdig.Client, *testutil.SyncBuffer) {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	logger := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := sysdig.New(url, uuidToken, fastRetry(2), sysdig.WithLogger(logger))
	if err != nil {
		t.Fatal(err)
	}
	return c, logs
}

// TestNoPieceOfTheTokenLeaves: for every way an answer can echo the token, the error
// the client returns and every line it logs hold no 8-character piece of it.
func TestNoPieceOfTheTokenLeaves(t *testing.T) {
	type call func(c *sysdig.Client) error
	create := func(v sysdig.APIVersion) call {
		return func(c *sysdig.Client) error {
			_, err := c.CreateProvider(ctxTimeout(t, 30*time.Second), v, sysdig.ProviderSpec{RoleARN: roleA})
			return err
		}
	}
	get := func(c *sysdig.Client) error {
		_, err := c.GetProvider(ctxTimeout(t, 30*time.Second), sysdig.V1, "7")
		return err
	}
	update := func(c *sysdig.Client) error {
		_, err := c.UpdateProvider(ctxTimeout(t, 30*time.Second), sysdig.V2, "7", sysdig.ProviderSpec{RoleARN: roleA})
		return err
	}
	list := func(c *sysdig.Client) error {
		_, err := c.ListProviders(ctxTimeout(t, 30*time.Second), sysdig.V1)
		return err
	}
	externalID := func(c *sysdig.Client) error {
		_, err := c.ExternalID(ctxTimeout(t, 30*time.Second))
		return err
	}
	cases := []struct {
		name    string
		fault   sysdigemu.Fault
		call    call
		wantErr string
	}{
		{"authorization echoed across the 64 KiB cut", sysdigemu.Fault{Echo: "header", Statuses: []int{400}, BodySize: 70 << 10}, create(sysdig.V1), "400"},
		{"authorization echoed whole in a small body", sysdigemu.Fault{Echo: "header", Statuses: []int{401}}, get, "401"},
		{"authorization echoed on a retried 503", sysdigemu.Fault{Echo: "header", Statuses: []int{503, 503, 503}}, get, "503"},
		{"json-escaped token in an error message", sysdigemu.Fault{Echo: "json-escaped", Statuses: []int{400}}, create(sysdig.V2), "400"},
		{"percent-encoded token in a proxy page", sysdigemu.Fault{Echo: "percent", Statuses: []int{502, 502, 502}}, list, "502"},
		{"token as the id of a create answer", sysdigemu.Fault{Echo: "id", Method: http.MethodPost}, create(sysdig.V1), "holds the API token"},
		{"token as the id of a get answer", sysdigemu.Fault{Echo: "id"}, get, "holds the API token"},
		{"token in the alias of an update answer", sysdigemu.Fault{Echo: "alias", Method: http.MethodPut}, update, "holds the API token"},
		{"token in the external id answer", sysdigemu.Fault{Echo: "header", Statuses: []int{500, 500, 500}}, externalID, "500"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			emu := sysdigemu.New(sysdigemu.WithToken(uuidToken))
			url, stop := emu.Start()
			defer stop()
			emu.Seed(sysdig.ProviderSpec{RoleARN: roleB})
			emu.Inject(tc.fault)
			c, logs := leakClient(t, url)
			err := tc.call(c)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("err = %v, want one with %q", err, tc.wantErr)
			}
			if p := tokenPiece(err.Error()); p != "" {
				t.Fatalf("the error holds %q of the token: %v", p, err)
			}
			for _, line := range strings.Split(logs.String(), "\n") {
				if p := tokenPiece(line); p != "" {
					t.Fatalf("a log line holds %q of the token: %s", p, line)
				}
			}
		})
	}
}

// TestTokenCutAtEveryOffset moves the echoed token across the 64 KiB cut byte by byte:
// whatever part of it falls before the cut is masked.
func TestTokenCutAtEveryOffset(t *testing.T) {
	const cut = 64 << 10
	for before := 1; before < len(uuidToken)+2; before++ {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
			// Leading white space: the JSON starts just before the cut, so the
			// message the client shows is the body's first bytes, the token's start.
			prefix := `{"message":"Bearer `
			pad := strings.Repeat(" ", cut-before-len(prefix))
			w.WriteHeader(http.StatusBadRequest)
			_, _ = fmt.Fprintf(w, `%s%s%s and more"}`, pad, prefix, tok)
		}))
		c, logs := leakClient(t, srv.URL)
		_, err := c.GetProvider(ctxTimeout(t, 30*time.Second), sysdig.V1, "1")
		srv.Close()
		if err == nil {
			t.Fatal("no error")
		}
		for _, text := range []string{err.Error(), logs.String()} {
			if strings.Contains(text, uuidToken[:min(before, len(uuidToken))]) && before >= 4 {
				t.Fatalf("%d bytes before the cut: the token's first part survived: %.300s", before, text[max(0, len(text)-300):])
			}
			if p := tokenPiece(text); p != "" {
				t.Fatalf("%d bytes before the cut: %q survived", before, p)
			}
		}
	}
}

// TestRedirectLocationScrubbed: a redirect naming the token in its Location is refused,
// and the error names no piece of it.
func TestRedirectLocationScrubbed(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		http.Redirect(w, r, "http://127.0.0.1:1/steal/"+tok+"?t="+tok, http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	c, logs := leakClient(t, srv.URL)
	_, err := c.GetProvider(ctxTimeout(t, 30*time.Second), sysdig.V1, "1")
	if err == nil || !strings.Contains(err.Error(), "redirect") {
		t.Fatalf("err = %v", err)
	}
	if p := tokenPiece(err.Error() + logs.String()); p != "" {
		t.Fatalf("%q survived: %v", p, err)
	}
}

// TestDecodeErrorsDescribeValues: a 2xx answer's bad values are told by type and size.
func TestDecodeErrorsDescribeValues(t *testing.T) {
	cases := []struct{ name, body, want string }{
		{"id an object", `{"provider":{"id":{"secret":"` + uuidToken + `"}}}`, "an object of"},
		{"id a bad string", `{"provider":{"id":"` + uuidToken + `/x"}}`, "a string of 38 bytes"},
		{"id a fraction", `{"provider":{"id":12345678.5}}`, "a number of 10 characters"},
		{"alias a number", `{"provider":{"id":1,"alias":123456789012345678}}`, `holds a JSON number where a string`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sysdig.DecodeProvider(sysdig.V1, []byte(tc.body))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if p := tokenPiece(err.Error()); p != "" || strings.Contains(err.Error(), "12345678") {
				t.Fatalf("the error echoes the value: %v", err)
			}
		})
	}
	_, err := sysdig.DecodeExternalID(sysdig.CloudInformationPath, []byte(`{"externalId":"`+uuidToken+` !","awsSystemAccountId":"1"}`))
	if err == nil || tokenPiece(err.Error()) != "" {
		t.Fatalf("external id error = %v", err)
	}
}
func TestTokenScrubbedFromErrors(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"type":%q,"message":"bad header %s"}`, r.Header.Get("Authorization"), r.Header.Get("Authorization"))
	}))
	defer srv.Close()
	c, _ := newClient(t, srv.URL)
	_, err := c.ListProviders(ctxTimeout(t, 30*time.Second), sysdig.V1)
	if err == nil || strings.Contains(err.Error(), token) || !strings.Contains(err.Error(), "Bearer ***") {
		t.Fatalf("err = %v", err)
	}
}

// A token echoed where the message is cut to length must not survive in part.
func TestTokenScrubbedBeforeTheMessageIsCut(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = fmt.Fprintf(w, `{"message":"%s bad token %s"}`, strings.Repeat("x", 490), strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	defer srv.Close()
	c, _ := newClient(t, srv.URL)
	_, err := c.ListProviders(ctxTimeout(t, 30*time.Second), sysdig.V1)
	if err == nil || strings.Contains(err.Error(), token[:8]) {
		t.Fatalf("err = %v", err)
	}
}
