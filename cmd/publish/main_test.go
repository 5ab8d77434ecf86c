package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sysdig-aws-connect/cdk/launch"
)

// fakeS3 accepts path-style PutObject, checks the SigV4 header and the SHA-256
// checksum the client sends, and records what it stored.
type fakeS3 struct {
	mu      sync.Mutex
	objects map[string][]byte // "bucket/key" -> body
	types   map[string]string
	deny    string // bucket answered with 403
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPut {
		http.Error(w, "only PutObject", http.StatusMethodNotAllowed)
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, _, _ := strings.Cut(path, "/")
	if bucket == f.deny {
		w.WriteHeader(http.StatusForbidden)
		io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
		return
	}
	if !strings.HasPrefix(r.Header.Get("Authorization"), "AWS4-HMAC-SHA256 ") {
		http.Error(w, "unsigned request", http.StatusForbidden)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	sum := sha256.Sum256(body)
	if got := r.Header.Get("X-Amz-Checksum-Sha256"); got != base64.StdEncoding.EncodeToString(sum[:]) {
		http.Error(w, "bad checksum "+got, http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.objects[path] = body
	f.types[path] = r.Header.Get("Content-Type")
	f.mu.Unlock()
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:16])+`"`)
	w.WriteHeader(http.StatusOK)
}

func setup(t *testing.T) (srv *httptest.Server, f *fakeS3, zip, tmpl string) {
	t.Helper()
	dir := t.TempDir()
	// Only these credentials, no profile files, no instance metadata.
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ENDPOINT_URL_S3", "")
	t.Setenv("AWS_ENDPOINT_URL", "")
	f = &fakeS3{objects: map[string][]byte{}, types: map[string]string{}}
	srv = httptest.NewServer(f) // 127.0.0.1
	t.Cleanup(srv.Close)
	zip = filepath.Join(dir, "function.zip")
	tmpl = filepath.Join(dir, "template.json")
	if err := os.WriteFile(zip, []byte("PK\x03\x04 not really a zip, bytes to upload"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tmpl, []byte(`{"Resources":{}}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	return srv, f, zip, tmpl
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func TestPublishUploadsToEveryRegionAndPrintsLaunchURLs(t *testing.T) {
	srv, f, zip, tmpl := setup(t)
	var out bytes.Buffer
	err := run(ctx(t), []string{"-zip", zip, "-template", tmpl, "-bucket-prefix", "acme-sysdig",
		"-regions", "us-east-1, eu-west-1", "-code-key", "v1.2.0/function.zip", "-endpoint", srv.URL, "-path-style"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	zipBody, _ := os.ReadFile(zip)
	tmplBody, _ := os.ReadFile(tmpl)
	want := map[string][]byte{
		"acme-sysdig-us-east-1/v1.2.0/function.zip":          zipBody,
		"acme-sysdig-eu-west-1/v1.2.0/function.zip":          zipBody,
		"acme-sysdig-us-east-1/" + launch.DefaultTemplateKey: tmplBody,
		"acme-sysdig-eu-west-1/" + launch.DefaultTemplateKey: tmplBody,
	}
	if len(f.objects) != len(want) {
		t.Errorf("stored %d objects, want %d: %v", len(f.objects), len(want), f.types)
	}
	for k, body := range want {
		if !bytes.Equal(f.objects[k], body) {
			t.Errorf("%s: stored %q, want %q", k, f.objects[k], body)
		}
	}
	if ct := f.types["acme-sysdig-us-east-1/v1.2.0/function.zip"]; ct != "application/zip" {
		t.Errorf("zip content type %q", ct)
	}
	sum := sha256.Sum256(zipBody)
	text := out.String()
	if !strings.Contains(text, hex.EncodeToString(sum[:])) {
		t.Errorf("output lacks the zip's sha256:\n%s", text)
	}

	// One Launch Stack URL per region, each pre-filling the template, stack name and code location.
	var urls []string
	for _, line := range strings.Split(text, "\n") {
		if _, u, ok := strings.Cut(line, "Launch Stack: "); ok {
			urls = append(urls, u)
		}
	}
	if len(urls) != 2 {
		t.Fatalf("want 2 Launch Stack URLs:\n%s", text)
	}
	u, err := url.Parse(urls[1])
	if err != nil {
		t.Fatal(err)
	}
	if u.Host != "console.aws.amazon.com" || u.Query().Get("region") != "eu-west-1" {
		t.Errorf("console URL %s", u)
	}
	route, query, _ := strings.Cut(u.Fragment, "?")
	if route != "/stacks/create/review" {
		t.Errorf("fragment route %q", route)
	}
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{
		"templateURL":            "https://acme-sysdig-eu-west-1.s3.eu-west-1.amazonaws.com/" + launch.DefaultTemplateKey,
		"stackName":              launch.DefaultStackName,
		"param_CodeBucketPrefix": "acme-sysdig",
		"param_CodeKey":          "v1.2.0/function.zip",
	} {
		if q.Get(k) != v {
			t.Errorf("%s = %q, want %q", k, q.Get(k), v)
		}
	}
}

// The deployer's StackSet reads the member template from the same bucket: publish-org
// uploads it and pre-fills its key.
func TestPublishOrgUploadsTheMemberTemplateBesideTheCode(t *testing.T) {
	srv, f, zip, tmpl := setup(t)
	member := filepath.Join(t.TempDir(), "member.json")
	if err := os.WriteFile(member, []byte(`{"Resources":{"SysdigRole":{}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	ops := filepath.Join(t.TempDir(), "ops.json")
	if err := os.WriteFile(ops, []byte(`{"Resources":{"Dashboard":{}}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	err := run(ctx(t), []string{"-zip", zip, "-template", tmpl, "-template-key", launch.DefaultOrgTemplateKey, "-bucket-prefix", "acme-sysdig",
		"-regions", "us-east-1", "-member-template", member, "-member-template-key", "v2/member.json", "-operations-template", ops, "-endpoint", srv.URL, "-path-style"}, &out)
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	if got := string(f.objects["acme-sysdig-us-east-1/v2/member.json"]); got != `{"Resources":{"SysdigRole":{}}}` {
		t.Errorf("member template stored as %q; objects %v", got, f.types)
	}
	if got := string(f.objects["acme-sysdig-us-east-1/"+launch.DefaultOperationsTemplateKey]); got != `{"Resources":{"Dashboard":{}}}` {
		t.Errorf("operations template stored as %q", got)
	}
	for _, want := range []string{"param_" + launch.ParamMemberTemplateKey + "=v2%2Fmember.json",
		"param_" + launch.ParamOperationsTemplateKey + "=" + strings.ReplaceAll(launch.DefaultOperationsTemplateKey, "/", "%2F")} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("the Launch Stack URL does not pre-fill %s:\n%s", want, out.String())
		}
	}
	// Without -member-template (the single-account template) nothing more is uploaded.
	f.objects = map[string][]byte{}
	out.Reset()
	if err := run(ctx(t), []string{"-zip", zip, "-template", tmpl, "-bucket-prefix", "acme-sysdig", "-regions", "us-east-1", "-endpoint", srv.URL, "-path-style"}, &out); err != nil {
		t.Fatal(err)
	}
	if len(f.objects) != 2 || strings.Contains(out.String(), launch.ParamMemberTemplateKey) {
		t.Errorf("single-account publish stored %d objects:\n%s", len(f.objects), out.String())
	}
}

func TestPublishFailsWhenS3Refuses(t *testing.T) {
	srv, f, zip, tmpl := setup(t)
	f.deny = "acme-sysdig-us-east-1"
	var out bytes.Buffer
	err := run(ctx(t), []string{"-zip", zip, "-template", tmpl, "-bucket-prefix", "acme-sysdig",
		"-regions", "us-east-1", "-endpoint", srv.URL, "-path-style"}, &out)
	if err == nil || !strings.Contains(err.Error(), "AccessDenied") {
		t.Fatalf("want an AccessDenied error, got %v", err)
	}
	if strings.Contains(out.String(), "Launch Stack") {
		t.Errorf("printed a Launch Stack URL for a failed upload:\n%s", out.String())
	}
}

func TestSha256Mode(t *testing.T) {
	_, _, zip, _ := setup(t)
	var out bytes.Buffer
	if err := run(ctx(t), []string{"-sha256", zip}, &out); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(zip)
	sum := sha256.Sum256(b)
	if want := hex.EncodeToString(sum[:]) + "  " + zip + "\n"; out.String() != want {
		t.Errorf("got %q, want %q", out.String(), want)
	}
}

// The bucket prefix names buckets the publisher owns: there is no default to fall back on.
func TestPublishRequiresABucketPrefix(t *testing.T) {
	srv, f, zip, tmpl := setup(t)
	var out bytes.Buffer
	err := run(ctx(t), []string{"-zip", zip, "-template", tmpl, "-regions", "us-east-1", "-endpoint", srv.URL, "-path-style"}, &out)
	if err == nil || !strings.Contains(err.Error(), "-bucket-prefix is required") {
		t.Fatalf("err = %v", err)
	}
	if len(f.objects) != 0 {
		t.Fatalf("uploaded %d objects", len(f.objects))
	}
}

// A code signing configuration is pre-filled in the Launch Stack URL of its own region only.
func TestPublishFillsInCodeSigningPerRegion(t *testing.T) {
	const east = "arn:aws:lambda:us-east-1:111122223333:code-signing-config:csc-0123456789abcdef0"
	tests := []struct {
		name, signing string
		wantErr       string
		want          map[string]string // region -> CodeSigningConfigArn in its URL
	}{
		{name: "one region signed", signing: east, want: map[string]string{"us-east-1": east, "eu-west-1": ""}},
		{name: "none", want: map[string]string{"us-east-1": "", "eu-west-1": ""}},
		{name: "not an ARN", signing: "csc-0123", wantErr: "not a Lambda code signing configuration ARN"},
		{name: "region not published", signing: strings.Replace(east, "us-east-1", "ap-south-1", 1), wantErr: "not one of the regions"},
		{name: "two for a region", signing: east + "," + strings.Replace(east, "csc-0", "csc-1", 1), wantErr: "two configurations"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, _, zip, tmpl := setup(t)
			var out bytes.Buffer
			err := run(ctx(t), []string{"-zip", zip, "-template", tmpl, "-bucket-prefix", "acme-sysdig", "-regions", "us-east-1,eu-west-1",
				"-code-signing-config", tt.signing, "-endpoint", srv.URL, "-path-style"}, &out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := map[string]string{}
			for _, line := range strings.Split(out.String(), "\n") {
				if _, raw, ok := strings.Cut(line, "Launch Stack: "); ok {
					u, _ := url.Parse(raw)
					_, query, _ := strings.Cut(u.Fragment, "?")
					q, _ := url.ParseQuery(query)
					got[u.Query().Get("region")] = q.Get("param_" + launch.ParamCodeSigningConfigArn)
				}
			}
			for region, want := range tt.want {
				if got[region] != want {
					t.Errorf("%s: CodeSigningConfigArn %q, want %q", region, got[region], want)
				}
			}
		})
	}
}
