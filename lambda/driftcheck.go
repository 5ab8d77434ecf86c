package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/organizations"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"sysdig-aws-connect/internal/driftcheck"
	"sysdig-aws-connect/internal/orgreport"
	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/tokensource"
)

// servesDriftCheck says whether Lambda runs this binary as the drift check: the deployer's
// drift-check function sets its Handler to driftcheck.Handler, which Lambda passes in _HANDLER.
func servesDriftCheck() bool { return os.Getenv("_HANDLER") == driftcheck.Handler }

// startDriftCheck serves the scheduled drift check.
func startDriftCheck(ctx context.Context, logger *slog.Logger) error {
	cfgEnv, err := driftcheck.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	cfg, err := awsConfig(ctx)
	if err != nil {
		return err
	}
	checker := newDriftChecker(cfgEnv, cfg, logger)
	logger.Info("serving the scheduled drift check", slog.String("stack", cfgEnv.StackID))
	lambda.Start(checker.Handle)
	return nil
}

// newDriftChecker wires the check to the SDK clients (which read AWS_ENDPOINT_URL_* in
// local runs) and a Sysdig client paced like one registrar instance.
func newDriftChecker(c driftcheck.Config, cfg aws.Config, logger *slog.Logger) *driftcheck.Checker {
	secrets := tokensource.NewSecretsManager(secretsmanager.NewFromConfig(cfg))
	ddb := dynamodb.NewFromConfig(cfg)
	return driftcheck.New(c, driftcheck.Deps{
		CloudFormation: cloudformation.NewFromConfig(cfg),
		Organizations:  organizations.NewFromConfig(cfg),
		Registry:       func(table string) orgreport.Registry { return newRegistryReader(ddb, table) },
		Token:          secrets.Token,
		Sysdig: func(baseURL, token string, skipTLS bool, instances int) (orgreport.Providers, error) {
			opts := []sysdig.Option{sysdig.WithLogger(logger), sysdig.WithConcurrentInstances(instances)}
			if skipTLS {
				opts = append(opts, sysdig.WithInsecureSkipVerify())
			}
			client, err := sysdig.New(baseURL, token, opts...)
			if err != nil {
				return nil, fmt.Errorf("Sysdig API URL %s: %w", baseURL, err)
			}
			return client, nil
		},
		Metrics: os.Stdout,
		Logger:  logger,
	})
}

// newRegistryReader reads the registry of record with the registrar's own store: its List
// is a paginated, strongly consistent Scan that stops at a record it cannot decode.
func newRegistryReader(client *dynamodb.Client, table string) orgreport.Registry {
	return registry.New(client, table)
}
