// Package localrun assembles the whole product on one machine: the Sysdig emulator, a
// Secrets Manager that speaks the AWS protocol, a stand-in for CloudFormation's presigned
// ResponseURLs and for its DescribeStackInstance, optionally a local DynamoDB with the
// idempotency table (Options.Idempotency), and the real bootstrap running under AWS's
// Lambda Runtime Interface Emulator, reaching the fakes the standard way
// (AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL_CLOUDFORMATION,
// AWS_ENDPOINT_URL_DYNAMODB and the custom resources' SysdigApiUrl). The demo and the
// end-to-end tests both start from here.
package localrun

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"sysdig-aws-connect/internal/cfnsim"
	"sysdig-aws-connect/internal/dedupe"
	"sysdig-aws-connect/internal/lambdarun"
	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localdynamo"
	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdigemu"
)

// Account and region of the local "AWS account".
const (
	AccountID  = "123456789012"
	Region     = "us-east-1"
	SecretName = "sysdig/api-token"
	// CodeBucketPrefix is what a Launch Stack URL fills in for templates that carry code
	// (the function runs from the local build; nothing reads the bucket).
	CodeBucketPrefix = "sysdig-aws-connect-local"
)

// StackID is the id of the local stack named name: fixed, so that a function started
// before the stack (the Organizations registrar) can know its deployer's id.
func StackID(name string) string {
	sum := sha256.Sum256([]byte(name))
	h := hex.EncodeToString(sum[:16])
	return fmt.Sprintf("arn:aws:cloudformation:%s:%s:stack/%s/%s-%s-%s-%s-%s", Region, AccountID, name, h[:8], h[8:12], h[12:16], h[16:20], h[20:32])
}

// StackSetName is the name the Organizations deployer gives its StackSet.
func StackSetName(deployerStackName string) string { return deployerStackName + "-members" }

// OrganizationEnv is the function environment the Organizations deployer named
// deployerStackName sets for its registrar (SELF: the management account).
func OrganizationEnv(deployerStackName string) map[string]string {
	return map[string]string{
		"STACKSET_NAME":     StackSetName(deployerStackName),
		"STACKSET_CALL_AS":  "SELF",
		"DEPLOYER_STACK_ID": StackID(deployerStackName),
	}
}

// Options configures a local run.
type Options struct {
	// Bootstrap is the function binary; empty builds ./lambda into BuildDir.
	Bootstrap string
	BuildDir  string
	// RIE is the runtime emulator; empty finds it as lambdarun.RIEPath does.
	RIE string
	// FunctionTimeout is AWS_LAMBDA_FUNCTION_TIMEOUT (use the template's Timeout).
	FunctionTimeout time.Duration
	// Concurrency is the number of execution environments (reserved concurrency).
	Concurrency int
	// Token is the Sysdig API token the emulator accepts and the secret holds.
	Token string
	// Sysdig are extra emulator options (rate limit, error shape, …).
	Sysdig []sysdigemu.Option
	// FunctionEnv is added to the function's environment.
	FunctionEnv map[string]string
	// LogWriter receives the function's log lines as they come.
	LogWriter io.Writer
	// Idempotency starts a local DynamoDB (dynalite, see internal/localdynamo) with the
	// idempotency table, as the Organizations deployer has it, and sets the function's
	// IDEMPOTENCY_TABLE and AWS_ENDPOINT_URL_DYNAMODB.
	Idempotency bool
	// Registry starts the local DynamoDB too, with the registry of record's table, as the
	// Organizations deployer has it, and sets REGISTRY_TABLE (internal/registry).
	Registry bool
}

// IdempotencyTable is the local idempotency table's name.
const IdempotencyTable = "sysdig-aws-connect-idempotency"

// RegistryTable is the local registry of record's table name.
const RegistryTable = "sysdig-aws-connect-registry"

// Env is a running local world.
type Env struct {
	Sysdig     *sysdigemu.Server
	SysdigURL  string
	Secrets    *localaws.SecretsManager
	SecretsURL string
	SecretARN  string
	Catcher    *localaws.ResponseCatcher
	// CloudFormation answers the registrar's DescribeStackInstance: register the member
	// stacks of an Organization rollout there (RegisterStackInstance).
	CloudFormation    *localaws.CloudFormation
	CloudFormationURL string
	// Dynamo is the local DynamoDB (Options.Idempotency), else nil.
	Dynamo    *localdynamo.Server
	Function  *lambdarun.Pool
	Bootstrap string
	Token     string
	closers   []func()
}

// Start brings the local world up; Close takes it down.
func Start(ctx context.Context, opts Options) (env *Env, err error) {
	if opts.Token == "" {
		opts.Token = sysdigemu.DefaultToken
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 1
	}
	if opts.FunctionTimeout == 0 {
		opts.FunctionTimeout = 300 * time.Second
	}
	e := &Env{Token: opts.Token}
	defer func() {
		if err != nil {
			e.Close()
		}
	}()
	root, err := lambdarun.RepoRoot()
	if err != nil {
		return nil, err
	}
	if opts.RIE == "" {
		if opts.RIE, err = lambdarun.RIEPath(root); err != nil {
			return nil, err
		}
	}
	e.Bootstrap = opts.Bootstrap
	if e.Bootstrap == "" {
		dir := opts.BuildDir
		if dir == "" {
			dir = filepath.Join(root, "dist", "local")
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		if e.Bootstrap, err = lambdarun.BuildBootstrap(ctx, root, dir); err != nil {
			return nil, fmt.Errorf("build the bootstrap: %w", err)
		}
	}

	e.Sysdig = sysdigemu.New(append([]sysdigemu.Option{sysdigemu.WithToken(opts.Token)}, opts.Sysdig...)...)
	var stop func()
	e.SysdigURL, stop = e.Sysdig.Start()
	e.closers = append(e.closers, stop)

	e.Secrets = localaws.NewSecretsManager(Region, AccountID)
	e.SecretARN = e.Secrets.PutSecret(SecretName, opts.Token)
	e.SecretsURL, stop = e.Secrets.Start()
	e.closers = append(e.closers, stop)

	e.Catcher = localaws.NewResponseCatcher()
	_, stop = e.Catcher.Start()
	e.closers = append(e.closers, stop)

	e.CloudFormation = localaws.NewCloudFormation(Region)
	e.CloudFormationURL, stop = e.CloudFormation.Start()
	e.closers = append(e.closers, stop)

	fnEnv := map[string]string{
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": e.SecretsURL,
		"AWS_ENDPOINT_URL_CLOUDFORMATION":  e.CloudFormationURL,
		"AWS_LAMBDA_FUNCTION_NAME":         "SysdigAwsConnect-ConnectorFunction",
		// As the templates set them: this Sysdig, this secret (by name and by ARN).
		"ALLOWED_SYSDIG_API_URLS":  e.SysdigURL,
		"ALLOWED_TOKEN_SECRET_IDS": SecretName + "," + e.SecretARN,
		"ALLOW_SKIP_TLS_VERIFY":    "false",
	}
	if opts.Idempotency || opts.Registry {
		if e.Dynamo, err = localdynamo.Start(ctx); err != nil {
			return nil, fmt.Errorf("start the local DynamoDB: %w", err)
		}
		e.closers = append(e.closers, func() { _ = e.Dynamo.Close() })
		fnEnv["AWS_ENDPOINT_URL_DYNAMODB"] = e.Dynamo.URL
	}
	if opts.Idempotency {
		if _, err := e.Dynamo.CreateTable(ctx, dedupe.CreateTableInput(IdempotencyTable)); err != nil {
			return nil, err
		}
		fnEnv["IDEMPOTENCY_TABLE"] = IdempotencyTable
	}
	if opts.Registry {
		if _, err := e.Dynamo.CreateTable(ctx, registry.CreateTableInput(RegistryTable)); err != nil {
			return nil, err
		}
		fnEnv["REGISTRY_TABLE"] = RegistryTable
	}
	for k, v := range opts.FunctionEnv {
		fnEnv[k] = v
	}
	e.Function, err = lambdarun.StartPool(ctx, lambdarun.Config{
		RIE: opts.RIE, Bootstrap: e.Bootstrap, Env: fnEnv, Timeout: opts.FunctionTimeout, LogWriter: opts.LogWriter,
	}, opts.Concurrency)
	if err != nil {
		return nil, fmt.Errorf("start the function under the runtime emulator: %w", err)
	}
	return e, nil
}

// Close stops everything Start started.
func (e *Env) Close() {
	if e.Function != nil {
		_ = e.Function.Close()
	}
	for i := len(e.closers) - 1; i >= 0; i-- {
		e.closers[i]()
	}
	e.closers = nil
}

// Logs are the function's log lines so far.
func (e *Env) Logs() []string { return e.Function.Logs() }

// Invoker delivers payloads to the function as CloudFormation (or SNS) would.
func (e *Env) Invoker() cfnsim.Invoker { return invoker{e.Function} }

// Responder hands out ResponseURLs and reads the answers, for cfnsim.
func (e *Env) Responder() cfnsim.Responder { return responder{e.Catcher} }

type invoker struct{ pool *lambdarun.Pool }

func (i invoker) Invoke(ctx context.Context, payload []byte) error {
	_, err := i.pool.Invoke(ctx, payload)
	return err
}

type responder struct{ c *localaws.ResponseCatcher }

func (r responder) NewURL(requestID string) string { return r.c.NewURL(requestID) }

func (r responder) Wait(ctx context.Context, requestID string) (cfnsim.Answer, error) {
	resp, err := r.c.Wait(ctx, requestID)
	var invalid *localaws.InvalidResponseError
	if errors.As(err, &invalid) {
		return cfnsim.Answer{}, fmt.Errorf("CloudFormation would reject the answer: %w", err)
	}
	return cfnsim.Answer(resp), err
}

// NewStack prepares a simulated stack of template t in the local account, wired to the
// function, with the id StackID(name), launched as a Launch Stack URL would (CodeBucketPrefix).
func (e *Env) NewStack(t *cfnsim.Template, name string, opts ...cfnsim.Option) *cfnsim.Stack {
	base := []cfnsim.Option{cfnsim.WithSSMParameter("/cdk-bootstrap/hnb659fds/version", "21"),
		cfnsim.WithLaunchParameters(map[string]string{"CodeBucketPrefix": CodeBucketPrefix})}
	return cfnsim.New(t, cfnsim.Pseudo{AccountID: AccountID, Region: Region, StackName: name, StackID: StackID(name)},
		e.Invoker(), e.Responder(), append(base, opts...)...)
}

// RegisterStackInstances records stacks as the stack instances of the StackSet of the
// deployer named deployerStackName, in a running StackSet operation, as CloudFormation
// shows them while the StackSet creates, updates or deletes them.
func (e *Env) RegisterStackInstances(deployerStackName string, stacks ...*cfnsim.Stack) {
	for _, s := range stacks {
		p := s.Pseudo()
		e.CloudFormation.PutStackInstance(StackSetName(deployerStackName), localaws.StackInstance{
			Account: p.AccountID, Region: p.Region, StackID: p.StackID, DetailedStatus: localaws.InstanceRunning})
	}
}
