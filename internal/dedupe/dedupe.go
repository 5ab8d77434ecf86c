package dedupe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"sysdig-aws-connect/internal/customresource"
)

// DefaultRetention is how long a record is kept (the table's TTL): far beyond the hour a
// custom resource waits for its answer and the 6 hours Lambda keeps an asynchronous event.
const DefaultRetention = 7 * 24 * time.Hour

// Deduplicator implements customresource.Deduplicator on a Store.
type Deduplicator struct {
	store     Store
	now       func() time.Time
	retention time.Duration
}

// Option configures a Deduplicator.
type Option func(*Deduplicator)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(d *Deduplicator) { d.now = now } }

// WithRetention sets how long records are kept; zero or less keeps DefaultRetention.
func WithRetention(r time.Duration) Option {
	return func(d *Deduplicator) {
		if r > 0 {
			d.retention = r
		}
	}
}

// New returns a Deduplicator keeping its records in store.
func New(store Store, opts ...Option) *Deduplicator {
	d := &Deduplicator{store: store, now: time.Now, retention: DefaultRetention}
	for _, o := range opts {
		o(d)
	}
	return d
}

// KeyOf is the Key of a request.
func KeyOf(req customresource.Request) Key {
	return Key{StackID: req.StackID, LogicalResourceID: req.LogicalResourceID, RequestID: req.RequestID}
}

// Claim implements customresource.Deduplicator: one conditional write when the request
// is new (or its lease expired); the record as it stands otherwise.
func (d *Deduplicator) Claim(ctx context.Context, req customresource.Request, leaseUntil time.Time) (customresource.Claim, error) {
	now := d.now()
	owner, err := newOwner()
	if err != nil {
		return customresource.Claim{}, err
	}
	rec := Record{
		Key:             KeyOf(req),
		Owner:           owner,
		LeaseUntil:      leaseUntil,
		ResponseURLHash: HashURL(req.ResponseURL),
		Expires:         now.Add(d.retention),
	}
	cur, acquired, err := d.store.Acquire(ctx, rec, now)
	if err != nil {
		return customresource.Claim{}, err
	}
	switch {
	case acquired:
		return customresource.Claim{
			State:      customresource.ClaimAcquired,
			LeaseUntil: leaseUntil,
			Complete: func(ctx context.Context, body []byte) error {
				err := d.store.Answer(ctx, rec.Key, owner, body)
				if errors.Is(err, ErrLeaseLost) {
					return customresource.ErrLeaseLost
				}
				return err
			},
		}, nil
	case cur.ResponseURLHash != rec.ResponseURLHash:
		return customresource.Claim{State: customresource.ClaimMismatch}, nil
	case cur.State == StateAnswered:
		return customresource.Claim{State: customresource.ClaimAnswered, Answer: cur.Answer}, nil
	default:
		return customresource.Claim{State: customresource.ClaimInProgress, LeaseUntil: cur.LeaseUntil}, nil
	}
}

func newOwner() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
