package customresource

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"sysdig-aws-connect/internal/testutil"
)

// progressing is a Deduplicator that acquires every delivery, hands the handler prior,
// and records what the wrapper persists.
type progressing struct {
	prior    string
	err      error
	mu       sync.Mutex
	progress []string
}

func (p *progressing) Claim(context.Context, Request, time.Time) (Claim, error) {
	return Claim{
		State:           ClaimAcquired,
		PriorPhysicalID: p.prior,
		Progress: func(ctx context.Context, id string) error {
			if _, ok := ctx.Deadline(); !ok {
				return errors.New("persisted without a deadline")
			}
			p.mu.Lock()
			defer p.mu.Unlock()
			p.progress = append(p.progress, id)
			return p.err
		},
		Complete: func(context.Context, []byte) error { return nil },
	}, nil
}

func TestRecordedPhysicalIDsArePersisted(t *testing.T) {
	cases := []struct {
		name      string
		prior     string
		err       error
		record    []string // what the handler records, in order
		fail      bool     // the handler then fails without naming an id
		wantSaved []string // what reaches the Deduplicator, in order
		wantID    string   // the answer's PhysicalResourceId
		wantLog   string
	}{
		{name: "each change once", record: []string{"none", "p-1", "p-1"}, wantSaved: []string{"none", "p-1"}, wantID: "made"},
		{name: "the prior id is known, not written again", prior: "p-0", record: []string{"p-0", "p-2"}, wantSaved: []string{"p-2"}, wantID: "made", wantLog: "prior_physical_id"},
		{name: "a failure to persist never fails the request", err: errors.New("throttled"), record: []string{"p-1"}, wantSaved: []string{"p-1"}, wantID: "made", wantLog: "progress not recorded"},
		{name: "lease lost while working: logged", err: ErrLeaseLost, record: []string{"p-1"}, wantSaved: []string{"p-1"}, wantID: "made", wantLog: "took this request over"},
		{name: "a failed handler's answer names what it recorded", record: []string{"p-1"}, fail: true, wantSaved: []string{"p-1"}, wantID: "p-1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := newCatcher(t)
			logs := &testutil.SyncBuffer{}
			d := &progressing{prior: tc.prior, err: tc.err}
			var sawPrior string
			var sawOK bool
			h := HandlerFunc(func(ctx context.Context, _ Request) (Result, error) {
				sawPrior, sawOK = PriorPhysicalID(ctx)
				for _, id := range tc.record {
					RecordPhysicalID(ctx, id)
				}
				if tc.fail {
					return Result{}, errors.New("boom")
				}
				return Result{PhysicalResourceID: "made"}, nil
			})
			f := newFunction(h, logs, WithDeduplicator(d))
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := f.Invoke(ctx, request(c.url(), cfn.RequestCreate)); err != nil {
				t.Fatal(err)
			}
			if sawPrior != tc.prior || sawOK != (tc.prior != "") {
				t.Fatalf("handler saw prior %q (%v), want %q", sawPrior, sawOK, tc.prior)
			}
			if !slices.Equal(d.progress, tc.wantSaved) {
				t.Fatalf("persisted %q, want %q", d.progress, tc.wantSaved)
			}
			puts := c.all()
			if len(puts) != 1 || !strings.Contains(string(puts[0].body), `"PhysicalResourceId":"`+tc.wantID+`"`) {
				t.Fatalf("answers %d, first %s; want one naming %s", len(puts), puts[0].body, tc.wantID)
			}
			if !strings.Contains(logs.String(), tc.wantLog) {
				t.Fatalf("logs lack %q:\n%s", tc.wantLog, logs.String())
			}
		})
	}
}

// Without a Deduplicator there is no prior id, and recording one writes nowhere.
func TestNoPriorPhysicalIDWithoutADeduplicator(t *testing.T) {
	c := newCatcher(t)
	var ok bool
	h := HandlerFunc(func(ctx context.Context, _ Request) (Result, error) {
		_, ok = PriorPhysicalID(ctx)
		RecordPhysicalID(ctx, "p-1")
		return Result{}, nil
	})
	f := newFunction(h, &testutil.SyncBuffer{})
	if err := f.Invoke(context.Background(), request(c.url(), cfn.RequestCreate)); err != nil {
		t.Fatal(err)
	}
	if ok {
		t.Fatal("a prior physical id without a Deduplicator")
	}
	if _, ok := PriorPhysicalID(context.Background()); ok {
		t.Fatal("a prior physical id outside a request")
	}
}
