// Command sysdig-connect is the operator CLI of sysdig-aws-connect: it inspects,
// verifies and fixes by hand the registration of an AWS account's IAM role with
// Sysdig Monitor. The logic is in internal/operator; this file only wires it to
// the process. See docs/cli.md.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"sysdig-aws-connect/internal/operator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := operator.Run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Getenv, operator.DefaultDeps())
	stop()
	os.Exit(code)
}
