// Command demo-onprem plays the on-prem set-up locally (make demo-onprem): see
// internal/demo.RunOnPrem.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"sysdig-aws-connect/internal/demo"
)

func main() {
	template := flag.String("template", "templates/sysdig-aws-connect.json", "the single-account template")
	stack := flag.String("stack-name", "SysdigAwsConnectOnPrem", "the stack's name")
	bootstrap := flag.String("bootstrap", "", "the function binary (default: build ./lambda)")
	timeout := flag.Duration("timeout", 10*time.Minute, "bound for the whole demo")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := demo.RunOnPrem(ctx, demo.Config{TemplatePath: *template, StackName: *stack, Out: os.Stdout, Bootstrap: *bootstrap}); err != nil {
		fmt.Fprintln(os.Stderr, "demo-onprem:", err)
		os.Exit(1)
	}
}
