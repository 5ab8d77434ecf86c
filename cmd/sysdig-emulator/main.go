// Command sysdig-emulator serves the in-memory Sysdig API emulator
// (internal/sysdigemu) on a loopback port for local runs and end-to-end tests.
//
// It prints "listening on http://127.0.0.1:PORT" as its first line on stdout,
// logs JSON to stderr and stops cleanly on SIGINT or SIGTERM. The admin API
// under /_emulator/ is described in the sysdigemu package documentation.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"sysdig-aws-connect/internal/sysdigemu"
)

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	cancel()
	os.Exit(code)
}

// run serves until ctx is done and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sysdig-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "127.0.0.1:0", "loopback address to listen on (127.0.0.1:PORT; port 0 picks a free one)")
	token := fs.String("token", sysdigemu.DefaultToken, "bearer token the emulator accepts")
	readOnly := fs.String("read-only-token", "", "an extra token that may read but gets 403 on writes")
	externalID := fs.String("external-id", sysdigemu.DefaultExternalID, "the tenant's external id")
	account := fs.String("aws-account-id", sysdigemu.DefaultSysdigAWSAccountID, "Sysdig's AWS account id reported by awsCloudInformation")
	noCloudInfo := fs.Bool("no-cloud-information", false, "answer 404 on /api/v2/providers/info/awsCloudInformation (an older tenant)")
	rate := fs.Float64("rate-limit", 0, "API calls per second before answering 429 (0 = unlimited); answers state it per minute in X-RateLimit-Limit")
	perMinute := fs.Int("rate-limit-per-minute", 0, "API calls per minute before answering 429, as Sysdig states it in X-RateLimit-Limit (0 = unlimited; overrides -rate-limit)")
	noV2List := fs.Bool("no-v2-list", false, "answer 404 on GET /api/v2/providers (a tenant that offers no provider list there)")
	burst := fs.Int("burst", 10, "rate-limit burst")
	shape := fs.String("error-shape", "errors", "error body shape: errors, message, error or type")
	debug := fs.Bool("debug", false, "log every request")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sysdig-emulator: unexpected arguments %q; see -h\n", fs.Args())
		return 2
	}
	level := slog.LevelInfo
	if *debug {
		level = slog.LevelDebug
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	es, err := sysdigemu.ParseErrorShape(*shape)
	if err != nil {
		logger.Error("bad -error-shape", "error", err)
		return 2
	}
	if *rate < 0 || *perMinute < 0 || *burst < 1 {
		logger.Error("-rate-limit and -rate-limit-per-minute must be >= 0 and -burst >= 1")
		return 2
	}
	if *token == "" {
		logger.Error("-token must not be empty")
		return 2
	}
	opts := []sysdigemu.Option{
		sysdigemu.WithToken(*token),
		sysdigemu.WithExternalID(*externalID),
		sysdigemu.WithSysdigAWSAccountID(*account),
		sysdigemu.WithErrorShape(es),
		sysdigemu.WithLogger(logger),
	}
	if *readOnly != "" {
		opts = append(opts, sysdigemu.WithReadOnlyToken(*readOnly))
	}
	if *noCloudInfo {
		opts = append(opts, sysdigemu.WithoutCloudInformation())
	}
	switch {
	case *perMinute > 0:
		opts = append(opts, sysdigemu.WithRateLimitPerMinute(*perMinute, *burst))
	case *rate > 0:
		opts = append(opts, sysdigemu.WithRateLimit(*rate, *burst))
	}
	if *noV2List {
		opts = append(opts, sysdigemu.WithoutV2ProviderList())
	}
	srv := sysdigemu.New(opts...)

	baseURL, stop, err := srv.StartOn(*listen)
	if err != nil {
		logger.Error("cannot start", "error", err)
		return 1
	}
	fmt.Fprintf(stdout, "listening on %s\n", baseURL)
	if f, ok := stdout.(*os.File); ok {
		_ = f.Sync()
	}
	logger.Info("sysdig emulator started", "url", baseURL, "cloud_information", !*noCloudInfo, "rate_limit", *rate)
	<-ctx.Done()
	logger.Info("stopping")
	stop()
	logger.Info("stopped")
	return 0
}
