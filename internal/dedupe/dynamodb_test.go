package dedupe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	"sysdig-aws-connect/internal/localdynamo"
)

// The store is tested against dynalite (a DynamoDB implementation from npm) through the
// real SDK client; TestMain starts it on 127.0.0.1 and every test uses a table of its own.

var server *localdynamo.Server

func TestMain(m *testing.M) { localdynamo.TestMain(m, "dedupe tests", &server) }

var tables atomic.Int64

func newStore(t *testing.T) *DynamoDB {
	t.Helper()
	name := fmt.Sprintf("idempotency-%d", tables.Add(1))
	if _, err := server.CreateTable(ctx(t), CreateTableInput(name)); err != nil {
		t.Fatal(err)
	}
	return NewDynamoDB(server.Client(), name)
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

var t0 = time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)

func record(requestID, owner string, leaseUntil time.Time) Record {
	return Record{
		Key:             Key{StackID: "arn:aws:cloudformation:us-east-1:100000000001:stack/StackSet-x/guid", LogicalResourceID: "SysdigProvider", RequestID: requestID},
		Owner:           owner,
		LeaseUntil:      leaseUntil,
		ResponseURLHash: HashURL("https://example/" + requestID),
		Expires:         t0.Add(DefaultRetention),
	}
}

func TestAcquireAnswerAndTakeOver(t *testing.T) {
	type step struct {
		op       string // acquire, answer
		owner    string
		now      time.Duration // after t0
		lease    time.Duration // after t0
		answer   string
		acquired bool
		want     State  // state of the record after the step
		wantOwn  string // owner of the record after the step
		wantErr  error
	}
	cases := []struct {
		name  string
		steps []step
	}{
		{"first delivery acquires and answers", []step{
			{op: "acquire", owner: "a", lease: time.Minute, acquired: true, want: StateInProgress, wantOwn: "a"},
			{op: "answer", owner: "a", answer: `{"Status":"SUCCESS"}`, want: StateAnswered, wantOwn: "a"},
		}},
		{"duplicate within the lease finds it in progress", []step{
			{op: "acquire", owner: "a", lease: time.Minute, acquired: true, want: StateInProgress, wantOwn: "a"},
			{op: "acquire", owner: "b", now: 59 * time.Second, lease: 2 * time.Minute, want: StateInProgress, wantOwn: "a"},
		}},
		{"duplicate after the lease takes over; the first cannot answer", []step{
			{op: "acquire", owner: "a", lease: time.Minute, acquired: true, want: StateInProgress, wantOwn: "a"},
			{op: "acquire", owner: "b", now: 61 * time.Second, lease: 3 * time.Minute, acquired: true, want: StateInProgress, wantOwn: "b"},
			{op: "answer", owner: "a", answer: `{"Status":"FAILED"}`, wantErr: ErrLeaseLost, want: StateInProgress, wantOwn: "b"},
			{op: "answer", owner: "b", answer: `{"Status":"SUCCESS"}`, want: StateAnswered, wantOwn: "b"},
		}},
		{"an answered record is never taken over", []step{
			{op: "acquire", owner: "a", lease: time.Minute, acquired: true, want: StateInProgress, wantOwn: "a"},
			{op: "answer", owner: "a", answer: `{"Status":"SUCCESS"}`, want: StateAnswered, wantOwn: "a"},
			{op: "acquire", owner: "b", now: time.Hour, lease: 2 * time.Hour, want: StateAnswered, wantOwn: "a"},
			{op: "answer", owner: "b", answer: `{"Status":"FAILED"}`, wantErr: ErrLeaseLost, want: StateAnswered, wantOwn: "a"},
		}},
		{"the owner's retried write acquires again", []step{
			{op: "acquire", owner: "a", lease: time.Minute, acquired: true, want: StateInProgress, wantOwn: "a"},
			{op: "acquire", owner: "a", now: time.Second, lease: time.Minute, acquired: true, want: StateInProgress, wantOwn: "a"},
		}},
		{"answering twice fails the second time", []step{
			{op: "acquire", owner: "a", lease: time.Minute, acquired: true, want: StateInProgress, wantOwn: "a"},
			{op: "answer", owner: "a", answer: `{"Status":"SUCCESS"}`, want: StateAnswered, wantOwn: "a"},
			{op: "answer", owner: "a", answer: `{"Status":"SUCCESS","Reason":"again"}`, wantErr: ErrLeaseLost, want: StateAnswered, wantOwn: "a"},
		}},
		{"no record: an answer without a lease is refused", []step{
			{op: "answer", owner: "a", answer: `{}`, wantErr: ErrLeaseLost},
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			answer := ""
			for i, st := range tc.steps {
				rec := record("req-1", st.owner, t0.Add(st.lease))
				switch st.op {
				case "acquire":
					cur, acquired, err := s.Acquire(ctx(t), rec, t0.Add(st.now))
					if err != nil {
						t.Fatalf("step %d: %v", i, err)
					}
					if acquired != st.acquired || cur.State != st.want || cur.Owner != st.wantOwn {
						t.Fatalf("step %d: acquired %v, record %s of %q; want %v, %s of %q", i, acquired, cur.State, cur.Owner, st.acquired, st.want, st.wantOwn)
					}
					if cur.State == StateAnswered && string(cur.Answer) != answer {
						t.Fatalf("step %d: answer %q, want %q", i, cur.Answer, answer)
					}
				case "answer":
					err := s.Answer(ctx(t), rec.Key, st.owner, []byte(st.answer))
					if !errors.Is(err, st.wantErr) {
						t.Fatalf("step %d: %v, want %v", i, err, st.wantErr)
					}
					if err == nil {
						answer = st.answer
					}
				}
				got, ok, err := s.Get(ctx(t), rec.Key)
				if err != nil {
					t.Fatalf("step %d: %v", i, err)
				}
				if st.want == "" {
					if ok {
						t.Fatalf("step %d: a record %+v, want none", i, got)
					}
					continue
				}
				if !ok || got.State != st.want || got.Owner != st.wantOwn || got.Key != rec.Key || got.ResponseURLHash != rec.ResponseURLHash {
					t.Fatalf("step %d: record %+v (found %v), want %s of %q", i, got, ok, st.want, st.wantOwn)
				}
				if got.State == StateAnswered && string(got.Answer) != answer {
					t.Fatalf("step %d: stored answer %q, want %q", i, got.Answer, answer)
				}
				if !got.Expires.Equal(t0.Add(DefaultRetention)) {
					t.Fatalf("step %d: expires %s", i, got.Expires)
				}
			}
		})
	}
}

// Many deliveries of one request at once: exactly one acquires it.
func TestConcurrentAcquireHasOneWinner(t *testing.T) {
	s := newStore(t)
	const n = 16
	var wins atomic.Int32
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, acquired, err := s.Acquire(ctx(t), record("req-race", fmt.Sprintf("owner-%d", i), t0.Add(time.Minute)), t0)
			if err != nil {
				errs <- err
			}
			if acquired {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if wins.Load() != 1 {
		t.Fatalf("%d deliveries acquired the request, want 1", wins.Load())
	}
}

// Requests that differ in any one id are different records.
func TestKeysAreDistinct(t *testing.T) {
	s := newStore(t)
	base := record("req-k", "a", t0.Add(time.Minute))
	variants := []Key{
		base.Key,
		{StackID: base.Key.StackID, LogicalResourceID: "SysdigExternalId", RequestID: base.Key.RequestID},
		{StackID: strings.Replace(base.Key.StackID, "100000000001", "100000000002", 1), LogicalResourceID: base.Key.LogicalResourceID, RequestID: base.Key.RequestID},
		{StackID: base.Key.StackID, LogicalResourceID: base.Key.LogicalResourceID, RequestID: "req-l"},
		// The ids are length-prefixed: moving a character from one to the next changes the key.
		{StackID: base.Key.StackID + "S", LogicalResourceID: "ysdigProvider", RequestID: base.Key.RequestID},
	}
	seen := map[string]bool{}
	for i, k := range variants {
		if seen[k.ID()] {
			t.Fatalf("variant %d has the ID of an earlier one", i)
		}
		seen[k.ID()] = true
		rec := base
		rec.Key = k
		if _, acquired, err := s.Acquire(ctx(t), rec, t0); err != nil || !acquired {
			t.Fatalf("variant %d: acquired %v, %v", i, acquired, err)
		}
	}
}

// A missing table (or any service error) is an error that names the table; nothing is
// taken for acquired.
func TestServiceErrors(t *testing.T) {
	s := NewDynamoDB(server.Client(), "no-such-table")
	_, acquired, err := s.Acquire(ctx(t), record("req-e", "a", t0.Add(time.Minute)), t0)
	if err == nil || acquired || !strings.Contains(err.Error(), "no-such-table") {
		t.Fatalf("acquired %v, error %v", acquired, err)
	}
	if err := s.Answer(ctx(t), record("req-e", "a", t0).Key, "a", []byte("{}")); err == nil || errors.Is(err, ErrLeaseLost) {
		t.Fatalf("answer: %v", err)
	}
	if _, _, err := s.Get(ctx(t), record("req-e", "a", t0).Key); err == nil {
		t.Fatal("get from a missing table succeeded")
	}
}

// DynamoDB itself returns the current item with a failed condition
// (ReturnValuesOnConditionCheckFailure, which dynalite ignores): then no read follows.
func TestConditionFailureCarryingTheItem(t *testing.T) {
	var calls []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls = append(calls, r.Header.Get("X-Amz-Target"))
		w.Header().Set("Content-Type", "application/x-amz-json-1.0")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprint(w, `{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"The conditional request failed",`+
			`"Item":{"pk":{"S":"x"},"state":{"S":"ANSWERED"},"owner":{"S":"a"},"lease_until_ms":{"N":"1"},"expires_at":{"N":"2"},`+
			`"response_url_sha256":{"S":"h"},"answer":{"B":"eyJTdGF0dXMiOiJTVUNDRVNTIn0="},"request_id":{"S":"req-x"}}}`)
	}))
	defer srv.Close()
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(srv.URL),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", ""), RetryMaxAttempts: 1})
	cur, acquired, err := NewDynamoDB(client, "table").Acquire(ctx(t), record("req-x", "b", t0.Add(time.Minute)), t0)
	if err != nil || acquired {
		t.Fatalf("acquired %v, %v", acquired, err)
	}
	if cur.State != StateAnswered || string(cur.Answer) != `{"Status":"SUCCESS"}` || cur.Owner != "a" || cur.ResponseURLHash != "h" {
		t.Fatalf("record %+v", cur)
	}
	if len(calls) != 1 || calls[0] != "DynamoDB_20120810.PutItem" {
		t.Fatalf("calls %v, want one PutItem", calls)
	}
}

// A record this code cannot read is reported, never guessed at.
func TestUnreadableRecords(t *testing.T) {
	s := newStore(t)
	for i, item := range []string{
		`{"pk":{"S":"%s"},"state":{"S":"DONE"},"lease_until_ms":{"N":"1"}}`,
		`{"pk":{"S":"%s"},"state":{"S":"IN_PROGRESS"}}`,
		`{"pk":{"S":"%s"},"state":{"S":"ANSWERED"},"lease_until_ms":{"N":"1"}}`,
	} {
		key := Key{StackID: "s", LogicalResourceID: "l", RequestID: fmt.Sprint("bad-", i)}
		putRaw(t, s, fmt.Sprintf(item, key.ID()))
		if _, _, err := s.Get(ctx(t), key); err == nil {
			t.Fatalf("item %d: no error", i)
		}
		rec := record("x", "a", t0.Add(time.Minute))
		rec.Key = key
		if _, acquired, err := s.Acquire(ctx(t), rec, t0.Add(time.Hour)); err == nil || acquired {
			t.Fatalf("item %d: acquired %v, error %v; want an error", i, acquired, err)
		}
	}
}

func putRaw(t *testing.T, s *DynamoDB, item string) {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx(t), http.MethodPost, server.URL, strings.NewReader(`{"TableName":"`+s.table+`","Item":`+item+`}`))
	req.Header.Set("X-Amz-Target", "DynamoDB_20120810.PutItem")
	req.Header.Set("Content-Type", "application/x-amz-json-1.0")
	// dynalite checks that a signature is present, not its value.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKID/20261130/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=00")
	req.Header.Set("X-Amz-Date", time.Now().UTC().Format("20060102T150405Z"))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("raw PutItem: HTTP %d", res.StatusCode)
	}
}
