package operator

import (
	"testing"

	"sysdig-aws-connect/internal/sysdigemu"
)

// providers list flags roles registered more than once, from one list of the tenant.
func TestProvidersListFlagsDuplicateRoles(t *testing.T) {
	const dupRole = "arn:aws:iam::485365068658:role/sysdig-access3"
	twice := func(h *harness) {
		seed(dupRole, "first")(h)
		seed(otherRole, "single")(h)
		// The same role again, with a path and other case: IAM's name is the same.
		seed("arn:aws:iam::485365068658:role/team/SYSDIG-ACCESS3", "second")(h)
	}
	runCases(t, []tc{
		{name: "text", setup: twice, args: []string{"providers", "list"},
			want: expect{code: 0, stdout: []string{"1 role(s) registered more than once", dupRole + ": providers 1, 3",
				"SysdigProviderId output", "sysdig-connect --api-url ", " deregister <id> --role-arn " + dupRole}, notStdout: []string{otherRole + ": providers", "the ProviderId output"}},
			after: func(t *testing.T, h *harness, _ string) {
				if n := len(h.emu.Requests()); n != 1 {
					t.Errorf("%d requests, want one list for the whole tenant", n)
				}
			}},
		{name: "json", setup: twice, args: []string{"providers", "list", "-o", "json"},
			want: expect{code: 0},
			after: func(t *testing.T, _ *harness, stdout string) {
				got := decode[[]providerJSON](t, stdout)
				if len(got) != 3 || !got[0].DuplicateRole || got[1].DuplicateRole || !got[2].DuplicateRole {
					t.Errorf("got %+v", got)
				}
			}},
		{name: "no duplicates, no warning", setup: seed(otherRole, "single"), args: []string{"providers", "list"},
			want: expect{code: 0, noStderr: true, notStdout: []string{"more than once"}}},
		{name: "tenant without the v2 list", opts: []sysdigemu.Option{sysdigemu.WithoutV2ProviderList()}, args: []string{"--provider-api", "v2", "providers", "list"},
			want: expect{code: 1, stderr: []string{"does not list providers", "sysdig-connect --api-url ", " --provider-api v1 providers list"}}},
	})
}

// register on a tenant without the v2 list registers, and explains a 409.
func TestRegisterWithoutProviderList(t *testing.T) {
	noList := []sysdigemu.Option{sysdigemu.WithoutV2ProviderList()}
	runCases(t, []tc{
		{name: "registers", opts: noList, args: []string{"--provider-api", "v2", "register", "--role-arn", otherRole},
			want: expect{code: 0, stdout: []string{"Registered role " + otherRole}}},
		{name: "409 explained", opts: noList, setup: seed(otherRole, "by hand"), args: []string{"--provider-api", "v2", "register", "--role-arn", otherRole},
			want: expect{code: 1, stderr: []string{"409", "already holds this role"}}},
	})
}
