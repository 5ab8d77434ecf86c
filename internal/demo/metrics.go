package demo

import (
	"fmt"
	"time"

	"sysdig-aws-connect/internal/cfnsim"
	"sysdig-aws-connect/internal/metrics"
)

const logWait = 5 * time.Second

// customRequests counts the requests the stacks sent to the function.
func customRequests(stacks ...*cfnsim.Stack) int {
	n := 0
	for _, s := range stacks {
		for _, e := range s.Events() {
			if e.Custom {
				n++
			}
		}
	}
	return n
}

// metricRecords prints a summary of the metric records in the function's log and checks
// that there is one valid record per request. The function writes a record after its
// answer, so the last one may reach the log a moment after the stack saw the answer:
// logs is read again, for up to logWait.
func (p printer) metricRecords(logs func() []string, requests int) error {
	s := metrics.Summarize(logs())
	for deadline := time.Now().Add(logWait); s.Records < requests && time.Now().Before(deadline); {
		time.Sleep(50 * time.Millisecond)
		s = metrics.Summarize(logs())
	}
	p.line("")
	p.line(fmt.Sprintf("Metric records in the function's log (namespace %s, one per request):", metrics.Namespace))
	for _, l := range s.Lines() {
		p.line("  " + l)
	}
	if s.Invalid > 0 || s.Records != requests {
		return fmt.Errorf("the function wrote %d valid metric records (%d invalid) for %d requests; want one valid record per request", s.Records, s.Invalid, requests)
	}
	return nil
}
