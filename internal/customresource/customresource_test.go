package customresource

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/cfn"

	"sysdig-aws-connect/internal/testutil"
)

// catcher stands in for the presigned ResponseURL: it records every PUT and can fail the
// first ones.
type catcher struct {
	mu       sync.Mutex
	failures []int // statuses answered to the first PUTs
	puts     []put
	srv      *httptest.Server
}

type put struct {
	method      string
	contentType []string
	query       string
	body        []byte
	status      int
}

func newCatcher(t *testing.T, failures ...int) *catcher {
	c := &catcher{failures: failures}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c.mu.Lock()
		defer c.mu.Unlock()
		status := http.StatusOK
		if len(c.failures) > 0 {
			status, c.failures = c.failures[0], c.failures[1:]
		}
		c.puts = append(c.puts, put{r.Method, r.Header.Values("Content-Type"), r.URL.RawQuery, body, status})
		w.WriteHeader(status)
	}))
	t.Cleanup(c.srv.Close)
	return c
}

func (c *catcher) url() string {
	return c.srv.URL + "/cfn/stack/req?X-Amz-Signature=topsecretsignature&X-Amz-Expires=7200"
}

func (c *catcher) all() []put {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]put(nil), c.puts...)
}

// final decodes the last successful PUT.
func (c *catcher) final(t *testing.T) Response {
	t.Helper()
	puts := c.all()
	var ok []put
	for _, p := range puts {
		if p.status == http.StatusOK {
			ok = append(ok, p)
		}
	}
	if len(ok) != 1 {
		t.Fatalf("want exactly one accepted answer, got %d (of %d PUTs)", len(ok), len(puts))
	}
	var r Response
	if err := json.Unmarshal(ok[0].body, &r); err != nil {
		t.Fatalf("answer is not JSON: %v", err)
	}
	return r
}

func request(responseURL string, typ cfn.RequestType) []byte {
	ev := map[string]any{
		"RequestType":        typ,
		"RequestId":          "11111111-2222-3333-4444-555555555555",
		"ResponseURL":        responseURL,
		"ResourceType":       "Custom::Thing",
		"LogicalResourceId":  "Thing",
		"StackId":            "arn:aws:cloudformation:us-east-1:123456789012:stack/s/guid",
		"ResourceProperties": map[string]any{"ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:f"},
	}
	if typ != cfn.RequestCreate {
		ev["PhysicalResourceId"] = "existing-id"
	}
	b, _ := json.Marshal(ev)
	return b
}

func snsWrap(inner []byte) []byte {
	b, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"EventSource": "aws:sns",
		"Sns":         map[string]any{"TopicArn": "arn:aws:sns:us-east-1:999999999999:registrar", "Message": string(inner)},
	}}})
	return b
}

func TestDecode(t *testing.T) {
	good := request("https://bucket.s3.amazonaws.com/x?sig=1", cfn.RequestCreate)
	cases := []struct {
		name       string
		payload    []byte
		wantErr    string
		answerable bool
		via        string
	}{
		{name: "direct", payload: good, via: "direct"},
		{name: "sns", payload: snsWrap(good), via: "sns"},
		{name: "not json", payload: []byte("{"), wantErr: "not a JSON object"},
		{name: "json array", payload: []byte("[1]"), wantErr: "not a JSON object"},
		{name: "no response url", payload: []byte(`{"RequestType":"Create"}`), wantErr: "missing ResponseURL"},
		{name: "relative response url", payload: []byte(`{"ResponseURL":"/x"}`), wantErr: "absolute"},
		{name: "plain http response url", payload: []byte(`{"ResponseURL":"http://attacker.example/x"}`), wantErr: "must be https"},
		{name: "bad request type", payload: []byte(`{"RequestType":"Destroy","ResponseURL":"https://h/x","RequestId":"r","StackId":"s","LogicalResourceId":"l","ResourceType":"t"}`), wantErr: "Destroy", answerable: true},
		{name: "delete without physical id", payload: []byte(`{"RequestType":"Delete","ResponseURL":"https://h/x","RequestId":"r","StackId":"s","LogicalResourceId":"l","ResourceType":"t"}`), wantErr: "without PhysicalResourceId", answerable: true},
		{name: "missing fields", payload: []byte(`{"RequestType":"Create","ResponseURL":"https://h/x"}`), wantErr: "missing RequestId, StackId, LogicalResourceId, ResourceType", answerable: true},
		{name: "wrong type keeps url", payload: []byte(`{"RequestType":"Create","ResponseURL":"https://h/x","RequestId":"r","ResourceProperties":"oops"}`), wantErr: "field ResourceProperties", answerable: true},
		{name: "sns with two records", payload: []byte(`{"Records":[{"Sns":{"Message":"{}"}},{"Sns":{"Message":"{}"}}]}`), wantErr: "exactly one SNS record"},
		{name: "sns message not json", payload: []byte(`{"Records":[{"Sns":{"Message":"nope"}}]}`), wantErr: "not a CloudFormation"},
		{name: "too large", payload: append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), maxPayload)...), wantErr: "exceeds"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, env, err := Decode(tc.payload)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if env.Via != tc.via || req.LogicalResourceID != "Thing" || req.RequestType != cfn.RequestCreate {
					t.Fatalf("decoded %+v via %s", req, env.Via)
				}
				return
			}
			var invalid *InvalidRequestError
			if !errors.As(err, &invalid) || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
			}
			if invalid.Answerable != tc.answerable {
				t.Fatalf("answerable = %v, want %v", invalid.Answerable, tc.answerable)
			}
			if invalid.Answerable && req.ResponseURL == "" {
				t.Fatal("answerable error without a ResponseURL")
			}
		})
	}
}

func TestEncodeResponseFitsTheLimit(t *testing.T) {
	base := Response{Status: cfn.StatusFailed, RequestID: "r", LogicalResourceID: "l", StackID: "arn:aws:cloudformation:us-east-1:123456789012:stack/s/g", PhysicalResourceID: "p"}
	cases := []struct {
		name   string
		reason string
		data   map[string]any
		status cfn.StatusType
		want   cfn.StatusType
	}{
		{name: "short", reason: "no", want: cfn.StatusFailed},
		{name: "20 KB ascii", reason: strings.Repeat("sysdig said: boom ", 1200), want: cfn.StatusFailed},
		{name: "20 KB multibyte", reason: strings.Repeat("é€😀", 2000), want: cfn.StatusFailed},
		{name: "escapes", reason: strings.Repeat("<\"\\\n\x01>", 3000), want: cfn.StatusFailed},
		{name: "big data on failure dropped", reason: "x", data: map[string]any{"k": strings.Repeat("v", 5000)}, want: cfn.StatusFailed},
		{name: "big data on success fails honestly", status: cfn.StatusSuccess, data: map[string]any{"k": strings.Repeat("v", 5000)}, want: cfn.StatusFailed},
		{name: "small data on success", status: cfn.StatusSuccess, data: map[string]any{"ProviderId": "7"}, want: cfn.StatusSuccess},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := base
			r.Reason, r.Data = tc.reason, tc.data
			if tc.status != "" {
				r.Status = tc.status
			}
			body, err := EncodeResponse(r)
			if err != nil {
				t.Fatal(err)
			}
			if len(body) > MaxResponseBytes {
				t.Fatalf("body is %d bytes", len(body))
			}
			var got Response
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if got.Status != tc.want || got.PhysicalResourceID != "p" || got.RequestID != "r" {
				t.Fatalf("got %+v", got)
			}
			if !utf8.ValidString(got.Reason) {
				t.Fatal("Reason is not valid UTF-8")
			}
			if len(tc.reason) > 10 && !strings.HasPrefix(got.Reason, tc.reason[:10]) && !strings.Contains(got.Reason, tc.reason[:10]) {
				t.Fatalf("Reason lost its start: %.80q", got.Reason)
			}
			if tc.want == cfn.StatusFailed && got.Reason == "" {
				t.Fatal("FAILED without a Reason")
			}
		})
	}
}

func TestSenderRetriesThenSucceeds(t *testing.T) {
	c := newCatcher(t, 500, 503)
	s := NewSender(WithSendRetry(time.Millisecond, 5*time.Millisecond, 5))
	n, err := s.Send(context.Background(), c.url(), []byte(`{"Status":"SUCCESS"}`))
	if err != nil || n != 3 {
		t.Fatalf("attempts %d err %v; want 3, nil", n, err)
	}
	for _, p := range c.all() {
		if p.method != http.MethodPut || len(p.contentType) != 0 {
			t.Fatalf("sent %s with Content-Type %v; want PUT without Content-Type", p.method, p.contentType)
		}
	}
}

func TestSenderStopsOnClientErrorsAndDeadlines(t *testing.T) {
	c := newCatcher(t, 403, 403)
	s := NewSender(WithSendRetry(time.Millisecond, 5*time.Millisecond, 5))
	n, err := s.Send(context.Background(), c.url(), []byte(`{}`))
	var se *SendError
	if !errors.As(err, &se) || n != 1 || se.Status != 403 {
		t.Fatalf("attempts %d err %v; want one attempt ending in 403", n, err)
	}
	if strings.Contains(err.Error(), "topsecretsignature") {
		t.Fatalf("error leaks the signature: %v", err)
	}

	always := newCatcher(t, 500, 500, 500, 500, 500, 500, 500, 500)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s = NewSender(WithSendRetry(20*time.Millisecond, 20*time.Millisecond, 100))
	n, err = s.Send(ctx, always.url(), []byte(`{}`))
	if err == nil || n >= 100 {
		t.Fatalf("attempts %d err %v; want the deadline to stop the retries", n, err)
	}
}

func TestSenderConnectionRefusedDoesNotLeakURL(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL + "/x?X-Amz-Signature=topsecretsignature"
	srv.Close()
	s := NewSender(WithSendRetry(time.Millisecond, time.Millisecond, 2))
	_, err := s.Send(context.Background(), url, []byte(`{}`))
	if err == nil || strings.Contains(err.Error(), "topsecretsignature") {
		t.Fatalf("error %v: want a failure that does not carry the signature", err)
	}
}

func newFunction(h Handler, logs io.Writer, opts ...Option) *Function {
	logger := slog.New(slog.NewJSONHandler(logs, nil))
	base := []Option{
		WithLogger(logger),
		WithSender(NewSender(WithSendRetry(time.Millisecond, 5*time.Millisecond, 5), WithAttemptTimeout(time.Second))),
	}
	f := New(h, append(base, opts...)...)
	f.logStreamFn = func() string { return "2026/11/26/[$LATEST]abc" }
	return f
}

func TestInvokeAnswersExactlyOnce(t *testing.T) {
	hang := make(chan struct{})
	t.Cleanup(func() { close(hang) })
	cases := []struct {
		name       string
		typ        cfn.RequestType
		handler    HandlerFunc
		failures   []int
		wantStatus cfn.StatusType
		wantID     string
		wantReason string
		wantData   bool
	}{
		{
			name: "success", typ: cfn.RequestCreate,
			handler: func(ctx context.Context, req Request) (Result, error) {
				return Result{PhysicalResourceID: "made-1", Data: map[string]any{"K": "V"}}, nil
			},
			wantStatus: cfn.StatusSuccess, wantID: "made-1", wantData: true,
		},
		{
			name: "error on create names nothing", typ: cfn.RequestCreate,
			handler: func(ctx context.Context, req Request) (Result, error) {
				return Result{}, errors.New("property RoleArn: required")
			},
			wantStatus: cfn.StatusFailed, wantID: "11111111-2222-3333-4444-555555555555", wantReason: "[log stream 2026/11/26/[$LATEST]abc] property RoleArn: required",
		},
		{
			name: "error on update keeps the id", typ: cfn.RequestUpdate,
			handler: func(ctx context.Context, req Request) (Result, error) {
				return Result{}, errors.New("sysdig: 500")
			},
			wantStatus: cfn.StatusFailed, wantID: "existing-id", wantReason: "sysdig: 500",
		},
		{
			name: "panic", typ: cfn.RequestDelete,
			handler: func(ctx context.Context, req Request) (Result, error) {
				var m map[string]int
				m["boom"]++
				return Result{}, nil
			},
			wantStatus: cfn.StatusFailed, wantID: "existing-id", wantReason: "internal error (panic)",
		},
		{
			name: "handler ignoring its deadline answers with the recorded id", typ: cfn.RequestCreate,
			handler: func(ctx context.Context, req Request) (Result, error) {
				RecordPhysicalID(ctx, "created-before-hang")
				<-hang
				return Result{}, nil
			},
			wantStatus: cfn.StatusFailed, wantID: "created-before-hang", wantReason: "timed out",
		},
		{
			name: "response PUT fails twice", typ: cfn.RequestCreate, failures: []int{500, 502},
			handler: func(ctx context.Context, req Request) (Result, error) {
				return Result{PhysicalResourceID: "made-2"}, nil
			},
			wantStatus: cfn.StatusSuccess, wantID: "made-2",
		},
		{
			name: "20 KB error", typ: cfn.RequestCreate,
			handler: func(ctx context.Context, req Request) (Result, error) {
				return Result{}, errors.New(strings.Repeat("x", 20<<10))
			},
			wantStatus: cfn.StatusFailed, wantID: "11111111-2222-3333-4444-555555555555", wantReason: "xxxx",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCatcher(t, tc.failures...)
			logs := &testutil.SyncBuffer{}
			f := newFunction(tc.handler, logs)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			if err := f.Invoke(ctx, request(c.url(), tc.typ)); err != nil {
				t.Fatalf("Invoke returned %v; it must return nil so Lambda does not re-run", err)
			}
			if ctx.Err() != nil {
				t.Fatal("answered after the function's deadline")
			}
			got := c.final(t)
			if got.Status != tc.wantStatus || got.PhysicalResourceID != tc.wantID {
				t.Fatalf("answered %s %q; want %s %q (reason %q)", got.Status, got.PhysicalResourceID, tc.wantStatus, tc.wantID, got.Reason)
			}
			if !strings.Contains(got.Reason, tc.wantReason) {
				t.Fatalf("Reason %.200q lacks %q", got.Reason, tc.wantReason)
			}
			if (got.Data != nil) != tc.wantData {
				t.Fatalf("Data = %v", got.Data)
			}
			if got.RequestID == "" || got.StackID == "" || got.LogicalResourceID != "Thing" {
				t.Fatalf("answer lacks request fields: %+v", got)
			}
			for _, p := range c.all() {
				if len(p.body) > MaxResponseBytes {
					t.Fatalf("sent %d bytes", len(p.body))
				}
			}
			if strings.Contains(logs.String(), "topsecretsignature") {
				t.Fatal("logs hold the ResponseURL's signature")
			}
			if len(tc.failures) > 0 && strings.Count(logs.String(), "response not accepted; retrying") != len(tc.failures) {
				t.Fatalf("the failed PUTs were not logged:\n%s", logs.String())
			}
			if !strings.Contains(logs.String(), `"msg":"response sent"`) {
				t.Fatalf("no 'response sent' log line:\n%s", logs.String())
			}
		})
	}
}

func TestInvokeSNSWrapped(t *testing.T) {
	c := newCatcher(t)
	logs := &testutil.SyncBuffer{}
	var seen Request
	f := newFunction(HandlerFunc(func(ctx context.Context, req Request) (Result, error) {
		seen = req
		return Result{PhysicalResourceID: "p"}, nil
	}), logs)
	if err := f.Invoke(context.Background(), snsWrap(request(c.url(), cfn.RequestCreate))); err != nil {
		t.Fatal(err)
	}
	if seen.LogicalResourceID != "Thing" || c.final(t).Status != cfn.StatusSuccess {
		t.Fatalf("SNS request not handled: %+v", seen)
	}
	if !strings.Contains(logs.String(), `"topic_arn":"arn:aws:sns:us-east-1:999999999999:registrar"`) {
		t.Fatal("log lacks the topic")
	}
}

func TestInvokeUnanswerableAndMalformed(t *testing.T) {
	logs := &testutil.SyncBuffer{}
	called := false
	f := newFunction(HandlerFunc(func(ctx context.Context, req Request) (Result, error) {
		called = true
		return Result{}, nil
	}), logs)
	if err := f.Invoke(context.Background(), []byte(`{"hello":"world"}`)); err != nil {
		t.Fatal(err)
	}
	if called || !strings.Contains(logs.String(), "request dropped") {
		t.Fatalf("unanswerable request: called=%v logs=%s", called, logs.String())
	}

	c := newCatcher(t)
	payload := []byte(`{"RequestType":"Update","ResponseURL":"` + c.url() + `","RequestId":"r","StackId":"s","LogicalResourceId":"l","ResourceType":"t"}`)
	if err := f.Invoke(context.Background(), payload); err != nil {
		t.Fatal(err)
	}
	got := c.final(t)
	if called || got.Status != cfn.StatusFailed || !strings.Contains(got.Reason, "without PhysicalResourceId") || got.PhysicalResourceID != "r" {
		t.Fatalf("malformed request answered %+v (handler called %v)", got, called)
	}
}

func TestDefaultMargin(t *testing.T) {
	cases := []struct{ remaining, want time.Duration }{
		{300 * time.Second, 15 * time.Second},
		{30 * time.Second, 6 * time.Second},
		{5 * time.Second, 2 * time.Second},
		{3 * time.Second, 1500 * time.Millisecond},
	}
	for _, tc := range cases {
		if got := defaultMargin(tc.remaining); got != tc.want {
			t.Errorf("defaultMargin(%v) = %v, want %v", tc.remaining, got, tc.want)
		}
	}
}

func TestRedactURL(t *testing.T) {
	got := RedactURL("https://user:pw@cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws/req?X-Amz-Signature=abc#frag")
	if strings.Contains(got, "abc") || strings.Contains(got, "pw") || !strings.HasSuffix(got, "/arn%3Aaws/req") {
		t.Fatalf("RedactURL = %s", got)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(request("https://h/x?s=1", cfn.RequestCreate))
	f.Add(request("https://h/x?s=1", cfn.RequestDelete))
	f.Add(snsWrap(request("https://h/x", cfn.RequestUpdate)))
	f.Add([]byte(`{"Records":[]}`))
	f.Add([]byte(`{"ResponseURL":"https://h/x","ResourceProperties":[1]}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		req, _, err := Decode(payload)
		if err == nil {
			if checkResponseURL(req.ResponseURL) != nil || validate(req) != nil {
				t.Fatalf("accepted an invalid request: %+v", req)
			}
			return
		}
		var invalid *InvalidRequestError
		if !errors.As(err, &invalid) {
			t.Fatalf("error of type %T", err)
		}
		if invalid.Answerable && checkResponseURL(req.ResponseURL) != nil {
			t.Fatal("answerable without a usable ResponseURL")
		}
	})
}

func FuzzEncodeResponse(f *testing.F) {
	f.Add("short", "p", 0)
	f.Add(strings.Repeat("é\"\\", 3000), strings.Repeat("p", 900), 200)
	f.Fuzz(func(t *testing.T, reason, physicalID string, dataLen int) {
		if dataLen < 0 || dataLen > 10000 || len(physicalID) > MaxPhysicalIDBytes {
			return
		}
		r := Response{Status: cfn.StatusFailed, Reason: reason, PhysicalResourceID: physicalID, RequestID: "r", StackID: "s", LogicalResourceID: "l"}
		if dataLen > 0 {
			r.Data = map[string]any{"D": strings.Repeat("d", dataLen)}
		}
		body, err := EncodeResponse(r)
		if err != nil {
			t.Fatal(err)
		}
		if len(body) > MaxResponseBytes || !json.Valid(body) {
			t.Fatalf("%d bytes, valid=%v", len(body), json.Valid(body))
		}
	})
}

// A PUT that stalls must not use up the whole window for the answer: each attempt gets at
// most a third of the time left, and the next one gets through.
func TestSenderRetriesAfterAStalledAttempt(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		first := calls == 1
		mu.Unlock()
		if first {
			select {
			case <-r.Context().Done():
			case <-release:
			}
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	n, err := NewSender(WithSendRetry(10*time.Millisecond, 10*time.Millisecond, 5)).Send(ctx, srv.URL+"/x", []byte(`{}`))
	if err != nil || n != 2 {
		t.Fatalf("attempts %d, err %v; want the second attempt to succeed within the window", n, err)
	}
}
