// Command bootstrap is the custom-resource function (runtime provided.al2023): it serves
// Custom::SysdigExternalId and Custom::SysdigProvider for CloudFormation, directly or through
// an SNS topic. This file only wires the packages together.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"sysdig-aws-connect/internal/customresource"
	"sysdig-aws-connect/internal/dedupe"
	"sysdig-aws-connect/internal/registrar"
	"sysdig-aws-connect/internal/tokensource"
)

// Set by the templates (cdk/stacks: EnvAllowedAPIURLs, EnvAllowedSecretIDs,
// EnvAllowSkipTLSVerify); unset allows any, for functions deployed by other means.
const (
	envAllowedAPIURLs     = "ALLOWED_SYSDIG_API_URLS"
	envAllowedSecretIDs   = "ALLOWED_TOKEN_SECRET_IDS"
	envAllowSkipTLSVerify = "ALLOW_SKIP_TLS_VERIFY"
	// envIdempotencyTable names the DynamoDB table of the requests already seen (the
	// Organizations deployer sets it); unset, duplicate deliveries are not recognised.
	envIdempotencyTable = "IDEMPOTENCY_TABLE"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: logLevel(os.Getenv("AWS_LAMBDA_LOG_LEVEL"))}))
	slog.SetDefault(logger)
	fn, err := newFunction(context.Background(), logger)
	if err != nil {
		logger.Error("cannot start", slog.String("error", err.Error()))
		os.Exit(1)
	}
	lambda.Start(fn.Invoke)
}

// newFunction builds the handler from the environment, as Lambda provides it.
func newFunction(ctx context.Context, logger *slog.Logger) (*customresource.Function, error) {
	// The SDK reads AWS_ENDPOINT_URL_SECRETS_MANAGER (and _DYNAMODB) itself; each attempt is bounded, and
	// the handler's deadline bounds them all.
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRetryMaxAttempts(4),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(10*time.Second)))
	if err != nil {
		return nil, fmt.Errorf("load the AWS SDK configuration: %w", err)
	}
	tokens := tokensource.NewSecretsManager(secretsmanager.NewFromConfig(cfg))
	// The stack that deploys the function says where the token may come from and go to;
	// a request (possibly from another account, through SNS) cannot widen that.
	opts := []registrar.Option{registrar.WithLogger(logger),
		registrar.WithAllowedAPIURLs(strings.Split(os.Getenv(envAllowedAPIURLs), ",")...),
		registrar.WithAllowedTokenSecrets(strings.Split(os.Getenv(envAllowedSecretIDs), ",")...)}
	if v, ok := os.LookupEnv(envAllowSkipTLSVerify); ok {
		opts = append(opts, registrar.WithSkipTLSVerifyAllowed(strings.EqualFold(strings.TrimSpace(v), "true")))
	}
	handler := registrar.New(tokens, opts...)
	fnOpts := []customresource.Option{customresource.WithLogger(logger)}
	if table := strings.TrimSpace(os.Getenv(envIdempotencyTable)); table != "" {
		// The SDK reads AWS_ENDPOINT_URL_DYNAMODB itself (local runs).
		store := dedupe.NewDynamoDB(dynamodb.NewFromConfig(cfg), table)
		fnOpts = append(fnOpts, customresource.WithDeduplicator(dedupe.New(store)))
	}
	return customresource.New(handler, fnOpts...), nil
}

// logLevel follows Lambda's advanced logging controls (AWS_LAMBDA_LOG_LEVEL).
func logLevel(s string) slog.Level {
	switch strings.ToUpper(s) {
	case "TRACE", "DEBUG":
		return slog.LevelDebug
	case "WARN":
		return slog.LevelWarn
	case "ERROR", "FATAL":
		return slog.LevelError
	}
	return slog.LevelInfo
}
