package sysdig_test

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sysdig-aws-connect/internal/sysdig"
)

// readRecorder wraps every answer body the client reads and records how much it read
// and the largest single read it asked for: a decoder that buffered the whole answer
// (io.ReadAll, or json.Decoder holding one huge value) asks for ever larger reads.
type readRecorder struct {
	base          http.RoundTripper
	read, maxAsk  atomic.Int64
	posts, others atomic.Int32
}

func (rr *readRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method == http.MethodPost {
		rr.posts.Add(1)
	} else {
		rr.others.Add(1)
	}
	resp, err := rr.base.RoundTrip(req)
	if err == nil {
		resp.Body = &recordedBody{ReadCloser: resp.Body, rr: rr}
	}
	return resp, err
}

type recordedBody struct {
	io.ReadCloser
	rr *readRecorder
}

func (b *recordedBody) Read(p []byte) (int, error) {
	for {
		old := b.rr.maxAsk.Load()
		if int64(len(p)) <= old || b.rr.maxAsk.CompareAndSwap(old, int64(len(p))) {
			break
		}
	}
	n, err := b.ReadCloser.Read(p)
	b.rr.read.Add(int64(n))
	return n, err
}

// providerItem is one v1 provider as Sysdig's guide shows it (about 250 bytes).
func providerItem(id int, role string) string {
	return fmt.Sprintf(`{"id":%d,"name":"aws","credentials":{"id":"role_delegation","role":%q},"tags":[],`+
		`"status":{"status":"configured","lastUpdate":null,"percentage":0,"lastProviderMessages":[]},"alias":"role_delegation"}`, id, role)
}

// streamList answers {"providers":[…]} with n providers, the role's (if at >= 0) at
// index at, written and flushed as it goes, with pad bytes of whitespace after each item
// when pad > 0. It returns the answer's size.
func streamList(w http.ResponseWriter, n, at int, pad string) int64 {
	w.Header().Set("Content-Type", "application/json")
	bw := bufio.NewWriterSize(w, 64<<10)
	var size int64
	write := func(s string) {
		k, _ := bw.WriteString(s)
		size += int64(k)
	}
	write(`{"providers":[`)
	for i := range n {
		if i > 0 {
			write(",")
		}
		role := fmt.Sprintf("arn:aws:iam::%012d:role/sysdig-%d", 100000000000+i, i)
		if i == at {
			role = roleA
		}
		write(providerItem(i+1, role))
		write(pad)
		if i%1000 == 999 {
			_ = bw.Flush()
			w.(http.Flusher).Flush()
		}
	}
	write(`],"total":` + fmt.Sprint(n) + `}`)
	_ = bw.Flush()
	return size
}

// The v1 registration answer "lists all the providers" (Sysdig's guide): on a large
// tenant that is megabytes. It is read as a stream, one provider at a time, and never
// fails for its size; an answer that is no provider answer at all still says so.
func TestCreateAnswerStreamed(t *testing.T) {
	const many = 20000 // about 5 MB
	html := "<html><body>" + strings.Repeat("<p>Welcome to the portal</p>", 80000) + "</body></html>"
	cases := []struct {
		name    string
		v       sysdig.APIVersion
		answer  func(w http.ResponseWriter) int64
		wantID  string
		wantErr []string
		// readAll says the answer must be read to its end (the role's provider is last, or
		// the answer is refused); otherwise the read must stop well before it.
		readAll bool
		// maxAsk bounds the largest read the decoder asked for.
		maxAsk int64
	}{
		{name: "list of 20,000, the role's last", v: sysdig.V1, answer: func(w http.ResponseWriter) int64 { return streamList(w, many, many-1, "") },
			wantID: fmt.Sprint(many), readAll: true, maxAsk: 64 << 10},
		{name: "list of 20,000, the role's fifth", v: sysdig.V1, answer: func(w http.ResponseWriter) int64 { return streamList(w, many, 4, "") },
			wantID: "5", maxAsk: 64 << 10},
		{name: "list padded with 6 MB of whitespace", v: sysdig.V1, answer: func(w http.ResponseWriter) int64 { return streamList(w, 2000, 1999, strings.Repeat(" \n", 1500)) },
			wantID: "2000", readAll: true, maxAsk: 64 << 10},
		{name: "v2 bare array", v: sysdig.V2, answer: func(w http.ResponseWriter) int64 {
			b := `[{"id":1,"credentials":{"accountId":"123456789012","roleName":"other"}},{"id":2,"credentials":{"accountId":"123456789012","roleName":"sysdig-a"}}]`
			_, _ = io.WriteString(w, b)
			return int64(len(b))
		}, wantID: "2", readAll: true, maxAsk: 64 << 10},
		{name: "single provider", v: sysdig.V1, answer: func(w http.ResponseWriter) int64 {
			b := `{"provider":` + providerItem(7, roleA) + `}`
			_, _ = io.WriteString(w, b)
			return int64(len(b))
		}, wantID: "7", readAll: true, maxAsk: 64 << 10},
		{name: "list without the role", v: sysdig.V1, answer: func(w http.ResponseWriter) int64 { return streamList(w, many, -1, "") },
			wantErr: []string{"answered 200 but", "list of 20000 providers has none for role " + roleA, "check the providers in Sysdig (SYSDIG_MONITOR_API_TOKEN=<token> sysdig-connect --api-url http://127.0.0.1:"}, readAll: true, maxAsk: 64 << 10},
		{name: "oversized HTML", v: sysdig.V1, answer: func(w http.ResponseWriter) int64 {
			_, _ = io.WriteString(w, html)
			return int64(len(html))
		}, wantErr: []string{"the answer is larger than 1048576 bytes; is the API URL", "pointing at the Sysdig API?"}, maxAsk: 64 << 10},
		{name: "single provider larger than the cap", v: sysdig.V1, answer: func(w http.ResponseWriter) int64 {
			b := `{"provider":{"id":1,"alias":"` + strings.Repeat("x", 3<<20) + `"}}`
			_, _ = io.WriteString(w, b)
			return int64(len(b))
		}, wantErr: []string{"larger than 1048576 bytes", "one JSON value in the answer is larger than"}, maxAsk: 1<<20 + 64<<10},
		{name: "neither provider nor providers", v: sysdig.V1, answer: func(w http.ResponseWriter) int64 {
			_, _ = io.WriteString(w, `{"ok":true}`)
			return 11
		}, wantErr: []string{"answered 200 but", `neither a "provider" object nor a "providers" array`}, readAll: true, maxAsk: 64 << 10},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var size atomic.Int64
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodPost {
					http.Error(w, "only POST here", http.StatusMethodNotAllowed)
					return
				}
				size.Store(tc.answer(w))
			}))
			defer srv.Close()
			rr := &readRecorder{base: http.DefaultTransport.(*http.Transport).Clone()}
			c, _ := newClient(t, srv.URL, sysdig.WithHTTPClient(&http.Client{Transport: rr}))
			p, err := c.CreateProvider(ctxTimeout(t, 60*time.Second), tc.v, sysdig.ProviderSpec{RoleARN: roleA})
			if tc.wantErr == nil {
				if err != nil || p.ID != tc.wantID || !sysdig.SameRole(p.RoleARN, roleA) || p.FoundByLookup {
					t.Fatalf("create = %+v, %v; want provider %s for %s", p, err, tc.wantID, roleA)
				}
			} else {
				if err == nil {
					t.Fatalf("create = %+v, want an error", p)
				}
				for _, want := range tc.wantErr {
					if !strings.Contains(err.Error(), want) {
						t.Errorf("error %q\nlacks %q", err, want)
					}
				}
			}
			// One call, whatever the answer: a refused answer is not retried, nothing is listed.
			if posts, others := rr.posts.Load(), rr.others.Load(); posts != 1 || others != 0 {
				t.Errorf("%d POSTs and %d other calls, want 1 POST", posts, others)
			}
			if got := rr.maxAsk.Load(); got > tc.maxAsk {
				t.Errorf("the client asked for reads of up to %d bytes, want at most %d: it buffers the answer", got, tc.maxAsk)
			}
			srv.Close() // the handler has finished: size is final
			read, total := rr.read.Load(), size.Load()
			switch {
			case tc.readAll && read < total-8<<10:
				t.Errorf("read %d of the answer's %d bytes, want all (but what follows the role's provider)", read, total)
			case !tc.readAll && read > 2<<20:
				t.Errorf("read %d of the answer's %d bytes, want the read to stop early", read, total)
			}
		})
	}
}
