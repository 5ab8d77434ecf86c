// Package sysdigemu is an in-memory emulator of the part of the Sysdig
// Monitor API that sysdig-aws-connect uses, for tests and local runs. It is
// an http.Handler (Server) that can also listen on a loopback port (Start,
// StartOn) and is safe for concurrent use.
//
// # API routes (authenticated with "Authorization: Bearer <token>")
//
//	GET    /api/users/me                                → {"user":{…,"customer":{…,"externalId":…}}}   (SEED)
//	GET    /api/v2/providers/info/awsCloudInformation   → {"externalId":…,"awsSystemAccountId":…}     (TF; 404 with WithoutCloudInformation)
//	GET    /api/providers            POST /api/providers            (v1, SEED)
//	GET|PUT|DELETE /api/providers/{id}                              (v1, ASSUMED)
//	GET    /api/v2/providers         POST /api/v2/providers         (v2, TF; list ASSUMED)
//	GET|PUT|DELETE /api/v2/providers/{id}                           (v2, TF)
//
// Behaviour that is not documented by Sysdig and is therefore ASSUMED (see
// sysdig-api.md): one store is shared by both API versions; registering a role
// that is already registered answers 409; v1 create answers 200 (the seed's
// example gives no status) and v2 create 201; v1 DELETE answers 204 and v2
// DELETE 200; unknown ids answer 404; list answers {"providers":[…]} in both
// versions; v1 status is an object {"status":"configured",…} (SEED) and v2
// status a plain string; v2 accepts and returns "alias". A new provider's
// status is "configured" (SEED). Request bodies are validated the way a real
// API would (missing role → 400, additionalOptions must be a JSON string
// holding {"regions":[…]} with Sysdig region names such as US_EAST_1).
//
// With WithRateLimit or WithRateLimitPerMinute every API answer states the limit in
// X-RateLimit-Limit (requests per minute), and a call beyond it answers 429 with an
// integer Retry-After and Sysdig's public-API body {"type":"too_many_requests",
// "message":"Too many requests","details":[]}. WithoutV2ProviderList makes
// GET /api/v2/providers answer 404, as a tenant that offers no list there (no Sysdig
// source documents one). WithProviderListInCreateAnswers makes a v1 create answer
// {"providers":[…]} with every provider, as Sysdig's guide says it does. BytesSent counts the answer bytes sent, for benchmarks.
//
// A Fault with Echo answers with the request's Authorization header sent back, as a
// broken proxy or API might: raw in an error body (straddling the client's 64 KiB cut
// with a larger BodySize), JSON-escaped, percent-encoded, or as a 2xx answer's id or
// alias (see echo.go), for tests that no piece of the token leaves the client.
//
// A wrong or missing token answers 401; a token registered with
// WithReadOnlyToken answers 403 on writes. Errors use the shape chosen with
// WithErrorShape.
//
// # Admin routes (no authentication; the emulator listens on loopback only)
//
// These let a test in another process (for example the Lambda binary under
// AWS's runtime emulator) drive the emulator:
//
//	GET  /_emulator/providers  → JSON array of StoredProvider
//	GET  /_emulator/requests   → JSON array of RequestRecord (API calls only)
//	POST /_emulator/faults     ← JSON Fault; durations as Go duration strings ("250ms") or nanoseconds
//	POST /_emulator/seed       ← JSON {"RoleARN":…,"Alias":…,"Regions":[…]} → {"id":"…"}
//	POST /_emulator/reset      → 204; forgets providers, requests and faults
//
// Example:
//
//	curl -s -XPOST http://127.0.0.1:PORT/_emulator/faults \
//	  -d '{"Method":"POST","PathPrefix":"/api/providers","Statuses":[500,503]}'
package sysdigemu
