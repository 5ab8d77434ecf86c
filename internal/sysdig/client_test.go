package sysdig_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
	"sysdig-aws-connect/internal/testutil"
)

const (
	token = "s3cr3t-token-value"
	roleA = "arn:aws:iam::123456789012:role/sysdig-a"
	roleB = "arn:aws:iam::123456789012:role/path/sysdig-b"
	// roleBRoot is roleB at path /: v2 takes only the role's name, so it refuses roleB.
	roleBRoot = "arn:aws:iam::123456789012:role/sysdig-b"
)

// roleBFor is roleB where the API can name it, roleBRoot for v2.
func roleBFor(v sysdig.APIVersion) string {
	if v == sysdig.V2 {
		return roleBRoot
	}
	return roleB
}

// fastRetry keeps backoff waits tiny so tests run fast; no assertion
// depends on time.
func fastRetry(attempts int) sysdig.Option {
	return sysdig.WithRetry(time.Millisecond, 2*time.Millisecond, attempts)
}

func startEmu(t *testing.T, opts ...sysdigemu.Option) (*sysdigemu.Server, string) {
	t.Helper()
	emu := sysdigemu.New(append([]sysdigemu.Option{sysdigemu.WithToken(token)}, opts...)...)
	url, stop := emu.Start()
	t.Cleanup(stop)
	return emu, url
}

func newClient(t *testing.T, url string, opts ...sysdig.Option) (*sysdig.Client, *testutil.SyncBuffer) {
	t.Helper()
	logs := &testutil.SyncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	c, err := sysdig.New(url, token, append([]sysdig.Option{fastRetry(4), sysdig.WithLogger(logger)}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if strings.Contains(logs.String(), token) {
			t.Errorf("the token leaked into the logs:\n%s", logs.String())
		}
	})
	return c, logs
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestValidateBaseURL(t *testing.T) {
	tests := []struct {
		in, want, err string
	}{
		{"https://app.sysdigcloud.com", "https://app.sysdigcloud.com", ""},
		{"https://eu1.app.sysdig.com/", "https://eu1.app.sysdig.com", ""},
		{" HTTPS://App.US4.sysdig.com// ", "https://app.us4.sysdig.com", ""},
		{"https://sysdig.example.com:8443/monitor/", "https://sysdig.example.com:8443/monitor", ""},
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"http://127.1.2.3:1/x/", "http://127.1.2.3:1/x", ""},
		{"http://localhost:9", "http://localhost:9", ""},
		{"http://[::1]:9", "http://[::1]:9", ""},
		{"", "", "is empty"},
		{"app.sysdigcloud.com", "", "no scheme or host"},
		{"http://app.sysdigcloud.com", "", "plain http"},
		{"http://10.0.0.1", "", "plain http"},
		{"ftp://app.sysdigcloud.com", "", `uses "ftp"`},
		{"https://user:pw@app.sysdigcloud.com", "", "must not carry credentials"},
		{"https://app.sysdigcloud.com/?a=b", "", "query or fragment"},
		{"https://app.sysdigcloud.com/#x", "", "query or fragment"},
		{"https://:443", "", "no host"},
		{"https://app.sysdigcloud.com:99999", "", "invalid port"},
		{"https://app sysdig com", "", "does not parse"},
		{"mailto:a@b.c", "", "no scheme or host"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			u, err := sysdig.ValidateBaseURL(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				if !strings.Contains(err.Error(), "https://") {
					t.Errorf("error %q does not show the expected form", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.String() != tt.want {
				t.Errorf("got %s, want %s", u, tt.want)
			}
		})
	}
}

func TestNewErrors(t *testing.T) {
	tests := []struct {
		name  string
		url   string
		token string
		opts  []sysdig.Option
		want  string
	}{
		{"empty token", "https://app.sysdigcloud.com", " ", nil, "API token is empty"},
		{"newline token", "https://app.sysdigcloud.com", "a\nb", nil, "line breaks"},
		{"bad url", "http://example.com", "t", nil, "plain http"},
		{"bad retry", "https://app.sysdigcloud.com", "t", []sysdig.Option{sysdig.WithRetry(0, time.Second, 3)}, "WithRetry"},
		{"bad timeout", "https://app.sysdigcloud.com", "t", []sysdig.Option{sysdig.WithRequestTimeout(0)}, "must be positive"},
		{"nil http client", "https://app.sysdigcloud.com", "t", []sysdig.Option{sysdig.WithHTTPClient(nil)}, "WithHTTPClient(nil)"},
		{"insecure with custom transport", "https://app.sysdigcloud.com", "t", []sysdig.Option{sysdig.WithHTTPClient(&http.Client{Transport: roundTripFunc(nil)}), sysdig.WithInsecureSkipVerify()}, "needs an *http.Transport"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := sysdig.New(tt.url, tt.token, tt.opts...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestExternalID(t *testing.T) {
	tests := []struct {
		name   string
		opts   []sysdigemu.Option
		want   sysdig.ExternalIDInfo
		called []string
	}{
		{"cloud information", []sysdigemu.Option{sysdigemu.WithExternalID("ext-1"), sysdigemu.WithSysdigAWSAccountID("263844535661")},
			sysdig.ExternalIDInfo{ExternalID: "ext-1", SysdigAWSAccountID: "263844535661", Source: sysdig.CloudInformationPath},
			[]string{sysdig.CloudInformationPath}},
		{"older tenant falls back to users/me", []sysdigemu.Option{sysdigemu.WithExternalID("ext-2"), sysdigemu.WithoutCloudInformation()},
			sysdig.ExternalIDInfo{ExternalID: "ext-2", Source: sysdig.UsersMePath},
			[]string{sysdig.CloudInformationPath, sysdig.UsersMePath}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu, url := startEmu(t, tt.opts...)
			c, _ := newClient(t, url)
			got, err := c.ExternalID(ctxTimeout(t, 30*time.Second))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
			var paths []string
			for _, r := range emu.Requests() {
				paths = append(paths, r.Path)
			}
			if strings.Join(paths, ",") != strings.Join(tt.called, ",") {
				t.Errorf("called %v, want %v", paths, tt.called)
			}
		})
	}
}

// TestExternalIDFallbackStatuses covers answers the emulator does not give:
// 405/501 fall back, other errors do not, an empty id is an error.
func TestExternalIDFallbackStatuses(t *testing.T) {
	tests := []struct {
		name       string
		cloudCode  int
		cloudBody  string
		usersBody  string
		want       string
		wantErr    string
		wantStatus int
	}{
		{"405", 405, `{"message":"no"}`, `{"user":{"customer":{"externalId":"ext-405"}}}`, "ext-405", "", 0},
		{"501", 501, ``, `{"user":{"customer":{"externalId":"ext-501"}}}`, "ext-501", "", 0},
		{"cloud info empty id", 200, `{"externalId":""}`, `{"user":{"customer":{"externalId":"ext-e"}}}`, "ext-e", "", 0},
		{"both empty", 200, `{"externalId":""}`, `{"user":{"customer":{"externalId":""}}}`, "", "no external id", 0},
		{"401 does not fall back", 401, `{"message":"Bad credentials"}`, ``, "", "administrator", 401},
		{"400 does not fall back", 400, `{"message":"bad"}`, ``, "", "400 Bad Request: bad", 400},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var usersCalls atomic.Int32
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case sysdig.CloudInformationPath:
					w.WriteHeader(tt.cloudCode)
					_, _ = io.WriteString(w, tt.cloudBody)
				case sysdig.UsersMePath:
					usersCalls.Add(1)
					_, _ = io.WriteString(w, tt.usersBody)
				default:
					http.NotFound(w, r)
				}
			}))
			defer srv.Close()
			c, _ := newClient(t, srv.URL)
			got, err := c.ExternalID(ctxTimeout(t, 30*time.Second))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				if tt.wantStatus != 0 && usersCalls.Load() != 0 {
					t.Errorf("fell back to users/me after %d", tt.wantStatus)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.ExternalID != tt.want || got.Source != sysdig.UsersMePath {
				t.Errorf("got %+v", got)
			}
		})
	}
}

func TestProviderLifecycle(t *testing.T) {
	for _, v := range []sysdig.APIVersion{sysdig.V1, sysdig.V2} {
		t.Run(string(v), func(t *testing.T) {
			emu, url := startEmu(t)
			c, _ := newClient(t, url)
			ctx := ctxTimeout(t, 30*time.Second)

			roleB := roleBFor(v)
			created, err := c.CreateProvider(ctx, v, sysdig.ProviderSpec{RoleARN: roleB, Alias: "prod", Regions: []string{"us-east-1", "EU_WEST_1"}})
			if err != nil {
				t.Fatal(err)
			}
			if created.ID == "" || created.Status != "configured" || created.Alias != "prod" ||
				strings.Join(created.Regions, ",") != "US_EAST_1,EU_WEST_1" {
				t.Errorf("created %+v", created)
			}
			// v2 stores the bare role name, so the path is lost (TF).
			wantRole := roleB
			if v == sysdig.V2 {
				wantRole = "arn:aws:iam::123456789012:role/sysdig-b"
			}
			if created.RoleARN != wantRole {
				t.Errorf("role %q, want %q", created.RoleARN, wantRole)
			}

			got, err := c.GetProvider(ctx, v, created.ID)
			if err != nil || got.ID != created.ID || got.RoleARN != wantRole {
				t.Fatalf("get = %+v, %v", got, err)
			}
			found, ok, err := c.FindProviderByRole(ctx, v, roleB)
			if err != nil || !ok || found.ID != created.ID {
				t.Fatalf("find = %+v, %v, %v", found, ok, err)
			}
			if _, ok, err := c.FindProviderByRole(ctx, v, roleA); err != nil || ok {
				t.Fatalf("find other role = %v, %v", ok, err)
			}

			updated, err := c.UpdateProvider(ctx, v, created.ID, sysdig.ProviderSpec{RoleARN: roleB, Alias: "renamed"})
			if err != nil {
				t.Fatal(err)
			}
			if updated.Alias != "renamed" || updated.Regions != nil {
				t.Errorf("updated %+v", updated)
			}

			list, err := c.ListProviders(ctx, v)
			if err != nil || len(list) != 1 {
				t.Fatalf("list = %+v, %v", list, err)
			}

			if err := c.DeleteProvider(ctx, v, created.ID); err != nil {
				t.Fatal(err)
			}
			err = c.DeleteProvider(ctx, v, created.ID)
			var apiErr *sysdig.APIError
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || !sysdig.IsNotFound(err) {
				t.Fatalf("second delete = %v, want a 404 APIError", err)
			}
			if _, err := c.GetProvider(ctx, v, created.ID); !sysdig.IsNotFound(err) {
				t.Fatalf("get after delete = %v", err)
			}
			if _, err := c.UpdateProvider(ctx, v, created.ID, sysdig.ProviderSpec{RoleARN: roleB}); !sysdig.IsNotFound(err) {
				t.Fatalf("update after delete = %v", err)
			}
			if n := len(emu.Providers()); n != 0 {
				t.Errorf("%d providers left", n)
			}
			for _, r := range emu.Requests() {
				if r.Status == 0 || r.Status >= 500 {
					t.Errorf("unexpected answer %+v", r)
				}
			}
		})
	}
}

// TestWireBodies checks the exact request bodies the emulator received.
func TestWireBodies(t *testing.T) {
	tests := []struct {
		v    sysdig.APIVersion
		want string
	}{
		{sysdig.V1, `{"name":"aws","credentials":{"role":"arn:aws:iam::123456789012:role/path/sysdig-b"},"alias":"a","additionalOptions":"{\"regions\":[\"US_EAST_1\"]}"}`},
		{sysdig.V2, `{"id":0,"platform":"AWS","integrationType":"API","credentials":{"accountId":"123456789012","roleName":"sysdig-b"},"additionalOptions":"{\"regions\":[\"US_EAST_1\"]}","alias":"a"}`},
	}
	for _, tt := range tests {
		t.Run(string(tt.v), func(t *testing.T) {
			emu, url := startEmu(t)
			c, _ := newClient(t, url)
			if _, err := c.CreateProvider(ctxTimeout(t, 30*time.Second), tt.v, sysdig.ProviderSpec{RoleARN: roleBFor(tt.v), Alias: "a", Regions: []string{"us-east-1"}}); err != nil {
				t.Fatal(err)
			}
			reqs := emu.Requests()
			if len(reqs) != 1 || reqs[0].Body != tt.want {
				t.Fatalf("requests %+v\nwant body %s", reqs, tt.want)
			}
			if strings.Contains(fmt.Sprint(reqs), token) {
				t.Error("token recorded")
			}
		})
	}
}

func TestHeadersAndPathPrefix(t *testing.T) {
	var got http.Header
	var path string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got, path = r.Header.Clone(), r.URL.Path
		_, _ = io.WriteString(w, `{"provider":{"id":3,"credentials":{"role":"`+roleA+`"}}}`)
	}))
	defer srv.Close()
	c, _ := newClient(t, srv.URL+"/monitor/", sysdig.WithUserAgent("test-agent/1"))
	if _, err := c.CreateProvider(ctxTimeout(t, 30*time.Second), sysdig.V1, sysdig.ProviderSpec{RoleARN: roleA}); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{
		"Authorization": "Bearer " + token,
		"Content-Type":  "application/json",
		"Accept":        "application/json",
		"User-Agent":    "test-agent/1",
	} {
		if got.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, got.Get(k), want)
		}
	}
	if path != "/monitor/api/providers" {
		t.Errorf("path %q", path)
	}
}

func TestAuthErrors(t *testing.T) {
	tests := []struct {
		name      string
		clientTok string
		want      int
	}{
		{"wrong token", "wrong-token", 401},
		{"read-only token", "read-only", 403},
	}
	for _, shape := range []sysdigemu.ErrorShape{sysdigemu.ShapeErrorsArray, sysdigemu.ShapeMessage, sysdigemu.ShapeError, sysdigemu.ShapeTypeMessage} {
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%s/shape%d", tt.name, shape), func(t *testing.T) {
				emu, url := startEmu(t, sysdigemu.WithReadOnlyToken("read-only"), sysdigemu.WithErrorShape(shape))
				c, err := sysdig.New(url, tt.clientTok, fastRetry(4))
				if err != nil {
					t.Fatal(err)
				}
				_, err = c.CreateProvider(ctxTimeout(t, 30*time.Second), sysdig.V2, sysdig.ProviderSpec{RoleARN: roleA})
				var apiErr *sysdig.APIError
				if !errors.As(err, &apiErr) || apiErr.StatusCode != tt.want || !sysdig.IsAuth(err) {
					t.Fatalf("err = %v, want %d", err, tt.want)
				}
				if apiErr.Message == "" || !strings.Contains(err.Error(), "administrator") {
					t.Errorf("error %q lacks the message or the hint", err)
				}
				if strings.Contains(err.Error(), tt.clientTok) {
					t.Errorf("error %q shows the token", err)
				}
				if n := len(emu.Requests()); n != 1 {
					t.Errorf("%d requests, want 1 (auth errors are not retried)", n)
				}
			})
		}
	}
}

// ambiguousProxy forwards to the emulator but can replace answers.
type ambiguousProxy struct {
	emu http.Handler
	// rewrite returns a status to answer instead of the emulator's, after
	// the emulator has handled the request (0 = pass through); hideList
	// makes list answers empty.
	mu       sync.Mutex
	posts    int
	lists    int
	rewrite  func(post int) int
	hideList func(list int) bool
}

func (p *ambiguousProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := httptest.NewRecorder()
	p.emu.ServeHTTP(rec, r)
	p.mu.Lock()
	var status int
	hide := false
	switch {
	case r.Method == http.MethodPost:
		p.posts++
		if p.rewrite != nil {
			status = p.rewrite(p.posts)
		}
	case r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/providers"):
		p.lists++
		hide = p.hideList != nil && p.hideList(p.lists)
	}
	p.mu.Unlock()
	switch {
	case status != 0:
		w.WriteHeader(status)
		_, _ = io.WriteString(w, `{"message":"upstream trouble"}`)
	case hide:
		_, _ = io.WriteString(w, `{"providers":[]}`)
	default:
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		_, _ = w.Write(rec.Body.Bytes())
	}
}

func TestCreateNeverDoubleCreates(t *testing.T) {
	tests := []struct {
		name     string
		rewrite  func(int) int
		hideList func(int) bool
		wantErr  string
		posts    int
	}{
		// A plain success: the provider comes from the POST's answer, not a look-up.
		{"plain success", nil, nil, "", 1},
		// The first POST is processed but answers 500: the lookup finds it.
		{"500 after processing", func(n int) int { return map[int]int{1: 500}[n] }, nil, "", 1},
		{"502 after processing", func(n int) int { return map[int]int{1: 502}[n] }, nil, "", 1},
		// The lookup misses it (eventual consistency); the retry gets 409,
		// which the second lookup explains.
		{"409 after ambiguous", func(n int) int { return map[int]int{1: 500}[n] }, func(n int) bool { return n == 1 }, "", 2},
		// 503 is not ambiguous: the retry goes ahead, the emulator says 409.
		{"503 is not ambiguous", func(n int) int { return map[int]int{1: 503}[n] }, nil, "409 Conflict", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			emu := sysdigemu.New(sysdigemu.WithToken(token))
			proxy := &ambiguousProxy{emu: emu, rewrite: tt.rewrite, hideList: tt.hideList}
			srv := httptest.NewServer(proxy)
			defer srv.Close()
			c, _ := newClient(t, srv.URL)
			p, err := c.CreateProvider(ctxTimeout(t, 30*time.Second), sysdig.V2, sysdig.ProviderSpec{RoleARN: roleA})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
			} else if err != nil || p.ID == "" || p.RoleARN != roleA {
				t.Fatalf("create = %+v, %v", p, err)
			}
			// Only the caller knows whether the role was free before: it must be told
			// when the provider came from a look-up rather than from the POST's answer.
			if lookedUp := tt.rewrite != nil && err == nil; p.FoundByLookup != lookedUp {
				t.Errorf("FoundByLookup = %v, want %v", p.FoundByLookup, lookedUp)
			}
			if n := len(emu.Providers()); n != 1 {
				t.Errorf("%d providers stored, want 1", n)
			}
			if proxy.posts != tt.posts {
				t.Errorf("%d POSTs, want %d", proxy.posts, tt.posts)
			}
		})
	}
}

func TestCreateAfterResetLooksUp(t *testing.T) {
	// A reset connection on POST never reaches the handler in the emulator,
	// so the lookup finds nothing and the retry creates exactly one.
	emu, url := startEmu(t)
	emu.Inject(sysdigemu.Fault{Method: "POST", ResetConn: true})
	c, _ := newClient(t, url)
	p, err := c.CreateProvider(ctxTimeout(t, 30*time.Second), sysdig.V1, sysdig.ProviderSpec{RoleARN: roleA})
	if err != nil || p.FoundByLookup {
		t.Fatalf("create = %+v, %v: the retried POST's own answer, not a look-up, holds the provider", p, err)
	}
	var methods []string
	for _, r := range emu.Requests() {
		methods = append(methods, r.Method)
	}
	if strings.Join(methods, ",") != "POST,GET,POST" || len(emu.Providers()) != 1 {
		t.Errorf("requests %v, providers %+v", methods, emu.Providers())
	}
}

func TestCreateLookupFailureStops(t *testing.T) {
	emu, url := startEmu(t)
	emu.Inject(sysdigemu.Fault{Method: "POST", Statuses: []int{500}})
	emu.Inject(sysdigemu.Fault{Method: "GET", Statuses: []int{403}})
	c, _ := newClient(t, url)
	_, err := c.CreateProvider(ctxTimeout(t, 30*time.Second), sysdig.V1, sysdig.ProviderSpec{RoleARN: roleA})
	if err == nil || !strings.Contains(err.Error(), "may have registered") || !sysdig.IsAuth(err) {
		t.Fatalf("err = %v", err)
	}
}

func TestSeededProviderConflict(t *testing.T) {
	emu, url := startEmu(t)
	id := emu.Seed(sysdig.ProviderSpec{RoleARN: roleA, Alias: "by-hand", Regions: []string{"us-west-2"}})
	c, _ := newClient(t, url)
	ctx := ctxTimeout(t, 30*time.Second)
	_, err := c.CreateProvider(ctx, sysdig.V1, sysdig.ProviderSpec{RoleARN: roleA})
	if !sysdig.IsConflict(err) {
		t.Fatalf("err = %v, want 409", err)
	}
	p, ok, err := c.FindProviderByRole(ctx, sysdig.V2, "arn:aws:iam::123456789012:role/some/path/SYSDIG-A")
	if err != nil || !ok || p.ID != id || strings.Join(p.Regions, ",") != "US_WEST_2" {
		t.Fatalf("find = %+v, %v, %v", p, ok, err)
	}
}

func TestClientValidation(t *testing.T) {
	emu, url := startEmu(t)
	c, _ := newClient(t, url)
	ctx := ctxTimeout(t, 30*time.Second)
	checks := []struct {
		name string
		err  error
		want string
	}{
		{"bad role", func() error {
			_, err := c.CreateProvider(ctx, sysdig.V1, sysdig.ProviderSpec{RoleARN: "sysdig"})
			return err
		}(), "not an IAM role ARN"},
		{"bad region", func() error {
			_, err := c.CreateProvider(ctx, sysdig.V2, sysdig.ProviderSpec{RoleARN: roleA, Regions: []string{"moon-1"}})
			return err
		}(), "not an AWS region"},
		{"bad version", func() error { _, err := c.ListProviders(ctx, "v3"); return err }(), "unknown providers API version"},
		{"bad id", func() error { _, err := c.GetProvider(ctx, sysdig.V1, "../users/me"); return err }(), "provider id"},
		{"empty id", c.DeleteProvider(ctx, sysdig.V1, ""), "provider id"},
		{"find bad role", func() error { _, _, err := c.FindProviderByRole(ctx, sysdig.V1, "x"); return err }(), "not an IAM role ARN"},
	}
	for _, ch := range checks {
		if ch.err == nil || !strings.Contains(ch.err.Error(), ch.want) {
			t.Errorf("%s: err = %v, want %q", ch.name, ch.err, ch.want)
		}
	}
	if n := len(emu.Requests()); n != 0 {
		t.Errorf("%d requests sent for invalid input", n)
	}
}

func TestRedirectRefused(t *testing.T) {
	var hits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		_, _ = io.WriteString(w, `{"providers":[]}`)
	}))
	defer target.Close()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+r.URL.Path, http.StatusFound)
	}))
	defer srv.Close()
	c, _ := newClient(t, srv.URL, fastRetry(2))
	_, err := c.ListProviders(ctxTimeout(t, 30*time.Second), sysdig.V1)
	if err == nil || !strings.Contains(err.Error(), "redirect") || hits.Load() != 0 {
		t.Fatalf("err = %v, %d requests followed the redirect", err, hits.Load())
	}
}

// A single-provider answer is read whole and bounded; a list is read as a stream and
// never fails for its size.
func TestOversizedAnswer(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/providers" {
			_, _ = io.WriteString(w, `{"providers":[`+strings.Repeat(" ", 2<<20)+`]}`)
			return
		}
		_, _ = io.WriteString(w, `{"provider":{"id":1,"alias":"`+strings.Repeat("x", 2<<20)+`"}}`)
	}))
	defer srv.Close()
	c, _ := newClient(t, srv.URL)
	if _, err := c.GetProvider(ctxTimeout(t, 30*time.Second), sysdig.V1, "1"); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Fatalf("get: err = %v", err)
	}
	if ps, err := c.ListProviders(ctxTimeout(t, 30*time.Second), sysdig.V1); err != nil || len(ps) != 0 {
		t.Fatalf("list: %v, %v", ps, err)
	}
}

func TestCreateAnswerAsList(t *testing.T) {
	// The seed says the create answer "lists all the providers".
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"providers": []any{
			map[string]any{"id": 1, "credentials": map[string]any{"role": roleB}},
			map[string]any{"id": 2, "credentials": map[string]any{"role": roleA}},
		}})
	}))
	defer srv.Close()
	c, _ := newClient(t, srv.URL)
	p, err := c.CreateProvider(ctxTimeout(t, 30*time.Second), sysdig.V1, sysdig.ProviderSpec{RoleARN: roleA})
	if err != nil || p.ID != "2" {
		t.Fatalf("create = %+v, %v", p, err)
	}
}

func TestInsecureSkipVerify(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"providers":[]}`)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshakes are expected
	srv.StartTLS()
	defer srv.Close()
	secure, _ := newClient(t, srv.URL)
	if _, err := secure.ListProviders(ctxTimeout(t, 30*time.Second), sysdig.V1); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("self-signed certificate accepted without the option: %v", err)
	}
	insecure, logs := newClient(t, srv.URL, sysdig.WithInsecureSkipVerify())
	if _, err := insecure.ListProviders(ctxTimeout(t, 30*time.Second), sysdig.V1); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "verification is OFF") {
		t.Errorf("no warning:\n%s", logs)
	}
}

func TestConcurrentCreates(t *testing.T) {
	emu, url := startEmu(t)
	emu.Inject(sysdigemu.Fault{Method: "GET", Statuses: []int{500, 503, 429}})
	c, _ := newClient(t, url, fastRetry(8))
	ctx := ctxTimeout(t, 60*time.Second)
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			role := fmt.Sprintf("arn:aws:iam::123456789012:role/r%d", i)
			v := sysdig.V1
			if i%2 == 1 {
				v = sysdig.V2
			}
			p, err := c.CreateProvider(ctx, v, sysdig.ProviderSpec{RoleARN: role})
			if err == nil {
				_, err = c.GetProvider(ctx, v, p.ID)
			}
			if err == nil {
				_, err = c.ListProviders(ctx, v)
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if got := len(emu.Providers()); got != n {
		t.Errorf("%d providers, want %d", got, n)
	}
}
