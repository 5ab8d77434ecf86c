// Command demo plays a stack's whole life locally (make demo): see internal/demo.
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
	template := flag.String("template", "cdk.out/SysdigAwsConnect.template.json", "the synthesized template")
	stack := flag.String("stack-name", "SysdigAwsConnect", "the stack's name")
	bootstrap := flag.String("bootstrap", "", "the function binary (default: build ./lambda)")
	timeout := flag.Duration("timeout", 10*time.Minute, "bound for the whole demo")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := demo.Run(ctx, demo.Config{TemplatePath: *template, StackName: *stack, Out: os.Stdout, Bootstrap: *bootstrap}); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}
