package tokensource

import (
	"context"
	"sync"
	"time"
)

// DefaultTTL is how long a token read from the secret is used before it is read again;
// AWS's Parameters and Secrets Lambda Extension caches for the same time by default.
const DefaultTTL = 5 * time.Minute

// Source reads a token from a secret.
type Source interface {
	Token(ctx context.Context, secretID string) (string, error)
}

// Cache keeps each secret's token for a TTL, so that a warm function instance reads the
// secret once rather than once per request. Refresh reads it again at once (Sysdig
// refused the token: it may have been rotated). It is safe for concurrent use; errors are
// never cached.
type Cache struct {
	src Source
	ttl time.Duration
	now func() time.Time

	mu      sync.Mutex
	entries map[string]entry
}

type entry struct {
	token string
	read  time.Time
}

// NewCache caches src's tokens for ttl (DefaultTTL when ttl <= 0).
func NewCache(src Source, ttl time.Duration) *Cache {
	if ttl <= 0 {
		ttl = DefaultTTL
	}
	return &Cache{src: src, ttl: ttl, now: time.Now, entries: map[string]entry{}}
}

// Token returns the cached token while it is younger than the TTL, else reads it.
func (c *Cache) Token(ctx context.Context, secretID string) (string, error) {
	c.mu.Lock()
	e, ok := c.entries[secretID]
	c.mu.Unlock()
	if ok && c.now().Sub(e.read) < c.ttl {
		return e.token, nil
	}
	return c.Refresh(ctx, secretID)
}

// Refresh reads the token from the secret and caches it.
func (c *Cache) Refresh(ctx context.Context, secretID string) (string, error) {
	token, err := c.src.Token(ctx, secretID)
	if err != nil {
		return "", err
	}
	c.mu.Lock()
	c.entries[secretID] = entry{token: token, read: c.now()}
	c.mu.Unlock()
	return token, nil
}
