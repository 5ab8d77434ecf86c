package customresource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws/arn"

	"sysdig-aws-connect/internal/metrics"
)

// Result is what a handler produced.
type Result struct {
	// PhysicalResourceID names what the resource now is. Empty keeps the request's id
	// (Update, Delete) or the id recorded with RecordPhysicalID, else the RequestId (Create).
	PhysicalResourceID string
	Data               map[string]any
	NoEcho             bool
	// Refused marks a request the handler declined as not the requester's to make (a
	// Delete naming a provider this stack never registered): it still answers SUCCESS so
	// the stack can go, but it is counted and alarmed on as a refusal, not a success.
	Refused bool
}

// Refusal is implemented by errors that decline a request as not the requester's to make
// (a forged or out-of-bounds request), as opposed to work that failed: such an answer is
// counted as REFUSED.
type Refusal interface {
	error
	Refusal() bool
}

// Handler does the work of one request. An error becomes a FAILED answer whose Reason is
// the error's text, so errors should say what to do.
type Handler interface {
	Handle(ctx context.Context, req Request) (Result, error)
}

// HandlerFunc adapts a function to Handler.
type HandlerFunc func(ctx context.Context, req Request) (Result, error)

// Handle calls f.
func (f HandlerFunc) Handle(ctx context.Context, req Request) (Result, error) { return f(ctx, req) }

type progressKey struct{}

type progress struct {
	mu         sync.Mutex
	physicalID string
	// cleanupBy is how long the handler may go on after its work deadline to undo or
	// look up what it did; waitUntil, a little later, is how long the wrapper waits for
	// it, so that what the handler records at the last moment still reaches the answer.
	// Together they take the first half of the margin; the second half is the answer's.
	cleanupBy time.Time
	waitUntil time.Time
	// persist, when set (WithDeduplicator), stores each newly recorded id in the
	// request's record; persisted is the last id it stored.
	persist   func(id string)
	persisted string
	// prior is the id an earlier delivery of this request recorded before it died.
	prior string
}

// CleanupContext returns a context for undoing or checking work after the handler's own
// context ended (a registration whose answer was lost, a replacement to remove). It is not
// cancelled with the work, and it ends in time for the answer to get out; the wrapper
// waits for the handler until then.
func CleanupContext(ctx context.Context) (context.Context, context.CancelFunc) {
	detached := context.WithoutCancel(ctx)
	if p, ok := ctx.Value(progressKey{}).(*progress); ok && !p.cleanupBy.IsZero() {
		return context.WithDeadline(detached, p.cleanupBy)
	}
	return context.WithTimeout(detached, 5*time.Second)
}

// RecordPhysicalID tells the wrapper which physical id the answer must carry if the handler
// cannot finish (deadline, panic): call it before and right after creating anything, so a
// resource the request created is never leaked by a FAILED answer.
//
// With WithDeduplicator the id is also stored in the request's record before this
// returns (one conditional write, when it changed), so that a delivery of the same request
// that takes over after this one died learns it: see PriorPhysicalID.
func RecordPhysicalID(ctx context.Context, id string) {
	p, ok := ctx.Value(progressKey{}).(*progress)
	if !ok {
		return
	}
	p.mu.Lock()
	p.physicalID = id
	persist := p.persist != nil && id != p.persisted
	if persist {
		p.persisted = id
	}
	p.mu.Unlock()
	if persist {
		p.persist(id)
	}
}

// PriorPhysicalID is the physical id that an earlier delivery of this very request
// recorded (RecordPhysicalID) before it died without answering, when this delivery took
// the request over (WithDeduplicator). What it names may exist already: a handler checks
// it and resumes from it rather than create it twice.
func PriorPhysicalID(ctx context.Context) (string, bool) {
	if p, ok := ctx.Value(progressKey{}).(*progress); ok && p.prior != "" {
		return p.prior, true
	}
	return "", false
}

func (p *progress) get() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.physicalID
}

// Function runs a Handler under the custom-resource protocol. Use Invoke as the Lambda
// handler: it returns nil once it has answered (or found a duplicate delivery), so Lambda
// never re-runs a request; only a request it could not record (WithDeduplicator) returns
// an error, untouched, for Lambda to deliver again.
type Function struct {
	handler     Handler
	sender      *Sender
	logger      *slog.Logger
	logStreamFn func() string
	// answerRegion, when set, limits answers to CloudFormation's response bucket there.
	answerRegion string
	// loopbackAnswers allows loopback ResponseURLs too (local runs).
	loopbackAnswers bool
	check           RequestCheck
	dedupe          Deduplicator
	metrics         *metrics.Emitter
}

// Option configures a Function.
type Option func(*Function)

// WithLogger sets the structured logger.
func WithLogger(l *slog.Logger) Option { return func(f *Function) { f.logger = l } }

// WithSender sets how answers are delivered.
func WithSender(s *Sender) Option { return func(f *Function) { f.sender = s } }

// WithAnswerRegion limits answers to CloudFormation's response bucket of region (see
// CheckResponseURL): a request whose ResponseURL is elsewhere is dropped, unanswered.
func WithAnswerRegion(region string) Option { return func(f *Function) { f.answerRegion = region } }

// WithLoopbackAnswers lets answers go to a loopback ResponseURL as well, for local runs
// (the runtime emulator, tests). In Lambda, loopback is the Runtime API and extensions:
// no answer goes there.
func WithLoopbackAnswers() Option { return func(f *Function) { f.loopbackAnswers = true } }

// RequestCheck decides whether a request may be acted on. Its error refuses the request:
// the handler is not called, and the error is the Reason of the FAILED answer.
type RequestCheck func(ctx context.Context, req Request, env Envelope) error

// WithRequestCheck runs check on every request before the handler.
func WithRequestCheck(check RequestCheck) Option { return func(f *Function) { f.check = check } }

// New wraps h.
func New(h Handler, opts ...Option) *Function {
	f := &Function{
		handler:     h,
		sender:      NewSender(),
		logger:      slog.Default(),
		logStreamFn: func() string { return lambdacontext.LogStreamName },
	}
	for _, o := range opts {
		o(f)
	}
	if f.sender.onRetry == nil {
		f.sender.onRetry = func(attempt int, err error, wait time.Duration) {
			f.logger.Warn("response not accepted; retrying", slog.Int("attempt", attempt),
				slog.Duration("wait", wait), slog.String("error", err.Error()))
		}
	}
	return f
}

// noDeadlineBudget bounds the work when the context carries no deadline (tools, tests).
const noDeadlineBudget = 5 * time.Minute

// defaultMargin keeps a fifth of the remaining time, between 2 and 15 seconds, for the
// answer: enough for a few PUT attempts, without starving the work.
func defaultMargin(remaining time.Duration) time.Duration {
	m := remaining / 5
	m = max(m, 2*time.Second)
	m = min(m, 15*time.Second)
	if m > remaining/2 {
		m = remaining / 2
	}
	return m
}

// Invoke handles one Lambda invocation. With WithMetrics, it writes one metric record
// for it, whatever the outcome.
func (f *Function) Invoke(ctx context.Context, payload json.RawMessage) error {
	start := time.Now()
	rec := metrics.NewRecorder(start)
	req, outcome, err := f.invoke(metrics.NewContext(ctx, rec), start, payload)
	f.emit(rec, req, outcome)
	return err
}

// invoke handles one invocation and says how it ended.
func (f *Function) invoke(ctx context.Context, start time.Time, payload json.RawMessage) (Request, metrics.Outcome, error) {
	req, env, err := Decode(payload)
	log := f.logger.With(
		slog.String("request_type", string(req.RequestType)),
		slog.String("resource_type", req.ResourceType),
		slog.String("logical_id", req.LogicalResourceID),
		slog.String("request_id", req.RequestID),
		slog.String("stack_id", req.StackID),
		slog.String("via", env.Via),
	)
	var invalid *InvalidRequestError
	if err != nil && (!errors.As(err, &invalid) || !invalid.Answerable) {
		log.Error("request dropped: nothing to answer to", slog.String("error", err.Error()))
		return req, metrics.Failed, nil
	}
	if f.answerRegion != "" {
		if uerr := CheckResponseURL(req.ResponseURL, f.answerRegion, f.loopbackAnswers); uerr != nil {
			log.Error("request dropped: its ResponseURL is not CloudFormation's, so it gets no answer",
				slog.String("response_host", ResponseHost(req.ResponseURL)), slog.String("error", uerr.Error()))
			return req, metrics.Refused, nil
		}
	}
	if err != nil {
		return req, f.answer(ctx, log, req, start, Result{}, err, nil), nil
	}
	if env.TopicARN != "" {
		log = log.With(slog.String("topic_arn", env.TopicARN))
	}
	log.Info("request received", slog.String("physical_id", req.PhysicalResourceID),
		slog.String("response_url", RedactURL(req.ResponseURL)))
	if f.check != nil {
		if cerr := f.checkRequest(ctx, req, env); cerr != nil {
			log.Warn("request refused", slog.String("claimed_account", claimedAccount(req.StackID)), slog.String("error", cerr.Error()))
			return req, f.answer(ctx, log, req, start, Result{}, cerr, nil), nil
		}
	}

	claim, done, outcome, err := f.deduplicate(ctx, log, req)
	if done {
		return req, outcome, err
	}
	res, err := f.run(ctx, log, req, claim)
	return req, f.answer(ctx, log, req, start, res, err, claim.Complete), nil
}

// checkRequest runs the request check within the time the handler would have.
func (f *Function) checkRequest(ctx context.Context, req Request, env Envelope) error {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(noDeadlineBudget)
	}
	checkCtx, cancel := context.WithDeadline(ctx, deadline.Add(-defaultMargin(time.Until(deadline))))
	defer cancel()
	return f.check(checkCtx, req, env)
}

// claimedAccount is the account of a stack ARN, as the request claims it.
func claimedAccount(stackID string) string {
	a, err := arn.Parse(stackID)
	if err != nil {
		return ""
	}
	return a.AccountID
}

// run executes the handler with a deadline that leaves the margin for answering, and
// converts a panic or a handler that outlives its deadline into an error.
func (f *Function) run(ctx context.Context, log *slog.Logger, req Request, claim Claim) (Result, error) {
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(noDeadlineBudget)
	}
	margin := defaultMargin(time.Until(deadline))
	workCtx, cancel := context.WithDeadline(ctx, deadline.Add(-margin))
	defer cancel()
	waitUntil := deadline.Add(-margin / 2)
	prog := &progress{waitUntil: waitUntil, cleanupBy: waitUntil.Add(-min(250*time.Millisecond, margin/8)),
		prior: claim.PriorPhysicalID, persisted: claim.PriorPhysicalID}
	if claim.Progress != nil {
		prog.persist = func(id string) { persistProgress(ctx, log, claim.Progress, prog.cleanupBy, id) }
	}
	workCtx = context.WithValue(workCtx, progressKey{}, prog)

	type outcome struct {
		res Result
		err error
	}
	done := make(chan outcome, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				log.Error("handler panicked", slog.String("panic", fmt.Sprint(p)), slog.String("stack", string(debug.Stack())))
				done <- outcome{err: fmt.Errorf("internal error (panic) while handling %s: %v", req.RequestType, p)}
			}
		}()
		res, err := f.handler.Handle(workCtx, req)
		done <- outcome{res, err}
	}()

	var out outcome
	select {
	case out = <-done:
	case <-workCtx.Done():
		// The handler's calls see the same deadline: wait for its own, more precise error
		// and for any cleanup it does (CleanupContext) before answering without it.
		grace := time.NewTimer(time.Until(prog.waitUntil))
		defer grace.Stop()
		select {
		case out = <-done:
		case <-grace.C:
			out = outcome{err: fmt.Errorf("timed out: the work was not done %s before the function's deadline; check that the function can reach Sysdig and Secrets Manager, then retry", margin.Round(time.Millisecond))}
		}
	}
	if out.res.PhysicalResourceID == "" {
		out.res.PhysicalResourceID = prog.get()
	}
	if out.err == nil && workCtx.Err() != nil && ctx.Err() == nil {
		log.Warn("handler succeeded at its deadline")
	}
	return out.res, out.err
}

// answer sends the response; complete (from a Deduplicator) records it first.
func (f *Function) answer(ctx context.Context, log *slog.Logger, req Request, start time.Time, res Result, workErr error, complete func(context.Context, []byte) error) metrics.Outcome {
	resp := cfn.NewResponse(&req)
	resp.PhysicalResourceID = res.PhysicalResourceID
	if resp.PhysicalResourceID == "" {
		resp.PhysicalResourceID = defaultPhysicalID(req)
	}
	if len(resp.PhysicalResourceID) > MaxPhysicalIDBytes && workErr == nil {
		//msg:internal the registrar bounds the physical id
		workErr = fmt.Errorf("internal error: physical id of %d bytes exceeds %d", len(resp.PhysicalResourceID), MaxPhysicalIDBytes)
		resp.PhysicalResourceID = defaultPhysicalID(req)
	}
	if workErr != nil {
		resp.Status = cfn.StatusFailed
		resp.Reason = workErr.Error()
		if stream := f.logStreamFn(); stream != "" {
			// First, so that cutting a long Reason never cuts the pointer to the logs.
			resp.Reason = "[log stream " + stream + "] " + resp.Reason
		}
	} else {
		resp.Status = cfn.StatusSuccess
		resp.Data = res.Data
		resp.NoEcho = res.NoEcho
	}
	body, err := EncodeResponse(*resp)
	if err != nil {
		log.Error("cannot encode response", slog.String("error", err.Error()))
		resp.Status, resp.Reason, resp.Data = cfn.StatusFailed, "internal error: "+err.Error(), nil
		body, _ = json.Marshal(resp)
	}

	if !f.store(ctx, log, complete, body) {
		return metrics.Duplicate
	}
	attempts, sendErr := f.send(ctx, req.ResponseURL, body)
	attrs := []any{
		slog.String("outcome", string(resp.Status)),
		slog.String("physical_id", resp.PhysicalResourceID),
		slog.Int64("duration_ms", time.Since(start).Milliseconds()),
		slog.Int("response_bytes", len(body)),
		slog.Int("response_attempts", attempts),
	}
	if resp.Reason != "" {
		attrs = append(attrs, slog.String("reason", resp.Reason))
	}
	if sendErr != nil {
		log.Error("response not delivered: the stack will wait for its ServiceTimeout", append(attrs, slog.String("error", sendErr.Error()))...)
	} else {
		log.Info("response sent", attrs...)
	}
	return outcomeOf(res, workErr, sendErr)
}

// send PUTs body to responseURL, within a minute when ctx has no deadline.
func (f *Function) send(ctx context.Context, responseURL string, body []byte) (int, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, time.Minute)
		defer cancel()
	}
	return f.sender.Send(ctx, responseURL, body)
}

// defaultPhysicalID keeps an Update or Delete on the resource it names; a Create that
// produced nothing answers its RequestId, which names nothing anywhere.
func defaultPhysicalID(req Request) string {
	if req.PhysicalResourceID != "" {
		return req.PhysicalResourceID
	}
	if req.RequestID != "" {
		return req.RequestID
	}
	return "unknown-request"
}
