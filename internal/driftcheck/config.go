// Package driftcheck is the scheduled drift check: EventBridge Scheduler invokes the
// function's drift-check handler, which builds the organization's report with package
// orgreport (the code of `sysdig-connect org status`) and writes one CloudWatch metric
// per verdict in Embedded Metric Format, and one log line per account that is not OK.
package driftcheck

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// DefaultMaxSysdigReads caps one run's Sysdig reads: the run's cost stays bounded whatever
// the registry holds; providers beyond it are reported UNKNOWN, saying so.
const DefaultMaxSysdigReads = 10000

// Config is the drift check's configuration, from the function's environment.
type Config struct {
	StackID        string // the deployer stack's ARN
	SysdigURL      string
	Instances      int // the registrar's concurrency: the check takes one instance's share of Sysdig's rate limit
	MaxSysdigReads int
}

// ConfigFromEnv reads the configuration the deployer template sets; each missing or
// malformed value is named.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	get := func(k string) string { return strings.TrimSpace(getenv(k)) }
	c := Config{StackID: get(EnvDeployerStackID), SysdigURL: get(EnvSysdigAPIURL)}
	var missing []string
	for k, v := range map[string]string{EnvDeployerStackID: c.StackID, EnvSysdigAPIURL: c.SysdigURL} {
		if v == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		return Config{}, fmt.Errorf("drift check: %s not set: this function runs the drift check only as the organization (deployer) template configures it", strings.Join(slices.Sorted(slices.Values(missing)), " and "))
	}
	// arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/ID
	if parts := strings.SplitN(c.StackID, ":", 6); len(parts) != 6 || parts[2] != "cloudformation" || !strings.HasPrefix(parts[5], "stack/") {
		return Config{}, fmt.Errorf("drift check: %s=%q is not a CloudFormation stack ARN (arn:aws:cloudformation:REGION:ACCOUNT:stack/NAME/ID)", EnvDeployerStackID, c.StackID)
	}
	var err error
	if c.Instances, err = whole(get(EnvConcurrentInstances), 1, EnvConcurrentInstances); err != nil {
		return Config{}, err
	}
	if c.MaxSysdigReads, err = whole(get(EnvMaxSysdigReads), DefaultMaxSysdigReads, EnvMaxSysdigReads); err != nil {
		return Config{}, err
	}
	return c, nil
}

// whole reads a whole number from 1 to 1,000,000; def when empty.
func whole(v string, def int, name string) (int, error) {
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1_000_000 {
		return 0, fmt.Errorf("drift check: %s=%q: expected a whole number from 1 to 1000000", name, v)
	}
	return n, nil
}
