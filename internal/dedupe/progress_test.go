package dedupe

import (
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"sysdig-aws-connect/internal/customresource"
)

// What a delivery records as done (its physical id) is kept in the record while it holds
// the lease, and handed to the delivery that takes the request over after it died.
func TestProgressIsKeptForTheDeliveryThatTakesOver(t *testing.T) {
	type step struct {
		op      string // acquire, progress, answer
		owner   string
		now     time.Duration // after t0
		lease   time.Duration // after t0
		id      string        // progress: the id recorded
		wantErr error
		// acquire: whether it acquires, and the prior id it learns
		acquired  bool
		wantPrior string
		// the record's progress id after the step
		wantID string
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"the holder records its progress", []step{
			{op: "acquire", owner: "a", lease: time.Minute, acquired: true},
			{op: "progress", owner: "a", id: "none", wantID: "none"},
			{op: "progress", owner: "a", id: "provider-7", wantID: "provider-7"},
		}},
		{"a delivery that takes over learns the dead one's progress", []step{
			{op: "acquire", owner: "a", lease: time.Minute, acquired: true},
			{op: "progress", owner: "a", id: "provider-7", wantID: "provider-7"},
			{op: "acquire", owner: "b", now: 61 * time.Second, lease: 3 * time.Minute, acquired: true, wantPrior: "provider-7"},
		}},
		{"a duplicate within the lease learns nothing and changes nothing", []step{
			{op: "acquire", owner: "a", lease: time.Minute, acquired: true},
			{op: "progress", owner: "a", id: "provider-7", wantID: "provider-7"},
			{op: "acquire", owner: "b", now: 30 * time.Second, lease: 3 * time.Minute, wantID: "provider-7"},
		}},
		{"the owner's retried acquire is not a take-over", []step{
			{op: "acquire", owner: "a", lease: time.Minute, acquired: true},
			{op: "progress", owner: "a", id: "provider-7", wantID: "provider-7"},
			{op: "acquire", owner: "a", now: time.Second, lease: time.Minute, acquired: true},
		}},
		{"a delivery that lost its lease cannot record", []step{
			{op: "acquire", owner: "a", lease: time.Minute, acquired: true},
			{op: "acquire", owner: "b", now: 61 * time.Second, lease: 3 * time.Minute, acquired: true},
			{op: "progress", owner: "b", id: "provider-8", wantID: "provider-8"},
			{op: "progress", owner: "a", id: "provider-7", wantErr: ErrLeaseLost, wantID: "provider-8"},
		}},
		{"an answered request takes no progress", []step{
			{op: "acquire", owner: "a", lease: time.Minute, acquired: true},
			{op: "progress", owner: "a", id: "provider-7", wantID: "provider-7"},
			{op: "answer", owner: "a", wantID: "provider-7"},
			{op: "progress", owner: "a", id: "provider-9", wantErr: ErrLeaseLost, wantID: "provider-7"},
		}},
		{"no record: no progress", []step{
			{op: "progress", owner: "a", id: "provider-7", wantErr: ErrLeaseLost},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			for i, st := range tc.steps {
				rec := record("req-p", st.owner, t0.Add(st.lease))
				switch st.op {
				case "acquire":
					cur, acquired, err := s.Acquire(ctx(t), rec, t0.Add(st.now))
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					prior := ""
					if acquired {
						prior = cur.PhysicalID
					}
					if acquired != st.acquired || prior != st.wantPrior {
						t.Fatalf("step %d: acquired %v with prior %q; want %v with %q", i, acquired, prior, st.acquired, st.wantPrior)
					}
				case "progress":
					if err := s.Progress(ctx(t), rec.Key, st.owner, st.id); !errors.Is(err, st.wantErr) {
						t.Fatalf("step %d: %v, want %v", i, err, st.wantErr)
					}
				case "answer":
					if err := s.Answer(ctx(t), rec.Key, st.owner, []byte(`{"Status":"SUCCESS"}`)); err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
				}
				got, ok, err := s.Get(ctx(t), rec.Key)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if ok && got.PhysicalID != st.wantID {
					t.Fatalf("step %d: the record holds progress %q, want %q", i, got.PhysicalID, st.wantID)
				}
			}
		})
	}
}

// Through customresource.Function: the first delivery records an id and dies (its handler
// never returns within the test); the one that takes over sees the id in its context, and
// the record keeps it until that delivery records another, so a third one would learn it.
func TestTakeOverHandsThePriorPhysicalIDToTheHandler(t *testing.T) {
	cases := []struct {
		name      string
		recorded  []string // ids the dead delivery recorded, in order
		wantPrior string
	}{
		{"recorded a provider", []string{"none", "provider-7"}, "provider-7"},
		{"recorded nothing", nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			store := newStore(t)
			clk := &clock{now: time.Now()}
			d := New(store, WithClock(clk.Now), WithWait(0, 0))
			dying := make(chan struct{})
			release := make(chan struct{})
			defer close(release)
			type seen struct {
				prior   string
				ok      bool
				inTable string
			}
			second := make(chan seen, 1)
			var calls int
			h := customresource.HandlerFunc(func(ctx context.Context, req customresource.Request) (customresource.Result, error) {
				calls++
				if calls == 1 {
					for _, id := range tc.recorded {
						customresource.RecordPhysicalID(ctx, id)
					}
					close(dying)
					<-release // dies: never answers within the test
					return customresource.Result{}, errors.New("dead")
				}
				prior, ok := customresource.PriorPhysicalID(ctx)
				rec, _, _ := store.Get(ctx, KeyOf(req))
				second <- seen{prior, ok, rec.PhysicalID}
				return customresource.Result{PhysicalResourceID: "provider-8"}, nil
			})
			r := newRig(t, store)
			r.fn = customresource.New(h, customresource.WithDeduplicator(d), customresource.WithLogger(slog.New(slog.NewJSONHandler(r.logs, nil))))
			url := r.catcher.NewURL("req-prior")
			p := r.payload("req-prior", url)
			go func() { _ = r.invoke(p, 10*time.Second) }()
			<-dying
			clk.Add(13 * time.Second) // past the dead delivery's lease (10 s + 2 s skew)
			if err := r.invoke(p, 10*time.Second); err != nil {
				t.Fatal(err)
			}
			var got seen
			select {
			case got = <-second:
			default:
				t.Fatal("the delivery after the lease did not run the handler")
			}
			if got.prior != tc.wantPrior || got.ok != (tc.wantPrior != "") || got.inTable != tc.wantPrior {
				t.Fatalf("handler saw prior %q (%v), table held %q; want %q", got.prior, got.ok, got.inTable, tc.wantPrior)
			}
			if a := r.accepted("req-prior"); len(a) != 1 {
				t.Fatalf("%d answers, want 1", len(a))
			}
		})
	}
}
