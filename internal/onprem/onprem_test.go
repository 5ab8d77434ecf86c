package onprem

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"
)

var testCreds = Credentials{AccessKeyID: "AKIAABCDEFGHIJKLMNOP", SecretAccessKey: "abcdEFGHijklMNOPqrstUVWXyz0123456789+/ab"}

// documents splits a multi-document YAML stream.
func documents(t *testing.T, b []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for _, d := range bytes.Split(b, []byte("\n---\n")) {
		if len(bytes.TrimSpace(d)) > 0 {
			out = append(out, d)
		}
	}
	return out
}

// The manifest read back by an independent reader: strict decoding into the API types
// (an unknown or misspelt field fails).
func TestManifestDecodesStrictlyIntoTheAPITypes(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts ManifestOptions
		ns   string
		sec  string
	}{
		{"defaults", ManifestOptions{}, "", DefaultSecretName},
		{"namespace and name", ManifestOptions{Namespace: "sysdigcloud", Name: "sysdig-aws"}, "sysdigcloud", "sysdig-aws"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Manifest(testCreds, tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			docs := documents(t, b)
			if len(docs) != 1+len(DefaultTargets) {
				t.Fatalf("%d documents, want the Secret and %d patches", len(docs), len(DefaultTargets))
			}
			var s corev1.Secret
			if err := yaml.UnmarshalStrict(docs[0], &s); err != nil {
				t.Fatalf("the Secret does not decode strictly: %v\n%s", err, docs[0])
			}
			if s.APIVersion != "v1" || s.Kind != "Secret" || s.Type != corev1.SecretTypeOpaque || s.Name != tc.sec || s.Namespace != tc.ns ||
				string(s.Data[AccessKeyField]) != testCreds.AccessKeyID || string(s.Data[SecretKeyField]) != testCreds.SecretAccessKey || len(s.Data) != 2 {
				t.Fatalf("Secret %+v", s)
			}
			for i, target := range DefaultTargets {
				var d appsv1.Deployment
				if err := yaml.UnmarshalStrict(docs[i+1], &d); err != nil {
					t.Fatalf("patch %d does not decode strictly: %v", i, err)
				}
				if d.APIVersion != "apps/v1" || d.Kind != "Deployment" || d.Name != target.Deployment || d.Namespace != tc.ns {
					t.Fatalf("patch %d: %+v", i, d.ObjectMeta)
				}
				cs := d.Spec.Template.Spec.Containers
				if len(cs) != 1 || cs[0].Name != target.Container || len(cs[0].Env) != 2 {
					t.Fatalf("patch %d containers %+v", i, cs)
				}
				for j, want := range []struct{ env, key string }{{EnvAccessKeyID, AccessKeyField}, {EnvSecretAccessKey, SecretKeyField}} {
					e := cs[0].Env[j]
					if e.Name != want.env || e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil ||
						e.ValueFrom.SecretKeyRef.Name != tc.sec || e.ValueFrom.SecretKeyRef.Key != want.key {
						t.Fatalf("patch %d env %+v", i, e)
					}
				}
				// A null in a merge patch deletes the field: the patch carries none.
				if bytes.Contains(docs[i+1], []byte("null")) || bytes.Contains(docs[i+1], []byte("status")) || bytes.Contains(docs[i+1], []byte("selector")) {
					t.Fatalf("patch %d carries zero values:\n%s", i, docs[i+1])
				}
			}
			if bytes.Contains(b, []byte(testCreds.SecretAccessKey)) {
				t.Fatal("the secret key appears in clear (it must be base64 in data)")
			}
		})
	}
}

const fullDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: sysdigcloud-worker
spec:
  selector:
    matchLabels: {app: sysdigcloud, role: worker}
  template:
    metadata:
      labels: {app: sysdigcloud, role: worker}
    spec:
      containers:
      - name: email-renderer
        image: quay.io/sysdig/sysdigcloud-backend:email-renderer
      - name: worker
        image: quay.io/sysdig/sysdigcloud-backend:allinone-java
        env:
        - name: JAVA_OPTS
          value: -Xmx1g
`

// kubectl, where installed, applies the patch the way it will be applied (strategic
// merge, offline with --local) and reads the Secret: the worker container gains the two
// variables, keeps its own, and the other container is untouched.
func TestManifestWithKubectl(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Log("kubectl not installed: the strict decoding test is the check")
		return
	}
	b, err := Manifest(testCreds, ManifestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	docs := documents(t, b)
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	run := func(args ...string) []byte {
		cmd := exec.Command(kubectl, args...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+filepath.Join(dir, "none"))
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("kubectl %v: %v\n%s", args, err, out)
		}
		return out
	}
	out := run("patch", "--local", "-f", write("worker.yaml", []byte(fullDeployment)), "--type", "strategic", "--patch-file", write("patch.yaml", docs[2]), "-o", "json")
	var d appsv1.Deployment
	if err := json.Unmarshal(out, &d); err != nil {
		t.Fatal(err)
	}
	cs := d.Spec.Template.Spec.Containers
	if len(cs) != 2 || cs[0].Name != "email-renderer" || len(cs[0].Env) != 0 || cs[1].Name != "worker" {
		t.Fatalf("containers after the patch: %+v", cs)
	}
	var names []string
	for _, e := range cs[1].Env {
		names = append(names, e.Name)
	}
	if strings.Join(names, ",") != "AWS_ACCESS_KEY_ID,AWS_SECRET_ACCESS_KEY,JAVA_OPTS" {
		t.Fatalf("worker env after the patch: %v", names)
	}
	out = run("patch", "--local", "-f", write("secret.yaml", docs[0]), "--type", "merge", "-p", "{}", "-o", "json")
	var s corev1.Secret
	if err := json.Unmarshal(out, &s); err != nil || string(s.Data[SecretKeyField]) != testCreds.SecretAccessKey {
		t.Fatalf("kubectl read the Secret as %+v (%v)", s, err)
	}
}

func TestMaskedManifest(t *testing.T) {
	b, err := Manifest(testCreds, ManifestOptions{MaskSecretKey: true})
	if err != nil {
		t.Fatal(err)
	}
	var s corev1.Secret
	if err := yaml.UnmarshalStrict(documents(t, b)[0], &s); err != nil {
		t.Fatal(err)
	}
	if string(s.Data[SecretKeyField]) != MaskedSecretKey || string(s.Data[AccessKeyField]) != testCreds.AccessKeyID {
		t.Fatalf("masked Secret %+v", s.Data)
	}
}

func TestParseCredentials(t *testing.T) {
	good := testCreds.SecretJSON()
	if c, err := ParseCredentials(good); err != nil || c != testCreds {
		t.Fatalf("%+v %v", c, err)
	}
	for name, in := range map[string]string{
		"not JSON":          "AKIA…",
		"two values":        good + good,
		"no secret key":     `{"aws.accessKey":"AKIAABCDEFGHIJKLMNOP"}`,
		"number":            `{"aws.accessKey":"AKIAABCDEFGHIJKLMNOP","aws.secretKey":12}`,
		"bad access key":    `{"aws.accessKey":"akia","aws.secretKey":"abcdEFGHijklMNOPqrstUVWXyz0123456789+/ab"}`,
		"bad secret key":    `{"aws.accessKey":"AKIAABCDEFGHIJKLMNOP","aws.secretKey":"has spaces in it, not a key"}`,
		"other key names":   `{"AccessKeyId":"AKIAABCDEFGHIJKLMNOP","SecretAccessKey":"abcdEFGHijklMNOPqrstUVWXyz0123456789+/ab"}`,
		"empty":             "",
		"array":             "[]",
		"secret in message": `{"aws.accessKey":"AKIAABCDEFGHIJKLMNOP","aws.secretKey":"zzzz zzzz"}`,
	} {
		_, err := ParseCredentials(in)
		if err == nil {
			t.Errorf("%s: accepted", name)
			continue
		}
		if strings.Contains(err.Error(), "zzzz") || strings.Contains(err.Error(), "abcdEFGH") {
			t.Errorf("%s: the error holds the secret: %v", name, err)
		}
	}
	if _, err := Manifest(testCreds, ManifestOptions{Namespace: "Bad_NS"}); err == nil {
		t.Error("a bad namespace was accepted")
	}
	if _, err := Manifest(testCreds, ManifestOptions{Name: "UPPER"}); err == nil {
		t.Error("a bad Secret name was accepted")
	}
}

func FuzzParseCredentials(f *testing.F) {
	f.Add(testCreds.SecretJSON())
	f.Add(`{"aws.accessKey":1}`)
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		c, err := ParseCredentials(in)
		if err != nil {
			if c != (Credentials{}) {
				t.Fatal("an error with credentials")
			}
			return
		}
		if c.Validate() != nil {
			t.Fatal("accepted invalid credentials")
		}
		if _, err := Manifest(c, ManifestOptions{}); err != nil {
			t.Fatalf("valid credentials, no manifest: %v", err)
		}
	})
}

// --secret-only: the Secret alone, in YAML and in JSON; every manifest line within 100
// columns, so that it reads (and pastes) from a terminal.
func TestSecretOnlyManifest(t *testing.T) {
	o := ManifestOptions{Namespace: "sysdigcloud", SecretOnly: true}
	b, err := Manifest(testCreds, o)
	if err != nil {
		t.Fatal(err)
	}
	docs := documents(t, b)
	var s corev1.Secret
	if len(docs) != 1 || yaml.UnmarshalStrict(docs[0], &s) != nil || s.Kind != "Secret" || string(s.Data[SecretKeyField]) != testCreds.SecretAccessKey {
		t.Fatalf("secret-only manifest: %d documents\n%s", len(docs), b)
	}
	j, err := ManifestJSON(testCreds, o)
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Secret  corev1.Secret `json:"secret"`
		Patches []any         `json:"patches"`
	}
	if err := json.Unmarshal(j, &out); err != nil || out.Secret.Name != DefaultSecretName || out.Patches == nil || len(out.Patches) != 0 {
		t.Fatalf("secret-only JSON: %v\n%s", err, j)
	}
	full, err := Manifest(testCreds, ManifestOptions{Namespace: "sysdigcloud"})
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(full), "\n") {
		if len(line) > 100 {
			t.Errorf("manifest line of %d columns: %s", len(line), line)
		}
	}
}
