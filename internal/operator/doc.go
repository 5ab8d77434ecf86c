// Package operator is the logic of sysdig-connect, the command-line tool for the
// people who run the AWS-to-Sysdig role-delegation integration: it shows who the
// AWS caller is and which role the stack creates, reads the tenant's external ID,
// lists, shows, registers and removes Sysdig AWS providers by hand, and checks the
// whole set-up step by step (the "Verify" step of Sysdig's role-delegation guide).
//
// Run executes one command line in-process against the dependencies in Deps, so
// tests drive every command with stand-ins for Sysdig, STS and Secrets Manager.
// cmd/sysdig-connect only wires Run to the process.
//
// The Sysdig endpoint comes from --sysdig-region or --api-url, or from the
// SYSDIG_REGION or SYSDIG_MONITOR_URL environment variables (the names Sysdig's
// Terraform provider uses). The token comes from a Secrets Manager secret
// (--token-secret) or from SYSDIG_MONITOR_API_TOKEN (SYSDIG_API_TOKEN still works),
// never from a flag value: a token on the command line would end up in shell
// history and in ps output.
//
// A Sysdig host that does not resolve or refuses connections stops the command at
// once; errors that may pass (5xx, 429, dropped connections) are retried a few
// times, each retry announced by one short line on stderr (details with --verbose).
// Every command line the CLI suggests repeats the endpoint and token flags in use.
// The token is never printed; every line written is redacted in case a server or
// library echoes it.
//
// Exit codes: 0 success, 1 failure, 2 usage error (bad flags, values or
// missing configuration).
package operator
