package lambdarun

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// maxPoolSize bounds the emulator processes one Pool starts.
const maxPoolSize = 64

// Pool is n functions started from one Config: n execution environments, as with a
// reserved concurrency of n. Invoke hands each invocation to any free function and waits
// (bounded by ctx) while all are busy.
type Pool struct {
	fns  []*Function
	free chan *Function
}

// StartPool starts n functions concurrently. On failure it closes those that started.
// Each function gets AWS_LAMBDA_LOG_STREAM_NAME suffixed with its index unless cfg.Env
// sets it.
func StartPool(ctx context.Context, cfg Config, n int) (*Pool, error) {
	if n < 1 || n > maxPoolSize {
		return nil, fmt.Errorf("pool size %d: want 1..%d", n, maxPoolSize)
	}
	fns := make([]*Function, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c := cfg
			c.Env = make(map[string]string, len(cfg.Env)+1)
			for k, v := range cfg.Env {
				c.Env[k] = v
			}
			if _, ok := c.Env["AWS_LAMBDA_LOG_STREAM_NAME"]; !ok {
				c.Env["AWS_LAMBDA_LOG_STREAM_NAME"] = fmt.Sprintf("local/[$LATEST]env-%d", i)
			}
			fns[i], errs[i] = Start(ctx, c)
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		for _, f := range fns {
			if f != nil {
				err = errors.Join(err, f.Close())
			}
		}
		return nil, err
	}
	p := &Pool{fns: fns, free: make(chan *Function, n)}
	for _, f := range fns {
		p.free <- f
	}
	return p, nil
}

// Size is the number of functions.
func (p *Pool) Size() int { return len(p.fns) }

// Functions returns the pool's functions, e.g. to read their logs.
func (p *Pool) Functions() []*Function { return append([]*Function(nil), p.fns...) }

// Invoke runs payload on any free function, waiting for one while all are busy.
func (p *Pool) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	return p.InvokeWithID(ctx, "", payload)
}

// InvokeWithID is Invoke with the Lambda request id set.
func (p *Pool) InvokeWithID(ctx context.Context, requestID string, payload []byte) ([]byte, error) {
	var f *Function
	select {
	case f = <-p.free:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for a free function: %w", context.Cause(ctx))
	}
	defer func() { p.free <- f }()
	return f.InvokeWithID(ctx, requestID, payload)
}

// Logs returns the log lines of every function, function by function.
func (p *Pool) Logs() []string {
	var all []string
	for _, f := range p.fns {
		all = append(all, f.Logs()...)
	}
	return all
}

// Close closes every function.
func (p *Pool) Close() error {
	errs := make([]error, len(p.fns))
	var wg sync.WaitGroup
	for i, f := range p.fns {
		wg.Go(func() { errs[i] = f.Close() })
	}
	wg.Wait()
	return errors.Join(errs...)
}
