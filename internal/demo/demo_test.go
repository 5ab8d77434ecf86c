package demo

import (
	"bytes"
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"sigs.k8s.io/yaml"

	"sysdig-aws-connect/internal/lambdarun"
	"sysdig-aws-connect/internal/onprem"
)

func TestFold(t *testing.T) {
	long := "      sent:   Alias=demo ApiTokenSecretId=sysdig/api-token RoleArn=arn:aws:iam::123456789012:role/sysdig-role Regions=US_EAST_1 SysdigApiUrl=http://127.0.0.1:41234"
	word := "    " + strings.Repeat("x", 250)
	for _, c := range []struct {
		name, line string
		width      int
	}{
		{"short", "  ok", 100}, {"long words", long, 100}, {"one long word", word, 100}, {"narrow", long, 40},
		{"runes", "  ▶ " + strings.Repeat("─ ", 80), 100}, {"exactly", strings.Repeat("a", 100), 100},
	} {
		t.Run(c.name, func(t *testing.T) {
			pieces := fold(c.line, c.width)
			for _, p := range pieces {
				if n := utf8.RuneCountInString(p); n > c.width {
					t.Errorf("piece of %d runes > %d: %q", n, c.width, p)
				}
			}
			// Nothing is lost: the words read the same, and unbroken words only split.
			if got, want := strings.Join(strings.Fields(strings.Join(pieces, "")), ""), strings.Join(strings.Fields(c.line), ""); got != want {
				t.Errorf("text changed:\n got %q\nwant %q", got, want)
			}
			if len(pieces) > 1 {
				indent := len(c.line) - len(strings.TrimLeft(c.line, " "))
				for _, p := range pieces[1:] {
					if lead := len(p) - len(strings.TrimLeft(p, " ")); lead <= indent && indent+4 <= c.width/2 {
						t.Errorf("continuation %q is not indented past the line's own indent %d", p, indent)
					}
				}
			}
		})
	}
}

func TestWrapWriterBuffersPartialLines(t *testing.T) {
	var b bytes.Buffer
	w := newWrapWriter(&b, 10)
	for _, part := range []string{"abc def ", "ghi jkl mno\nsecond", " line\n", "tail"} {
		if _, err := w.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "abc def\n    ghi\n    jkl\n    mno\nsecond\n    line\ntail"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// TestDemo plays the whole demo, as make demo does, on the committed one-click template,
// and checks what a reader sees: every line within MaxColumns, the role's trust policy and
// permissions, and the failure case with its rollback.
func TestDemo(t *testing.T) {
	text := play(t, Run, "SysdigAwsConnect")
	checkColumns(t, text)
	for _, want := range []string{
		"What the stack grants: the role sysdig-role may be assumed by",
		"sts:ExternalId", "cloudwatch:GetMetricData", "by policy sysdig_cloudwatch",
		"step 5/5: a failure", "CREATE_FAILED: SysdigProvider", "made-by-hand",
		"the rollback left the hand-made provider exactly as it was", "All 5 steps",
		"Metric records in the function's log (namespace SysdigAwsConnect",
		"  outcome   resource type             requests (C/U/D)  Sysdig calls",
		"  SUCCESS   Custom::SysdigExternalId  4 (2/0/2)", "  SUCCESS   Custom::SysdigProvider    6 (1/2/3)",
		"  FAILED    Custom::SysdigProvider    1 (1/0/0)",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("the demo output lacks %q", want)
		}
	}
}

// TestDemoOnPrem plays make demo-onprem on the committed template: the narrative within
// MaxColumns, the manifest whole (its YAML parses as printed), the secret key masked.
func TestDemoOnPrem(t *testing.T) {
	text := play(t, RunOnPrem, "SysdigAwsConnectOnPrem")
	_, manifest, ok := strings.Cut(text, "apply this manifest:\n")
	if !ok {
		t.Fatal("no manifest at the end")
	}
	checkColumns(t, text) // the manifest too: it is printed whole, and fits
	for _, want := range []string{"kind: Secret", "aws.accessKey:", "aws.secretKey:", "name: sysdigcloud-collector", "name: sysdigcloud-worker", "name: sysdigcloud-api", "AWS_SECRET_ACCESS_KEY"} {
		if !strings.Contains(manifest, want) {
			t.Errorf("the manifest lacks %q", want)
		}
	}
	for _, doc := range strings.Split(manifest, "\n---\n") {
		var v map[string]any
		if err := yaml.Unmarshal([]byte(doc), &v); err != nil || v["kind"] == nil {
			t.Errorf("a manifest document does not parse as printed: %v\n%s", err, doc)
		}
	}
	if !strings.Contains(text, base64.StdEncoding.EncodeToString([]byte(onprem.MaskedSecretKey))) {
		t.Error("the secret key is not masked in the demo")
	}
}

// play runs a demo on the committed one-click template and returns what it printed.
func play(t *testing.T, run func(context.Context, Config) error, stackName string) string {
	t.Helper()
	root, err := lambdarun.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	var out bytes.Buffer
	err = run(ctx, Config{TemplatePath: filepath.Join(root, "templates", "sysdig-aws-connect.json"), StackName: stackName, Out: &out})
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// checkColumns fails for every line wider than MaxColumns.
func checkColumns(t *testing.T, text string) {
	t.Helper()
	for i, line := range strings.Split(text, "\n") {
		if n := utf8.RuneCountInString(line); n > MaxColumns {
			t.Errorf("line %d has %d columns: %s", i+1, n, line)
		}
	}
}
