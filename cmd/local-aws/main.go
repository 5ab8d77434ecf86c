// Command local-aws serves the local stand-ins for AWS on 127.0.0.1: a Secrets Manager
// endpoint (AWS JSON 1.1, usable by the SDK and the awscli), STS GetCallerIdentity (the
// query protocol) and the CloudFormation response catcher (presigned-S3-like ResponseURLs). It prints their URLs as one JSON
// object on the first line of stdout, logs to stderr, and stops on SIGINT or SIGTERM.
//
//	local-aws -secret sysdig/api-token=abc123 -secretsmanager-port 4566
//
// Control API (JSON): on the Secrets Manager URL, GET /_local/requests and
// POST /_local/secrets {"name","value"}; on the responses URL,
// POST /_local/response-urls {"requestId","stackId","logicalResourceId"} and
// GET /_local/responses/<requestId>?wait=30s.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"sysdig-aws-connect/internal/localaws"
)

// secretFlags collects repeated -secret name=value flags.
type secretFlags []string

func (s *secretFlags) String() string { return strings.Join(*s, ",") }

func (s *secretFlags) Set(v string) error {
	name, _, ok := strings.Cut(v, "=")
	if !ok || name == "" {
		return errors.New("want name=value")
	}
	*s = append(*s, v)
	return nil
}

// Ready is the first stdout line.
type Ready struct {
	SecretsManagerURL string            `json:"secretsManagerUrl"`
	ResponsesURL      string            `json:"responsesUrl"`
	STSURL            string            `json:"stsUrl"`
	Region            string            `json:"region"`
	AccountID         string            `json:"accountId"`
	Secrets           map[string]string `json:"secrets"` // name -> ARN
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "local-aws:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("local-aws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	smPort := fs.Int("secretsmanager-port", 0, "127.0.0.1 port for Secrets Manager (0 picks a free one)")
	respPort := fs.Int("responses-port", 0, "127.0.0.1 port for the CloudFormation response catcher (0 picks a free one)")
	stsPort := fs.Int("sts-port", 0, "127.0.0.1 port for STS (0 picks a free one)")
	caller := fs.String("caller-arn", "", "the identity STS GetCallerIdentity answers (default: an assumed role in -account)")
	region := fs.String("region", "us-east-1", "region the Secrets Manager endpoint answers for")
	account := fs.String("account", "123456789012", "account id in secret ARNs")
	allowCT := fs.Bool("allow-content-type", false, "accept response PUTs that send a Content-Type")
	var secrets secretFlags
	fs.Var(&secrets, "secret", "name=value of a secret to create (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, p := range []int{*smPort, *respPort, *stsPort} {
		if p < 0 || p > 65535 {
			return fmt.Errorf("port %d out of range", p)
		}
	}
	logger := slog.New(slog.NewJSONHandler(stderr, nil))

	sm := localaws.NewSecretsManager(*region, *account)
	sm.SetLogger(logger.With("service", "secretsmanager"))
	ready := Ready{Region: *region, AccountID: *account, Secrets: map[string]string{}}
	for _, kv := range secrets {
		name, value, _ := strings.Cut(kv, "=")
		ready.Secrets[name] = sm.PutSecret(name, value)
	}
	catcher := localaws.NewResponseCatcher()
	catcher.SetLogger(logger.With("service", "cloudformation-responses"))
	catcher.AllowContentType(*allowCT)

	smURL, stopSM, err := localaws.Listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(*smPort)), sm)
	if err != nil {
		return err
	}
	defer func() { _ = stopSM() }()
	respURL, stopResp, err := localaws.Listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(*respPort)), catcher)
	if err != nil {
		return err
	}
	defer func() { _ = stopResp() }()
	catcher.SetBaseURL(respURL)
	if *caller == "" {
		*caller = "arn:aws:sts::" + *account + ":assumed-role/Admin/local"
	}
	stsURL, stopSTS, err := localaws.Listen(net.JoinHostPort("127.0.0.1", strconv.Itoa(*stsPort)), localaws.NewSTS(*account, *caller))
	if err != nil {
		return err
	}
	defer func() { _ = stopSTS() }()
	ready.SecretsManagerURL, ready.ResponsesURL, ready.STSURL = smURL, respURL, stsURL

	line, err := json.Marshal(ready)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(stdout, "%s\n", line); err != nil {
		return err
	}
	logger.Info("local-aws ready", "secretsManagerUrl", smURL, "responsesUrl", respURL, "stsUrl", stsURL, "secrets", len(secrets))
	<-ctx.Done()
	logger.Info("local-aws stopping")
	return errors.Join(stopSM(), stopResp(), stopSTS())
}
