package operator

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"

	"sysdig-aws-connect/internal/sysdigemu"
	"sysdig-aws-connect/internal/version"
)

func TestVersionAndHelp(t *testing.T) {
	v := version.Version()
	runCases(t, []tc{
		{name: "--version", args: []string{"--version"}, raw: true,
			want: expect{code: 0, stdout: []string{Name + " " + v + " (module sysdig-aws-connect"}, noStderr: true}},
		{name: "version", args: []string{"version"}, raw: true,
			want: expect{code: 0, stdout: []string{Name + " " + v, "go1."}, noStderr: true}},
		{name: "version json", args: []string{"version", "-o", "json"}, raw: true,
			want: expect{code: 0, stdout: []string{`"version": "` + v + `"`, `"module": "sysdig-aws-connect"`, `"goVersion"`}}},
		{name: "help", args: []string{"help"}, raw: true,
			want: expect{code: 0, stdout: []string{"Usage: sysdig-connect", "whoami", "register", "check", "version", "--verbose", "--version"}}},
		{name: "help of a command", args: []string{"help", "register"}, raw: true,
			want: expect{code: 0, stdout: []string{"register", "--role-arn", "--on-existing", "--alias"}, notStdout: []string{"Show the AWS caller"}}},
		{name: "help of a subcommand", args: []string{"help", "providers", "list"}, raw: true,
			want: expect{code: 0, stdout: []string{"providers list"}}},
		{name: "help of an unknown command", args: []string{"help", "frobnicate"}, raw: true,
			want: expect{code: 2, stderr: []string{"frobnicate", Name + " help"}}},
	})
}

func TestEnvironment(t *testing.T) {
	runCases(t, []tc{
		{name: "SYSDIG_MONITOR_URL names the endpoint", setup: func(h *harness) { h.env[URLEnv] = h.url },
			args: []string{"external-id"}, raw: true,
			want: expect{code: 0, stdout: []string{sysdigemu.DefaultExternalID}}},
		{name: "a flag wins over the environment", setup: func(h *harness) { h.env[URLEnv] = "http://127.0.0.1:1" },
			args: []string{"external-id"},
			want: expect{code: 0, stdout: []string{sysdigemu.DefaultExternalID}}},
		{name: "SYSDIG_REGION is checked like the flag", setup: func(h *harness) { h.env[RegionEnv] = "mars1" },
			args: []string{"external-id"}, raw: true,
			want: expect{code: 2, stderr: []string{RegionEnv + `="mars1" is not a Sysdig region`, "eu1"}}},
		{name: "both endpoint variables are ambiguous", setup: func(h *harness) { h.env[URLEnv] = h.url; h.env[RegionEnv] = "eu1" },
			args: []string{"external-id"}, raw: true,
			want: expect{code: 2, stderr: []string{"both " + URLEnv + " and " + RegionEnv}}},
		{name: "no endpoint names the variables", args: []string{"external-id"}, raw: true,
			want: expect{code: 2, stderr: []string{"--sysdig-region", "--api-url", RegionEnv, URLEnv}}},
		{name: "SYSDIG_API_TOKEN still works", setup: func(h *harness) { delete(h.env, TokenEnv); h.env[LegacyTokenEnv] = testToken },
			args: []string{"check", "--role-arn", otherRole},
			want: expect{code: 1, stdout: []string{"[ OK ] Sysdig API token: read from the environment variable " + LegacyTokenEnv}}},
		{name: "SYSDIG_MONITOR_API_TOKEN wins over the old name", setup: func(h *harness) { h.env[LegacyTokenEnv] = "stale-token-value" },
			args: []string{"external-id"},
			want: expect{code: 0, stdout: []string{sysdigemu.DefaultExternalID}}},
	})
}

// refusedURL is a loopback URL nothing listens on.
func refusedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestUnreachableFailsAtOnce(t *testing.T) {
	url := refusedURL(t)
	for _, args := range [][]string{{"--api-url", url, "providers", "list"}, {"--api-url", url, "external-id"}, {"--api-url", url, "register", "--role-arn", otherRole}} {
		t.Run(strings.Join(args[2:], " "), func(t *testing.T) {
			h := newHarness(t)
			code, stdout, stderr := h.runRaw(args...)
			t.Logf("stderr: %s", stderr)
			if code != ExitFailure || stdout != "" {
				t.Errorf("exit %d stdout %q, want 1 and nothing", code, stdout)
			}
			for _, want := range []string{"not reachable", "connection refused", "check --api-url (" + url + ")", "server is running"} {
				if !strings.Contains(stderr, want) {
					t.Errorf("stderr lacks %q", want)
				}
			}
			if strings.Contains(stderr, "retrying") || strings.Count(stderr, "\n") != 1 {
				t.Errorf("want one line and no retry:\n%s", stderr)
			}
		})
	}
	t.Run("check still runs the AWS step", func(t *testing.T) {
		h := newHarness(t)
		code, stdout, _ := h.runRaw("--api-url", url, "check")
		if code != ExitFailure || !strings.Contains(stdout, "[FAIL] Sysdig API and token") || !strings.Contains(stdout, "[ OK ] AWS role: "+testStackRole) {
			t.Errorf("exit %d:\n%s", code, stdout)
		}
	})
}

func TestFatalDial(t *testing.T) {
	for _, c := range []struct {
		name  string
		err   error
		fatal bool
	}{
		{"no such host", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}}, true},
		{"refused", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, true},
		{"DNS timeout", &net.OpError{Op: "dial", Err: &net.DNSError{Err: "i/o timeout", IsTimeout: true}}, false},
		{"DNS server failing", &net.DNSError{Err: "server misbehaving", IsTemporary: true}, false},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, false},
		{"deadline", context.DeadlineExceeded, false},
	} {
		if got := fatalDial(c.err); got != c.fatal {
			t.Errorf("%s: fatalDial = %v, want %v", c.name, got, c.fatal)
		}
	}
}

func TestRetriesAreOneShortLineEach(t *testing.T) {
	fault := func(h *harness) {
		h.emu.Inject(sysdigemu.Fault{Method: "GET", PathPrefix: "/api/providers", Statuses: []int{503}})
	}
	runCases(t, []tc{
		{name: "quiet", setup: fault, args: []string{"providers", "list"},
			want:  expect{code: 0, stderr: []string{Name + ": retrying (2/2): GET /api/providers: 503 Service Unavailable\n"}},
			after: func(t *testing.T, _ *harness, _ string) {}},
		{name: "verbose", setup: fault, args: []string{"--verbose", "providers", "list"},
			want: expect{code: 0, stderr: []string{"warning: sysdig: retrying", "status=503", "wait="}}},
	})
	// The quiet line stays short whatever the server says.
	h := newHarness(t)
	fault(h)
	_, _, stderr := h.run("providers", "list")
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		if len(line) > 100 {
			t.Errorf("retry line of %d characters: %s", len(line), line)
		}
	}
}

func TestSuggestedCommandsArePasteable(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"region flag", []string{"--sysdig-region", "EU1", "deregister", "7"}, nil, "sysdig-connect --sysdig-region eu1 providers list"},
		{"region from the environment", []string{"deregister", "7"}, map[string]string{RegionEnv: "us2"}, "sysdig-connect --sysdig-region us2 providers list"},
		{"token secret and api version", []string{"--sysdig-region", "us1", "--token-secret", "my secret", "--provider-api", "v2", "deregister", "7"}, nil,
			"sysdig-connect --sysdig-region us1 --token-secret 'my secret' --provider-api v2 providers list"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var g cli
			a := &app{g: &g.globals, env: func(k string) string { return c.env[k] }}
			g.ProviderAPI = "v1"
			for i := 0; i < len(c.args); i++ {
				switch c.args[i] {
				case "--sysdig-region":
					g.SysdigRegion = c.args[i+1]
					i++
				case "--token-secret":
					g.TokenSecret = c.args[i+1]
					i++
				case "--provider-api":
					g.ProviderAPI = c.args[i+1]
					i++
				}
			}
			if _, err := a.endpoint(); err != nil {
				t.Fatal(err)
			}
			if got := a.suggest("providers", "list"); got != c.want {
				t.Errorf("suggest = %q, want %q", got, c.want)
			}
		})
	}
	// And the suggestion really runs: paste what a failed register prints.
	h := newHarness(t)
	seed(otherRole, "hand-made")(h)
	_, _, stderr := h.run("register", "--role-arn", otherRole, "--alias", "it's mine")
	i := strings.Index(stderr, "keep it with: ")
	if i < 0 {
		t.Fatalf("no suggestion in %q", stderr)
	}
	line := stderr[i+len("keep it with: "):]
	line = line[:strings.Index(line, "; or remove it")]
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh to split the suggested command")
	}
	argv, err := exec.Command("sh", "-c", "set -- "+line+`; for a in "$@"; do printf '%s\n' "$a"; done`).Output()
	if err != nil {
		t.Fatal(err)
	}
	words := strings.Split(strings.TrimSuffix(string(argv), "\n"), "\n")
	if words[0] != Name {
		t.Fatalf("suggestion %q does not start with %s", line, Name)
	}
	code, stdout, stderr := h.runRaw(words[1:]...)
	if code != ExitOK || !strings.Contains(stdout, "it's mine") {
		t.Errorf("the pasted suggestion %q: exit %d\n%s%s", line, code, stdout, stderr)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"plain":                 "plain",
		"arn:aws:iam::1:role/x": "arn:aws:iam::1:role/x",
		"https://h:8443/p":      "https://h:8443/p",
		"two words":             "'two words'",
		"it's":                  `'it'\''s'`,
		"":                      "''",
		"$(rm -rf /)":           "'$(rm -rf /)'",
		"US_EAST_1,EU_WEST_1":   "US_EAST_1,EU_WEST_1",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
