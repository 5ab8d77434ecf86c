package customresource

import (
	"errors"
	"log/slog"

	"sysdig-aws-connect/internal/metrics"
)

// WithMetrics writes one metric record per invocation (metrics.Emitter): its outcome
// (SUCCESS, FAILED, REFUSED, DUPLICATE), the Sysdig calls the handler made, and times.
// Requests dropped before any answer count too: FAILED when unreadable, REFUSED when
// their ResponseURL is not CloudFormation's.
func WithMetrics(e *metrics.Emitter) Option { return func(f *Function) { f.metrics = e } }

// outcomeOf classifies an answered request: a refusal (a Refusal error, or Result.Refused)
// is REFUSED even when its answer did not get out, as it is the incident to look at.
func outcomeOf(res Result, workErr, sendErr error) metrics.Outcome {
	var refusal Refusal
	switch {
	case workErr != nil && errors.As(workErr, &refusal) && refusal.Refusal():
		return metrics.Refused
	case workErr == nil && res.Refused:
		return metrics.Refused
	case workErr != nil, sendErr != nil:
		return metrics.Failed
	}
	return metrics.Success
}

// emit writes the invocation's record; a record that cannot be written is logged, and
// never changes the answer.
func (f *Function) emit(rec *metrics.Recorder, req Request, outcome metrics.Outcome) {
	if f.metrics == nil {
		return
	}
	if _, err := f.metrics.Emit(rec, metrics.Request{
		ResourceType: req.ResourceType, RequestType: string(req.RequestType), Outcome: string(outcome),
		RequestID: req.RequestID, LogicalResourceID: req.LogicalResourceID, StackID: req.StackID,
	}); err != nil {
		f.logger.Error("metric record not written", slog.String("error", err.Error()))
	}
}
