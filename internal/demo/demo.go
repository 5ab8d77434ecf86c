// Package demo plays a stack's whole life locally, the way CloudFormation would, with the
// real function binary, and checks every step's outcome: create (external ID, role ARN,
// provider; it prints what the role is trusted with and allowed to do), update in place
// (alias and regions), update with replacement (a new role, then the cleanup Delete of the
// old provider), delete, and one failure: a registration that existed before the stack
// makes the create fail with OnExisting=Fail, and the rollback leaves it in place. Its
// output fits in MaxColumns columns. It is `make demo`.
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"sysdig-aws-connect/internal/cfnsim"
	"sysdig-aws-connect/internal/localrun"
	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
)

// Config says what to run.
type Config struct {
	TemplatePath string
	StackName    string
	Out          io.Writer
	Bootstrap    string // empty: build ./lambda
	RIE          string // empty: .tools/bin/aws-lambda-rie
}

// Run plays the demo and returns an error if any step's outcome differs from the
// expected one.
func Run(ctx context.Context, cfg Config) error {
	raw, err := os.ReadFile(cfg.TemplatePath)
	if err != nil {
		return fmt.Errorf("read the synthesized template (run make synth): %w", err)
	}
	tpl, err := cfnsim.ParseTemplate(raw)
	if err != nil {
		return err
	}
	timeout := functionTimeout(tpl)
	out := newWrapWriter(cfg.Out, MaxColumns)
	defer out.Flush()
	p := printer{w: out}
	env, err := localrun.Start(ctx, localrun.Options{Bootstrap: cfg.Bootstrap, RIE: cfg.RIE, FunctionTimeout: timeout})
	if err != nil {
		return err
	}
	defer env.Close()

	custom := 0
	for _, r := range tpl.Resources {
		if strings.HasPrefix(r.Type, "Custom::") {
			custom++
		}
	}
	p.title("sysdig-aws-connect: a stack's life, locally")
	p.kv("template", fmt.Sprintf("%s (%d resources, %d custom)", cfg.TemplatePath, len(tpl.Resources), custom))
	p.kv("function", fmt.Sprintf("%s under aws-lambda-rie, timeout %s as the template sets it", env.Bootstrap, timeout))
	p.kv("Sysdig API", env.SysdigURL+" (the project's emulator)")
	p.kv("Secrets Manager", env.SecretsURL+" (found through AWS_ENDPOINT_URL_SECRETS_MANAGER)")
	p.kv("token secret", localrun.SecretName+" holds the emulator's token")
	p.kv("account", localrun.AccountID+" in "+localrun.Region)

	var granted grants
	stack := env.NewStack(tpl, cfg.StackName, append(granted.provisioners(), cfnsim.WithEventHook(p.event))...)
	// A second stack of the same template, for the failure case at the end.
	second := env.NewStack(tpl, cfg.StackName+"-again", cfnsim.WithEventHook(p.event))
	base := map[string]string{
		"SysdigRegion":     "custom",
		"SysdigCustomUrl":  env.SysdigURL,
		"ApiTokenSecret":   localrun.SecretName,
		"DiscoveryRegions": "us-east-1",
		"ProviderAlias":    "demo",
	}
	// The committed (one-click) template reads the function's code from a bucket; here the
	// code is the local binary, so any prefix does.
	if _, ok := tpl.Parameters["CodeBucketPrefix"]; ok {
		base["CodeBucketPrefix"] = "demo-code"
	}
	roleARN := func(name string) string { return "arn:aws:iam::" + localrun.AccountID + ":role/" + name }

	steps := []step{
		{
			title:  "create the stack (external ID → role ARN → provider)",
			params: base,
			run:    func(ctx context.Context, params map[string]string) error { return stack.Create(ctx, params) },
			expect: func(s *state) error {
				if err := s.providers(1); err != nil {
					return err
				}
				if err := s.provider(0, roleARN("sysdig-role"), "demo", []string{"US_EAST_1"}); err != nil {
					return err
				}
				if err := s.outputs(map[string]string{
					"SysdigRoleArn":        roleARN("sysdig-role"),
					"ExternalIdInUse":      sysdigemu.DefaultExternalID,
					"SysdigProviderId":     s.held[0].ID,
					"SysdigProviderStatus": "configured",
				}); err != nil {
					return err
				}
				lines := granted.lines()
				if len(lines) < 4 || !strings.Contains(strings.Join(lines, "\n"), sysdigemu.DefaultExternalID) {
					return fmt.Errorf("the role's trust policy and permissions were not recorded: %q", lines)
				}
				for _, l := range lines {
					p.line(l)
				}
				return nil
			},
		},
		{
			title:  "update in place (alias and regions)",
			params: map[string]string{"ProviderAlias": "demo-renamed", "DiscoveryRegions": "us-east-1,eu-west-1"},
			run:    stack.Update,
			expect: func(s *state) error {
				if err := s.providers(1); err != nil {
					return err
				}
				if err := s.provider(0, roleARN("sysdig-role"), "demo-renamed", []string{"EU_WEST_1", "US_EAST_1"}); err != nil {
					return err
				}
				if err := s.requests("SysdigProvider", "update:Update"); err != nil {
					return err
				}
				return s.samePhysicalID("SysdigProvider")
			},
		},
		{
			title:  "update with replacement (a new role; CloudFormation then deletes the old provider)",
			params: map[string]string{"RoleName": "sysdig-role-v2"},
			run:    stack.Update,
			expect: func(s *state) error {
				if err := s.providers(1); err != nil {
					return err
				}
				if err := s.provider(0, roleARN("sysdig-role-v2"), "demo-renamed", []string{"EU_WEST_1", "US_EAST_1"}); err != nil {
					return err
				}
				return s.requests("SysdigProvider", "update:Update", "cleanup:Delete")
			},
		},
		{
			title: "delete the stack",
			run:   func(ctx context.Context, _ map[string]string) error { return stack.Delete(ctx) },
			expect: func(s *state) error {
				if err := s.providers(0); err != nil {
					return err
				}
				return s.requests("SysdigProvider", "delete:Delete")
			},
		},
		{
			title:  "a failure: the role was registered by hand before the stack (OnExisting=Fail)",
			params: base,
			run: func(ctx context.Context, params map[string]string) error {
				id := env.Sysdig.Seed(sysdig.ProviderSpec{RoleARN: roleARN("sysdig-role"), Alias: "made-by-hand"})
				p.line("  Sysdig already holds provider " + id + " for " + roleARN("sysdig-role") + ", made by hand")
				err := second.Create(ctx, params)
				var se *cfnsim.StackError
				switch {
				case err == nil:
					return errors.New("the create succeeded; OnExisting=Fail must refuse a registration it did not make")
				case !errors.As(err, &se) || se.LogicalID != "SysdigProvider":
					return fmt.Errorf("the create failed elsewhere: %w", err)
				}
				p.line("  CloudFormation shows: " + err.Error())
				return nil
			},
			expect: func(s *state) error {
				if err := s.providers(1); err != nil {
					return err
				}
				if h := s.held[0]; h.Alias != "made-by-hand" || h.Updates != 0 {
					return fmt.Errorf("the hand-made provider was touched: %+v", h)
				}
				p.line("  the rollback left the hand-made provider exactly as it was")
				return nil
			},
			stack: second,
		},
	}

	var failures []string
	start := time.Now()
	for i, st := range steps {
		p.step(i+1, len(steps), st.title, st.params)
		stk := stack
		if st.stack != nil {
			stk = st.stack
		}
		before := len(stk.Events())
		beforeID, _, _ := stk.Resource("SysdigProvider")
		t0 := time.Now()
		runErr := st.run(ctx, st.params)
		elapsed := time.Since(t0)
		s := &state{stack: stk, held: env.Sysdig.Providers(), events: stk.Events()[before:], beforeID: beforeID}
		p.holds(s.held)
		if outs, err := stk.Outputs(); err == nil && len(stk.Events()) > 0 && st.stack == nil && st.title != "delete the stack" {
			p.outputs(outs)
		}
		err := runErr
		if err == nil {
			err = st.expect(s)
		}
		if err != nil {
			p.fail(err, elapsed)
			p.logTail(env.Logs(), 25)
			failures = append(failures, fmt.Sprintf("step %d (%s): %v", i+1, st.title, err))
			break
		}
		p.ok(elapsed)
	}
	if len(failures) == 0 {
		if err := p.metricRecords(env.Logs, customRequests(stack, second)); err != nil {
			failures = append(failures, err.Error())
			p.line("✘ " + err.Error())
		}
	}
	if leaks := leakedSecrets(env); leaks != "" {
		failures = append(failures, leaks)
		p.line("✘ " + leaks)
	}
	if len(failures) > 0 {
		return fmt.Errorf("demo failed: %s", strings.Join(failures, "; "))
	}
	p.line("")
	p.line(fmt.Sprintf("All %d steps behaved as CloudFormation and Sysdig should, in %s. The function's %d log lines hold neither the token nor a ResponseURL signature.",
		len(steps), time.Since(start).Round(time.Millisecond), len(env.Logs())))
	return nil
}

type step struct {
	title  string
	params map[string]string
	run    func(context.Context, map[string]string) error
	expect func(*state) error
	stack  *cfnsim.Stack // nil: the demo's main stack
}

// state is what a step left behind.
type state struct {
	stack    *cfnsim.Stack
	held     []sysdigemu.StoredProvider
	events   []cfnsim.Event
	beforeID string
}

func (s *state) providers(n int) error {
	if len(s.held) != n {
		return fmt.Errorf("Sysdig holds %d providers, want %d", len(s.held), n)
	}
	return nil
}

func (s *state) provider(i int, role, alias string, regions []string) error {
	p := s.held[i]
	got := slices.Clone(p.Regions)
	sort.Strings(got)
	if p.RoleARN != role || p.Alias != alias || !slices.Equal(got, regions) {
		return fmt.Errorf("Sysdig holds role %s alias %q regions %v, want %s %q %v", p.RoleARN, p.Alias, got, role, alias, regions)
	}
	return nil
}

// requests checks the sequence of phase:RequestType sent to one custom resource.
func (s *state) requests(logicalID string, want ...string) error {
	var got []string
	for _, e := range s.events {
		if e.LogicalID == logicalID {
			if e.Status != "SUCCESS" {
				return fmt.Errorf("%s %s answered %s: %s", e.RequestType, logicalID, e.Status, e.Reason)
			}
			got = append(got, e.Phase+":"+e.RequestType)
		}
	}
	if !slices.Equal(got, want) {
		return fmt.Errorf("%s received %v, want %v", logicalID, got, want)
	}
	return nil
}

func (s *state) samePhysicalID(logicalID string) error {
	now, _, _ := s.stack.Resource(logicalID)
	if now != s.beforeID {
		return fmt.Errorf("%s changed physical id (%s → %s): an in-place update must keep it", logicalID, s.beforeID, now)
	}
	return nil
}

func (s *state) outputs(want map[string]string) error {
	got, err := s.stack.Outputs()
	if err != nil {
		return err
	}
	for k, v := range want {
		if got[k] != v {
			return fmt.Errorf("output %s = %q, want %q", k, got[k], v)
		}
	}
	return nil
}

// leakedSecrets scans the function's logs for the token and for ResponseURL signatures.
func leakedSecrets(env *localrun.Env) string {
	for _, line := range env.Logs() {
		if strings.Contains(line, env.Token) {
			return "a function log line holds the Sysdig token"
		}
		if strings.Contains(line, "X-Amz-Signature=") {
			return "a function log line holds a ResponseURL signature"
		}
	}
	return ""
}

func functionTimeout(t *cfnsim.Template) time.Duration {
	for _, r := range t.Resources {
		if r.Type != "AWS::Lambda::Function" {
			continue
		}
		var secs int
		if _, err := fmt.Sscan(fmt.Sprint(r.Properties["Timeout"]), &secs); err == nil && secs > 0 {
			return time.Duration(secs) * time.Second
		}
	}
	return 300 * time.Second
}
