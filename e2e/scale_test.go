package e2e

import (
	"strings"
	"testing"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/localrun"
	"sysdig-aws-connect/internal/sysdigemu"
)

// A warm function reads the token once; after the token is rotated (the secret holds a
// new one, Sysdig refuses the old), Sysdig's 401 makes it read the secret once more and the
// request succeeds.
func TestTokenRotationWhileWarm(t *testing.T) {
	env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t)})
	reads := func() int { return env.Secrets.Count(localaws.OpGetSecretValue, "") }

	first := send(t, env, request{requestType: "Create", props: providerProps(env)})
	checkAnswer(t, env, first, templateTimeout(t), "SUCCESS", "")
	second := send(t, env, request{requestType: "Create", props: providerProps(env, "RoleArn", roleARN(localrun.AccountID, "sysdig-role-2"))})
	checkAnswer(t, env, second, templateTimeout(t), "SUCCESS", "")
	if n := reads(); n != 1 {
		t.Fatalf("%d reads of the secret for two requests to a warm instance", n)
	}

	const rotated = "rotated-token-0b6c2f4e-1d2a-4c1b-9a7e-5f3d2c1b0a99"
	env.Secrets.PutSecret(localrun.SecretName, rotated)
	env.Sysdig.RotateToken(rotated)
	del := send(t, env, request{requestType: "Delete", physicalID: first.resp.PhysicalResourceID, props: providerProps(env)})
	checkAnswer(t, env, del, templateTimeout(t), "SUCCESS", "")
	if n := reads(); n != 2 {
		t.Fatalf("%d reads of the secret, want one more after the rotation", n)
	}
	if ps := env.Sysdig.Providers(); len(ps) != 1 {
		t.Fatalf("Sysdig holds %+v after the delete", ps)
	}
	for _, line := range env.Logs() {
		if strings.Contains(line, rotated) {
			t.Fatalf("a log line holds the new token: %.200s", line)
		}
	}
}

// A tenant that offers no list at /api/v2/providers: registering works with one call,
// and a role registered before answers FAILED with a Reason saying what to do.
func TestTenantWithoutV2List(t *testing.T) {
	env := start(t, localrun.Options{FunctionTimeout: templateTimeout(t), Sysdig: []sysdigemu.Option{sysdigemu.WithoutV2ProviderList()}})
	taken := roleARN(localrun.AccountID, "registered-by-hand")
	env.Sysdig.Seed(sysdigProviderSpec(taken))

	ok := send(t, env, request{requestType: "Create", sns: true, props: providerProps(env, "ProviderApi", "v2")})
	checkAnswer(t, env, ok, templateTimeout(t), "SUCCESS", "")
	if n := env.Sysdig.Stats().Requests; n != 1 {
		t.Fatalf("%d Sysdig calls for one Create", n)
	}
	refused := send(t, env, request{requestType: "Create", sns: true, props: providerProps(env, "ProviderApi", "v2", "RoleArn", taken)})
	checkAnswer(t, env, refused, templateTimeout(t), "FAILED", "does not list providers")
	if !strings.Contains(refused.resp.Reason, "sysdig-connect --api-url ") {
		t.Fatalf("Reason %q does not say how to remove it", refused.resp.Reason)
	}
	for _, out := range []outcome{refused, ok} {
		del := send(t, env, request{requestType: "Delete", sns: true, physicalID: out.resp.PhysicalResourceID, props: providerProps(env, "ProviderApi", "v2")})
		checkAnswer(t, env, del, templateTimeout(t), "SUCCESS", "")
	}
	if ps := env.Sysdig.Providers(); len(ps) != 1 || ps[0].RoleARN != taken {
		t.Fatalf("Sysdig holds %+v", ps)
	}
}
