package metrics

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Namespace is the CloudWatch namespace of every metric the functions emit.
const Namespace = "SysdigAwsConnect"

// Dimension and metric names of the per-request record: a public interface (alarms, the
// dashboard and users' queries use them).
const (
	DimFunction     = "Function"
	DimResourceType = "ResourceType"
	DimRequestType  = "RequestType"
	DimOutcome      = "Outcome"

	MetricRequests       = "Requests"
	MetricSysdigCalls    = "SysdigCalls"
	MetricThrottledCalls = "ThrottledCalls"
	MetricSysdigTime     = "SysdigTime"
	MetricTotalTime      = "TotalTime"
)

// Outcome is how a request ended.
type Outcome string

// Outcomes.
const (
	// Success: answered SUCCESS after doing the work.
	Success Outcome = "SUCCESS"
	// Failed: answered FAILED, or could not be answered or recorded.
	Failed Outcome = "FAILED"
	// Refused: declined as not the requester's to make (a forged or out-of-bounds request).
	Refused Outcome = "REFUSED"
	// Duplicate: a second delivery of a request already handled or being handled.
	Duplicate Outcome = "DUPLICATE"
)

// Outcomes lists every outcome, in the order summaries print them.
var Outcomes = []Outcome{Success, Failed, Refused, Duplicate}

// DimensionSets are the aggregations CloudWatch keeps of the per-request metrics.
var DimensionSets = [][]string{
	{DimFunction, DimResourceType, DimRequestType, DimOutcome},
	{DimFunction, DimOutcome},
	{DimFunction},
}

// Recorder gathers one request's figures. The Sysdig client adds its calls to the
// recorder of the request's context (FromContext); all methods are safe for concurrent
// use and do nothing on a nil Recorder.
type Recorder struct {
	start      time.Time
	calls      atomic.Int64
	throttled  atomic.Int64
	sysdigTime atomic.Int64 // nanoseconds
	emitted    atomic.Bool
}

// NewRecorder starts the figures of a request that arrived at start.
func NewRecorder(start time.Time) *Recorder { return &Recorder{start: start} }

type recorderKey struct{}

// NewContext returns ctx carrying r.
func NewContext(ctx context.Context, r *Recorder) context.Context {
	return context.WithValue(ctx, recorderKey{}, r)
}

// FromContext is the Recorder ctx carries, or nil.
func FromContext(ctx context.Context) *Recorder {
	r, _ := ctx.Value(recorderKey{}).(*Recorder)
	return r
}

// SysdigCall counts one HTTP call to Sysdig that took d and was answered with status
// (0 when no answer came); 429 counts as throttled.
func (r *Recorder) SysdigCall(d time.Duration, status int) {
	if r == nil {
		return
	}
	r.calls.Add(1)
	r.sysdigTime.Add(int64(d))
	if status == http.StatusTooManyRequests {
		r.throttled.Add(1)
	}
}

// Figures are a request's counts so far.
type Figures struct {
	SysdigCalls, ThrottledCalls int64
	SysdigTime                  time.Duration
}

// Figures returns the counts so far.
func (r *Recorder) Figures() Figures {
	if r == nil {
		return Figures{}
	}
	return Figures{SysdigCalls: r.calls.Load(), ThrottledCalls: r.throttled.Load(), SysdigTime: time.Duration(r.sysdigTime.Load())}
}

// Request says which request a record is about. Empty values become "unknown".
type Request struct {
	ResourceType, RequestType, Outcome string
	// Searchable fields, not dimensions (they would make one metric per request).
	RequestID, LogicalResourceID, StackID string
}

// Emitter writes the per-request records of one function, one line each, to its log.
type Emitter struct {
	mu       sync.Mutex
	w        io.Writer
	function string
	known    map[string]bool
	now      func() time.Time
}

// EmitterOption configures an Emitter.
type EmitterOption func(*Emitter)

// WithResourceTypes limits the ResourceType dimension to types: any other becomes
// "Other", so that forged requests cannot create metrics (each one is billed) at will.
func WithResourceTypes(types ...string) EmitterOption {
	return func(e *Emitter) {
		e.known = map[string]bool{}
		for _, t := range types {
			e.known[t] = true
		}
	}
}

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) EmitterOption { return func(e *Emitter) { e.now = now } }

// NewEmitter writes records for the function named function (AWS_LAMBDA_FUNCTION_NAME)
// to w, the function's log (stdout in Lambda).
func NewEmitter(w io.Writer, function string, opts ...EmitterOption) *Emitter {
	e := &Emitter{w: w, function: dimensionValue(function), now: time.Now}
	for _, o := range opts {
		o(e)
	}
	return e
}

// other is the value of a dimension a request cannot be trusted to name.
const other = "Other"

var plainName = regexp.MustCompile(`^[A-Za-z0-9:_.-]{1,128}$`)

// dimensionValue keeps a value a dimension accepts: empty is "unknown", anything but
// plain names "Other".
func dimensionValue(v string) string {
	switch {
	case v == "":
		return "unknown"
	case !plainName.MatchString(v):
		return other
	}
	return v
}

func (e *Emitter) resourceType(t string) string {
	if e.known != nil && t != "" && !e.known[t] {
		return other
	}
	return dimensionValue(t)
}

func requestType(t string) string {
	switch t {
	case "Create", "Update", "Delete", "":
		return dimensionValue(t)
	}
	return other
}

// Record builds the record of the request r recorded: one per request.
func (e *Emitter) Record(r *Recorder, req Request) Record {
	f := r.Figures()
	start := e.now()
	if r != nil && !r.start.IsZero() {
		start = r.start
	}
	outcome := dimensionValue(req.Outcome)
	return Record{
		Namespace:     Namespace,
		Time:          start,
		DimensionSets: DimensionSets,
		Dimensions: []Property{
			{DimFunction, e.function},
			{DimResourceType, e.resourceType(req.ResourceType)},
			{DimRequestType, requestType(req.RequestType)},
			{DimOutcome, outcome},
		},
		Metrics: []Metric{
			{MetricRequests, Count, 1},
			{MetricSysdigCalls, Count, float64(f.SysdigCalls)},
			{MetricThrottledCalls, Count, float64(f.ThrottledCalls)},
			{MetricSysdigTime, Milliseconds, float64(f.SysdigTime.Milliseconds())},
			{MetricTotalTime, Milliseconds, float64(e.now().Sub(start).Milliseconds())},
		},
		Fields: []Property{
			{"RequestId", clip(req.RequestID)},
			{"LogicalResourceId", clip(req.LogicalResourceID)},
			{"StackId", clip(req.StackID)},
		},
	}
}

// Emit writes the record of the request r recorded, once: a second call for the same
// Recorder writes nothing and returns false.
func (e *Emitter) Emit(r *Recorder, req Request) (bool, error) {
	if r != nil && !r.emitted.CompareAndSwap(false, true) {
		return false, nil
	}
	line, err := e.Record(r, req).Encode()
	if err != nil {
		return false, err
	}
	line = append(line, '\n')
	e.mu.Lock()
	defer e.mu.Unlock()
	// One Write per line: Lambda reads each line of the log as one event.
	_, err = e.w.Write(line)
	return err == nil, err
}

// clip bounds a searchable field: a request's values are its sender's choice.
func clip(s string) string {
	const maxField = 512
	if len(s) <= maxField {
		return s
	}
	return strings.ToValidUTF8(s[:maxField], "")
}
