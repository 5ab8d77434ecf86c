// Package sysdig is the client for the part of the Sysdig Monitor API that
// registers an AWS account through IAM role delegation: the tenant's external
// ID and the AWS "provider" that points Sysdig at a role in the customer's
// account.
//
// Every call, and where its shape comes from, is listed in the team's design
// document (sysdig-api.md). Nobody on the team has a live Sysdig tenant, so
// shapes taken from Sysdig's own documentation (the "seed") or from Sysdig's
// production Terraform client are facts, and everything else is an
// assumption. Each assumption is marked "ASSUMED" in a comment at the single
// place in this package that depends on it, so it stays easy to change:
//
//   - v1 GET /api/providers/{id} answers {"provider":{…}} like create does.
//   - v1 GET /api/providers answers {"providers":[…]}; v2 GET /api/v2/providers
//     answers the same or a bare array. No source documents the v2 list: a 404 or
//     405 to either list means the tenant does not offer one (ErrListingNotSupported),
//     which callers treat as a capability missing, not as a failure.
//   - v1 PUT /api/providers/{id} takes the create body plus "id".
//   - v1 DELETE answers 200 or 204; both versions answer 404 for an unknown id.
//   - v1 create answers 200 or 201.
//   - v2 accepts and returns "alias".
//   - v2 "status" is either a string or an object like v1's {"status":"…"}.
//   - Registering a role that is already registered answers 409.
//
// Requests are paced to the rate limit Sysdig states in X-RateLimit-Limit
// (requests per minute, on every answer of its public API), shared evenly by the
// instances that use the token at once (WithConcurrentInstances), with
// golang.org/x/time/rate; a request that could only leave after the caller's
// deadline fails at once instead. Lists are decoded as a stream, one provider at
// a time, and never fail for their size.
//
// Requests are retried with exponential backoff and jitter
// (github.com/cenkalti/backoff/v5) on 429 (honouring Retry-After), on 5xx and
// on connection errors, never on other 4xx; a Retry-After wait gets up to half
// again as jitter so that instances do not come back in the same instant. Every
// attempt and every wait is bounded by the caller's context and by the maximum
// number of attempts.
// Creating a provider is not idempotent, so when an attempt's outcome is
// ambiguous the client looks the provider up before trying again, and marks a
// provider found that way (Provider.FoundByLookup): it is not proof that the call
// created it.
//
// The API token is sent only in the Authorization header; it is never logged
// and is scrubbed from any error message in case a server echoes it.
package sysdig
