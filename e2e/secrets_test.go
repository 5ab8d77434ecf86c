package e2e

import (
	"net/http"
	"testing"

	"sysdig-aws-connect/internal/localrun"
	"sysdig-aws-connect/internal/sysdigemu"
	"sysdig-aws-connect/internal/testutil"
)

// realisticToken has no 8-character piece that ordinary text holds by chance.
const realisticToken = "9c4e1a7b-2f3d-4b8e-a6c5-0d7f3e2b1a94"

// tokenPieceIn returns the first 8-character piece of realisticToken in text.
func tokenPieceIn(text string) string { return testutil.SecretPiece(text, realisticToken) }

// TestTokenEchoedBySysdig runs the real bootstrap against a Sysdig (or a proxy in front
// of it) that echoes the token back in each way it can, and checks that no 8-character
// piece of the token reaches the CloudFormation answer (Reason, PhysicalResourceId,
// Data: the whole PUT body) or any line the function logged.
func TestTokenEchoedBySysdig(t *testing.T) {
	cases := []struct {
		name   string
		fault  sysdigemu.Fault
		reason string
	}{
		{"authorization in a 70 KiB error body, across the cut", sysdigemu.Fault{Echo: "header", Method: http.MethodPost, Statuses: []int{400}, BodySize: 70 << 10}, "400"},
		{"json-escaped in an error message", sysdigemu.Fault{Echo: "json-escaped", Method: http.MethodPost, Statuses: []int{400}}, "400"},
		{"percent-encoded in a proxy page, retried", sysdigemu.Fault{Echo: "percent", Statuses: []int{502, 502, 502, 502, 502, 502, 502, 502, 502, 502}}, "502"},
		{"as the id of the create answer", sysdigemu.Fault{Echo: "id", Method: http.MethodPost}, "holds the API token"},
		{"in the alias of the create answer", sysdigemu.Fault{Echo: "alias", Method: http.MethodPost}, "holds the API token"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			timeout := templateTimeout(t)
			env := start(t, localrun.Options{FunctionTimeout: timeout, Token: realisticToken})
			env.Sysdig.Inject(tc.fault)
			out := send(t, env, request{requestType: "Create", props: providerProps(env)})
			checkAnswer(t, env, out, timeout, "FAILED", tc.reason)
			t.Logf("Reason: %s", out.resp.Reason)
			if p := tokenPieceIn(out.resp.Reason + out.resp.PhysicalResourceID); p != "" {
				t.Fatalf("the answer holds %q of the token: %q", p, out.resp.Reason)
			}
			for _, a := range out.attempts {
				if p := tokenPieceIn(string(a.Body)); p != "" {
					t.Fatalf("a PUT to the ResponseURL holds %q of the token", p)
				}
			}
			logs := env.Logs()
			if len(logs) == 0 {
				t.Fatal("the function logged nothing")
			}
			for _, line := range logs {
				if p := tokenPieceIn(line); p != "" {
					t.Fatalf("a log line holds %q of the token: %.300s", p, line)
				}
			}
		})
	}
}
