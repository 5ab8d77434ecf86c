package driftcheck

// Handler is the Lambda handler name the bootstrap serves the drift check under; the
// registrar's is "bootstrap". Lambda passes it to the runtime in _HANDLER.
const Handler = "drift-check"

// ScheduleInput is the payload of the schedule: the only event the handler accepts.
const ScheduleInput = `{"check":"drift"}`

// The function's environment, as the deployer template sets it. Everything else (the
// StackSet, target OUs, registry table, token secret, TLS choice) the check reads from the
// deployer stack itself, as `sysdig-connect org status` does.
const (
	// EnvDeployerStackID is the deployer stack's ARN (the registrar has the same variable).
	EnvDeployerStackID = "DEPLOYER_STACK_ID"
	// EnvSysdigAPIURL is the Sysdig API base URL the stack resolved from its parameters.
	EnvSysdigAPIURL = "SYSDIG_API_URL"
	// EnvConcurrentInstances is the registrar's concurrency: the check paces its Sysdig
	// reads to the share of Sysdig's rate limit one registrar instance takes.
	EnvConcurrentInstances = "CONCURRENT_INSTANCES"
	// EnvMaxSysdigReads caps the Sysdig reads of one run (default DefaultMaxSysdigReads);
	// the template does not set it.
	EnvMaxSysdigReads = "MAX_SYSDIG_READS"
)
