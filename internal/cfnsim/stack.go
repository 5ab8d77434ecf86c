package cfnsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"
)

// invokeFailureGrace is how long an answer may still arrive after the invocation failed.
const invokeFailureGrace = 5 * time.Second

// Invoker delivers a payload to the custom-resource function (as CloudFormation's
// asynchronous invocation, or SNS's delivery, would).
type Invoker interface {
	Invoke(ctx context.Context, payload []byte) error
}

// Answer is a custom resource's response as CloudFormation reads it.
type Answer struct {
	Status             string         `json:"Status"`
	Reason             string         `json:"Reason"`
	PhysicalResourceID string         `json:"PhysicalResourceId"`
	StackID            string         `json:"StackId"`
	RequestID          string         `json:"RequestId"`
	LogicalResourceID  string         `json:"LogicalResourceId"`
	NoEcho             bool           `json:"NoEcho"`
	Data               map[string]any `json:"Data"`
}

// Responder stands in for CloudFormation's presigned ResponseURLs.
type Responder interface {
	NewURL(requestID string) string
	Wait(ctx context.Context, requestID string) (Answer, error)
}

// Provisioner creates (or updates) a non-custom resource: it returns the physical id and
// the attributes Fn::GetAtt may read.
type Provisioner func(ctx context.Context, st *Stack, logicalID string, props map[string]any) (physicalID string, attrs map[string]any, err error)

// Event is one resource operation, for display and assertions.
type Event struct {
	Phase         string // create, update, rollback, cleanup, delete
	RequestType   string // Create, Update, Delete
	LogicalID     string
	ResourceType  string
	Custom        bool
	Properties    map[string]any // as sent (custom resources)
	OldProperties map[string]any
	PhysicalID    string // answered (or the one deleted)
	OldPhysicalID string
	Status        string // SUCCESS or FAILED
	Reason        string
	Data          map[string]any // custom: the answer's Data; others: their attributes
	Start         time.Time
	Duration      time.Duration
}

// StackError is a failed stack operation.
type StackError struct {
	Operation string // CREATE, UPDATE, DELETE
	LogicalID string
	Reason    string
}

func (e *StackError) Error() string {
	return fmt.Sprintf("%s_FAILED: %s: %s", e.Operation, e.LogicalID, e.Reason)
}

type resourceState struct {
	physical string
	attrs    map[string]any
	props    map[string]any
}

// Stack is one simulated stack.
type Stack struct {
	t            *Template
	pseudo       Pseudo
	invoker      Invoker
	responder    Responder
	provisioners map[string]Provisioner
	maxWait      time.Duration
	params       map[string]string // resolved values
	given        map[string]string // as given, before defaults and SSM look-ups
	resources    map[string]*resourceState
	events       []Event
	onEvent      func(Event)
	ssm          map[string]string
	launch       map[string]string // values a Launch Stack URL fills in
}

// Option configures a Stack.
type Option func(*Stack)

// WithProvisioner sets how resources of one type are provisioned.
func WithProvisioner(resourceType string, p Provisioner) Option {
	return func(s *Stack) { s.provisioners[resourceType] = p }
}

// WithSSMParameter stores a parameter store entry that SSM-typed template parameters
// may name (CDK's BootstrapVersion, for example).
func WithSSMParameter(name, value string) Option { return func(s *Stack) { s.ssm[name] = value } }

// WithLaunchParameters sets the values a Launch Stack (quick-create) URL fills in:
// Create uses them for the template's parameters it is not given.
func WithLaunchParameters(values map[string]string) Option {
	return func(s *Stack) { s.launch = maps.Clone(values) }
}

// WithEventHook is called after every resource operation.
func WithEventHook(f func(Event)) Option { return func(s *Stack) { s.onEvent = f } }

// WithMaxWait bounds the wait for one custom-resource answer (CloudFormation's is the
// resource's ServiceTimeout, which also applies when it is smaller).
func WithMaxWait(d time.Duration) Option { return func(s *Stack) { s.maxWait = d } }

// New prepares a stack for template t.
func New(t *Template, pseudo Pseudo, invoker Invoker, responder Responder, opts ...Option) *Stack {
	if pseudo.Partition == "" {
		pseudo.Partition = "aws"
	}
	if pseudo.StackID == "" {
		pseudo.StackID = fmt.Sprintf("arn:%s:cloudformation:%s:%s:stack/%s/%s", pseudo.Partition, pseudo.Region, pseudo.AccountID, pseudo.StackName, newID())
	}
	s := &Stack{t: t, pseudo: pseudo, invoker: invoker, responder: responder, provisioners: map[string]Provisioner{},
		maxWait: 10 * time.Minute, resources: map[string]*resourceState{}, ssm: map[string]string{}}
	for typ, p := range defaultProvisioners {
		s.provisioners[typ] = p
	}
	for _, o := range opts {
		o(s)
	}
	return s
}

// Pseudo returns the stack's pseudo parameters.
func (s *Stack) Pseudo() Pseudo { return s.pseudo }

// Events returns every operation so far.
func (s *Stack) Events() []Event { return slices.Clone(s.events) }

// Resource returns a resource's physical id and attributes.
func (s *Stack) Resource(logicalID string) (string, map[string]any, bool) {
	r, ok := s.resources[logicalID]
	if !ok {
		return "", nil, false
	}
	return r.physical, maps.Clone(r.attrs), true
}

func (s *Stack) scope(params map[string]string) *scope {
	sc := &scope{t: s.t, params: params, pseudo: s.pseudo, physical: map[string]string{}, attributes: map[string]map[string]any{}, conditions: map[string]bool{}}
	for name, r := range s.resources {
		sc.physical[name] = r.physical
		sc.attributes[name] = r.attrs
	}
	return sc
}

func (s *Stack) emit(e Event) {
	s.events = append(s.events, e)
	if s.onEvent != nil {
		s.onEvent(e)
	}
}

// Create creates the stack; on failure it rolls back, as CloudFormation does, and
// returns a *StackError.
func (s *Stack) Create(ctx context.Context, params map[string]string) error {
	if len(s.resources) > 0 {
		return errors.New("stack already exists")
	}
	params = maps.Clone(params)
	for k, v := range s.launch {
		if _, declared := s.t.Parameters[k]; declared {
			if _, given := params[k]; !given {
				if params == nil {
					params = map[string]string{}
				}
				params[k] = v
			}
		}
	}
	resolved, err := resolveParameters(s.t, params, s.ssm)
	if err == nil {
		err = checkRules(s.t, resolved, s.pseudo)
	}
	if err != nil {
		return &StackError{Operation: "CREATE", LogicalID: "Parameters", Reason: err.Error()}
	}
	names, err := order(s.t)
	if err != nil {
		return err
	}
	s.params, s.given = resolved, maps.Clone(params)
	var created []string
	for _, name := range names {
		sc := s.scope(resolved)
		active, props, err := s.evaluate(sc, name)
		if err != nil {
			return s.rollbackCreate(ctx, created, name, err.Error())
		}
		if !active {
			continue
		}
		st, err := s.apply(ctx, "create", "Create", name, props, nil)
		if st != nil {
			s.resources[name] = st
			created = append(created, name)
		}
		if err != nil {
			return s.rollbackCreate(ctx, created, name, err.Error())
		}
	}
	return nil
}

func (s *Stack) rollbackCreate(ctx context.Context, created []string, failed, reason string) error {
	for i := len(created) - 1; i >= 0; i-- {
		s.remove(ctx, "rollback", created[i])
	}
	return &StackError{Operation: "CREATE", LogicalID: failed, Reason: reason}
}

// evaluate resolves a resource's condition and properties.
func (s *Stack) evaluate(sc *scope, name string) (bool, map[string]any, error) {
	r := s.t.Resources[name]
	if r.Condition != "" {
		ok, err := sc.condition(r.Condition)
		if err != nil || !ok {
			return false, nil, err
		}
	}
	v, err := sc.resolve(r.Properties)
	if err != nil {
		return false, nil, fmt.Errorf("%s: %w", name, err)
	}
	props, _ := v.(map[string]any)
	if props == nil {
		props = map[string]any{}
	}
	return true, props, nil
}

func isCustom(typ string) bool {
	return strings.HasPrefix(typ, "Custom::") || typ == "AWS::CloudFormation::CustomResource"
}

// apply creates or updates one resource. For a custom resource that answered, the
// returned state is non-nil even on failure (a failed Create still names what it made).
func (s *Stack) apply(ctx context.Context, phase, requestType, name string, props map[string]any, prev *resourceState) (*resourceState, error) {
	r := s.t.Resources[name]
	start := time.Now()
	ev := Event{Phase: phase, RequestType: requestType, LogicalID: name, ResourceType: r.Type, Custom: isCustom(r.Type), Start: start}
	if prev != nil {
		ev.OldPhysicalID, ev.OldProperties = prev.physical, prev.props
	}
	if !ev.Custom {
		p := s.provisioners[r.Type]
		if p == nil {
			p = genericProvisioner
		}
		physical, attrs, err := p(ctx, s, name, props)
		ev.Duration, ev.PhysicalID, ev.Status, ev.Data = time.Since(start), physical, "SUCCESS", attrs
		if err != nil {
			ev.Status, ev.Reason = "FAILED", err.Error()
			s.emit(ev)
			return nil, err
		}
		s.emit(ev)
		return &resourceState{physical: physical, attrs: attrs, props: props}, nil
	}
	sent := stringify(props).(map[string]any)
	ev.Properties = sent
	physical := ""
	var old map[string]any
	if prev != nil {
		physical, old = prev.physical, stringify(prev.props).(map[string]any)
	}
	ans, err := s.send(ctx, requestType, name, r.Type, physical, sent, old)
	ev.Duration = time.Since(start)
	if err != nil {
		ev.Status, ev.Reason = "FAILED", err.Error()
		s.emit(ev)
		return nil, err
	}
	ev.Status, ev.Reason, ev.PhysicalID, ev.Data = ans.Status, ans.Reason, ans.PhysicalResourceID, ans.Data
	s.emit(ev)
	st := &resourceState{physical: ans.PhysicalResourceID, attrs: ans.Data, props: props}
	if st.attrs == nil {
		st.attrs = map[string]any{}
	}
	if ans.Status != "SUCCESS" {
		if requestType == "Create" && ans.PhysicalResourceID != "" {
			return st, errors.New(ans.Reason)
		}
		return nil, errors.New(ans.Reason)
	}
	return st, nil
}

// send delivers one custom-resource request and waits for its answer.
func (s *Stack) send(ctx context.Context, requestType, logicalID, resourceType, physicalID string, props, old map[string]any) (Answer, error) {
	requestID := newID()
	req := map[string]any{
		"RequestType":        requestType,
		"RequestId":          requestID,
		"ResponseURL":        s.responder.NewURL(requestID),
		"ResourceType":       resourceType,
		"LogicalResourceId":  logicalID,
		"StackId":            s.pseudo.StackID,
		"ResourceProperties": props,
	}
	if physicalID != "" {
		req["PhysicalResourceId"] = physicalID
	}
	if old != nil {
		req["OldResourceProperties"] = old
	}
	payload, err := json.Marshal(req)
	if err != nil {
		return Answer{}, err
	}
	token, _ := props["ServiceToken"].(string)
	if token == "" {
		return Answer{}, fmt.Errorf("%s has no ServiceToken", logicalID)
	}
	if strings.Contains(token, ":sns:") {
		payload = snsEnvelope(token, payload)
	}
	wait := s.maxWait
	if secs, err := strconv.Atoi(fmt.Sprint(props["ServiceTimeout"])); err == nil && secs > 0 && time.Duration(secs)*time.Second < wait {
		wait = time.Duration(secs) * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	invokeErr := make(chan error, 1)
	go func() { invokeErr <- s.invoker.Invoke(ctx, payload) }()
	// CloudFormation would wait the whole ServiceTimeout (while Lambda retried a crashed
	// invocation); locally a failed invocation gets a short grace for a late answer instead.
	waitCtx, cancelWait := context.WithCancelCause(ctx)
	defer cancelWait(nil)
	go func() {
		select {
		case ierr := <-invokeErr:
			if ierr != nil {
				select {
				case <-time.After(invokeFailureGrace):
					cancelWait(fmt.Errorf("the invocation failed: %w", ierr))
				case <-waitCtx.Done():
				}
			}
		case <-waitCtx.Done():
		}
	}()
	ans, err := s.responder.Wait(waitCtx, requestID)
	if err != nil {
		if cause := context.Cause(waitCtx); cause != nil && !errors.Is(cause, context.Canceled) && !errors.Is(cause, context.DeadlineExceeded) {
			return Answer{}, fmt.Errorf("no answer from the custom resource: %w", cause)
		}
		return Answer{}, fmt.Errorf("no answer from the custom resource within its ServiceTimeout: %w", err)
	}
	if ans.PhysicalResourceID == "" {
		return ans, errors.New("the answer has no PhysicalResourceId")
	}
	return ans, nil
}

func snsEnvelope(topicARN string, message []byte) []byte {
	b, _ := json.Marshal(map[string]any{"Records": []any{map[string]any{
		"EventSource":          "aws:sns",
		"EventVersion":         "1.0",
		"EventSubscriptionArn": topicARN + ":" + newID(),
		"Sns": map[string]any{
			"Type": "Notification", "MessageId": newID(), "TopicArn": topicARN,
			"Subject": "AWS CloudFormation custom resource request", "Message": string(message),
			"Timestamp": time.Now().UTC().Format(time.RFC3339Nano),
		},
	}}})
	return b
}

// remove deletes one resource (custom: a Delete request) and forgets it.
func (s *Stack) remove(ctx context.Context, phase, name string) error {
	st, ok := s.resources[name]
	if !ok {
		return nil
	}
	err := s.removeState(ctx, phase, name, st)
	if err == nil {
		delete(s.resources, name)
	}
	return err
}

func (s *Stack) removeState(ctx context.Context, phase, name string, st *resourceState) error {
	r := s.t.Resources[name]
	ev := Event{Phase: phase, RequestType: "Delete", LogicalID: name, ResourceType: r.Type, Custom: isCustom(r.Type), PhysicalID: st.physical, Start: time.Now(), Status: "SUCCESS"}
	if r.DeletionPolicy == "Retain" {
		ev.Reason = "retained (DeletionPolicy Retain)"
		s.emit(ev)
		return nil
	}
	if ev.Custom {
		sent := stringify(st.props).(map[string]any)
		ev.Properties = sent
		ans, err := s.send(ctx, "Delete", name, r.Type, st.physical, sent, nil)
		ev.Duration = time.Since(ev.Start)
		if err != nil {
			ev.Status, ev.Reason = "FAILED", err.Error()
			s.emit(ev)
			return err
		}
		ev.Status, ev.Reason = ans.Status, ans.Reason
		if ans.Status != "SUCCESS" {
			s.emit(ev)
			return errors.New(ans.Reason)
		}
	}
	s.emit(ev)
	return nil
}

// Update changes parameters: resources whose properties changed get an Update (custom
// resources) and a new PhysicalResourceId means replacement, whose old resource is deleted
// in the cleanup phase. On failure, updated resources are rolled back (Update with old and
// new swapped), new ones deleted, and a *StackError returned.
func (s *Stack) Update(ctx context.Context, params map[string]string) error {
	merged := maps.Clone(s.given)
	if merged == nil {
		merged = map[string]string{}
	}
	maps.Copy(merged, params)
	resolved, err := resolveParameters(s.t, merged, s.ssm)
	if err == nil {
		err = checkRules(s.t, resolved, s.pseudo)
	}
	if err != nil {
		return &StackError{Operation: "UPDATE", LogicalID: "Parameters", Reason: err.Error()}
	}
	names, err := order(s.t)
	if err != nil {
		return err
	}
	type change struct {
		name     string
		prev     *resourceState
		replaced bool
		created  bool
	}
	var done []change
	var cleanup []change
	rollback := func(failed string, failedPrev *resourceState, failedProps map[string]any, reason string) error {
		if failedPrev != nil && isCustom(s.t.Resources[failed].Type) {
			// The failed resource itself is sent its old properties again, old and new swapped.
			_, _ = s.apply(ctx, "rollback", "Update", failed, failedPrev.props, &resourceState{physical: failedPrev.physical, props: failedProps})
		}
		for i := len(done) - 1; i >= 0; i-- {
			c := done[i]
			cur := s.resources[c.name]
			switch {
			case c.created:
				s.remove(ctx, "rollback", c.name)
			case c.replaced:
				_ = s.removeState(ctx, "rollback", c.name, cur)
				s.resources[c.name] = c.prev
			default:
				if isCustom(s.t.Resources[c.name].Type) {
					_, _ = s.apply(ctx, "rollback", "Update", c.name, c.prev.props, cur)
				}
				s.resources[c.name] = c.prev
			}
		}
		return &StackError{Operation: "UPDATE", LogicalID: failed, Reason: reason}
	}
	for _, name := range names {
		sc := s.scope(resolved)
		active, props, err := s.evaluate(sc, name)
		if err != nil {
			return rollback(name, nil, nil, err.Error())
		}
		prev := s.resources[name]
		switch {
		case !active && prev != nil:
			cleanup = append(cleanup, change{name: name, prev: prev})
		case !active:
		case prev == nil:
			st, err := s.apply(ctx, "update", "Create", name, props, nil)
			if st != nil {
				s.resources[name] = st
				done = append(done, change{name: name, created: true})
			}
			if err != nil {
				return rollback(name, nil, nil, err.Error())
			}
		case reflect.DeepEqual(stringify(props), stringify(prev.props)):
		default:
			requestType := "Update"
			st, err := s.apply(ctx, "update", requestType, name, props, prev)
			if err != nil {
				return rollback(name, prev, props, err.Error())
			}
			s.resources[name] = st
			c := change{name: name, prev: prev, replaced: st.physical != prev.physical}
			done = append(done, c)
			if c.replaced {
				cleanup = append(cleanup, c)
			}
		}
	}
	s.params, s.given = resolved, merged
	var firstErr error
	for i := len(cleanup) - 1; i >= 0; i-- {
		c := cleanup[i]
		if err := s.removeState(ctx, "cleanup", c.name, c.prev); err != nil && firstErr == nil {
			firstErr = err // CloudFormation reports it but the update stands
		}
		if s.resources[c.name] == c.prev {
			delete(s.resources, c.name)
		}
	}
	return firstErr
}

// Delete deletes every resource in reverse dependency order; it stops at the first
// failure (DELETE_FAILED).
func (s *Stack) Delete(ctx context.Context) error {
	names, err := order(s.t)
	if err != nil {
		return err
	}
	for i := len(names) - 1; i >= 0; i-- {
		if err := s.remove(ctx, "delete", names[i]); err != nil {
			return &StackError{Operation: "DELETE", LogicalID: names[i], Reason: err.Error()}
		}
	}
	return nil
}

// Outputs evaluates the template's outputs.
func (s *Stack) Outputs() (map[string]string, error) {
	sc := s.scope(s.params)
	out := map[string]string{}
	for name, o := range s.t.Outputs {
		if o.Condition != "" {
			ok, err := sc.condition(o.Condition)
			if err != nil {
				return nil, err
			}
			if !ok {
				continue
			}
		}
		v, err := sc.resolve(o.Value)
		if err != nil {
			return nil, fmt.Errorf("output %s: %w", name, err)
		}
		out[name] = scalarString(v)
	}
	return out, nil
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	h := hex.EncodeToString(b)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
