package e2e

import (
	"net/http"
	"testing"
	"time"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localrun"
	"sysdig-aws-connect/internal/registrar"
	"sysdig-aws-connect/internal/sysdigemu"
)

// TestFaults sends a Create through the real binary for each fault and checks, for every
// one: exactly one final answer, the right status, at most 4096 bytes, before the
// function's deadline, no provider leaked or wrongly deleted, and neither the token nor
// the ResponseURL signature in any log line or answer.
func TestFaults(t *testing.T) {
	const existingRole = "arn:aws:iam::" + localrun.AccountID + ":role/registered-before"
	type fault struct {
		name        string
		timeout     time.Duration // function timeout; 0 = the template's
		sysdig      []sysdigemu.Fault
		secrets     func(*localaws.SecretsManager)
		secretID    string
		failPuts    int
		wantStatus  string
		wantReason  string
		wantCreated bool // Sysdig holds the registration afterwards
	}
	cases := []fault{
		{name: "sysdig 401", sysdig: []sysdigemu.Fault{{Statuses: []int{401}}}, wantStatus: "FAILED", wantReason: "administrator"},
		{name: "sysdig 403 on register", sysdig: []sysdigemu.Fault{{Method: http.MethodPost, Statuses: []int{403}}}, wantStatus: "FAILED", wantReason: "403"},
		{name: "sysdig 404 on register", sysdig: []sysdigemu.Fault{{Method: http.MethodPost, Statuses: []int{404}}}, wantStatus: "FAILED", wantReason: "404"},
		{name: "sysdig 409 on register", sysdig: []sysdigemu.Fault{{Method: http.MethodPost, Statuses: []int{409}}}, wantStatus: "FAILED", wantReason: "409"},
		{name: "sysdig 429 with Retry-After", sysdig: []sysdigemu.Fault{{Method: http.MethodPost, Statuses: []int{429, 429}, RetryAfter: time.Second}}, wantStatus: "SUCCESS", wantCreated: true},
		{name: "sysdig 500 on register", sysdig: []sysdigemu.Fault{{Method: http.MethodPost, Statuses: []int{500}}}, wantStatus: "SUCCESS", wantCreated: true},
		{name: "sysdig 503 twice", sysdig: []sysdigemu.Fault{{Statuses: []int{503, 503}}}, wantStatus: "SUCCESS", wantCreated: true},
		{name: "sysdig 500 throughout", sysdig: []sysdigemu.Fault{{Method: http.MethodPost, Statuses: []int{500, 500, 500, 500, 500, 500, 500, 500, 500}}}, wantStatus: "FAILED", wantReason: "gave up after 8 attempts"},
		{name: "slow sysdig", sysdig: []sysdigemu.Fault{{Latency: 700 * time.Millisecond, Times: 10}}, wantStatus: "SUCCESS", wantCreated: true},
		{name: "sysdig hangs past the deadline", timeout: 6 * time.Second, sysdig: []sysdigemu.Fault{{Hang: true, Times: 100}}, wantStatus: "FAILED", wantReason: "deadline"},
		{name: "connection reset", sysdig: []sysdigemu.Fault{{Method: http.MethodPost, PathPrefix: "/api/providers", ResetConn: true, Times: 2}}, wantStatus: "SUCCESS", wantCreated: true},
		{name: "malformed JSON", sysdig: []sysdigemu.Fault{{Method: http.MethodPost, PathPrefix: "/api/providers", Malformed: true}}, wantStatus: "FAILED", wantReason: "answered 200 but"},
		{name: "20 KB error body", sysdig: []sysdigemu.Fault{{Method: http.MethodPost, Statuses: []int{400}, BodySize: 20 << 10}}, wantStatus: "FAILED", wantReason: "400"},
		{name: "secret not found", secretID: "missing/secret", wantStatus: "FAILED", wantReason: "not found"},
		{name: "secret access denied", secrets: func(s *localaws.SecretsManager) { s.Deny(localaws.OpGetSecretValue, "") }, wantStatus: "FAILED", wantReason: "access denied"},
		{name: "secret throttled once", secrets: func(s *localaws.SecretsManager) { s.Inject(localaws.OpGetSecretValue, "", localaws.ErrThrottling) }, wantStatus: "SUCCESS", wantCreated: true},
		{name: "json secret without token", secrets: func(s *localaws.SecretsManager) { s.PutSecret("json/no-token", `{"apiKey":"x"}`) }, secretID: "json/no-token", wantStatus: "FAILED", wantReason: `"token" field`},
		{name: "response URL fails the first PUTs", failPuts: 2, wantStatus: "SUCCESS", wantCreated: true},
		// Every Sysdig call takes 3.5 s and the function has 5 s (3 s of it for the work, the
		// rest to answer): the one POST cannot finish, the answer must still get out, and
		// name the provider if one was registered.
		{name: "function timeout close to the work", timeout: 5 * time.Second, sysdig: []sysdigemu.Fault{{Latency: 3500 * time.Millisecond, Times: 20}}, wantStatus: "FAILED", wantReason: "deadline"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			timeout := tc.timeout
			if timeout == 0 {
				timeout = templateTimeout(t)
			}
			opts := localrun.Options{FunctionTimeout: timeout}
			if tc.secretID != "" {
				// The stack was deployed with this secret (which may since have gone).
				opts.FunctionEnv = map[string]string{"ALLOWED_TOKEN_SECRET_IDS": tc.secretID}
			}
			env := start(t, opts)
			before := env.Sysdig.Seed(sysdigProviderSpec(existingRole))
			for _, f := range tc.sysdig {
				env.Sysdig.Inject(f)
			}
			if tc.secrets != nil {
				tc.secrets(env.Secrets)
			}
			props := providerProps(env)
			if tc.secretID != "" {
				props["ApiTokenSecretId"] = tc.secretID
			}
			out := send(t, env, request{requestType: "Create", props: props, failPuts: tc.failPuts})
			checkAnswer(t, env, out, timeout, tc.wantStatus, tc.wantReason)
			if tc.failPuts > 0 && len(out.attempts) != tc.failPuts+1 {
				t.Fatalf("%d PUT attempts, want %d", len(out.attempts), tc.failPuts+1)
			}

			// Nothing leaked, nothing wrongly deleted.
			held := env.Sysdig.Providers()
			ours := ""
			if ref, err := registrar.ParseProviderRef(out.resp.PhysicalResourceID); err == nil {
				ours = ref.ID
			}
			foundBefore := false
			for _, p := range held {
				switch {
				case p.ID == before:
					foundBefore = true
				case p.ID != ours:
					t.Fatalf("Sysdig holds provider %s that the answer (%q) does not name: leaked", p.ID, out.resp.PhysicalResourceID)
				}
			}
			if !foundBefore {
				t.Fatal("the registration that existed before was deleted")
			}
			if tc.wantCreated && (ours == "" || len(held) != 2) {
				t.Fatalf("want the registration: answer %q, Sysdig %+v", out.resp.PhysicalResourceID, held)
			}
			// Whatever the Create answered, its rollback Delete leaves only what was there.
			del := send(t, env, request{requestType: "Delete", physicalID: out.resp.PhysicalResourceID, props: props})
			checkAnswer(t, env, del, timeout, "SUCCESS", "")
			if ps := env.Sysdig.Providers(); len(ps) != 1 || ps[0].ID != before {
				t.Fatalf("after the rollback Sysdig holds %+v", ps)
			}
		})
	}
}

// A request naming another Sysdig or another secret than the function was deployed with
// is refused before the token is read: a member account cannot have the token sent to
// a server of its choosing.
func TestRequestForAnotherSysdigOrSecret(t *testing.T) {
	env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t)})
	for _, kv := range [][2]string{
		{"SysdigApiUrl", "https://attacker.example"},
		{"ApiTokenSecretId", "arn:aws:secretsmanager:us-east-1:" + localrun.AccountID + ":secret:someone-elses"},
	} {
		out := send(t, env, request{requestType: "Create", sns: true, props: providerProps(env, kv[0], kv[1])})
		checkAnswer(t, env, out, templateTimeout(t), "FAILED", "refused")
		ext := send(t, env, request{requestType: "Create", sns: true, resourceType: "Custom::SysdigExternalId",
			props: map[string]any{"ServiceToken": "x", "SysdigApiUrl": "https://attacker.example", "ApiTokenSecretId": localrun.SecretName}})
		checkAnswer(t, env, ext, templateTimeout(t), "FAILED", "refused")
	}
	if n := len(env.Secrets.Requests()); n != 0 {
		t.Fatalf("%d reads of the secret", n)
	}
	if n := len(env.Sysdig.Requests()); n != 0 {
		t.Fatalf("%d calls reached Sysdig", n)
	}
}

// A request whose role belongs to another account than its stack is refused without a
// single call to Sysdig, whether it comes directly or through SNS.
func TestRequestForAnotherAccountsRole(t *testing.T) {
	env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t)})
	for _, sns := range []bool{false, true} {
		out := send(t, env, request{requestType: "Create", sns: sns, stackAccount: "210987654321", props: providerProps(env)})
		checkAnswer(t, env, out, templateTimeout(t), "FAILED", "refused")
		// And its Delete, naming a provider of the other account, is refused too.
		ref := registrar.ProviderRef{API: "v1", BaseURL: env.SysdigURL, ID: "1", RoleARN: roleARN(localrun.AccountID, "sysdig-role")}
		del := send(t, env, request{requestType: "Delete", sns: sns, stackAccount: "210987654321", physicalID: ref.String(), props: providerProps(env)})
		checkAnswer(t, env, del, templateTimeout(t), "FAILED", "refused")
	}
	if n := len(env.Sysdig.Requests()); n != 0 {
		t.Fatalf("%d calls reached Sysdig", n)
	}
	if n := len(env.Secrets.Requests()); n != 0 {
		t.Fatalf("%d calls reached Secrets Manager", n)
	}
}
