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
	pollMin   time.Duration
	pollMax   time.Duration
}

// Default pace at which a duplicate re-reads a record another delivery holds.
const (
	DefaultPollMin = 500 * time.Millisecond
	DefaultPollMax = 5 * time.Second
	// maxPolls bounds the waiting loop whatever the deadline (15 minutes at 5 s is 180).
	maxPolls = 400
)

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

// WithWait sets how often a duplicate that finds the request in progress re-reads the
// record (from min, doubling up to max); max 0 makes it give up at once.
func WithWait(min, max time.Duration) Option {
	return func(d *Deduplicator) { d.pollMin, d.pollMax = min, max }
}

// New returns a Deduplicator keeping its records in store.
func New(store Store, opts ...Option) *Deduplicator {
	d := &Deduplicator{store: store, now: time.Now, retention: DefaultRetention, pollMin: DefaultPollMin, pollMax: DefaultPollMax}
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
//
// A duplicate that finds the request in progress does no work, but waits, re-reading
// the record, while a tenth of its own time remains (ctx's deadline): for the answer,
// which it then sends again, or for the end of the lease, when it takes the request
// over. So a delivery that Lambda retries after a crash (a minute later, well within
// the dead delivery's lease) still gets the request answered. If neither comes in time,
// it gives up: ClaimInProgress.
func (d *Deduplicator) Claim(ctx context.Context, req customresource.Request, leaseUntil time.Time) (customresource.Claim, error) {
	started := time.Now()
	claim, rec, err := d.claim(ctx, req, leaseUntil)
	if err != nil || claim.State != customresource.ClaimInProgress {
		return claim, err
	}
	deadline, ok := ctx.Deadline()
	if !ok || d.pollMax <= 0 {
		return claim, nil
	}
	// Stop with a tenth of the time left: enough to send an answer, or to do the work
	// after taking over (registrations take seconds; the registrar has 300 s).
	stopAt := deadline.Add(-deadline.Sub(started) / 10)
	delay := d.pollMin
	for range maxPolls {
		// Re-read after delay, or just after the lease ends if that comes first (or has
		// come already: the last read may have raced it).
		wake := time.Now().Add(min(delay, max(claim.LeaseUntil.Sub(d.now()), 0)+10*time.Millisecond))
		if wake.After(stopAt) {
			break
		}
		t := time.NewTimer(time.Until(wake))
		select {
		case <-ctx.Done():
			t.Stop()
			return claim, nil
		case <-t.C:
		}
		next, _, err := d.claim(ctx, req, leaseUntil, rec.Owner)
		if err != nil {
			return customresource.Claim{}, err
		}
		next.Waited = time.Since(started)
		if next.State != customresource.ClaimInProgress {
			return next, nil
		}
		claim = next
		delay = min(2*delay, d.pollMax)
	}
	claim.Waited = time.Since(started)
	return claim, nil
}

// claim makes one attempt; owner reuses this delivery's owner id across attempts.
func (d *Deduplicator) claim(ctx context.Context, req customresource.Request, leaseUntil time.Time, owner ...string) (customresource.Claim, Record, error) {
	now := d.now()
	var id string
	if len(owner) > 0 {
		id = owner[0]
	} else {
		var err error
		if id, err = newOwner(); err != nil {
			return customresource.Claim{}, Record{}, err
		}
	}
	rec := Record{
		Key:             KeyOf(req),
		Owner:           id,
		LeaseUntil:      leaseUntil,
		ResponseURLHash: HashURL(req.ResponseURL),
		Expires:         now.Add(d.retention),
	}
	cur, acquired, err := d.store.Acquire(ctx, rec, now)
	if err != nil {
		return customresource.Claim{}, rec, err
	}
	switch {
	case acquired:
		if cur.PhysicalID != "" {
			// Taking over drops what the dead delivery recorded: write it back at once, so
			// that a third delivery still learns it if this one dies too. Should this
			// fail, the handler records it again as it resumes from it.
			_ = d.store.Progress(ctx, rec.Key, id, cur.PhysicalID)
		}
		return customresource.Claim{
			State:           customresource.ClaimAcquired,
			LeaseUntil:      leaseUntil,
			PriorPhysicalID: cur.PhysicalID,
			Progress: func(ctx context.Context, physicalID string) error {
				return leaseErr(d.store.Progress(ctx, rec.Key, id, physicalID))
			},
			Complete: func(ctx context.Context, body []byte) error {
				return leaseErr(d.store.Answer(ctx, rec.Key, id, body))
			},
		}, rec, nil
	case cur.ResponseURLHash != rec.ResponseURLHash:
		return customresource.Claim{State: customresource.ClaimMismatch}, rec, nil
	case cur.State == StateAnswered:
		return customresource.Claim{State: customresource.ClaimAnswered, Answer: cur.Answer}, rec, nil
	default:
		return customresource.Claim{State: customresource.ClaimInProgress, LeaseUntil: cur.LeaseUntil}, rec, nil
	}
}

// leaseErr translates the store's ErrLeaseLost for customresource.
func leaseErr(err error) error {
	if errors.Is(err, ErrLeaseLost) {
		return customresource.ErrLeaseLost
	}
	return err
}

func newOwner() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", err
	}
	return hex.EncodeToString(b[:]), nil
}
