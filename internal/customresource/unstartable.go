package customresource

import (
	"context"
	"fmt"
)

// Unstartable is the handler of a function that could not start (a configuration it
// cannot honour): it answers every request FAILED with why, rather than leave the
// process to exit, when Lambda would fail the invocation, nothing would answer, and
// CloudFormation would wait an hour for the resource.
func Unstartable(cause error) Handler {
	return HandlerFunc(func(context.Context, Request) (Result, error) {
		return Result{}, fmt.Errorf("the function cannot start, so nothing was done: %w", cause)
	})
}
