// Command echofn is a tiny Lambda function used to test the runtime-emulator harness.
// It echoes the event back, prints one JSON log line per invocation and, on request,
// sleeps, fails, exits or reports its environment.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// Event is what the tests send. Unknown fields are echoed back too.
type Event struct {
	Echo    json.RawMessage `json:"echo,omitempty"`
	SleepMS int             `json:"sleepMs,omitempty"`
	Fail    string          `json:"fail,omitempty"`
	Env     []string        `json:"env,omitempty"`
	Exit    bool            `json:"exit,omitempty"`
}

// Reply is what the function answers.
type Reply struct {
	Echo       json.RawMessage   `json:"echo,omitempty"`
	RequestID  string            `json:"requestId"`
	DeadlineMS int64             `json:"deadlineMs"`
	Env        map[string]string `json:"env,omitempty"`
	PID        int               `json:"pid"`
}

func handle(ctx context.Context, ev Event) (Reply, error) {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, nil))
	var reqID string
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		reqID = lc.AwsRequestID
	}
	logger.Info("echofn invoked", "requestId", reqID, "sleepMs", ev.SleepMS)
	if ev.Exit {
		os.Exit(3)
	}
	if ev.SleepMS > 0 {
		// Deliberately ignores ctx: the emulator, not the function, must end the invocation.
		time.Sleep(time.Duration(ev.SleepMS) * time.Millisecond)
	}
	if ev.Fail != "" {
		return Reply{}, errors.New(ev.Fail)
	}
	r := Reply{Echo: ev.Echo, RequestID: reqID, PID: os.Getpid()}
	if d, ok := ctx.Deadline(); ok {
		r.DeadlineMS = d.UnixMilli()
	}
	if len(ev.Env) > 0 {
		r.Env = make(map[string]string, len(ev.Env))
		for _, k := range ev.Env {
			if v, ok := os.LookupEnv(k); ok {
				r.Env[k] = v
			}
		}
	}
	return r, nil
}

func main() {
	lambda.Start(handle)
}
