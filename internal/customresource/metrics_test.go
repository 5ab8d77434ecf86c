package customresource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"sysdig-aws-connect/internal/metrics"
	"sysdig-aws-connect/internal/testutil"
)

type forged struct{}

func (forged) Error() string { return "refused: not a stack instance of the StackSet" }
func (forged) Refusal() bool { return true }
func notOurs() error         { return forged{} }
func sysdigCalls(ctx context.Context, n, throttled int) {
	for i := range n {
		status := http.StatusCreated
		if i < throttled {
			status = http.StatusTooManyRequests
		}
		metrics.FromContext(ctx).SysdigCall(time.Millisecond, status)
	}
}

// records reads the metric records among log lines.
func records(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(log, "\n") {
		if !metrics.IsRecord([]byte(line)) {
			continue
		}
		if err := metrics.Validate([]byte(line)); err != nil {
			t.Fatalf("invalid record: %v\n%s", err, line)
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(line), &m)
		out = append(out, m)
	}
	return out
}

// Every invocation leaves exactly one record, with the outcome it had: answered
// (SUCCESS, FAILED, REFUSED), dropped before any answer, refused by the request check,
// or a duplicate delivery.
func TestOneMetricRecordPerRequest(t *testing.T) {
	ok := HandlerFunc(func(ctx context.Context, req Request) (Result, error) {
		sysdigCalls(ctx, 3, 1)
		return Result{PhysicalResourceID: "p"}, nil
	})
	stored := []byte(`{"Status":"SUCCESS","PhysicalResourceId":"p","StackId":"s","RequestId":"r","LogicalResourceId":"l"}`)
	cases := []struct {
		name        string
		handler     HandlerFunc
		opts        []Option
		payload     func(url string) []byte
		failPUTs    bool
		wantOutcome metrics.Outcome
		wantType    string
		wantCalls   float64
		wantErr     error
	}{
		{name: "success", handler: ok, wantOutcome: metrics.Success, wantCalls: 3},
		{name: "handler error", handler: func(ctx context.Context, req Request) (Result, error) {
			sysdigCalls(ctx, 1, 0)
			return Result{}, errors.New("sysdig: POST: 500")
		}, wantOutcome: metrics.Failed, wantCalls: 1},
		{name: "refusal error", handler: func(context.Context, Request) (Result, error) { return Result{}, notOurs() }, wantOutcome: metrics.Refused},
		{name: "wrapped refusal", handler: func(context.Context, Request) (Result, error) {
			return Result{}, fmt.Errorf("register: %w", notOurs())
		}, wantOutcome: metrics.Refused},
		{name: "declined delete", handler: func(context.Context, Request) (Result, error) { return Result{Refused: true}, nil },
			payload: func(u string) []byte { return request(u, cfn.RequestDelete) }, wantOutcome: metrics.Refused, wantType: "Delete"},
		{name: "panic", handler: func(context.Context, Request) (Result, error) { panic("boom") }, wantOutcome: metrics.Failed},
		{name: "answer not delivered", handler: ok, failPUTs: true, wantOutcome: metrics.Failed, wantCalls: 3},
		{name: "bad request answered FAILED", handler: ok, payload: func(u string) []byte {
			return []byte(`{"RequestType":"Update","ResponseURL":"` + u + `","RequestId":"r","StackId":"s","LogicalResourceId":"l","ResourceType":"Custom::Thing"}`)
		}, wantOutcome: metrics.Failed, wantType: "Update"},
		{name: "unanswerable request dropped", handler: ok, payload: func(string) []byte { return []byte(`{"hello":"world"}`) },
			wantOutcome: metrics.Failed, wantType: "unknown"},
		{name: "ResponseURL not CloudFormation's", handler: ok, opts: []Option{WithAnswerRegion("us-east-1")},
			wantOutcome: metrics.Refused},
		{name: "forged request refused by the check", handler: ok, opts: []Option{WithRequestCheck(func(context.Context, Request, Envelope) error { return notOurs() })},
			payload: func(u string) []byte { return snsWrap(request(u, cfn.RequestCreate)) }, wantOutcome: metrics.Refused},
		{name: "check failed (not a refusal)", handler: ok, opts: []Option{WithRequestCheck(func(context.Context, Request, Envelope) error {
			return errors.New("cloudformation: ListStackInstances: throttled")
		})}, wantOutcome: metrics.Failed},
		{name: "duplicate already answered", handler: ok, opts: []Option{WithDeduplicator(&scripted{claim: Claim{State: ClaimAnswered, Answer: stored}})},
			wantOutcome: metrics.Duplicate},
		{name: "duplicate in progress", handler: ok, opts: []Option{WithDeduplicator(&scripted{claim: Claim{State: ClaimInProgress}})},
			wantOutcome: metrics.Duplicate},
		{name: "same ids, another ResponseURL", handler: ok, opts: []Option{WithDeduplicator(&scripted{claim: Claim{State: ClaimMismatch}})},
			wantOutcome: metrics.Refused},
		{name: "lease lost: the other delivery answers", handler: ok, opts: []Option{WithDeduplicator(&scripted{claim: Claim{State: ClaimAcquired}, storeErr: ErrLeaseLost})},
			wantOutcome: metrics.Duplicate, wantCalls: 3},
		{name: "not recorded: left to Lambda's retry", handler: ok, opts: []Option{WithDeduplicator(&scripted{claimErr: errors.New("dynamodb: throttled")})},
			wantOutcome: metrics.Failed, wantErr: ErrNotRecorded},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCatcher(t)
			if tc.failPUTs {
				c = newCatcher(t, 403)
			}
			logs := &testutil.SyncBuffer{}
			var out strings.Builder
			opts := append([]Option{WithMetrics(metrics.NewEmitter(&out, "registrar"))}, tc.opts...)
			f := newFunction(tc.handler, logs, opts...)
			payload := request(c.url(), cfn.RequestCreate)
			if tc.payload != nil {
				payload = tc.payload(c.url())
			}
			if err := f.Invoke(context.Background(), payload); !errors.Is(err, tc.wantErr) {
				t.Fatalf("Invoke() = %v, want %v", err, tc.wantErr)
			}
			recs := records(t, out.String())
			if len(recs) != 1 {
				t.Fatalf("%d metric records, want 1:\n%s", len(recs), out.String())
			}
			r := recs[0]
			wantType, wantResource := "Create", "Custom::Thing"
			if tc.wantType != "" {
				wantType = tc.wantType
			}
			if wantType == "unknown" {
				wantResource = "unknown"
			}
			if r["Outcome"] != string(tc.wantOutcome) || r["RequestType"] != wantType || r["ResourceType"] != wantResource ||
				r["Function"] != "registrar" || r["Requests"] != 1.0 || r["SysdigCalls"] != tc.wantCalls {
				t.Errorf("record %v, want outcome %s, %s %s, %v Sysdig calls", r, tc.wantOutcome, wantType, wantResource, tc.wantCalls)
			}
			if tc.wantCalls == 3 && r["ThrottledCalls"] != 1.0 {
				t.Errorf("ThrottledCalls = %v, want 1", r["ThrottledCalls"])
			}
			if strings.Contains(logs.String(), `"_aws"`) {
				t.Error("a metric record went to the structured log instead of its own line")
			}
		})
	}
}

// Without WithMetrics nothing is written, and the Sysdig client's counting is harmless.
func TestNoMetricsWithoutAnEmitter(t *testing.T) {
	c := newCatcher(t)
	logs := &testutil.SyncBuffer{}
	f := newFunction(HandlerFunc(func(ctx context.Context, req Request) (Result, error) {
		sysdigCalls(ctx, 2, 0)
		return Result{}, nil
	}), logs)
	if err := f.Invoke(context.Background(), request(c.url(), cfn.RequestCreate)); err != nil {
		t.Fatal(err)
	}
	if recs := records(t, logs.String()); len(recs) != 0 {
		t.Fatalf("records without an emitter: %v", recs)
	}
}
