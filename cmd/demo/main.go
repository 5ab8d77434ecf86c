// Command demo plays a stack's whole life locally (make demo), or with -onprem the on-prem
// set-up (make demo-onprem): see internal/demo.
package main

import (
	"cmp"
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
	org := flag.Bool("org", false, "play an organization's status and reconcile (make demo-org): writes out/org-status.json")
	onprem := flag.Bool("onprem", false, "play the on-prem set-up (OnPremCredentials=CreateUser, check, rotate-key, the Kubernetes manifest)")
	template := flag.String("template", "", "the template (default: cdk.out/SysdigAwsConnect.template.json; with -onprem templates/sysdig-aws-connect.json)")
	stack := flag.String("stack-name", "", "the stack's name (default: SysdigAwsConnect; with -onprem SysdigAwsConnectOnPrem)")
	bootstrap := flag.String("bootstrap", "", "the function binary (default: build ./lambda)")
	timeout := flag.Duration("timeout", 10*time.Minute, "bound for the whole demo")
	flag.Parse()
	if *org {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		ctx, cancel := context.WithTimeout(ctx, *timeout)
		defer cancel()
		if err := demo.RunOrg(ctx, demo.OrgConfig{Out: os.Stdout, OutDir: "out"}); err != nil {
			fmt.Fprintln(os.Stderr, "demo-org:", err)
			os.Exit(1)
		}
		return
	}
	run, name, defTemplate, defStack := demo.Run, "demo", "cdk.out/SysdigAwsConnect.template.json", "SysdigAwsConnect"
	if *onprem {
		run, name, defTemplate, defStack = demo.RunOnPrem, "demo-onprem", "templates/sysdig-aws-connect.json", "SysdigAwsConnectOnPrem"
	}
	cfg := demo.Config{TemplatePath: cmp.Or(*template, defTemplate), StackName: cmp.Or(*stack, defStack), Out: os.Stdout, Bootstrap: *bootstrap}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, name+":", err)
		os.Exit(1)
	}
}
