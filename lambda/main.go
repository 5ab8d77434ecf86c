// Command bootstrap is the custom-resource function (runtime provided.al2023): it serves
// Custom::SysdigExternalId and Custom::SysdigProvider for CloudFormation, directly or through
// an SNS topic. This file only wires the packages together.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"sysdig-aws-connect/internal/customresource"
	"sysdig-aws-connect/internal/dedupe"
	"sysdig-aws-connect/internal/metrics"
	"sysdig-aws-connect/internal/registrar"
	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/stackauth"
	"sysdig-aws-connect/internal/tokensource"
	"sysdig-aws-connect/internal/version"
)

// Set by the templates (cdk/stacks: EnvAllowedAPIURLs, EnvAllowedSecretIDs,
// EnvAllowSkipTLSVerify); unset allows any, for single-account functions deployed by
// other means. With STACKSET_NAME (requests from member accounts) the two allow-lists
// are required: an empty or missing one stops the function (fail closed).
const (
	envAllowedAPIURLs     = "ALLOWED_SYSDIG_API_URLS"
	envAllowedSecretIDs   = "ALLOWED_TOKEN_SECRET_IDS"
	envAllowSkipTLSVerify = "ALLOW_SKIP_TLS_VERIFY"
	// envAllowLoopbackAnswers ("true") lets answers go to loopback ResponseURLs: local
	// runs only (internal/lambdarun sets it); no template does.
	envAllowLoopbackAnswers = "ALLOW_LOOPBACK_RESPONSE_URLS"
	// envConcurrentInstances is how many instances may run at once (the registrar's
	// reserved concurrency; 1 in the single-account stack): they share Sysdig's rate limit.
	envConcurrentInstances = "CONCURRENT_INSTANCES"
)

// Set by the Organizations deployer (cdk/stacks: EnvStackSetName, EnvStackSetCallAs,
// EnvDeployerStackID): with STACKSET_NAME, every request through the topic must come
// from a stack instance of that StackSet in a running operation; unset, none is checked
// (the single-account stack, where only CloudFormation of the same account invokes).
const (
	envStackSetName    = "STACKSET_NAME"
	envStackSetCallAs  = "STACKSET_CALL_AS"
	envDeployerStackID = "DEPLOYER_STACK_ID"
	// envIdempotencyTable names the DynamoDB table of the requests already seen (the
	// Organizations deployer sets it); unset, duplicate deliveries are not recognised.
	envIdempotencyTable = "IDEMPOTENCY_TABLE"
	// envRegistryTable names the DynamoDB table of the registry of record (the
	// Organizations deployer sets it); unset, Update and Delete prove ownership by reading
	// the provider at Sysdig.
	envRegistryTable = "REGISTRY_TABLE"
)

func main() {
	logger := slog.New(slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: logLevel(os.Getenv("AWS_LAMBDA_LOG_LEVEL"))}))
	slog.SetDefault(logger)
	logger.Info("sysdig-aws-connect function starting", slog.String("version", version.Version()))
	if servesDriftCheck() {
		if err := startDriftCheck(context.Background(), logger); err != nil {
			logger.Error("cannot start", slog.String("error", err.Error()))
			os.Exit(1)
		}
		return
	}
	fn, err := newFunction(context.Background(), logger)
	if err != nil {
		// Still answer every request (FAILED, saying why): an exit would leave each
		// stack waiting an hour for an answer that never comes.
		attrs := []any{slog.String("error", err.Error())}
		var ce *configError
		if errors.As(err, &ce) {
			attrs = append(attrs, slog.String("variable", ce.variable))
		}
		logger.Error("cannot start: every request is answered FAILED with this reason until the configuration is fixed", attrs...)
		if fn, err = unstartableFunction(logger, err); err != nil {
			logger.Error("cannot answer requests either", slog.String("error", err.Error()))
			os.Exit(1)
		}
	}
	lambda.Start(fn.Invoke)
}

// configError is a start-up failure caused by one environment variable.
type configError struct {
	variable string
	err      error
}

func (e *configError) Error() string { return e.err.Error() }
func (e *configError) Unwrap() error { return e.err }

// allowList reads a comma-separated allow-list variable. required (a registrar serving
// other accounts) turns an empty or missing list from "allow any" into an error.
func allowList(name string, required bool) ([]string, error) {
	var items []string
	for _, item := range strings.Split(os.Getenv(name), ",") {
		if item = strings.TrimSpace(item); item != "" {
			items = append(items, item)
		}
	}
	if len(items) == 0 && required {
		return nil, &configError{variable: name, err: fmt.Errorf("%s is empty or missing while %s is set: a registrar that serves member accounts must name what it allows, or a member could send the token anywhere; set %s (the deployer template does), then update the stack", name, envStackSetName, name)}
	}
	return items, nil
}

// answerOptions say where answers may go: CloudFormation's response bucket of this
// region (and loopback in local runs).
func answerOptions(logger *slog.Logger) ([]customresource.Option, error) {
	region := os.Getenv("AWS_REGION")
	if region == "" {
		return nil, fmt.Errorf("AWS_REGION is not set: the function cannot tell CloudFormation's response URLs from others")
	}
	// One metric record per request, in the function's log (Embedded Metric Format).
	emitter := metrics.NewEmitter(os.Stdout, os.Getenv("AWS_LAMBDA_FUNCTION_NAME"),
		metrics.WithResourceTypes(registrar.TypeExternalID, registrar.TypeProvider))
	opts := []customresource.Option{customresource.WithLogger(logger), customresource.WithAnswerRegion(region),
		customresource.WithMetrics(emitter)}
	if strings.EqualFold(strings.TrimSpace(os.Getenv(envAllowLoopbackAnswers)), "true") {
		opts = append(opts, customresource.WithLoopbackAnswers())
	}
	return opts, nil
}

// unstartableFunction answers every request FAILED with cause.
func unstartableFunction(logger *slog.Logger, cause error) (*customresource.Function, error) {
	opts, err := answerOptions(logger)
	if err != nil {
		return nil, err
	}
	return customresource.New(customresource.Unstartable(cause), opts...), nil
}

// newFunction builds the handler from the environment, as Lambda provides it.
func newFunction(ctx context.Context, logger *slog.Logger) (*customresource.Function, error) {
	cfg, err := awsConfig(ctx)
	if err != nil {
		return nil, err
	}
	// One read of the secret per warm instance and TTL, not one per request; a token
	// Sysdig refuses is read again at once (rotation).
	tokens := tokensource.NewCache(tokensource.NewSecretsManager(secretsmanager.NewFromConfig(cfg)), tokensource.DefaultTTL)
	instances, err := concurrentInstances(os.Getenv(envConcurrentInstances))
	if err != nil {
		return nil, err
	}
	// The stack that deploys the function says where the token may come from and go to;
	// a request (possibly from another account, through SNS) cannot widen that.
	stackSet := strings.TrimSpace(os.Getenv(envStackSetName))
	urls, err := allowList(envAllowedAPIURLs, stackSet != "")
	if err != nil {
		return nil, err
	}
	secrets, err := allowList(envAllowedSecretIDs, stackSet != "")
	if err != nil {
		return nil, err
	}
	opts := []registrar.Option{registrar.WithLogger(logger), registrar.WithConcurrentInstances(instances),
		registrar.WithAllowedAPIURLs(urls...), registrar.WithAllowedTokenSecrets(secrets...)}
	if v, ok := os.LookupEnv(envAllowSkipTLSVerify); ok {
		opts = append(opts, registrar.WithSkipTLSVerifyAllowed(strings.EqualFold(strings.TrimSpace(v), "true")))
	}
	if table := strings.TrimSpace(os.Getenv(envRegistryTable)); table != "" {
		// The SDK reads AWS_ENDPOINT_URL_DYNAMODB itself (local runs).
		opts = append(opts, registrar.WithRegistry(registry.New(dynamodb.NewFromConfig(cfg), table)))
		logger.Info("the registry of record proves which provider a stack resource owns", slog.String("table", table))
	}
	handler := registrar.New(tokens, opts...)

	// Answers go only to CloudFormation's response bucket of this region.
	fnOpts, err := answerOptions(logger)
	if err != nil {
		return nil, err
	}
	if name := stackSet; name != "" {
		// The SDK reads AWS_ENDPOINT_URL_CLOUDFORMATION itself.
		checker, err := stackauth.New(cloudformation.NewFromConfig(cfg), name,
			stackauth.WithCallAs(os.Getenv(envStackSetCallAs)), stackauth.WithDeployerStackID(os.Getenv(envDeployerStackID)))
		if err != nil {
			return nil, fmt.Errorf("%s, %s, %s: %w", envStackSetName, envStackSetCallAs, envDeployerStackID, err)
		}
		logger.Info("requests through the registrar topic are authenticated with CloudFormation",
			slog.String("stackset", checker.StackSetName()), slog.String("call_as", os.Getenv(envStackSetCallAs)))
		fnOpts = append(fnOpts, customresource.WithRequestCheck(func(ctx context.Context, req customresource.Request, env customresource.Envelope) error {
			return checker.Check(ctx, stackauth.Request{StackID: req.StackID, ViaTopic: env.Via == "sns"})
		}))
	}
	if table := strings.TrimSpace(os.Getenv(envIdempotencyTable)); table != "" {
		// The SDK reads AWS_ENDPOINT_URL_DYNAMODB itself (local runs).
		store := dedupe.NewDynamoDB(dynamodb.NewFromConfig(cfg), table)
		fnOpts = append(fnOpts, customresource.WithDeduplicator(dedupe.New(store)))
	}
	return customresource.New(handler, fnOpts...), nil
}

// awsConfig is the SDK configuration both handlers use. The SDK reads
// AWS_ENDPOINT_URL_<SERVICE> itself; each attempt is bounded, and the handler's deadline
// bounds them all.
func awsConfig(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx,
		config.WithRetryMaxAttempts(4),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTimeout(10*time.Second)))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load the AWS SDK configuration: %w", err)
	}
	return cfg, nil
}

// concurrentInstances reads CONCURRENT_INSTANCES: unset or empty is 1.
func concurrentInstances(v string) (int, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 10000 {
		return 0, fmt.Errorf("%s=%q: expected a whole number from 1 to 10000 (the function's reserved concurrency)", envConcurrentInstances, v)
	}
	return n, nil
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
