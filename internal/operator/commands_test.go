package operator

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"sysdig-aws-connect/internal/sysdig"
	"sysdig-aws-connect/internal/sysdigemu"
)

// tc is one command-line case.
type tc struct {
	name  string
	opts  []sysdigemu.Option // emulator options
	setup func(h *harness)
	args  []string
	raw   bool // do not add --api-url
	want  expect
	after func(t *testing.T, h *harness, stdout string)
}

func runCases(t *testing.T, cases []tc) {
	t.Helper()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h := newHarness(t, c.opts...)
			if c.setup != nil {
				c.setup(h)
			}
			var code int
			var stdout, stderr string
			if c.raw {
				code, stdout, stderr = h.runRaw(c.args...)
			} else {
				code, stdout, stderr = h.run(c.args...)
			}
			t.Logf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			c.want.check(t, code, stdout, stderr)
			if c.after != nil && !t.Failed() {
				c.after(t, h, stdout)
			}
		})
	}
}

func seed(role, alias string, regions ...string) func(h *harness) {
	return func(h *harness) { h.emu.Seed(sysdig.ProviderSpec{RoleARN: role, Alias: alias, Regions: regions}) }
}

func noEnvToken(h *harness) { delete(h.env, TokenEnv) }

func TestWhoami(t *testing.T) {
	runCases(t, []tc{
		{name: "text", args: []string{"whoami"}, raw: true,
			want: expect{code: 0, noStderr: true, stdout: []string{"Account:   " + testAccount, "Caller:    " + testCallerARN, "Partition: aws", "Stack role ARN: " + testStackRole}}},
		{name: "json", args: []string{"whoami", "-o", "json"}, raw: true,
			want: expect{code: 0, noStderr: true},
			after: func(t *testing.T, _ *harness, stdout string) {
				got := decode[map[string]string](t, stdout)
				want := map[string]string{"account": testAccount, "arn": testCallerARN, "userId": "AROAEXAMPLE:jane", "partition": "aws", "roleArn": testStackRole}
				for k, v := range want {
					if got[k] != v {
						t.Errorf("%s = %q, want %q", k, got[k], v)
					}
				}
			}},
		{name: "role path and name", args: []string{"whoami", "--role-path", "/sysdig/", "--role-name", "monitor"}, raw: true,
			want: expect{code: 0, stdout: []string{"arn:aws:iam::123456789012:role/sysdig/monitor"}}},
		{name: "gov partition", setup: func(h *harness) { h.sts.arn = "arn:aws-us-gov:iam::210987654321:user/ops" }, args: []string{"whoami"}, raw: true,
			want: expect{code: 0, stdout: []string{"Partition: aws-us-gov", "arn:aws-us-gov:iam::210987654321:role/sysdig-role"}}},
		{name: "bad role name", args: []string{"whoami", "--role-name", "bad name!"}, raw: true,
			want: expect{code: 2, stderr: []string{"--role-name", "not an IAM role name"}},
			after: func(t *testing.T, h *harness, _ string) {
				if h.sts.calls != 0 {
					t.Errorf("STS was called %d times for a usage error", h.sts.calls)
				}
			}},
		{name: "bad role path", args: []string{"whoami", "--role-path", "sysdig"}, raw: true,
			want: expect{code: 2, stderr: []string{"--role-path", "starts and ends with /"}}},
		{name: "sts refuses", setup: func(h *harness) { h.sts.fail = true }, args: []string{"whoami"}, raw: true,
			want: expect{code: 1, stderr: []string{"GetCallerIdentity", "ExpiredToken", "configure AWS credentials"}}},
	})
}

func TestExternalID(t *testing.T) {
	runCases(t, []tc{
		{name: "cloud information", opts: []sysdigemu.Option{sysdigemu.WithSysdigAWSAccountID("999988887777")}, args: []string{"external-id"},
			want: expect{code: 0, noStderr: true, stdout: []string{"External ID:        " + sysdigemu.DefaultExternalID, "Sysdig AWS account: 999988887777", sysdig.CloudInformationPath}}},
		{name: "older tenant falls back to users/me", opts: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()}, args: []string{"external-id"},
			want: expect{code: 0, stdout: []string{sysdigemu.DefaultExternalID, "not reported by this tenant", DefaultSysdigAWSAccountID, sysdig.UsersMePath}}},
		{name: "json", args: []string{"external-id", "--output", "json"},
			want: expect{code: 0},
			after: func(t *testing.T, _ *harness, stdout string) {
				got := decode[map[string]string](t, stdout)
				if got["externalId"] != sysdigemu.DefaultExternalID || got["sysdigAwsAccountId"] != sysdigemu.DefaultSysdigAWSAccountID || got["source"] != sysdig.CloudInformationPath {
					t.Errorf("got %v", got)
				}
			}},
		{name: "token from secret name", setup: noEnvToken, args: []string{"external-id", "--token-secret", "sysdig/token"},
			want: expect{code: 0, stdout: []string{sysdigemu.DefaultExternalID}},
			after: func(t *testing.T, h *harness, _ string) {
				if !slices.Equal(h.sm.regions, []string{""}) {
					t.Errorf("secrets manager regions %q, want the configured region", h.sm.regions)
				}
			}},
		{name: "token from secret ARN uses its region", setup: noEnvToken,
			args: []string{"external-id", "--token-secret", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:sysdig/token-AbCdEf"},
			want: expect{code: 0, stdout: []string{sysdigemu.DefaultExternalID}},
			after: func(t *testing.T, h *harness, _ string) {
				if !slices.Equal(h.sm.regions, []string{"eu-west-1"}) {
					t.Errorf("secrets manager regions %q, want eu-west-1", h.sm.regions)
				}
			}},
		{name: "token from JSON secret", setup: noEnvToken, args: []string{"external-id", "--token-secret", "sysdig/json"},
			want: expect{code: 0, stdout: []string{sysdigemu.DefaultExternalID}}},
		{name: "secret flag wins over env", setup: func(h *harness) { h.env[TokenEnv] = "wrong-token" }, args: []string{"external-id", "--token-secret", "sysdig/token"},
			want: expect{code: 0, stdout: []string{sysdigemu.DefaultExternalID}}},
		{name: "missing secret", args: []string{"external-id", "--token-secret", "nope"},
			want: expect{code: 1, stderr: []string{"--token-secret nope", "ResourceNotFoundException", "check --token-secret", "full ARN"}, notStdout: []string{"ApiTokenSecretId"}}},
		{name: "missing token", setup: noEnvToken, args: []string{"external-id"},
			want: expect{code: 2, stderr: []string{"no Sysdig API token", TokenEnv, "--token-secret"}}},
		{name: "wrong token", setup: func(h *harness) { h.env[TokenEnv] = "not-the-token" }, args: []string{"external-id"},
			want: expect{code: 1, stderr: []string{"401", "administrator"}}},
		{name: "unknown region", args: []string{"--sysdig-region", "mars1", "external-id"},
			want: expect{code: 2, stderr: []string{`"mars1" is not a Sysdig region`, "us1"}}},
		{name: "region and url together", args: []string{"--sysdig-region", "eu1", "--api-url", "https://sysdig.example.com", "external-id"},
			want: expect{code: 2, stderr: []string{"can't be used together"}}},
		{name: "plain http off loopback", args: []string{"--api-url", "http://sysdig.example.com", "external-id"},
			want: expect{code: 2, stderr: []string{"--api-url", "plain http"}}},
		{name: "not a url", args: []string{"--api-url", "sysdig.example.com", "external-id"},
			want: expect{code: 2, stderr: []string{"--api-url"}}},
		{name: "no endpoint", args: []string{"external-id"}, raw: true,
			want: expect{code: 2, stderr: []string{"no Sysdig endpoint", "--sysdig-region", "--api-url"}}},
		{name: "unreachable", args: []string{"--api-url", "http://127.0.0.1:1", "external-id"},
			want: expect{code: 1, stderr: []string{"connection refused", "reachable"}}},
	})
}

func TestProviders(t *testing.T) {
	const seededRole = "arn:aws:iam::485365068658:role/sysdig-access3"
	runCases(t, []tc{
		{name: "list empty", args: []string{"providers", "list"},
			want: expect{code: 0, noStderr: true, stdout: []string{"No AWS providers registered", "(v1 API)"}}},
		{name: "list empty json", args: []string{"providers", "list", "-o", "json"},
			want: expect{code: 0, stdout: []string{"[]"}}},
		{name: "list table", setup: func(h *harness) {
			seed(seededRole, "role_delegation")(h)
			seed(otherRole, "scoped", "us-east-1", "eu-west-1")(h)
		}, args: []string{"providers", "list"},
			want: expect{code: 0, stdout: []string{"ID", "ROLE ARN", "STATUS", seededRole, "role_delegation", "all", otherRole, "US_EAST_1,EU_WEST_1", "configured"}}},
		{name: "list json", setup: seed(otherRole, "scoped", "us-east-1"), args: []string{"providers", "list", "--output", "json"},
			want: expect{code: 0},
			after: func(t *testing.T, h *harness, stdout string) {
				got := decode[[]providerJSON](t, stdout)
				id := h.emu.Providers()[0].ID
				if len(got) != 1 || got[0].ID != id || got[0].RoleARN != otherRole || got[0].Alias != "scoped" || !slices.Equal(got[0].Regions, []string{"US_EAST_1"}) || got[0].Status != "configured" {
					t.Errorf("got %+v", got)
				}
			}},
		{name: "list v2", setup: seed(otherRole, "scoped"), args: []string{"--provider-api", "v2", "providers", "list"},
			want: expect{code: 0, stdout: []string{"other-role", "configured"}},
			after: func(t *testing.T, h *harness, _ string) {
				if r := h.emu.Requests(); len(r) != 1 || r[0].Path != "/api/v2/providers" {
					t.Errorf("requests %+v, want one GET /api/v2/providers", r)
				}
			}},
		{name: "list unauthorized", setup: func(h *harness) { h.env[TokenEnv] = "bad" }, args: []string{"providers", "list"},
			want: expect{code: 1, stderr: []string{"list providers", "401"}}},
		{name: "list server error", setup: func(h *harness) {
			h.emu.Inject(sysdigemu.Fault{Method: "GET", PathPrefix: "/api/providers", Statuses: []int{500, 500}})
		}, args: []string{"providers", "list"},
			want: expect{code: 1, stderr: []string{"500", "retry later"}}},
		{name: "get text", setup: seed(seededRole, "role_delegation", "US_EAST_1"), args: []string{"providers", "get", "1"},
			want: expect{code: 0, stdout: []string{"Provider ID: 1", "Role ARN:    " + seededRole, "Alias:       role_delegation", "Regions:     US_EAST_1", "Status:      configured"}}},
		{name: "get json", setup: seed(seededRole, "role_delegation"), args: []string{"providers", "get", "1", "-o", "json"},
			want: expect{code: 0},
			after: func(t *testing.T, _ *harness, stdout string) {
				got := decode[providerJSON](t, stdout)
				if got.ID != "1" || got.RoleARN != seededRole || got.Regions == nil || len(got.Regions) != 0 {
					t.Errorf("got %+v", got)
				}
			}},
		{name: "get not found", args: []string{"providers", "get", "42"},
			want: expect{code: 1, stderr: []string{"provider 42 not found", "providers list"}}},
		{name: "get without id", args: []string{"providers", "get"},
			want: expect{code: 2, stderr: []string{"<id>"}}},
		{name: "get bad id", args: []string{"providers", "get", "../etc"},
			want: expect{code: 1, stderr: []string{"not valid"}}},
	})
}

func TestRegister(t *testing.T) {
	runCases(t, []tc{
		{name: "explicit role text", args: []string{"register", "--role-arn", otherRole},
			want: expect{code: 0, noStderr: true, stdout: []string{"Registered role " + otherRole, "Provider ID: 1", "Alias:       role_delegation", "Regions:     all", "Status:      configured"}},
			after: func(t *testing.T, h *harness, _ string) {
				ps := h.emu.Providers()
				if len(ps) != 1 || ps[0].RoleARN != otherRole || ps[0].Alias != "role_delegation" || ps[0].CreatedVia != "v1" {
					t.Errorf("store %+v", ps)
				}
			}},
		{name: "default role from whoami with regions json", args: []string{"register", "--regions", "us-east-1,EU_WEST_1,us-east-1", "--alias", "prod", "-o", "json"},
			want: expect{code: 0},
			after: func(t *testing.T, h *harness, stdout string) {
				got := decode[registerResult](t, stdout)
				if got.Action != "created" || got.Provider.RoleARN != testStackRole || got.Provider.Alias != "prod" || !slices.Equal(got.Provider.Regions, []string{"US_EAST_1", "EU_WEST_1"}) {
					t.Errorf("got %+v", got)
				}
				if ps := h.emu.Providers(); len(ps) != 1 || ps[0].RoleARN != testStackRole {
					t.Errorf("store %+v", ps)
				}
			}},
		{name: "v2", args: []string{"--provider-api", "v2", "register", "--role-arn", otherRole},
			want: expect{code: 0, stdout: []string{"Registered role"}},
			after: func(t *testing.T, h *harness, _ string) {
				if ps := h.emu.Providers(); len(ps) != 1 || ps[0].CreatedVia != "v2" {
					t.Errorf("store %+v", ps)
				}
			}},
		{name: "existing fails by default", setup: seed(otherRole, "hand-made"), args: []string{"register", "--role-arn", otherRole},
			want: expect{code: 1, stderr: []string{"already has provider 1", "register --role-arn " + otherRole + " --on-existing adopt", "deregister 1 --role-arn " + otherRole}},
			after: func(t *testing.T, h *harness, _ string) {
				if ps := h.emu.Providers(); len(ps) != 1 || ps[0].Alias != "hand-made" || ps[0].Updates != 0 {
					t.Errorf("store changed: %+v", ps)
				}
			}},
		{name: "adopt matching", setup: seed(otherRole, "role_delegation"), args: []string{"register", "--role-arn", otherRole, "--on-existing", "adopt"},
			want: expect{code: 0, stdout: []string{"Adopted the existing provider", "already match", "Provider ID: 1"}},
			after: func(t *testing.T, h *harness, _ string) {
				if ps := h.emu.Providers(); len(ps) != 1 || ps[0].Updates != 0 {
					t.Errorf("store %+v", ps)
				}
			}},
		{name: "adopt and update", setup: seed(otherRole, "hand-made"), args: []string{"register", "--role-arn", otherRole, "--on-existing", "adopt", "--regions", "us-west-2", "-o", "json"},
			want: expect{code: 0},
			after: func(t *testing.T, h *harness, stdout string) {
				got := decode[registerResult](t, stdout)
				if got.Action != "updated" || got.Provider.ID != "1" {
					t.Errorf("got %+v", got)
				}
				// Only the regions were named: the alias stays as it was.
				if ps := h.emu.Providers(); len(ps) != 1 || ps[0].Alias != "hand-made" || !slices.Equal(ps[0].Regions, []string{"US_WEST_2"}) {
					t.Errorf("store %+v", ps)
				}
			}},
		{name: "adopt with only an alias keeps the regions", setup: seed(otherRole, "hand-made", "US_EAST_1", "EU_WEST_1"),
			args: []string{"register", "--role-arn", otherRole, "--on-existing", "adopt", "--alias", "prod"},
			want: expect{code: 0, stdout: []string{"and set its alias.\n", "Alias:       prod", "US_EAST_1,EU_WEST_1"}},
			after: func(t *testing.T, h *harness, _ string) {
				if ps := h.emu.Providers(); len(ps) != 1 || ps[0].Alias != "prod" || !slices.Equal(ps[0].Regions, []string{"US_EAST_1", "EU_WEST_1"}) {
					t.Errorf("adopting with --alias changed the regions: %+v", ps)
				}
			}},
		{name: "adopt without flags changes nothing", setup: seed(otherRole, "hand-made", "US_EAST_1"),
			args: []string{"register", "--role-arn", otherRole, "--on-existing", "adopt"},
			want: expect{code: 0, stdout: []string{"already match", "hand-made", "US_EAST_1"}},
			after: func(t *testing.T, h *harness, _ string) {
				if ps := h.emu.Providers(); len(ps) != 1 || ps[0].Updates != 0 {
					t.Errorf("store %+v", ps)
				}
			}},
		{name: "adopt with --regions all widens on request", setup: seed(otherRole, "hand-made", "US_EAST_1"),
			args: []string{"register", "--role-arn", otherRole, "--on-existing", "adopt", "--regions", "all"},
			want: expect{code: 0, stdout: []string{"and set its regions.\n", "Regions:     all"}},
			after: func(t *testing.T, h *harness, _ string) {
				if ps := h.emu.Providers(); len(ps) != 1 || len(ps[0].Regions) != 0 || ps[0].Alias != "hand-made" {
					t.Errorf("store %+v", ps)
				}
			}},
		{name: "bad region", args: []string{"register", "--role-arn", otherRole, "--regions", "us-east-1,mars-north-9x"},
			want:  expect{code: 2, stderr: []string{"--regions", "not an AWS region"}},
			after: func(t *testing.T, h *harness, _ string) { noRequests(t, h) }},
		{name: "bad role arn", args: []string{"register", "--role-arn", "arn:aws:iam::123:user/x"},
			want:  expect{code: 2, stderr: []string{"--role-arn", "not an IAM role ARN"}},
			after: func(t *testing.T, h *harness, _ string) { noRequests(t, h) }},
		{name: "bad on-existing", args: []string{"register", "--role-arn", otherRole, "--on-existing", "replace"},
			want: expect{code: 2, stderr: []string{"--on-existing"}}},
		{name: "no aws credentials and no role arn", setup: func(h *harness) { h.sts.fail = true }, args: []string{"register"},
			want:  expect{code: 1, stderr: []string{"GetCallerIdentity", "or pass --role-arn"}},
			after: func(t *testing.T, h *harness, _ string) { noRequests(t, h) }},
		{name: "read-only token", opts: []sysdigemu.Option{sysdigemu.WithReadOnlyToken("viewer-token")}, setup: func(h *harness) { h.env[TokenEnv] = "viewer-token" },
			args: []string{"register", "--role-arn", otherRole},
			want: expect{code: 1, stderr: []string{"403", "administrator"}}},
		{name: "conflict", setup: func(h *harness) {
			h.emu.Inject(sysdigemu.Fault{Method: "POST", PathPrefix: "/api/providers", Statuses: []int{409}})
		}, args: []string{"register", "--role-arn", otherRole},
			want: expect{code: 1, stderr: []string{"409", "--on-existing adopt"}}},
		{name: "missing token", setup: noEnvToken, args: []string{"register", "--role-arn", otherRole},
			want: expect{code: 2, stderr: []string{"no Sysdig API token"}}},
	})
}

func noRequests(t *testing.T, h *harness) {
	t.Helper()
	if r := h.emu.Requests(); len(r) != 0 {
		t.Errorf("Sysdig was called for a usage error: %+v", r)
	}
}

func TestDeregister(t *testing.T) {
	gone := func(t *testing.T, h *harness, _ string) {
		if ps := h.emu.Providers(); len(ps) != 0 {
			t.Errorf("store %+v, want empty", ps)
		}
	}
	kept := func(t *testing.T, h *harness, _ string) {
		if ps := h.emu.Providers(); len(ps) != 1 {
			t.Errorf("store %+v, want the provider kept", ps)
		}
	}
	runCases(t, []tc{
		{name: "delete", setup: seed(otherRole, "x"), args: []string{"deregister", "1"},
			want: expect{code: 0, noStderr: true, stdout: []string{"Deregistered provider 1."}}, after: gone},
		{name: "delete json", setup: seed(otherRole, "x"), args: []string{"deregister", "1", "-o", "json"},
			want: expect{code: 0, stdout: []string{`"result": "deleted"`}}, after: gone},
		{name: "already gone", args: []string{"deregister", "7"},
			want: expect{code: 0, stdout: []string{"Provider 7 is already gone"}}},
		{name: "already gone json", args: []string{"deregister", "7", "-o", "json"},
			want: expect{code: 0, stdout: []string{`"result": "already-gone"`}}},
		{name: "role matches", setup: seed(otherRole, "x"), args: []string{"deregister", "1", "--role-arn", otherRole},
			want: expect{code: 0, stdout: []string{"Deregistered provider 1."}}, after: gone},
		{name: "role matches on v2", setup: seed(otherRole, "x"), args: []string{"--provider-api", "v2", "deregister", "1", "--role-arn", otherRole},
			want: expect{code: 0, stdout: []string{"Deregistered provider 1."}}, after: gone},
		{name: "role differs", setup: seed(otherRole, "x"), args: []string{"deregister", "1", "--role-arn", testStackRole},
			want: expect{code: 1, stderr: []string{"refused", "holds role " + otherRole, "nothing was removed"}}, after: kept},
		{name: "the answer names no role", setup: func(h *harness) {
			seed(otherRole, "x")(h)
			h.emu.SetRoleInReadAnswers(false)
		}, args: []string{"deregister", "1", "--role-arn", otherRole},
			want: expect{code: 1, stderr: []string{"refused", "does not name its role", "nothing was removed", "without --role-arn"}}, after: kept},
		{name: "role given and already gone", args: []string{"deregister", "3", "--role-arn", testStackRole},
			want: expect{code: 0, stdout: []string{"already gone"}}},
		{name: "bad role arn", setup: seed(otherRole, "x"), args: []string{"deregister", "1", "--role-arn", "sysdig-role"},
			want: expect{code: 2, stderr: []string{"--role-arn"}}, after: kept},
		{name: "unauthorized", setup: func(h *harness) {
			seed(otherRole, "x")(h)
			h.env[TokenEnv] = "bad"
		}, args: []string{"deregister", "1"},
			want: expect{code: 1, stderr: []string{"401"}}, after: kept},
		{name: "read-only token", opts: []sysdigemu.Option{sysdigemu.WithReadOnlyToken("viewer-token")}, setup: func(h *harness) {
			seed(otherRole, "x")(h)
			h.env[TokenEnv] = "viewer-token"
		}, args: []string{"deregister", "1"},
			want: expect{code: 1, stderr: []string{"403"}}, after: kept},
	})
}

func TestCheck(t *testing.T) {
	runCases(t, []tc{
		{name: "all good", setup: seed(testStackRole, "role_delegation"), args: []string{"check"},
			want: expect{code: 0, noStderr: true, stdout: []string{
				"[ OK ] Sysdig API token: read from the environment variable " + TokenEnv,
				"[ OK ] Sysdig API and token:", sysdigemu.DefaultExternalID,
				"[ OK ] AWS role: " + testStackRole + " (from the caller's account " + testAccount + ")",
				"[ OK ] Role trust: principal: role sysdig-role trusts Sysdig's account " + sysdigemu.DefaultSysdigAWSAccountID + " (reported by Sysdig)",
				"[ OK ] Role trust: external ID: the trust requires sts:ExternalId " + sysdigemu.DefaultExternalID,
				"[ OK ] Role registered at Sysdig: provider 1",
				"[ OK ] Provider status: configured",
				"All checks passed."}}},
		{name: "all good json with secret and explicit role", setup: func(h *harness) {
			seed(otherRole, "role_delegation")(h)
			noEnvToken(h)
			h.sts.fail = true // not needed with --role-arn
		}, args: []string{"check", "--role-arn", otherRole, "--token-secret", "sysdig/token", "-o", "json"},
			want: expect{code: 0},
			after: func(t *testing.T, h *harness, stdout string) {
				if len(h.sm.regions) != 1 {
					t.Errorf("the secret was read %d times, want once", len(h.sm.regions))
				}
				got := decode[struct {
					OK     bool
					Checks []checkLine
				}](t, stdout)
				if !got.OK || len(got.Checks) != 8 {
					t.Fatalf("got %+v", got)
				}
				for _, c := range got.Checks {
					if c.Result != resultOK {
						t.Errorf("check %+v", c)
					}
				}
				if h.sts.calls != 0 {
					t.Errorf("STS called %d times with --role-arn", h.sts.calls)
				}
			}},
		{name: "not registered", args: []string{"check"},
			want: expect{code: 1, stderr: []string{"check failed: 1 of 8"}, stdout: []string{
				"[FAIL] Role registered at Sysdig: no provider", "fix: register it: " + Name + " --api-url http://127.0.0.1:",
				"register --role-arn " + testStackRole, "[SKIP] Provider status"}, notStdout: []string{"All checks passed"}}},
		{name: "no token", setup: noEnvToken, args: []string{"check", "-o", "json"},
			want: expect{code: 1, stderr: []string{"check failed: 1 of 8"}},
			after: func(t *testing.T, _ *harness, stdout string) {
				got := decode[struct {
					OK     bool
					Checks []checkLine
				}](t, stdout)
				want := []string{resultFail, resultSkip, resultOK, resultSkip, resultSkip, resultOK, resultSkip, resultSkip}
				var results []string
				for _, c := range got.Checks {
					results = append(results, c.Result)
				}
				if got.OK || !slices.Equal(results, want) {
					t.Fatalf("results %v, want %v: %+v", results, want, got)
				}
				if !strings.Contains(got.Checks[0].Fix, TokenEnv) || !strings.Contains(got.Checks[0].Fix, "--token-secret") {
					t.Errorf("token fix %q", got.Checks[0].Fix)
				}
			}},
		{name: "wrong token", setup: func(h *harness) { h.env[TokenEnv] = "not-the-token" }, args: []string{"check"},
			want: expect{code: 1, stdout: []string{"[FAIL] Sysdig API and token:", "401", "fix: put a current administrator's Sysdig Monitor API token in", "[SKIP] Role registered"}}},
		{name: "missing secret", setup: noEnvToken, args: []string{"check", "--token-secret", "nope"},
			want: expect{code: 1, stdout: []string{"[FAIL] Sysdig API token:", "ResourceNotFoundException", "fix: check --token-secret"}, notStdout: []string{"ApiTokenSecretId"}}},
		{name: "no aws credentials", setup: func(h *harness) {
			seed(testStackRole, "x")(h)
			h.sts.fail = true
		}, args: []string{"check"},
			want: expect{code: 1, stdout: []string{"[ OK ] Sysdig API and token", "[FAIL] AWS role:", "ExpiredToken", "or pass --role-arn", "[SKIP] Role registered"}}},
		{name: "sysdig unreachable", args: []string{"--api-url", "http://127.0.0.1:1", "check"},
			want: expect{code: 1, stdout: []string{"[FAIL] Sysdig API and token:", "fix: check --sysdig-region or --api-url"}}},
		{name: "no endpoint is a usage error", args: []string{"check"}, raw: true,
			want: expect{code: 2, stderr: []string{"no Sysdig endpoint"}}},
		{name: "bad role name is a usage error", args: []string{"check", "--role-name", "a b"},
			want: expect{code: 2, stderr: []string{"--role-name"}}},
	})
}

func TestStatusLooksBad(t *testing.T) {
	for _, c := range []struct {
		status string
		bad    bool
	}{
		{"configured", false}, {"", false}, {"ok", false}, {"in progress", false},
		{"error", true}, {"ERROR: cannot assume role", true}, {"failed", true}, {"AccessDenied", true},
	} {
		if got := statusLooksBad(c.status); got != c.bad {
			t.Errorf("statusLooksBad(%q) = %v, want %v", c.status, got, c.bad)
		}
	}
}

func TestUsage(t *testing.T) {
	runCases(t, []tc{
		{name: "help", args: []string{"--help"}, raw: true,
			want: expect{code: 0, stdout: []string{"Usage: sysdig-connect", "whoami", "external-id", "providers list", "register", "deregister", "check"}}},
		{name: "command help", args: []string{"register", "--help"}, raw: true,
			want: expect{code: 0, stdout: []string{"--role-arn", "--on-existing", "--regions"}}},
		{name: "no command", args: nil, raw: true, want: expect{code: 2}},
		{name: "unknown command", args: []string{"frobnicate"}, raw: true, want: expect{code: 2, stderr: []string{"--help"}}},
		{name: "token as a flag is refused without echo", args: []string{"--token=" + testToken, "providers", "list"},
			want: expect{code: 2, stderr: []string{"unknown flag --token"}}},
		{name: "token as a separate value", args: []string{"--token", testToken, "providers", "list"},
			want: expect{code: 2}},
		{name: "bad timeout", args: []string{"--timeout", "0s", "providers", "list"},
			want: expect{code: 2, stderr: []string{"--timeout"}}},
		{name: "bad output", args: []string{"-o", "yaml", "providers", "list"},
			want: expect{code: 2, stderr: []string{"--output"}}},
		{name: "bad provider api", args: []string{"--provider-api", "v3", "providers", "list"},
			want: expect{code: 2, stderr: []string{"--provider-api"}}},
		{name: "timeout bounds the command", setup: func(h *harness) {
			h.emu.Inject(sysdigemu.Fault{Method: "GET", PathPrefix: "/api/providers", Hang: true})
		}, args: []string{"--timeout", "300ms", "providers", "list"},
			want: expect{code: 1, stderr: []string{"list providers", "no answer within --timeout 300ms"}}},
	})
}

// TestTokenNeverPrinted runs against a server that echoes the token in its
// error bodies; the harness fails any case that writes it.
func TestTokenNeverPrinted(t *testing.T) {
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprintf(w, `{"message":"token %s is not valid"}`, strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	}))
	t.Cleanup(echo.Close)
	for _, args := range [][]string{
		{"external-id"}, {"providers", "list"}, {"providers", "get", "1"}, {"register", "--role-arn", otherRole},
		{"deregister", "1"}, {"deregister", "1", "--role-arn", otherRole}, {"check"}, {"check", "-o", "json"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			h := newHarness(t)
			code, stdout, stderr := h.runRaw(append([]string{"--api-url", echo.URL}, args...)...)
			if code != ExitFailure || !strings.Contains(stdout+stderr, "401") {
				t.Errorf("exit %d, want 1 with the 401:\nstdout: %s\nstderr: %s", code, stdout, stderr)
			}
		})
	}
}

func TestInsecureSkipTLSVerify(t *testing.T) {
	emu := sysdigemu.New(sysdigemu.WithToken(testToken))
	srv := httptest.NewUnstartedServer(emu)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	runCases(t, []tc{
		{name: "self-signed refused", args: []string{"--api-url", srv.URL, "external-id"},
			want: expect{code: 1, stderr: []string{"certificate", "--insecure-skip-tls-verify"}}},
		{name: "self-signed accepted with warning", args: []string{"--api-url", srv.URL, "--insecure-skip-tls-verify", "external-id"},
			want: expect{code: 0, stdout: []string{sysdigemu.DefaultExternalID}, stderr: []string{"warning:", "TLS certificate verification is OFF"}}},
	})
}

func TestRedactor(t *testing.T) {
	for _, c := range []struct {
		name    string
		secrets []string
		in, out string
	}{
		{"uuid token", []string{"e71d7c0f-501e-47d4-a159-39da8b716f44"}, "Bearer e71d7c0f-501e-47d4-a159-39da8b716f44 rejected", "Bearer *** rejected"},
		{"two secrets", []string{"first-secret", "second-secret"}, "first-secret second-secret", "*** ***"},
		{"short values are not redacted", []string{"x"}, "context deadline exceeded", "context deadline exceeded"},
		{"blank", []string{"   "}, "nothing", "nothing"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := &redactor{}
			for _, s := range c.secrets {
				r.add(s)
			}
			var b strings.Builder
			w := &redactingWriter{w: &b, r: r}
			n, err := fmt.Fprint(w, c.in)
			if err != nil || n != len(c.in) || b.String() != c.out {
				t.Errorf("wrote %q (n=%d, err=%v), want %q", b.String(), n, err, c.out)
			}
		})
	}
}
