package customresource

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"sysdig-aws-connect/internal/testutil"
)

// scripted is a Deduplicator that returns a given verdict and records what it was asked
// to store (the DynamoDB one is tested in internal/dedupe).
type scripted struct {
	claim     Claim
	claimErr  error
	storeErr  error
	stored    [][]byte
	leaseSeen time.Time
}

func (s *scripted) Claim(_ context.Context, _ Request, leaseUntil time.Time) (Claim, error) {
	s.leaseSeen = leaseUntil
	c := s.claim
	if c.State == ClaimAcquired {
		c.Complete = func(_ context.Context, body []byte) error {
			s.stored = append(s.stored, body)
			return s.storeErr
		}
	}
	return c, s.claimErr
}

func TestDeduplicatorVerdicts(t *testing.T) {
	stored := []byte(`{"Status":"SUCCESS","PhysicalResourceId":"p","StackId":"s","RequestId":"r","LogicalResourceId":"l"}`)
	cases := []struct {
		name        string
		d           *scripted
		wantHandler bool
		wantPUTs    int
		wantBody    string // exact body of the PUT, when set
		wantErr     error
		wantLog     string
	}{
		{name: "acquired: handled, recorded, answered", d: &scripted{claim: Claim{State: ClaimAcquired}}, wantHandler: true, wantPUTs: 1},
		{name: "in progress: nothing", d: &scripted{claim: Claim{State: ClaimInProgress}}, wantLog: "another delivery is handling this request"},
		{name: "answered: the stored answer again, byte for byte", d: &scripted{claim: Claim{State: ClaimAnswered, Answer: stored}}, wantPUTs: 1, wantBody: string(stored), wantLog: "sent again"},
		{name: "another ResponseURL: nothing", d: &scripted{claim: Claim{State: ClaimMismatch}}, wantLog: "another ResponseURL"},
		{name: "record unavailable: nothing, error for Lambda to retry", d: &scripted{claimErr: errors.New("throttled")}, wantErr: ErrNotRecorded, wantLog: "Lambda retries"},
		{name: "answer not recorded: sent anyway", d: &scripted{claim: Claim{State: ClaimAcquired}, storeErr: errors.New("timeout")}, wantHandler: true, wantPUTs: 1, wantLog: "sending it anyway"},
		{name: "lease lost: the other delivery answers", d: &scripted{claim: Claim{State: ClaimAcquired}, storeErr: ErrLeaseLost}, wantHandler: true, wantLog: "took this request over"},
		{name: "took over after waiting", d: &scripted{claim: Claim{State: ClaimAcquired, Waited: time.Second}}, wantHandler: true, wantPUTs: 1, wantLog: "taking it over"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCatcher(t)
			logs := &testutil.SyncBuffer{}
			var calls atomic.Int32
			h := HandlerFunc(func(context.Context, Request) (Result, error) {
				calls.Add(1)
				return Result{PhysicalResourceID: "made", Data: map[string]any{"K": "v"}}, nil
			})
			f := newFunction(h, logs, WithDeduplicator(tc.d))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			deadline, _ := ctx.Deadline()
			err := f.Invoke(ctx, request(c.url(), cfn.RequestCreate))
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("Invoke returned %v, want %v", err, tc.wantErr)
			}
			if got := calls.Load() == 1; got != tc.wantHandler {
				t.Fatalf("handler called: %v, want %v", got, tc.wantHandler)
			}
			puts := c.all()
			if len(puts) != tc.wantPUTs {
				t.Fatalf("%d PUTs, want %d", len(puts), tc.wantPUTs)
			}
			if tc.wantBody != "" && string(puts[0].body) != tc.wantBody {
				t.Fatalf("PUT %s, want %s", puts[0].body, tc.wantBody)
			}
			if tc.wantHandler && (len(tc.d.stored) != 1 || (len(puts) == 1 && string(tc.d.stored[0]) != string(puts[0].body))) {
				t.Fatalf("stored %q; want exactly the body sent", tc.d.stored)
			}
			if lease := tc.d.leaseSeen.Sub(deadline); lease != leaseSkew {
				t.Fatalf("lease ends %s after the deadline, want %s", lease, leaseSkew)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Fatalf("logs lack %q:\n%s", tc.wantLog, logs.String())
			}
			if strings.Contains(logs.String(), "topsecretsignature") {
				t.Fatal("a log line holds the ResponseURL signature")
			}
		})
	}
}
