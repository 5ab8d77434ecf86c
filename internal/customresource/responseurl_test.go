package customresource

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-lambda-go/cfn"
)

func TestCheckResponseURL(t *testing.T) {
	// Each case runs with and without loopback answers: without, every loopback case fails.
	tests := []struct {
		name, url, region string
		ok                bool
	}{
		// The forms CloudFormation hands out, and the other addresses of the same bucket.
		{"global endpoint", "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws%3Acloudformation/x?X-Amz-Signature=s", "us-east-1", true},
		{"regional endpoint", "https://cloudformation-custom-resource-response-useast1.s3.us-east-1.amazonaws.com/x?sig=1", "us-east-1", true},
		{"legacy dash endpoint", "https://cloudformation-custom-resource-response-euwest1.s3-eu-west-1.amazonaws.com/x", "eu-west-1", true},
		{"dual-stack", "https://cloudformation-custom-resource-response-apnortheast1.s3.dualstack.ap-northeast-1.amazonaws.com/x", "ap-northeast-1", true},
		{"FIPS", "https://cloudformation-custom-resource-response-usgovwest1.s3-fips.us-gov-west-1.amazonaws.com/x", "us-gov-west-1", true},
		{"us-east-1 external endpoint", "https://cloudformation-custom-resource-response-useast1.s3-external-1.amazonaws.com/x", "us-east-1", true},
		{"external endpoint elsewhere", "https://cloudformation-custom-resource-response-euwest1.s3-external-1.amazonaws.com/x", "eu-west-1", false},
		{"path style", "https://s3.us-west-2.amazonaws.com/cloudformation-custom-resource-response-uswest2/arn/x?sig=1", "us-west-2", true},
		{"path style, global", "https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1/x", "us-east-1", true},
		{"upper-case host", "https://CloudFormation-Custom-Resource-Response-UsEast1.S3.Amazonaws.com/x", "us-east-1", true},
		{"explicit 443", "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:443/x", "us-east-1", true},
		{"China", "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com.cn/x", "cn-north-1", true},
		{"GovCloud", "https://cloudformation-custom-resource-response-usgovwest1.s3.us-gov-west-1.amazonaws.com/x", "us-gov-west-1", true},
		{"loopback http", "http://127.0.0.1:8080/r?sig=1", "us-east-1", true},
		{"localhost http", "http://localhost:8080/r", "us-east-1", true},
		{"loopback https", "https://127.0.0.1:8443/r", "us-east-1", true},
		{"IPv6 loopback", "http://[::1]:8080/r", "us-east-1", true},
		{"loopback without a region", "http://127.0.0.1:1/r", "", true},

		{"any https host", "https://attacker.example/collect?sig=1", "us-east-1", false},
		{"any S3 bucket", "https://my-bucket.s3.amazonaws.com/x", "us-east-1", false},
		{"look-alike bucket", "https://cloudformation-custom-resource-response-useast1x.s3.amazonaws.com/x", "us-east-1", false},
		{"another region's bucket", "https://cloudformation-custom-resource-response-euwest1.s3.eu-west-1.amazonaws.com/x", "us-east-1", false},
		{"another partition", "https://cloudformation-custom-resource-response-useast1.s3.us-east-1.amazonaws.com.cn/x", "us-east-1", false},
		{"China bucket on the aws suffix", "https://cloudformation-custom-resource-response-cnnorth1.s3.cn-north-1.amazonaws.com/x", "cn-north-1", false},
		{"suffix trick", "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com.attacker.example/x", "us-east-1", false},
		{"prefix trick", "https://attacker.cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x", "us-east-1", false},
		{"path style, other bucket", "https://s3.us-east-1.amazonaws.com/my-bucket/cloudformation-custom-resource-response-useast1/x", "us-east-1", false},
		{"path style, bucket only as prefix", "https://s3.amazonaws.com/cloudformation-custom-resource-response-useast1x/x", "us-east-1", false},
		{"plain http to the bucket", "http://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x", "us-east-1", false},
		{"other port", "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com:8443/x", "us-east-1", false},
		{"user info", "https://u:p@cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x", "us-east-1", false},
		{"private address", "http://10.0.0.1/x", "us-east-1", false},
		{"metadata service", "http://169.254.169.254/latest/meta-data/", "us-east-1", false},
		{"no region", "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x", "", false},
		{"relative", "/x", "us-east-1", false},
		// Dot segments leave the bucket for whatever resolves them.
		{"path style, dot-dot", "https://s3.us-east-1.amazonaws.com/cloudformation-custom-resource-response-useast1/../my-bucket/x", "us-east-1", false},
		{"path style, dot", "https://s3.us-east-1.amazonaws.com/cloudformation-custom-resource-response-useast1/./x", "us-east-1", false},
		{"path style, encoded dot-dot", "https://s3.us-east-1.amazonaws.com/cloudformation-custom-resource-response-useast1/%2e%2E/my-bucket/x", "us-east-1", false},
		{"path style, half-encoded dot-dot", "https://s3.us-east-1.amazonaws.com/cloudformation-custom-resource-response-useast1/.%2e/my-bucket/x", "us-east-1", false},
		{"path style, double-encoded dot-dot", "https://s3.us-east-1.amazonaws.com/cloudformation-custom-resource-response-useast1/%252e%252e/my-bucket/x", "us-east-1", false},
		{"path style, encoded slashes around dot-dot", "https://s3.us-east-1.amazonaws.com/cloudformation-custom-resource-response-useast1/x%2F..%2Fy", "us-east-1", false},
		{"path style, backslashes", "https://s3.us-east-1.amazonaws.com/cloudformation-custom-resource-response-useast1/x%5C..%5Cy", "us-east-1", false},
		{"virtual-hosted, dot-dot", "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/a/../b", "us-east-1", false},
		{"loopback, dot-dot", "http://127.0.0.1:8080/a/../b", "us-east-1", false},
		{"dots inside a segment", "https://s3.us-east-1.amazonaws.com/cloudformation-custom-resource-response-useast1/a.b/..c/x..", "us-east-1", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, _ := url.Parse(tt.url)
			onLoopback := u != nil && isLoopback(u.Hostname())
			for _, loopback := range []bool{true, false} {
				want := tt.ok && (loopback || !onLoopback)
				err := CheckResponseURL(tt.url, tt.region, loopback)
				if (err == nil) != want {
					t.Fatalf("CheckResponseURL(%q, %q, %v) = %v, want ok=%v", tt.url, tt.region, loopback, err, want)
				}
				if err != nil && (strings.Contains(err.Error(), "sig=") || strings.Contains(err.Error(), "/x")) {
					t.Fatalf("the error repeats the URL beyond its host: %v", err)
				}
			}
		})
	}
}

// recordingTransport answers every request and records its host.
type recordingTransport struct {
	mu    sync.Mutex
	hosts []string
}

func (r *recordingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.hosts = append(r.hosts, req.URL.Host)
	r.mu.Unlock()
	return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody, Request: req}, nil
}

func (r *recordingTransport) all() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.hosts...)
}

// A request whose ResponseURL is not CloudFormation's gets no answer and no handler call,
// whether it is valid, malformed or refused by the request check; the log names the
// host, never the query.
func TestAnswerOnlyToCloudFormation(t *testing.T) {
	const evil = "https://attacker.example/collect?X-Amz-Signature=topsecretsignature"
	const good = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn/x?X-Amz-Signature=topsecretsignature"
	tests := []struct {
		name      string
		payload   []byte
		wantHosts []string
		wantCalls int32
	}{
		{"valid request, foreign URL", request(evil, cfn.RequestCreate), nil, 0},
		{"through SNS, foreign URL", snsWrap(request(evil, cfn.RequestDelete)), nil, 0},
		{"malformed request, foreign URL", []byte(`{"RequestType":"Create","ResponseURL":"` + evil + `","RequestId":"r","ResourceProperties":"oops"}`), nil, 0},
		{"valid request, CloudFormation's URL", request(good, cfn.RequestCreate), []string{"cloudformation-custom-resource-response-useast1.s3.amazonaws.com"}, 1},
		// In Lambda, loopback is the Runtime API and extensions: answered only in local runs.
		{"loopback URL outside a local run", request("http://127.0.0.1:9001/2018-06-01/runtime/invocation/x/response?X-Amz-Signature=topsecretsignature", cfn.RequestCreate), nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			var logs bytes.Buffer
			rt := &recordingTransport{}
			sender := NewSender(WithSendRetry(0, 0, 1))
			sender.client.Transport = rt
			f := New(HandlerFunc(func(context.Context, Request) (Result, error) {
				calls.Add(1)
				return Result{PhysicalResourceID: "p"}, nil
			}), WithSender(sender), WithAnswerRegion("us-east-1"), WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			if err := f.Invoke(context.Background(), tt.payload); err != nil {
				t.Fatal(err)
			}
			if got := rt.all(); strings.Join(got, ",") != strings.Join(tt.wantHosts, ",") {
				t.Fatalf("PUTs to %v, want %v", got, tt.wantHosts)
			}
			if calls.Load() != tt.wantCalls {
				t.Fatalf("handler called %d times, want %d", calls.Load(), tt.wantCalls)
			}
			if strings.Contains(logs.String(), "topsecretsignature") {
				t.Fatalf("a log line holds the signature: %s", logs.String())
			}
			if tt.wantHosts == nil && !strings.Contains(logs.String(), `"response_host":"attacker.example"`) && !strings.Contains(logs.String(), `"response_host":"127.0.0.1:9001"`) {
				t.Fatalf("the drop is not logged with the host: %s", logs.String())
			}
		})
	}
}

// The request check runs before the handler, within the handler's deadline; a refused
// request is answered FAILED with the refusal and logged with the claimed account.
func TestRequestCheck(t *testing.T) {
	tests := []struct {
		name       string
		payload    func(url string) []byte
		refuse     bool
		wantStatus cfn.StatusType
		wantCalls  int32
	}{
		{"accepted", func(u string) []byte { return request(u, cfn.RequestCreate) }, false, cfn.StatusSuccess, 1},
		{"refused create", func(u string) []byte { return request(u, cfn.RequestCreate) }, true, cfn.StatusFailed, 0},
		{"refused delete through SNS", func(u string) []byte { return snsWrap(request(u, cfn.RequestDelete)) }, true, cfn.StatusFailed, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCatcher(t)
			var calls atomic.Int32
			var logs bytes.Buffer
			var seen Envelope
			check := func(ctx context.Context, req Request, env Envelope) error {
				seen = env
				if _, ok := ctx.Deadline(); !ok {
					return errors.New("the check has no deadline")
				}
				if tt.refuse {
					return errors.New("refused: not a stack instance")
				}
				return nil
			}
			f := New(HandlerFunc(func(context.Context, Request) (Result, error) {
				calls.Add(1)
				return Result{PhysicalResourceID: "p"}, nil
			}), WithRequestCheck(check), WithAnswerRegion("us-east-1"), WithLoopbackAnswers(), WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			payload := tt.payload(c.url())
			if err := f.Invoke(context.Background(), payload); err != nil {
				t.Fatal(err)
			}
			resp := c.final(t)
			if resp.Status != tt.wantStatus || calls.Load() != tt.wantCalls {
				t.Fatalf("answered %s %q after %d handler calls", resp.Status, resp.Reason, calls.Load())
			}
			if strings.Contains(tt.name, "SNS") != (seen.Via == "sns") {
				t.Fatalf("the check saw the request come %s", seen.Via)
			}
			if tt.refuse {
				if !strings.Contains(resp.Reason, "refused: not a stack instance") || resp.PhysicalResourceID == "" {
					t.Fatalf("answer %+v", resp)
				}
				if !strings.Contains(logs.String(), `"msg":"request refused"`) || !strings.Contains(logs.String(), `"claimed_account":"123456789012"`) {
					t.Fatalf("the refusal is not logged with the claimed account: %s", logs.String())
				}
			}
		})
	}
}

// Whatever the input, an accepted ResponseURL is on loopback or on CloudFormation's bucket.
func FuzzCheckResponseURL(f *testing.F) {
	f.Add("https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x?s=1", "us-east-1")
	f.Add("https://s3.us-west-2.amazonaws.com/cloudformation-custom-resource-response-uswest2/x", "us-west-2")
	f.Add("http://127.0.0.1:1/x", "us-east-1")
	f.Add("https://attacker.example/x", "cn-north-1")
	f.Add("https://s3.us-west-2.amazonaws.com/cloudformation-custom-resource-response-uswest2/%252e%2E/x", "us-west-2")
	f.Fuzz(func(t *testing.T, raw, region string) {
		if CheckResponseURL(raw, region, true) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("accepted an unparseable URL %q", raw)
		}
		// No accepted path holds a dot segment, however many times it is decoded.
		p := u.EscapedPath()
		for range 8 {
			for _, seg := range strings.Split(strings.ReplaceAll(p, "\\", "/"), "/") {
				if seg == "." || seg == ".." {
					t.Fatalf("accepted %q with a dot segment", raw)
				}
			}
			next, err := url.PathUnescape(p)
			if err != nil || next == p {
				break
			}
			p = next
		}
		host := strings.ToLower(u.Hostname())
		if isLoopback(host) {
			return
		}
		if u.Scheme != "https" || !strings.Contains(strings.ToLower(raw), ResponseBucket(strings.ToLower(region))) ||
			!strings.HasSuffix(host, "."+DNSSuffix(strings.ToLower(region))) {
			t.Fatalf("accepted %q for %q", raw, region)
		}
	})
}
