package localaws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"sysdig-aws-connect/internal/testutil"
)

const testStackID = "arn:aws:cloudformation:eu-west-1:111122223333:stack/demo/0a1b2c3d-0000-4000-8000-000000000000"

func startCatcher(t *testing.T) (*ResponseCatcher, string) {
	t.Helper()
	c := NewResponseCatcher()
	u, stop := c.Start()
	t.Cleanup(stop)
	return c, u
}

func validBody(requestID string) map[string]any {
	return map[string]any{
		"Status": "SUCCESS", "PhysicalResourceId": "sysdig-external-id", "StackId": testStackID,
		"RequestId": requestID, "LogicalResourceId": "ExternalId", "Data": map[string]any{"ExternalId": "abc"},
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// put sends body to u the way a custom resource should: PUT, no Content-Type.
func put(ctx context.Context, u string, body []byte, contentType string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u, bytes.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), err
}

func TestCatcherURL(t *testing.T) {
	c, base := startCatcher(t)
	u1 := c.NewURL("req-1")
	u2, err := c.NewURLFor(Target{RequestID: "req-2", StackID: testStackID, LogicalResourceID: "ExternalId"})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, url, reqID, wantPath string
	}{
		{"default target", u1, "req-1", "/cloudformation-responses/local-stack/Resource/req-1"},
		{"explicit target", u2, "req-2", "/cloudformation-responses/demo/ExternalId/req-2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := url.Parse(tt.url)
			if err != nil {
				t.Fatal(err)
			}
			if p.Scheme+"://"+p.Host != base || p.Hostname() != "127.0.0.1" || p.Path != tt.wantPath {
				t.Errorf("URL %s: want %s%s on 127.0.0.1", tt.url, base, tt.wantPath)
			}
			q := p.Query()
			if q.Get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256" || len(q.Get("X-Amz-Signature")) != 64 || q.Get("X-Amz-Signature") != c.Signature(tt.reqID) {
				t.Errorf("query %v: want AWS4-HMAC-SHA256 and the recorded 64-hex signature", q)
			}
		})
	}
	if c.Signature("req-1") == c.Signature("req-2") {
		t.Error("two URLs share a signature")
	}
	for _, bad := range []string{"", "a/b", "a?b"} {
		if _, err := c.NewURLFor(Target{RequestID: bad}); err == nil {
			t.Errorf("NewURLFor(%q) succeeded", bad)
		}
	}
	if _, err := NewResponseCatcher().NewURLFor(Target{RequestID: "x"}); err == nil {
		t.Error("NewURLFor on a catcher without base URL succeeded")
	}
}

func TestCatcherPUT(t *testing.T) {
	ctx := testCtx(t)
	big := validBody("")
	big["Data"] = map[string]any{"Blob": strings.Repeat("x", MaxResponseBytes)}
	tests := []struct {
		name         string
		method       string
		body         func(reqID string) []byte
		contentType  string
		allowCT      bool
		mangleURL    func(string) string
		wantStatus   int
		wantCode     string // S3 error code in the body
		wantAccepted bool
		wantInvalid  string // prefix of the CloudFormation rejection
	}{
		{name: "valid SUCCESS", wantStatus: 200, wantAccepted: true},
		{name: "valid FAILED", body: func(id string) []byte {
			b := validBody(id)
			b["Status"], b["Reason"] = "FAILED", "Sysdig API answered 401"
			return mustJSONNoT(b)
		}, wantStatus: 200, wantAccepted: true},
		{name: "wrong signature", mangleURL: func(u string) string { return replaceQuery(u, "X-Amz-Signature", strings.Repeat("0", 64)) }, wantStatus: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "missing signature", mangleURL: func(u string) string { return replaceQuery(u, "X-Amz-Signature", "") }, wantStatus: 403, wantCode: "AccessDenied"},
		{name: "no query at all", mangleURL: func(u string) string { return u[:strings.Index(u, "?")] }, wantStatus: 403, wantCode: "AccessDenied"},
		{name: "other request id's path", mangleURL: func(u string) string { return strings.Replace(u, "/ExternalId/", "/Other/", 1) }, wantStatus: 403, wantCode: "AccessDenied"},
		{name: "GET instead of PUT", method: http.MethodGet, wantStatus: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "Content-Type sent", contentType: "application/json", wantStatus: 403, wantCode: "SignatureDoesNotMatch"},
		{name: "Content-Type allowed", contentType: "application/json", allowCT: true, wantStatus: 200, wantAccepted: true},
		{name: "body over 4096 bytes", body: func(id string) []byte { big["RequestId"] = id; return mustJSONNoT(big) }, wantStatus: 200, wantAccepted: true, wantInvalid: ReasonTooLong},
		{name: "not JSON", body: func(string) []byte { return []byte("SUCCESS") }, wantStatus: 200, wantAccepted: true, wantInvalid: "Invalid response object"},
		{name: "FAILED without Reason", body: func(id string) []byte { b := validBody(id); b["Status"] = "FAILED"; return mustJSONNoT(b) }, wantStatus: 200, wantAccepted: true, wantInvalid: "Invalid response object: Reason"},
		{name: "bad Status", body: func(id string) []byte { b := validBody(id); b["Status"] = "OK"; return mustJSONNoT(b) }, wantStatus: 200, wantAccepted: true, wantInvalid: "Invalid response object: Status"},
		{name: "no PhysicalResourceId", body: func(id string) []byte { b := validBody(id); delete(b, "PhysicalResourceId"); return mustJSONNoT(b) }, wantStatus: 200, wantAccepted: true, wantInvalid: "Invalid PhysicalResourceId"},
		{name: "PhysicalResourceId too long", body: func(id string) []byte {
			b := validBody(id)
			b["PhysicalResourceId"] = strings.Repeat("p", 1025)
			return mustJSONNoT(b)
		}, wantStatus: 200, wantAccepted: true, wantInvalid: "Invalid PhysicalResourceId"},
		{name: "wrong RequestId", body: func(string) []byte { return mustJSONNoT(validBody("someone-else")) }, wantStatus: 200, wantAccepted: true, wantInvalid: "Invalid response object: RequestId"},
		{name: "wrong LogicalResourceId", body: func(id string) []byte { b := validBody(id); b["LogicalResourceId"] = "Other"; return mustJSONNoT(b) }, wantStatus: 200, wantAccepted: true, wantInvalid: "Invalid response object: LogicalResourceId"},
		{name: "wrong StackId", body: func(id string) []byte { b := validBody(id); b["StackId"] = "arn:other"; return mustJSONNoT(b) }, wantStatus: 200, wantAccepted: true, wantInvalid: "Invalid response object: StackId"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := startCatcher(t)
			c.AllowContentType(tt.allowCT)
			reqID := fmt.Sprintf("req-%d", i)
			u, err := c.NewURLFor(Target{RequestID: reqID, StackID: testStackID, LogicalResourceID: "ExternalId"})
			if err != nil {
				t.Fatal(err)
			}
			if tt.mangleURL != nil {
				u = tt.mangleURL(u)
			}
			body := mustJSON(t, validBody(reqID))
			if tt.body != nil {
				body = tt.body(reqID)
			}
			method := http.MethodPut
			if tt.method != "" {
				method = tt.method
			}
			req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			respBody, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tt.wantStatus || !strings.Contains(string(respBody), tt.wantCode) {
				t.Fatalf("answered %d %s, want %d %s", resp.StatusCode, respBody, tt.wantStatus, tt.wantCode)
			}
			if tt.wantCode != "" && resp.Header.Get("Content-Type") != "application/xml" {
				t.Errorf("error Content-Type %q, want application/xml", resp.Header.Get("Content-Type"))
			}
			if tt.name == "other request id's path" {
				return // the attempt is not attributable to a URL the catcher minted
			}
			attempts := c.Attempts(reqID)
			if len(attempts) != 1 {
				t.Fatalf("%d attempts recorded, want 1", len(attempts))
			}
			a := attempts[0]
			if a.Status != tt.wantStatus || a.Accepted != tt.wantAccepted || a.Method != method || !bytes.Equal(a.Body, body) || a.ContentType != tt.contentType {
				t.Errorf("attempt %+v", a)
			}
			if method == http.MethodPut && a.ContentLength != int64(len(body)) {
				t.Errorf("ContentLength %d, want %d", a.ContentLength, len(body))
			}
			if wantAnswers := map[bool]int{true: 1, false: 0}[tt.wantAccepted]; c.Answers(reqID) != wantAnswers {
				t.Errorf("Answers = %d, want %d", c.Answers(reqID), wantAnswers)
			}
			if !tt.wantAccepted {
				if _, ok, _ := c.Response(reqID); ok {
					t.Error("Response reports an answer for a rejected PUT")
				}
				return
			}
			got, err := c.Wait(ctx, reqID)
			var ire *InvalidResponseError
			switch {
			case tt.wantInvalid == "" && err != nil:
				t.Fatalf("Wait: %v", err)
			case tt.wantInvalid != "" && (!errors.As(err, &ire) || !strings.HasPrefix(ire.Reason, tt.wantInvalid)):
				t.Fatalf("Wait err = %v, want an InvalidResponseError starting %q", err, tt.wantInvalid)
			case tt.wantInvalid == "":
				var want Response
				if err := json.Unmarshal(body, &want); err != nil {
					t.Fatal(err)
				}
				if got.Status != want.Status || got.RequestID != reqID || got.PhysicalResourceID != want.PhysicalResourceID || got.Reason != want.Reason || got.Data["ExternalId"] != "abc" {
					t.Errorf("Wait = %+v, want %+v", got, want)
				}
			}
		})
	}
}

func mustJSONNoT(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func replaceQuery(u, key, value string) string {
	p, err := url.Parse(u)
	if err != nil {
		panic(err)
	}
	q := p.Query()
	if value == "" {
		q.Del(key)
	} else {
		q.Set(key, value)
	}
	p.RawQuery = q.Encode()
	return p.String()
}

// TestCatcherFaults drives a bounded retrying client against injected failures.
func TestCatcherFaults(t *testing.T) {
	ctx := testCtx(t)
	tests := []struct {
		name         string
		faults       [][2]int // {n, status}
		wantStatuses []int    // per attempt; 0 = reset
	}{
		{name: "no fault", wantStatuses: []int{200}},
		{name: "two 500s", faults: [][2]int{{2, 500}}, wantStatuses: []int{500, 500, 200}},
		{name: "503 then reset", faults: [][2]int{{1, 503}, {1, FaultReset}}, wantStatuses: []int{503, 0, 200}},
		{name: "resets", faults: [][2]int{{2, FaultReset}}, wantStatuses: []int{0, 0, 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, _ := startCatcher(t)
			u := c.NewURL("r")
			for _, f := range tt.faults {
				if err := c.FailNext("r", f[0], f[1]); err != nil {
					t.Fatal(err)
				}
			}
			body := mustJSON(t, validBody("r"))
			const maxTries = 5
			var seen []int
			for range maxTries {
				status, _, err := put(ctx, u, body, "")
				if err != nil {
					status = 0
				}
				seen = append(seen, status)
				if status == 200 {
					break
				}
			}
			if fmt.Sprint(seen) != fmt.Sprint(tt.wantStatuses) {
				t.Fatalf("client saw %v, want %v", seen, tt.wantStatuses)
			}
			attempts := c.Attempts("r")
			if len(attempts) != len(tt.wantStatuses) {
				t.Fatalf("%d attempts recorded, want %d", len(attempts), len(tt.wantStatuses))
			}
			for i, a := range attempts {
				if a.Status != tt.wantStatuses[i] || a.Accepted != (i == len(attempts)-1) || (a.Status != 200) != (a.Fault != "") {
					t.Errorf("attempt %d: %+v", i, a)
				}
			}
			if c.Answers("r") != 1 {
				t.Errorf("Answers = %d, want 1", c.Answers("r"))
			}
			if _, err := c.Wait(ctx, "r"); err != nil {
				t.Errorf("Wait: %v", err)
			}
		})
	}
	c, _ := startCatcher(t)
	c.NewURL("x")
	for _, bad := range [][2]int{{0, 500}, {1, 200}, {1, 302}} {
		if err := c.FailNext("x", bad[0], bad[1]); err == nil {
			t.Errorf("FailNext(%d, %d) accepted", bad[0], bad[1])
		}
	}
	if err := c.FailNext("never-minted", 1, 500); err == nil {
		t.Error("FailNext on an unknown request id accepted")
	}
}

func TestCatcherWait(t *testing.T) {
	c, _ := startCatcher(t)
	u := c.NewURL("w")

	// A cancelled context ends the wait.
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Wait(ctx, "w"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait with cancelled ctx: %v", err)
	}
	if _, err := c.Wait(testCtx(t), "unknown"); err == nil {
		t.Fatal("Wait on an unknown request id succeeded")
	}

	// A waiter blocked before the PUT sees it; a second PUT is counted, and the first wins.
	ctx = testCtx(t)
	got := make(chan Response, 1)
	errc := make(chan error, 1)
	go func() {
		r, err := c.Wait(ctx, "w")
		got <- r
		errc <- err
	}()
	first := validBody("w")
	second := validBody("w")
	second["PhysicalResourceId"] = "changed"
	for _, b := range []map[string]any{first, second} {
		if status, body, err := put(ctx, u, mustJSON(t, b), ""); err != nil || status != 200 {
			t.Fatalf("PUT: %d %s %v", status, body, err)
		}
	}
	if err := <-errc; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if r := <-got; r.PhysicalResourceID != "sysdig-external-id" {
		t.Errorf("Wait returned %+v, want the first answer", r)
	}
	if n := c.Answers("w"); n != 2 {
		t.Errorf("Answers = %d, want 2 (the second answer must be visible to tests)", n)
	}
}

func TestCatcherConcurrent(t *testing.T) {
	ctx := testCtx(t)
	c, _ := startCatcher(t)
	const n = 50
	urls := make([]string, n)
	for i := range n {
		urls[i] = c.NewURL(fmt.Sprintf("c-%d", i))
	}
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			id := fmt.Sprintf("c-%d", i)
			if status, _, err := put(ctx, urls[i], mustJSONNoT(validBody(id)), ""); err != nil || status != 200 {
				errs <- fmt.Errorf("%s: %d %v", id, status, err)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i := range n {
		id := fmt.Sprintf("c-%d", i)
		if r, err := c.Wait(ctx, id); err != nil || r.RequestID != id || c.Answers(id) != 1 {
			t.Errorf("%s: %+v %v answers=%d", id, r, err, c.Answers(id))
		}
	}
}

func TestCatcherControlAPI(t *testing.T) {
	ctx := testCtx(t)
	_, base := startCatcher(t)
	do := func(method, path string, body any) (int, []byte) {
		t.Helper()
		var rd io.Reader
		if body != nil {
			rd = bytes.NewReader(mustJSON(t, body))
		}
		req, err := http.NewRequestWithContext(ctx, method, base+path, rd)
		if err != nil {
			t.Fatal(err)
		}
		resp, b := testutil.Do(t, req)
		return resp.StatusCode, b
	}
	status, b := do(http.MethodPost, "/_local/response-urls", Target{RequestID: "ctl", StackID: testStackID, LogicalResourceID: "ExternalId"})
	var minted struct{ URL string }
	if err := json.Unmarshal(b, &minted); status != 200 || err != nil || !strings.HasPrefix(minted.URL, base+"/cloudformation-responses/demo/ExternalId/ctl?") {
		t.Fatalf("mint: %d %s", status, b)
	}
	tests := []struct {
		name       string
		path       string
		putFirst   bool
		wantStatus int
		wantAnswer bool
	}{
		{name: "not answered yet", path: "/_local/responses/ctl", wantStatus: 200},
		{name: "bad wait", path: "/_local/responses/ctl?wait=forever", wantStatus: 400},
		{name: "unknown id", path: "/_local/responses/nope?wait=1s", wantStatus: 404},
		{name: "answered", path: "/_local/responses/ctl?wait=30s", putFirst: true, wantStatus: 200, wantAnswer: true},
		{name: "unknown endpoint", path: "/_local/other", wantStatus: 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.putFirst {
				if s, body, err := put(ctx, minted.URL, mustJSON(t, validBody("ctl")), ""); err != nil || s != 200 {
					t.Fatalf("PUT: %d %s %v", s, body, err)
				}
			}
			status, b := do(http.MethodGet, tt.path, nil)
			if status != tt.wantStatus {
				t.Fatalf("status %d (%s), want %d", status, b, tt.wantStatus)
			}
			if status != 200 {
				return
			}
			var res ControlResult
			if err := json.Unmarshal(b, &res); err != nil {
				t.Fatal(err)
			}
			if res.Answered != tt.wantAnswer || (tt.wantAnswer && (res.Response == nil || res.Response.PhysicalResourceID != "sysdig-external-id" || res.Answers != 1 || len(res.Attempts) != 1 || res.Invalid != "")) {
				t.Fatalf("result %s", b)
			}
		})
	}
}
