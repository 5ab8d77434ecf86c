// Command playground is `make playground`: the Sysdig API emulator, Secrets Manager and
// STS stand-ins on 127.0.0.1 until Ctrl-C, with export lines for sysdig-connect. See
// internal/playground.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"sysdig-aws-connect/internal/playground"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "playground:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("playground", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg playground.Config
	fs.IntVar(&cfg.SysdigPort, "sysdig-port", 0, "127.0.0.1 port of the Sysdig API emulator (0 picks a free one)")
	fs.IntVar(&cfg.SecretsManagerPort, "secretsmanager-port", 0, "127.0.0.1 port of Secrets Manager (0 picks a free one)")
	fs.IntVar(&cfg.STSPort, "sts-port", 0, "127.0.0.1 port of STS (0 picks a free one)")
	fs.IntVar(&cfg.IAMPort, "iam-port", 0, "127.0.0.1 port of IAM (0 picks a free one)")
	verbose := fs.Bool("v", false, "log every request the services answer (JSON, on stderr)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, p := range []int{cfg.SysdigPort, cfg.SecretsManagerPort, cfg.STSPort, cfg.IAMPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("port %d out of range", p)
		}
	}
	if *verbose {
		cfg.Log = stderr
	}
	if err := playground.Run(ctx, cfg, stdout); err != nil {
		return err
	}
	fmt.Fprintln(stderr, "playground: stopped")
	return nil
}
