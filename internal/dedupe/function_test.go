package dedupe

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sysdig-aws-connect/internal/customresource"
	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/testutil"
)

// These tests run customresource.Function with the Deduplicator on the DynamoDB store
// (dynalite) and a stand-in for CloudFormation's ResponseURLs, delivering the same
// request more than once.

type countingHandler struct {
	calls   atomic.Int32
	started chan struct{}
	release chan struct{}
	during  func() // runs inside the first call
}

func (h *countingHandler) Handle(ctx context.Context, req customresource.Request) (customresource.Result, error) {
	n := h.calls.Add(1)
	if n == 1 && h.started != nil {
		close(h.started)
		<-h.release
	}
	if n == 1 && h.during != nil {
		h.during()
	}
	return customresource.Result{PhysicalResourceID: "provider-" + req.RequestID, Data: map[string]any{"Call": n}}, nil
}

type rig struct {
	t       *testing.T
	store   *DynamoDB
	catcher *localaws.ResponseCatcher
	handler *countingHandler
	fn      *customresource.Function
	clock   *clock
	logs    *testutil.SyncBuffer
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// newRig runs the function on store; with a clock option, the test moves the time.
func newRig(t *testing.T, store *DynamoDB, opts ...Option) *rig {
	t.Helper()
	r := &rig{t: t, store: store, catcher: localaws.NewResponseCatcher(), handler: &countingHandler{},
		clock: &clock{now: time.Now()}, logs: &testutil.SyncBuffer{}}
	_, stop := r.catcher.Start()
	t.Cleanup(stop)
	r.fn = customresource.New(r.handler,
		customresource.WithDeduplicator(New(store, opts...)),
		customresource.WithLogger(slog.New(slog.NewJSONHandler(r.logs, nil))))
	return r
}

func (r *rig) payload(requestID, url string) []byte {
	b, _ := json.Marshal(map[string]any{
		"RequestType": "Create", "RequestId": requestID, "ResponseURL": url, "ResourceType": "Custom::SysdigProvider",
		"LogicalResourceId": "SysdigProvider", "StackId": "arn:aws:cloudformation:us-east-1:100000000001:stack/s/guid",
		"ResourceProperties": map[string]any{"ServiceToken": "arn:aws:sns:us-east-1:123456789012:t"},
	})
	return b
}

// invoke delivers the request with a deadline (so the lease is the function's timeout).
func (r *rig) invoke(payload []byte, timeout time.Duration) error {
	c, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return r.fn.Invoke(c, payload)
}

func (r *rig) accepted(requestID string) [][]byte {
	var out [][]byte
	for _, a := range r.catcher.Attempts(requestID) {
		if a.Accepted {
			out = append(out, a.Body)
		}
	}
	return out
}

func TestDuplicateAfterTheAnswerGetsTheSameAnswer(t *testing.T) {
	r := newRig(t, newStore(t))
	url := r.catcher.NewURL("req-seq")
	p := r.payload("req-seq", url)
	for i := range 3 {
		if err := r.invoke(p, 10*time.Second); err != nil {
			t.Fatalf("delivery %d: %v", i, err)
		}
	}
	if n := r.handler.calls.Load(); n != 1 {
		t.Fatalf("handler ran %d times, want once", n)
	}
	got := r.accepted("req-seq")
	if len(got) != 3 || !bytes.Equal(got[0], got[1]) || !bytes.Equal(got[0], got[2]) {
		t.Fatalf("answers %q, want three identical", got)
	}
	if !strings.Contains(string(got[0]), `"Status":"SUCCESS"`) || !strings.Contains(string(got[0]), "provider-req-seq") {
		t.Fatalf("answer %s", got[0])
	}
	if n := strings.Count(r.logs.String(), "the stored answer was sent again"); n != 2 {
		t.Fatalf("%d re-sends logged, want 2", n)
	}
}

// A duplicate that arrives while the first delivery works does no work: it waits for
// the first's answer and sends the same one.
func TestDuplicateWhileInProgressWaitsForTheAnswer(t *testing.T) {
	r := newRig(t, newStore(t), WithWait(50*time.Millisecond, 200*time.Millisecond))
	r.handler.started, r.handler.release = make(chan struct{}), make(chan struct{})
	url := r.catcher.NewURL("req-conc")
	p := r.payload("req-conc", url)
	first, second := make(chan error, 1), make(chan error, 1)
	go func() { first <- r.invoke(p, 10*time.Second) }()
	<-r.handler.started
	go func() { second <- r.invoke(p, 10*time.Second) }()
	time.Sleep(500 * time.Millisecond)
	if n := len(r.catcher.Attempts("req-conc")); n != 0 {
		t.Fatalf("%d PUTs while the first delivery was working", n)
	}
	close(r.handler.release)
	for _, c := range []chan error{first, second} {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	if n := r.handler.calls.Load(); n != 1 {
		t.Fatalf("handler ran %d times", n)
	}
	got := r.accepted("req-conc")
	if len(got) != 2 || !bytes.Equal(got[0], got[1]) {
		t.Fatalf("answers %q, want two identical", got)
	}
	if !strings.Contains(r.logs.String(), `"waited_ms":`) {
		t.Fatal("the wait was not logged")
	}
}

// A duplicate whose own deadline comes before the holder's lease ends gives up with a
// tenth of its time left, having done nothing.
func TestDuplicateThatCannotOutwaitTheLeaseDoesNothing(t *testing.T) {
	store := newStore(t)
	r := newRig(t, store, WithWait(50*time.Millisecond, 200*time.Millisecond))
	url := r.catcher.NewURL("req-held")
	held := Record{Key: Key{StackID: "arn:aws:cloudformation:us-east-1:100000000001:stack/s/guid", LogicalResourceID: "SysdigProvider", RequestID: "req-held"},
		Owner: "alive", LeaseUntil: time.Now().Add(time.Hour), ResponseURLHash: HashURL(url), Expires: time.Now().Add(2 * time.Hour)}
	if _, ok, err := store.Acquire(ctx(t), held, time.Now()); err != nil || !ok {
		t.Fatal(ok, err)
	}
	start := time.Now()
	if err := r.invoke(r.payload("req-held", url), 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 1900*time.Millisecond {
		t.Fatalf("gave up after %s, past a tenth of its time before the deadline", took)
	}
	if r.handler.calls.Load() != 0 || len(r.catcher.Attempts("req-held")) != 0 {
		t.Fatal("acted while another delivery held the request")
	}
	if !strings.Contains(r.logs.String(), "another delivery is handling this request") {
		t.Fatal("not logged")
	}
}

// Lambda retries a crashed delivery a minute later, within the dead delivery's lease:
// the retry waits for the lease to end, takes the request over and answers.
func TestRetryWithinTheLeaseWaitsAndTakesOver(t *testing.T) {
	store := newStore(t)
	r := newRig(t, store, WithWait(50*time.Millisecond, 200*time.Millisecond))
	url := r.catcher.NewURL("req-crash")
	dead := Record{Key: Key{StackID: "arn:aws:cloudformation:us-east-1:100000000001:stack/s/guid", LogicalResourceID: "SysdigProvider", RequestID: "req-crash"},
		Owner: "crashed", LeaseUntil: time.Now().Add(1500 * time.Millisecond), ResponseURLHash: HashURL(url), Expires: time.Now().Add(time.Hour)}
	if _, ok, err := store.Acquire(ctx(t), dead, time.Now()); err != nil || !ok {
		t.Fatal(ok, err)
	}
	if err := r.invoke(r.payload("req-crash", url), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if r.handler.calls.Load() != 1 || len(r.accepted("req-crash")) != 1 {
		t.Fatalf("%d handler calls, %d answers; want the retry to take over", r.handler.calls.Load(), len(r.accepted("req-crash")))
	}
	if !strings.Contains(r.logs.String(), "taking it over") {
		t.Fatal("the take-over was not logged")
	}
}

// A delivery that died holding the lease: a duplicate within the lease does nothing, one
// after it takes over and answers.
func TestDuplicateAfterAnExpiredLeaseTakesOver(t *testing.T) {
	store := newStore(t)
	r := newRig(t, store)
	r.fn = customresource.New(r.handler, customresource.WithDeduplicator(New(store, WithClock(r.clock.Now), WithWait(0, 0))),
		customresource.WithLogger(slog.New(slog.NewJSONHandler(r.logs, nil))))
	url := r.catcher.NewURL("req-dead")
	p := r.payload("req-dead", url)
	dead := Record{Key: Key{StackID: "arn:aws:cloudformation:us-east-1:100000000001:stack/s/guid", LogicalResourceID: "SysdigProvider", RequestID: "req-dead"},
		Owner: "died", LeaseUntil: r.clock.Now().Add(30 * time.Second), ResponseURLHash: HashURL(url), Expires: r.clock.Now().Add(time.Hour)}
	if _, ok, err := store.Acquire(ctx(t), dead, r.clock.Now()); err != nil || !ok {
		t.Fatal(ok, err)
	}
	r.clock.Add(29 * time.Second)
	if err := r.invoke(p, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if r.handler.calls.Load() != 0 || len(r.catcher.Attempts("req-dead")) != 0 {
		t.Fatal("a duplicate within the lease acted")
	}
	r.clock.Add(2 * time.Second)
	if err := r.invoke(p, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if r.handler.calls.Load() != 1 || len(r.accepted("req-dead")) != 1 {
		t.Fatalf("after the lease: %d handler calls, %d answers", r.handler.calls.Load(), len(r.accepted("req-dead")))
	}
	rec, _, err := store.Get(ctx(t), dead.Key)
	if err != nil || rec.State != StateAnswered || rec.Owner == "died" {
		t.Fatalf("record %+v, %v", rec, err)
	}
}

// A delivery whose lease ran out while it worked (and was taken over) does not answer:
// the one that took over does.
func TestDeliveryThatLostItsLeaseDoesNotAnswer(t *testing.T) {
	store := newStore(t)
	r := newRig(t, store)
	url := r.catcher.NewURL("req-lost")
	p := r.payload("req-lost", url)
	r.handler.during = func() {
		// Past the lease, another delivery takes the request over.
		other := New(store, WithClock(func() time.Time { return time.Now().Add(time.Hour) }))
		var req customresource.Request
		_ = json.Unmarshal(p, &req)
		if c, err := other.Claim(context.Background(), req, time.Now().Add(2*time.Hour)); err != nil || c.State != customresource.ClaimAcquired {
			t.Errorf("take-over: %+v, %v", c, err)
		}
	}
	if err := r.invoke(p, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if n := len(r.catcher.Attempts("req-lost")); n != 0 {
		t.Fatalf("%d PUTs from the delivery that lost its lease", n)
	}
	if !strings.Contains(r.logs.String(), "took this request over") {
		t.Fatal("not logged")
	}
}

// The same ids with another ResponseURL are not a duplicate of that request: nothing is
// done, nothing is sent to either URL.
func TestSameIDsWithAnotherResponseURLAreRefused(t *testing.T) {
	r := newRig(t, newStore(t))
	url := r.catcher.NewURL("req-url")
	if err := r.invoke(r.payload("req-url", url), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	other := strings.Replace(url, "X-Amz-Signature=", "X-Amz-Signature=0", 1)
	if err := r.invoke(r.payload("req-url", other), 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if r.handler.calls.Load() != 1 || len(r.catcher.Attempts("req-url")) != 1 {
		t.Fatalf("%d handler calls, %d PUTs", r.handler.calls.Load(), len(r.catcher.Attempts("req-url")))
	}
	if !strings.Contains(r.logs.String(), "another ResponseURL") {
		t.Fatal("not logged")
	}
}

// When the record cannot be written, nothing is done and Invoke returns the error, so
// that Lambda delivers the event again.
func TestUnrecordableRequestIsLeftForLambdaToRetry(t *testing.T) {
	r := newRig(t, NewDynamoDB(server.Client(), "missing-table"))
	url := r.catcher.NewURL("req-nodb")
	err := r.invoke(r.payload("req-nodb", url), 10*time.Second)
	if !errors.Is(err, customresource.ErrNotRecorded) || !strings.Contains(err.Error(), "missing-table") {
		t.Fatalf("Invoke returned %v", err)
	}
	if r.handler.calls.Load() != 0 || len(r.catcher.Attempts("req-nodb")) != 0 {
		t.Fatal("acted without a record")
	}
}

// The lease is the invocation's deadline (the function's timeout) plus a little skew.
func TestLeaseIsTheInvocationDeadline(t *testing.T) {
	store := newStore(t)
	r := newRig(t, store)
	url := r.catcher.NewURL("req-lease")
	before := time.Now()
	if err := r.invoke(r.payload("req-lease", url), 7*time.Second); err != nil {
		t.Fatal(err)
	}
	rec, ok, err := store.Get(ctx(t), Key{StackID: "arn:aws:cloudformation:us-east-1:100000000001:stack/s/guid", LogicalResourceID: "SysdigProvider", RequestID: "req-lease"})
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	lease := rec.LeaseUntil.Sub(before)
	if lease < 8*time.Second || lease > 10*time.Second {
		t.Fatalf("lease of %s for a 7 s invocation, want the deadline plus 2 s", lease)
	}
}

// slowStore delays every Acquire, as a loaded network would.
type slowStore struct {
	Store
	delay time.Duration
}

func (s slowStore) Acquire(ctx context.Context, rec Record, now time.Time) (Record, bool, error) {
	cur, ok, err := s.Store.Acquire(ctx, rec, now)
	time.Sleep(s.delay)
	return cur, ok, err
}

// The lease ends while the duplicate's read is on its way back: it re-reads at once
// instead of after its next (here too long) poll interval.
func TestLeaseEndingDuringARead(t *testing.T) {
	store := newStore(t)
	url := "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/x"
	dead := Record{Key: Key{StackID: "arn:aws:cloudformation:us-east-1:100000000001:stack/s/guid", LogicalResourceID: "SysdigProvider", RequestID: "req-race"},
		Owner: "crashed", LeaseUntil: time.Now().Add(100 * time.Millisecond), ResponseURLHash: HashURL(url), Expires: time.Now().Add(time.Hour)}
	if _, ok, err := store.Acquire(ctx(t), dead, time.Now()); err != nil || !ok {
		t.Fatal(ok, err)
	}
	d := New(slowStore{Store: store, delay: 300 * time.Millisecond}, WithWait(3*time.Second, 3*time.Second))
	c, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var req customresource.Request
	_ = json.Unmarshal((&rig{}).payload("req-race", url), &req)
	claim, err := d.Claim(c, req, time.Now().Add(5*time.Second))
	if err != nil || claim.State != customresource.ClaimAcquired {
		t.Fatalf("claim %+v, %v; want the request taken over", claim, err)
	}
}
