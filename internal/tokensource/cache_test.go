package tokensource

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// counting is a Source whose value and failure the test sets, counting its reads.
type counting struct {
	mu    sync.Mutex
	value string
	err   error
	reads int
}

func (c *counting) Token(context.Context, string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.reads++
	return c.value, c.err
}

func TestCacheReadsOncePerTTLAndRefreshes(t *testing.T) {
	src := &counting{value: "token-1"}
	c := NewCache(src, time.Minute)
	now := time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)
	c.now = func() time.Time { return now }
	ctx := context.Background()

	steps := []struct {
		name      string
		advance   time.Duration
		refresh   bool
		stored    string
		fail      error
		want      string
		wantErr   bool
		wantReads int
	}{
		{name: "first read", want: "token-1", wantReads: 1},
		{name: "cached", advance: 30 * time.Second, want: "token-1", wantReads: 1},
		{name: "rotated but still cached", advance: 20 * time.Second, stored: "token-2", want: "token-1", wantReads: 1},
		{name: "refresh reads the rotated token", refresh: true, want: "token-2", wantReads: 2},
		{name: "cached after refresh", advance: 59 * time.Second, want: "token-2", wantReads: 2},
		{name: "TTL over, read fails: not cached", advance: 2 * time.Second, fail: errors.New("throttled"), wantErr: true, wantReads: 3},
		{name: "read again after a failure", stored: "token-3", want: "token-3", wantReads: 4},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		src.mu.Lock()
		if s.stored != "" {
			src.value = s.stored
		}
		src.err = s.fail
		src.mu.Unlock()
		var got string
		var err error
		if s.refresh {
			got, err = c.Refresh(ctx, "sysdig/api-token")
		} else {
			got, err = c.Token(ctx, "sysdig/api-token")
		}
		if (err != nil) != s.wantErr || got != s.want || src.reads != s.wantReads {
			t.Fatalf("%s: got %q, %v after %d reads; want %q (error %v) after %d", s.name, got, err, src.reads, s.want, s.wantErr, s.wantReads)
		}
	}
}

func TestCacheKeepsSecretsApart(t *testing.T) {
	src := &counting{value: "a"}
	c := NewCache(src, 0)
	if c.ttl != DefaultTTL {
		t.Fatalf("ttl %s", c.ttl)
	}
	for _, id := range []string{"one", "two", "one", "two"} {
		if _, err := c.Token(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
	if src.reads != 2 {
		t.Fatalf("%d reads for two secrets", src.reads)
	}
}
