package customresource

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"sysdig-aws-connect/internal/metrics"
)

// ClaimState is what a Deduplicator found for a request.
type ClaimState int

const (
	// ClaimAcquired: this delivery holds the request; run the handler, then Complete.
	ClaimAcquired ClaimState = iota
	// ClaimInProgress: another delivery holds the request's lease; do nothing.
	ClaimInProgress
	// ClaimAnswered: the request was answered; send Answer again.
	ClaimAnswered
	// ClaimMismatch: the ids were seen with another ResponseURL; not a duplicate of that
	// request, and not to be acted on.
	ClaimMismatch
)

// Claim is a Deduplicator's verdict on one delivery.
type Claim struct {
	State ClaimState
	// Answer is the stored response body (ClaimAnswered).
	Answer []byte
	// LeaseUntil is when the holder's lease ends (ClaimInProgress, ClaimAcquired).
	LeaseUntil time.Time
	// Waited is how long this delivery waited for another one that held the request.
	Waited time.Duration
	// Complete stores this delivery's answer before it is sent (ClaimAcquired). It
	// returns ErrLeaseLost when another delivery took the request over meanwhile.
	Complete func(ctx context.Context, body []byte) error
	// Progress stores a physical id the handler recorded (RecordPhysicalID) while this
	// delivery holds the request (ClaimAcquired; may be nil). ErrLeaseLost as Complete.
	Progress func(ctx context.Context, physicalID string) error
	// PriorPhysicalID is the physical id an earlier delivery of this request recorded
	// before it died (ClaimAcquired after its lease ended): the handler reads it with
	// PriorPhysicalID to resume rather than create the same thing twice.
	PriorPhysicalID string
}

// ErrLeaseLost is what Claim.Complete returns when this delivery no longer holds the
// request: it must not answer, the delivery that took over does.
var ErrLeaseLost = errors.New("lease lost to another delivery") //msg:internal a sentinel compared with errors.Is, or a state that cannot occur

// Deduplicator recognises a request delivered more than once (SNS and Lambda's
// asynchronous invocation deliver at least once), by StackId, LogicalResourceId and
// RequestId.
type Deduplicator interface {
	// Claim records that this delivery takes req until leaseUntil, unless another
	// delivery holds it or answered it. It may wait, within ctx's deadline, for the
	// holder's answer or the end of its lease. An error means the record could not be
	// read or written: nothing was done.
	Claim(ctx context.Context, req Request, leaseUntil time.Time) (Claim, error)
}

// WithDeduplicator makes the function act once per request across deliveries: a
// duplicate that finds the request in progress does no work and sends no answer (the
// Deduplicator may first wait for the answer or the lease's end), one that finds it
// answered sends the same answer again, one that finds an expired lease takes the
// request over. The lease lasts until the invocation's deadline plus 2 s.
func WithDeduplicator(d Deduplicator) Option { return func(f *Function) { f.dedupe = d } }

// leaseSkew is added to the invocation's deadline: Lambda ends the invocation then, and
// the clocks of two execution environments may differ by a little.
const leaseSkew = 2 * time.Second

// ErrNotRecorded is returned by Invoke when the request could not be recorded: nothing
// was done, and Lambda retries an asynchronous invocation that returned an error.
var ErrNotRecorded = errors.New("request not recorded") //msg:internal a sentinel compared with errors.Is, or a state that cannot occur

// deduplicate claims req. done is true when this delivery must stop here, with how it
// ended, and err (for Lambda) when nothing could be recorded; otherwise the claim (zero
// without a Deduplicator) stores the progress and the answer.
func (f *Function) deduplicate(ctx context.Context, log *slog.Logger, req Request) (held Claim, done bool, outcome metrics.Outcome, err error) {
	if f.dedupe == nil {
		return Claim{}, false, "", nil
	}
	leaseUntil := time.Now().Add(noDeadlineBudget + time.Minute)
	if dl, ok := ctx.Deadline(); ok {
		leaseUntil = dl.Add(leaseSkew)
	}
	claim, err := f.dedupe.Claim(ctx, req, leaseUntil)
	if err != nil {
		// Without the record a second delivery could act too: do nothing, and let
		// Lambda's retries of this invocation try again.
		log.Error("request not handled: cannot record it against duplicate deliveries; Lambda retries the delivery",
			slog.String("error", err.Error()))
		return Claim{}, true, metrics.Failed, fmt.Errorf("%w: %v", ErrNotRecorded, err)
	}
	if claim.Waited > 0 {
		log = log.With(slog.Int64("waited_ms", claim.Waited.Milliseconds()))
	}
	switch claim.State {
	case ClaimAcquired:
		if claim.Waited > 0 || claim.PriorPhysicalID != "" {
			log.Warn("duplicate delivery: the delivery that held this request did not answer before its lease ended; taking it over",
				slog.String("prior_physical_id", claim.PriorPhysicalID))
		}
		return claim, false, "", nil
	case ClaimInProgress:
		log.Info("duplicate delivery: another delivery is handling this request; nothing to do",
			slog.Time("lease_until", claim.LeaseUntil))
	case ClaimAnswered:
		attempts, err := f.send(ctx, req.ResponseURL, claim.Answer)
		attrs := []any{slog.Int("response_bytes", len(claim.Answer)), slog.Int("response_attempts", attempts)}
		if err != nil {
			log.Error("duplicate delivery: the stored answer was not delivered again", append(attrs, slog.String("error", err.Error()))...)
		} else {
			log.Info("duplicate delivery: the stored answer was sent again", attrs...)
		}
	case ClaimMismatch:
		log.Warn("refused: a request with these ids was received with another ResponseURL; nothing done")
		return Claim{}, true, metrics.Refused, nil
	default:
		//msg:internal a sentinel compared with errors.Is, or a state that cannot occur
		log.Error("request not handled: unknown deduplication state", slog.Int("state", int(claim.State)))
		return Claim{}, true, metrics.Failed, nil
	}
	return Claim{}, true, metrics.Duplicate, nil
}

// persistProgress stores a physical id the handler recorded, bounded in time; a failure
// is logged and never fails the request (a delivery that takes over then creates again,
// as it would have without the record).
func persistProgress(ctx context.Context, log *slog.Logger, progress func(context.Context, string) error, until time.Time, id string) {
	timeout := min(3*time.Second, max(time.Until(until), 500*time.Millisecond))
	pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	switch err := progress(pctx, id); {
	case errors.Is(err, ErrLeaseLost):
		log.Warn("progress not recorded: another delivery took this request over", slog.String("physical_id", id))
	case err != nil:
		log.Error("progress not recorded; a delivery that takes this request over would not know of it",
			slog.String("physical_id", id), slog.String("error", err.Error()))
	}
}

// store records the answer before it is sent; false means another delivery took the
// request over and answers it instead. Other failures are logged, and the answer is sent.
func (f *Function) store(ctx context.Context, log *slog.Logger, complete func(context.Context, []byte) error, body []byte) bool {
	if complete == nil {
		return true
	}
	// The answer matters more than its record: bound the write to a third of what is left.
	timeout := 5 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = min(timeout, time.Until(dl)/3)
	}
	storeCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	err := complete(storeCtx, body)
	switch {
	case errors.Is(err, ErrLeaseLost):
		log.Warn("answer not sent: another delivery took this request over after this one's lease ran out, and answers it")
		return false
	case err != nil:
		log.Error("answer not recorded; sending it anyway (a duplicate delivery after the lease would handle the request again)",
			slog.String("error", err.Error()))
	}
	return true
}
