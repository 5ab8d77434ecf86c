package driftcheck

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"

	"sysdig-aws-connect/internal/orgreport"
)

// CloudFormationAPI is what the check asks CloudFormation: the deployer stack, and its
// StackSet's instances.
type CloudFormationAPI interface {
	orgreport.DescribeStacksAPI
	orgreport.ListStackInstancesAPI
}

// Deps are the clients the check reads through (real SDK clients in the function; local
// endpoints in tests).
type Deps struct {
	CloudFormation CloudFormationAPI
	Organizations  orgreport.OrganizationsAPI
	// Registry opens the registry of record the deployer stack names.
	Registry func(table string) orgreport.Registry
	// Token reads the Sysdig API token from its secret.
	Token func(ctx context.Context, secretID string) (string, error)
	// Sysdig opens a Sysdig client, paced to the given share of Sysdig's rate limit.
	Sysdig func(baseURL, token string, skipTLSVerify bool, instances int) (orgreport.Providers, error)
	// Metrics receives the EMF lines (stdout under Lambda); Logger the other lines.
	Metrics io.Writer
	Logger  *slog.Logger
	// Now is the clock (time.Now when nil).
	Now func() time.Time
}

// Result is the run's answer (the Lambda invocation's result).
type Result struct {
	Stack       string                    `json:"stack"`
	StackSet    string                    `json:"stack_set"`
	Accounts    int                       `json:"accounts"`
	Counts      map[orgreport.Verdict]int `json:"counts"`
	SysdigReads int                       `json:"sysdig_reads"`
}

// Checker runs the drift check.
type Checker struct {
	cfg  Config
	deps Deps
	mu   sync.Mutex // one run at a time (Lambda's reserved concurrency is 1 as well)
}

// New returns a Checker.
func New(cfg Config, deps Deps) *Checker {
	if deps.Now == nil {
		deps.Now = time.Now
	}
	if deps.Logger == nil {
		deps.Logger = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	return &Checker{cfg: cfg, deps: deps}
}

// event is the schedule's payload; any other shape is refused.
type event struct {
	Check string `json:"check"`
}

// CheckEvent accepts only the schedule's payload, ScheduleInput.
func CheckEvent(raw []byte) error {
	var e event
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil || e.Check != "drift" || dec.More() {
		shown := string(raw)
		if len(shown) > 80 {
			shown = shown[:80] + "…"
		}
		return fmt.Errorf("drift check: refused the event %q: this handler runs only on its schedule's payload %s", shown, ScheduleInput)
	}
	return nil
}

// Handle runs one check: it builds the report, writes one metric per verdict and one log
// line per account that is not OK. An error means no report could be made at all (the
// deployer stack could not be read); a failed read of one source makes its rows UNKNOWN.
func (c *Checker) Handle(ctx context.Context, raw json.RawMessage) (Result, error) {
	if err := CheckEvent(raw); err != nil {
		return Result{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	start := c.deps.Now()
	stacks := &recordingStacks{DescribeStacksAPI: c.deps.CloudFormation}
	st, err := orgreport.ReadStack(ctx, stacks, c.cfg.StackID)
	if err != nil {
		return Result{}, fmt.Errorf("drift check: %w", err)
	}
	// The URL the template resolved from its own parameters (SaaS region or custom).
	st.SysdigURL = c.cfg.SysdigURL

	capped := &cappedProviders{max: int64(c.cfg.MaxSysdigReads), now: c.deps.Now}
	if dl, ok := ctx.Deadline(); ok {
		capped.stopAt = dl.Add(-readMargin)
	}
	capped.inner = c.sysdig(ctx, st, stacks.param("SkipTlsVerify") == "true")

	rep, err := orgreport.Build(ctx, orgreport.Sources{
		Stack:     st,
		Org:       &orgreport.OrgReader{API: c.deps.Organizations},
		Instances: &orgreport.StackSetReader{API: c.deps.CloudFormation},
		Registry:  c.deps.Registry(st.RegistryTable),
		Sysdig:    capped,
	}, orgreport.Options{Now: start, SysdigURL: st.SysdigURL})
	if err != nil {
		return Result{}, fmt.Errorf("drift check: %w", err)
	}
	if err := WriteMetrics(c.deps.Metrics, rep, start); err != nil {
		return Result{}, err
	}
	LogAccounts(c.deps.Logger, rep)
	res := Result{Stack: rep.Stack, StackSet: rep.StackSet, Accounts: len(rep.Rows), Counts: rep.Counts, SysdigReads: capped.Reads()}
	attrs := []any{slog.String("stack_set", rep.StackSet), slog.Int("accounts", res.Accounts), slog.Int("sysdig_reads", res.SysdigReads),
		slog.Int64("duration_ms", c.deps.Now().Sub(start).Milliseconds())}
	for _, v := range orgreport.Verdicts {
		attrs = append(attrs, slog.Int(strings.ToLower(string(v)), rep.Counts[v]))
	}
	c.deps.Logger.Info("drift check done", attrs...)
	return res, nil
}

// sysdig is the client the report reads providers through; when the token or the client
// cannot be had, every read says why (those rows are UNKNOWN) and the AWS side still counts.
func (c *Checker) sysdig(ctx context.Context, st orgreport.Stack, skipTLS bool) orgreport.Providers {
	if st.TokenSecret == "" {
		return failingProviders{fmt.Errorf("Sysdig not read: the deployer stack %s has no %s output", st.Name, orgreport.OutputTokenSecret)}
	}
	token, err := c.deps.Token(ctx, st.TokenSecret)
	if err != nil {
		c.deps.Logger.Error("drift check: cannot read the Sysdig API token", slog.String("secret", st.TokenSecret), slog.String("error", err.Error()))
		return failingProviders{fmt.Errorf("Sysdig not read: the API token secret %s could not be read: %w", st.TokenSecret, err)}
	}
	p, err := c.deps.Sysdig(st.SysdigURL, token, skipTLS, c.cfg.Instances)
	if err != nil {
		return failingProviders{fmt.Errorf("Sysdig not read: %w", err)}
	}
	return p
}

// recordingStacks keeps the DescribeStacks answer, so the check reads a parameter
// ReadStack does not return (SkipTlsVerify) without a second call.
type recordingStacks struct {
	orgreport.DescribeStacksAPI
	out *cloudformation.DescribeStacksOutput
}

func (r *recordingStacks) DescribeStacks(ctx context.Context, in *cloudformation.DescribeStacksInput, opts ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	out, err := r.DescribeStacksAPI.DescribeStacks(ctx, in, opts...)
	r.out = out
	return out, err
}

func (r *recordingStacks) param(key string) string {
	if r.out == nil || len(r.out.Stacks) != 1 {
		return ""
	}
	for _, p := range r.out.Stacks[0].Parameters {
		if aws.ToString(p.ParameterKey) == key {
			return aws.ToString(p.ParameterValue)
		}
	}
	return ""
}
