package dedupe

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
)

// DynamoDB applies the Answer write but its response is lost (the connection drops), and
// the SDK retries the UpdateItem as it does any connection error. The retry finds the
// record answered with the same body by the same owner: that is a success, not a lost
// lease, or the function would send no answer and no later delivery would either.
func TestAnswerRetriedAfterLostResponse(t *testing.T) {
	store := newStore(t)
	target, _ := url.Parse(server.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	var dropped atomic.Bool
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.Header.Get("X-Amz-Target"), ".UpdateItem") && dropped.CompareAndSwap(false, true) {
			body, _ := io.ReadAll(r.Body)
			// Forward it (DynamoDB applies it), then drop the answer.
			req, _ := http.NewRequest(r.Method, server.URL+r.URL.Path, strings.NewReader(string(body)))
			req.Header = r.Header.Clone()
			if res, err := http.DefaultClient.Do(req); err == nil {
				res.Body.Close()
			}
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	client := dynamodb.New(dynamodb.Options{Region: "us-east-1", BaseEndpoint: aws.String(front.URL),
		Credentials: credentials.NewStaticCredentialsProvider("x", "y", "")})
	s := NewDynamoDB(client, store.table)
	rec := record("r-lost", "owner-1", t0.Add(300e9))
	if _, ok, err := s.Acquire(ctx(t), rec, t0); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	err := s.Answer(ctx(t), rec.Key, "owner-1", []byte(`{"Status":"SUCCESS"}`))
	if !dropped.Load() {
		t.Fatal("the proxy dropped no UpdateItem answer: the test tested nothing")
	}
	if err != nil {
		t.Fatalf("the owner's own answer, retried by the SDK after a lost response: %v", err)
	}
	cur, ok, err := s.Get(ctx(t), rec.Key)
	if err != nil || !ok || cur.State != StateAnswered || cur.Owner != "owner-1" || string(cur.Answer) != `{"Status":"SUCCESS"}` {
		t.Fatalf("record after the retried answer: %+v %v %v", cur, ok, err)
	}
	// Another answer by the same owner is still refused: the record keeps the first.
	if err := s.Answer(ctx(t), rec.Key, "owner-1", []byte(`{"Status":"FAILED"}`)); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("a second, different answer: %v, want ErrLeaseLost", err)
	}
}

// A delivery with the same ids but another ResponseURL never takes a request over, even
// once the lease has run out.
func TestTakeOverNeedsTheSameResponseURL(t *testing.T) {
	s := newStore(t)
	rec := record("r-url", "owner-1", t0.Add(300e9))
	if _, ok, err := s.Acquire(ctx(t), rec, t0); err != nil || !ok {
		t.Fatalf("acquire: %v %v", ok, err)
	}
	other := record("r-url", "owner-2", t0.Add(900e9))
	other.ResponseURLHash = HashURL("https://elsewhere.example/x")
	cur, ok, err := s.Acquire(ctx(t), other, t0.Add(600e9))
	if err != nil || ok {
		t.Fatalf("take-over with another ResponseURL after the lease: acquired=%v err=%v", ok, err)
	}
	if cur.Owner != "owner-1" || cur.ResponseURLHash != rec.ResponseURLHash {
		t.Fatalf("record changed: %+v", cur)
	}
	same := record("r-url", "owner-3", t0.Add(900e9))
	if _, ok, err := s.Acquire(ctx(t), same, t0.Add(600e9)); err != nil || !ok {
		t.Fatalf("take-over with the same ResponseURL after the lease: acquired=%v err=%v", ok, err)
	}
}
