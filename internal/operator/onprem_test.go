package operator

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"sysdig-aws-connect/internal/localaws"
	"sysdig-aws-connect/internal/onprem"
	"sysdig-aws-connect/internal/sysdigemu"
)

const (
	sysdigRoot  = "arn:aws:iam::" + sysdigemu.DefaultSysdigAWSAccountID + ":root"
	onpremRole  = "arn:aws:iam::123456789012:role/sysdig-backend"
	trustedRole = "trusted-role"
)

func replaceRole(h *harness, trust string) {
	removeRole(h, "sysdig-role")
	if _, err := h.iam.CreateRole("sysdig-role", "/", trust); err != nil {
		h.t.Fatal(err)
	}
	grantCurrent(h.t, h.iam, "sysdig-role")
}

// check reads the role for real and names each mismatch with its fix.
func TestCheckVerifiesTheTrust(t *testing.T) {
	runCases(t, []tc{
		{name: "principal is not Sysdig's account", setup: func(h *harness) {
			seed(testStackRole, "x")(h)
			replaceRole(h, trustFor("arn:aws:iam::111122223333:root", sysdigemu.DefaultExternalID))
		}, args: []string{"check"},
			want: expect{code: 1, stderr: []string{"check failed: 1 of 8"}, stdout: []string{
				"[FAIL] Role trust: principal: role sysdig-role trusts arn:aws:iam::111122223333:root, not Sysdig's account 273107874544 (reported by Sysdig): Sysdig cannot assume it -- fix: redeploy the stack with SysdigAwsAccountId empty",
				"[ OK ] Role trust: external ID"}}},
		{name: "external ID differs", setup: func(h *harness) {
			seed(testStackRole, "x")(h)
			replaceRole(h, trustFor(sysdigRoot, "someone-elses-id"))
		}, args: []string{"check"},
			want: expect{code: 1, stdout: []string{"[ OK ] Role trust: principal",
				"[FAIL] Role trust: external ID: role sysdig-role requires sts:ExternalId someone-elses-id, but the tenant's external ID is " + sysdigemu.DefaultExternalID,
				"fix: redeploy the stack with ExternalId empty"}}},
		{name: "both wrong: two lines", setup: func(h *harness) {
			seed(testStackRole, "x")(h)
			replaceRole(h, `{"Version":"2012-10-17","Statement":[{"Action":"sts:AssumeRole","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::111122223333:root"}}]}`)
		}, args: []string{"check"},
			want: expect{code: 1, stderr: []string{"check failed: 2 of 8"}, stdout: []string{"[FAIL] Role trust: principal", "[FAIL] Role trust: external ID", "no sts:ExternalId condition"}}},
		{name: "on-prem principal", setup: func(h *harness) {
			seed(testStackRole, "x")(h)
			replaceRole(h, trustFor(onpremRole, sysdigemu.DefaultExternalID))
		}, args: []string{"check", "--onprem-principal", onpremRole},
			want: expect{code: 0, stdout: []string{"[ OK ] Role trust: principal: role sysdig-role trusts the on-prem principal " + onpremRole}}},
		{name: "on-prem role checked against Sysdig's account", setup: func(h *harness) {
			seed(testStackRole, "x")(h)
			replaceRole(h, trustFor(onpremRole, sysdigemu.DefaultExternalID))
		}, args: []string{"check"},
			want: expect{code: 1, stdout: []string{"[FAIL] Role trust: principal: role sysdig-role trusts " + onpremRole}}},
		{name: "tenant reports no account", opts: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()}, setup: seed(testStackRole, "x"), args: []string{"check"},
			want: expect{code: 0, stdout: []string{"[SKIP] Role trust: principal: Sysdig does not report its AWS account", "--sysdig-account-id", "[ OK ] Role trust: external ID"}}},
		{name: "tenant reports no account, given", opts: []sysdigemu.Option{sysdigemu.WithoutCloudInformation()}, setup: seed(testStackRole, "x"),
			args: []string{"check", "--sysdig-account-id", sysdigemu.DefaultSysdigAWSAccountID},
			want: expect{code: 0, stdout: []string{"[ OK ] Role trust: principal: role sysdig-role trusts Sysdig's account 273107874544 (--sysdig-account-id)"}}},
		{name: "role missing", setup: func(h *harness) { removeRole(h, "sysdig-role") }, args: []string{"check"},
			want: expect{code: 1, stdout: []string{"[FAIL] Role trust: principal: iam:GetRole sysdig-role: NoSuchEntity", "fix: deploy the stack in account 123456789012", "[SKIP] Role trust: external ID"}}},
		{name: "bad flags", args: []string{"check", "--onprem-principal", "x"}, want: expect{code: 2, stderr: []string{"--onprem-principal"}}},
		{name: "exclusive flags", args: []string{"check", "--onprem-principal", onpremRole, "--sysdig-account-id", "123456789012"}, want: expect{code: 2, stderr: []string{"exclude each other"}}},
	})
}

// onpremWorld: the IAM stand-in holds the on-prem user with one key, and a real-protocol
// Secrets Manager holds that key as the stack writes it.
type onpremWorld struct {
	h       *harness
	sm      *localaws.SecretsManager
	secret  string
	first   onprem.Credentials
	deps    Deps
	user    string
	secretN string
}

func newOnpremWorld(t *testing.T) *onpremWorld {
	h := newHarness(t)
	w := &onpremWorld{h: h, sm: localaws.NewSecretsManager("us-east-1", testAccount), user: "sysdig-onprem", secretN: "sysdig/onprem-credentials"}
	if _, err := h.iam.CreateUser(w.user, "/", ""); err != nil {
		t.Fatal(err)
	}
	k, err := h.iam.CreateAccessKey(w.user)
	if err != nil {
		t.Fatal(err)
	}
	w.first = onprem.Credentials{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey}
	w.secret = w.sm.PutSecret(w.secretN, w.first.SecretJSON())
	url, stop := w.sm.Start()
	t.Cleanup(stop)
	w.deps = h.deps()
	w.deps.Secrets = func(_ context.Context, region string) (SecretsAPI, error) {
		if region == "" {
			region = "us-east-1"
		}
		return secretsmanager.New(secretsmanager.Options{Region: region, BaseEndpoint: aws.String(url),
			Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""), RetryMaxAttempts: 1}), nil
	}
	return w
}

func (w *onpremWorld) run(args ...string) (int, string, string) {
	var out, errOut bytes.Buffer
	code := Run(context.Background(), args, &out, &errOut, func(string) string { return "" }, w.deps)
	return code, out.String(), errOut.String()
}

func (w *onpremWorld) stored(t *testing.T) onprem.Credentials {
	t.Helper()
	api, _ := w.deps.Secrets(context.Background(), "")
	v, gerr := api.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{SecretId: aws.String(w.secretN)})
	if gerr != nil {
		t.Fatal(gerr)
	}
	c, perr := onprem.ParseCredentials(aws.ToString(v.SecretString))
	if perr != nil {
		t.Fatal(perr)
	}
	return c
}

func secretFromManifest(t *testing.T, manifest string) corev1.Secret {
	t.Helper()
	first, _, _ := strings.Cut(manifest, "\n---\n")
	var s corev1.Secret
	if err := yaml.UnmarshalStrict([]byte(first), &s); err != nil {
		t.Fatalf("the manifest's Secret: %v\n%s", err, manifest)
	}
	return s
}

func TestOnpremK8sSecret(t *testing.T) {
	w := newOnpremWorld(t)
	for _, id := range []string{w.secretN, w.secret} {
		code, stdout, stderr := w.run("onprem", "k8s-secret", "--secret", id, "--namespace", "sysdigcloud", "--container", "sysdigcloud-api=api-server")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		s := secretFromManifest(t, stdout)
		if s.Namespace != "sysdigcloud" || s.Name != "aws-credentials" || string(s.Data[onprem.SecretKeyField]) != w.first.SecretAccessKey {
			t.Fatalf("Secret %+v", s.ObjectMeta)
		}
		if strings.Contains(stdout, w.first.SecretAccessKey) || strings.Contains(stderr, w.first.SecretAccessKey) {
			t.Fatal("the secret key was printed outside the manifest's base64")
		}
		if !strings.Contains(stdout, "name: api-server") || !strings.Contains(stdout, "name: sysdigcloud-collector") {
			t.Fatalf("patches:\n%s", stdout)
		}
	}
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"onprem", "k8s-secret"}, 2, "--secret"},
		{[]string{"onprem", "k8s-secret", "--secret", "nope"}, 1, "ResourceNotFoundException"},
		{[]string{"onprem", "k8s-secret", "--secret", w.secretN, "--namespace", "Bad_NS"}, 2, "namespace"},
		{[]string{"onprem", "k8s-secret", "--secret", w.secretN, "--container", "other=x"}, 2, "--container other"},
	} {
		code, _, stderr := w.run(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d with %q", c.args, code, stderr, c.code, c.want)
		}
	}
	// -o json: the same objects for programs.
	code, stdout, _ := w.run("-o", "json", "onprem", "k8s-secret", "--secret", w.secretN)
	var got struct {
		Secret  corev1.Secret
		Patches []map[string]any
	}
	if err := json.Unmarshal([]byte(stdout), &got); code != 0 || err != nil || got.Secret.Kind != "Secret" || len(got.Patches) != 3 ||
		string(got.Secret.Data[onprem.AccessKeyField]) != w.first.AccessKeyID {
		t.Fatalf("json: exit %d, %v\n%s", code, err, stdout)
	}
	w.sm.PutSecret("not-a-key", `{"token":"x"}`)
	if code, _, stderr := w.run("onprem", "k8s-secret", "--secret", "not-a-key"); code != 1 || !strings.Contains(stderr, `no "aws.accessKey" key`) {
		t.Errorf("a secret of another shape: exit %d, %q", code, stderr)
	}
}

// rotate-key: a second key in the secret and the manifest; the old one works until
// --delete-old, which never deletes the key in the secret.
func TestOnpremRotateKey(t *testing.T) {
	w := newOnpremWorld(t)
	code, stdout, stderr := w.run("onprem", "rotate-key", "--user", w.user, "--secret", w.secretN)
	if code != 0 {
		t.Fatalf("rotate: exit %d: %s", code, stderr)
	}
	next := w.stored(t)
	if next.AccessKeyID == w.first.AccessKeyID {
		t.Fatal("the secret still holds the old key")
	}
	if got := w.h.iam.AccessKeyIDs(w.user); len(got) != 2 || got[0] != w.first.AccessKeyID || got[1] != next.AccessKeyID {
		t.Fatalf("keys %v", got)
	}
	if s := secretFromManifest(t, stdout); string(s.Data[onprem.AccessKeyField]) != next.AccessKeyID || string(s.Data[onprem.SecretKeyField]) != next.SecretAccessKey {
		t.Fatal("the manifest does not hold the new key")
	}
	if strings.Contains(stderr, next.SecretAccessKey) || strings.Contains(stdout, next.SecretAccessKey) || !strings.Contains(stderr, "--delete-old") || !strings.Contains(stderr, "rollout restart") {
		t.Fatalf("stderr:\n%s", stderr)
	}

	// A second rotation before the first is finished meets IAM's two-key limit.
	if code, _, stderr := w.run("onprem", "rotate-key", "--user", w.user, "--secret", w.secretN); code != 1 || !strings.Contains(stderr, "two access keys") || !strings.Contains(stderr, "--delete-old") {
		t.Fatalf("second rotation: exit %d, %q", code, stderr)
	}
	if code, stdout, stderr := w.run("onprem", "rotate-key", "--user", w.user, "--secret", w.secretN, "--delete-old"); code != 0 || !strings.Contains(stdout, "Deleted old access key(s) "+w.first.AccessKeyID) {
		t.Fatalf("delete-old: exit %d, %q %q", code, stdout, stderr)
	}
	if got := w.h.iam.AccessKeyIDs(w.user); len(got) != 1 || got[0] != next.AccessKeyID {
		t.Fatalf("keys after delete-old %v", got)
	}
	if code, stdout, _ := w.run("onprem", "rotate-key", "--user", w.user, "--secret", w.secretN, "--delete-old"); code != 0 || !strings.Contains(stdout, "Nothing to delete") {
		t.Fatalf("delete-old again: exit %d, %q", code, stdout)
	}

	// The secret's key must be the user's: otherwise nothing changes.
	if _, err := w.h.iam.CreateUser("someone-else", "/", ""); err != nil {
		t.Fatal(err)
	}
	if code, _, stderr := w.run("onprem", "rotate-key", "--user", "someone-else", "--secret", w.secretN); code != 1 || !strings.Contains(stderr, "refused") || !strings.Contains(stderr, "nothing was changed") {
		t.Fatalf("another user's key: exit %d, %q", code, stderr)
	}
	if code, _, stderr := w.run("onprem", "rotate-key", "--user", "ghost", "--secret", w.secretN); code != 1 || !strings.Contains(stderr, "does not exist") {
		t.Fatalf("missing user: exit %d, %q", code, stderr)
	}
	if code, _, _ := w.run("onprem", "rotate-key", "--user", "a b", "--secret", w.secretN); code != 2 {
		t.Fatalf("bad user name: exit %d", code)
	}

	// Storing the new key fails: the new key is deleted again and the secret keeps the old.
	w.sm.Deny("PutSecretValue", w.secretN)
	before := w.h.iam.AccessKeyIDs(w.user)
	if code, stdout, stderr := w.run("onprem", "rotate-key", "--user", w.user, "--secret", w.secretN); code != 1 || stdout != "" || !strings.Contains(stderr, "the new key was deleted again") {
		t.Fatalf("failed store: exit %d, %q %q", code, stdout, stderr)
	}
	if after := w.h.iam.AccessKeyIDs(w.user); strings.Join(after, ",") != strings.Join(before, ",") {
		t.Fatalf("keys %v after a failed rotation, want %v", after, before)
	}
}
