package sysdig

import (
	"context"
	"net/http"
	"time"

	"sysdig-aws-connect/internal/metrics"
)

// countCall adds one call, sent at start, to the metrics of the request ctx belongs to
// (metrics.FromContext; nothing outside a function's request). Deferred in attempt, the
// one place requests are sent, it counts every call, reading the answer included.
func countCall(ctx context.Context, start time.Time, resp *http.Response) {
	status := 0
	if resp != nil {
		status = resp.StatusCode
	}
	metrics.FromContext(ctx).SysdigCall(time.Since(start), status)
}
