// Package stackauth decides whether a custom-resource request the Organizations registrar
// received comes from a stack it serves. Anyone in the organization may publish to the
// registrar's topic and the message says nothing trustworthy about its sender, so the
// registrar asks CloudFormation, in its own account: is the stack the request names the
// StackSet's stack instance for that account and region, and is a StackSet operation
// running there right now? Only then is the request acted on. The deployer stack's own
// resources invoke the function directly and are recognised by the deployer's stack id.
package stackauth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cfntypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"
	"github.com/cenkalti/backoff/v5"
)

// API is the CloudFormation call the check makes.
type API interface {
	DescribeStackInstance(ctx context.Context, in *cloudformation.DescribeStackInstanceInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStackInstanceOutput, error)
}

// Request is what the check reads of a custom-resource request.
type Request struct {
	StackID string
	// ViaTopic is true when SNS delivered the request; false when CloudFormation invoked
	// the function directly, which only principals of the function's own account can do.
	ViaTopic bool
}

// Checker authenticates requests against one StackSet.
type Checker struct {
	api             API
	stackSet        string
	callAs          cfntypes.CallAs
	deployerStackID string
	tries           uint
	initial         time.Duration
	maxWait         time.Duration
}

// Option configures a Checker.
type Option func(*Checker)

// WithCallAs says how the registrar's account administers the StackSet: "SELF" (the
// management account, the default) or "DELEGATED_ADMIN".
func WithCallAs(callAs string) Option {
	return func(c *Checker) { c.callAs = cfntypes.CallAs(strings.TrimSpace(callAs)) }
}

// WithDeployerStackID is the stack that deployed the registrar: its own custom resources
// invoke the function directly, and no request naming it may come through the topic.
func WithDeployerStackID(id string) Option {
	return func(c *Checker) { c.deployerStackID = strings.TrimSpace(id) }
}

// WithRetry bounds how often, and how patiently, a stack instance that does not match yet
// is asked for again (CloudFormation's StackSet records are eventually consistent: a
// member's request can arrive before its instance shows the new stack or operation).
func WithRetry(tries uint, initial, maxWait time.Duration) Option {
	return func(c *Checker) { c.tries, c.initial, c.maxWait = max(tries, 1), initial, maxWait }
}

// New returns a Checker for the StackSet stackSetName.
func New(api API, stackSetName string, opts ...Option) (*Checker, error) {
	c := &Checker{api: api, stackSet: strings.TrimSpace(stackSetName), callAs: cfntypes.CallAsSelf,
		tries: 4, initial: time.Second, maxWait: 4 * time.Second}
	for _, o := range opts {
		o(c)
	}
	if c.stackSet == "" {
		//msg:internal main builds the checker only with a name
		return nil, errors.New("stackauth: no StackSet name")
	}
	if c.callAs == "" {
		c.callAs = cfntypes.CallAsSelf
	}
	if c.callAs != cfntypes.CallAsSelf && c.callAs != cfntypes.CallAsDelegatedAdmin {
		return nil, fmt.Errorf("stackauth: CallAs %q is not SELF or DELEGATED_ADMIN", c.callAs)
	}
	if c.deployerStackID != "" {
		if _, err := ParseStackID(c.deployerStackID); err != nil {
			return nil, fmt.Errorf("stackauth: deployer stack id: %w", err)
		}
	}
	return c, nil
}

// StackSetName is the StackSet the checker asks about.
func (c *Checker) StackSetName() string { return c.stackSet }

// RefusedError is a request the registrar must not act on. Account is the account the
// request claims to come from (empty when its StackId is not a stack ARN).
type RefusedError struct {
	Account string
	Region  string
	StackID string
	Reason  string
}

func (e *RefusedError) Error() string { return "refused: " + e.Reason }

// Refusal marks the error as a refusal (customresource.Refusal).
func (e *RefusedError) Refusal() bool { return true }

// Stack is a parsed CloudFormation stack ARN.
type Stack struct {
	Partition, Region, Account, Name string
}

// ParseStackID reads a stack ARN: arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/ID.
func ParseStackID(id string) (Stack, error) {
	a, err := arn.Parse(id)
	if err != nil {
		return Stack{}, fmt.Errorf("StackId %q is not an ARN", id)
	}
	parts := strings.Split(a.Resource, "/")
	if a.Service != "cloudformation" || len(parts) != 3 || parts[0] != "stack" || parts[1] == "" || parts[2] == "" ||
		!isAccountID(a.AccountID) || a.Region == "" {
		return Stack{}, fmt.Errorf("StackId %q is not a CloudFormation stack ARN", id)
	}
	return Stack{Partition: a.Partition, Region: a.Region, Account: a.AccountID, Name: parts[1]}, nil
}

func isAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Check returns nil when the registrar may act on req, else a *RefusedError saying why.
// A request through the topic costs one DescribeStackInstance call, more while the
// instance does not match yet (at most the retry's tries, all within ctx).
func (c *Checker) Check(ctx context.Context, req Request) error {
	stack, err := ParseStackID(req.StackID)
	if err != nil {
		return &RefusedError{StackID: req.StackID, Reason: err.Error()}
	}
	refuse := func(reason string) error {
		return &RefusedError{Account: stack.Account, Region: stack.Region, StackID: req.StackID, Reason: reason}
	}
	if !req.ViaTopic {
		// Only this account's principals can invoke the function directly, and the only
		// stack that does is the deployer.
		if c.deployerStackID == "" || req.StackID == c.deployerStackID {
			return nil
		}
		return refuse(fmt.Sprintf("stack %s invoked the registrar directly; only its deployer stack does, members go through the registrar topic", req.StackID))
	}
	if c.deployerStackID != "" && req.StackID == c.deployerStackID {
		return refuse("a request naming the deployer stack came through the registrar topic; the deployer invokes the registrar directly")
	}

	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = c.initial, c.maxWait
	// The latest refusal CloudFormation's answers gave: when the time runs out, between
	// tries or during a call, it says what was found.
	var refused *RefusedError
	_, err = backoff.Retry(ctx, func() (struct{}, error) {
		err := c.checkOnce(ctx, stack, req.StackID)
		errors.As(err, &refused)
		return struct{}{}, err
	}, backoff.WithBackOff(b), backoff.WithMaxTries(c.tries), backoff.WithMaxElapsedTime(0))
	if err == nil {
		return nil
	}
	if refused != nil {
		return refused
	}
	// The error code only: AWS's message may name the management account.
	why := "the call failed"
	if api := smithy.APIError(nil); errors.As(err, &api) {
		why = api.ErrorCode()
	} else if errors.Is(err, context.DeadlineExceeded) {
		why = "no answer before the deadline"
	}
	return refuse(fmt.Sprintf("StackSet %s could not confirm stack %s in time (%s): retry the StackSet operation for the account", c.stackSet, req.StackID, why))
}

// checkOnce asks once; a mismatch that may be CloudFormation catching up, and a call that
// failed for a passing reason, are retried; a missing StackSet or a call refused is not.
func (c *Checker) checkOnce(ctx context.Context, stack Stack, stackID string) error {
	refuse := func(reason string) error {
		return &RefusedError{Account: stack.Account, Region: stack.Region, StackID: stackID, Reason: reason}
	}
	out, err := c.api.DescribeStackInstance(ctx, &cloudformation.DescribeStackInstanceInput{
		StackSetName:         aws.String(c.stackSet),
		StackInstanceAccount: aws.String(stack.Account),
		StackInstanceRegion:  aws.String(stack.Region),
		CallAs:               c.callAs,
	})
	var noInstance *cfntypes.StackInstanceNotFoundException
	var noStackSet *cfntypes.StackSetNotFoundException
	switch {
	case errors.As(err, &noInstance):
		return refuse(fmt.Sprintf("account %s has no stack instance of StackSet %s in %s", stack.Account, c.stackSet, stack.Region))
	case errors.As(err, &noStackSet):
		return backoff.Permanent(refuse(fmt.Sprintf("StackSet %s not found with CallAs %s: check the registrar's STACKSET_NAME and STACKSET_CALL_AS", c.stackSet, c.callAs)))
	case err != nil:
		var api smithy.APIError
		if ctx.Err() == nil && errors.As(err, &api) && api.ErrorFault() == smithy.FaultClient && !retryableCode[api.ErrorCode()] {
			// Refused for good (AccessDenied, ValidationError "not a delegated
			// administrator"): the code only, since the message names the management
			// account and the registrar's role, and the Reason may reach a member.
			return backoff.Permanent(refuse(fmt.Sprintf("cannot ask CloudFormation about StackSet %s (%s): the registrar's role needs cloudformation:DescribeStackInstance on it, "+
				"and organizations:ListDelegatedAdministrators with CallAs DELEGATED_ADMIN", c.stackSet, api.ErrorCode())))
		}
		// Throttling, a server error or the network, after the SDK's own attempts: asked
		// again while the check has time.
		return err
	case out.StackInstance == nil:
		return refuse(fmt.Sprintf("CloudFormation returned no stack instance of StackSet %s for account %s", c.stackSet, stack.Account))
	}
	in := out.StackInstance
	// The Reason may reach whoever sent the request (through a ResponseURL of their own
	// stack): it never names the instance's real stack id.
	if aws.ToString(in.StackId) != stackID {
		return refuse(fmt.Sprintf("stack %s is not account %s's stack instance of StackSet %s in %s", stackID, stack.Account, c.stackSet, stack.Region))
	}
	var status cfntypes.StackInstanceDetailedStatus
	if in.StackInstanceStatus != nil {
		status = in.StackInstanceStatus.DetailedStatus
	}
	if status != cfntypes.StackInstanceDetailedStatusPending && status != cfntypes.StackInstanceDetailedStatusRunning {
		return refuse(fmt.Sprintf("no StackSet operation is running on account %s's stack instance of %s (status %s): create, update and delete member stacks through the StackSet", stack.Account, c.stackSet, orNone(string(status))))
	}
	return nil
}

// retryableCode are client-fault codes that mean "later", not "no".
var retryableCode = map[string]bool{"Throttling": true, "ThrottlingException": true, "RequestLimitExceeded": true, "TooManyRequestsException": true}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
