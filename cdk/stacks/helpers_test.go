package stacks

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"

	"sysdig-aws-connect/cdk/launch"
	"sysdig-aws-connect/internal/cfnsim"
)

// synthesized is one synthesized ConnectStack with its template as plain Go values.
type synthesized struct {
	stack *ConnectStack
	tmpl  assertions.Template
	doc   map[string]interface{}
}

// placeholderAssetDir is a temp dir holding a file named bootstrap, standing in for the
// lead's dist/lambda in asset-mode (cdk deploy) tests. Nothing here is executed.
func placeholderAssetDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "bootstrap"), []byte("placeholder bootstrap for CDK asset tests\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// synth builds the stack in a fresh app (with the AwsSolutions checks when nag is set)
// whose cloud assembly goes to outdir (empty: a directory of this test).
func synth(t *testing.T, outdir string, publishable, nag bool, tags map[string]string) *synthesized {
	t.Helper()
	if outdir == "" {
		outdir = t.TempDir()
	}
	ctx := map[string]interface{}{}
	if publishable {
		ctx = PublishedContext
	}
	app := awscdk.NewApp(&awscdk.AppProps{Outdir: jsii.String(outdir), Context: &ctx})
	props := &ConnectStackProps{Publishable: publishable}
	if !publishable {
		props.AssetDir = placeholderAssetDir(t)
	}
	s, err := NewConnectStack(app, "Test", props)
	if err != nil {
		t.Fatal(err)
	}
	ApplyTags(s.Stack, tags)
	if nag {
		awscdk.Aspects_Of(app).Add(cdknag.NewAwsSolutionsChecks(&cdknag.NagPackProps{Verbose: jsii.Bool(true)}), nil)
	}
	tmpl := assertions.Template_FromStack(s.Stack, nil)
	return &synthesized{stack: s, tmpl: tmpl, doc: *tmpl.ToJSON()}
}

// assertCDK runs a CDK assertion, which panics (a jsii error) when it does not hold.
func assertCDK(t *testing.T, what string, f func()) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("%s: %v", what, r)
		}
	}()
	f()
}

func (s *synthesized) section(name string) map[string]interface{} {
	m, _ := s.doc[name].(map[string]interface{})
	return m
}

func (s *synthesized) resource(t *testing.T, id string) map[string]interface{} {
	t.Helper()
	r, ok := s.section("Resources")[id].(map[string]interface{})
	if !ok {
		t.Fatalf("no resource %s; have %v", id, keys(s.section("Resources")))
	}
	return r
}

func props(r map[string]interface{}) map[string]interface{} {
	p, _ := r["Properties"].(map[string]interface{})
	return p
}

func keys(m map[string]interface{}) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// canon renders a value as compact JSON for comparisons and messages.
func canon(v interface{}) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("%#v", v)
	}
	return string(b)
}

// parse turns a JSON literal into the same shapes ToJSON produces.
func parse(t *testing.T, s string) interface{} {
	t.Helper()
	var v interface{}
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON literal %s: %v", s, err)
	}
	return v
}

func equalJSON(t *testing.T, what string, got interface{}, want string) {
	t.Helper()
	if canon(got) != canon(parse(t, want)) {
		t.Errorf("%s:\n got %s\nwant %s", what, canon(got), canon(parse(t, want)))
	}
}

// ---------------------------------------------------------------------------------
// The template's conditions, rules and references for given parameter values, decided as
// CloudFormation does before it creates anything (internal/cfnsim, the same evaluator the
// local runs use): which resources exist and whether every Ref, GetAtt and DependsOn of an
// existing resource or output names something that exists (CloudFormation's "Unresolved
// resource dependencies" check).

type evaluator struct {
	a     *cfnsim.Analysis
	conds map[string]bool
}

func newEvaluator(t *testing.T, doc map[string]interface{}, values map[string]string) *evaluator {
	t.Helper()
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := cfnsim.ParseTemplate(b)
	if err != nil {
		t.Fatal(err)
	}
	a, err := cfnsim.Analyze(tpl, values, cfnsim.Pseudo{AccountID: "123456789012", Region: "us-east-1"})
	if err != nil {
		t.Fatalf("scenario: %v", err)
	}
	e := &evaluator{a: a, conds: map[string]bool{}}
	for name := range tpl.Conditions {
		if e.conds[name], err = a.Condition(name); err != nil {
			t.Fatal(err)
		}
	}
	return e
}

// existing lists the logical ids of the resources that exist.
func (e *evaluator) existing() map[string]bool {
	have, err := e.a.Existing()
	if err != nil {
		panic(err)
	}
	return have
}

// rulesHold evaluates every Rules assertion and names the first that fails.
func (e *evaluator) rulesHold(t *testing.T) (bool, string) {
	t.Helper()
	err := e.a.Rules()
	if err == nil {
		return true, ""
	}
	var re *cfnsim.RuleError
	if !errors.As(err, &re) {
		t.Fatalf("rules: %v", err)
	}
	return false, re.Rule
}

// unresolved lists references to resources that do not exist.
func (e *evaluator) unresolved(t *testing.T) []string {
	t.Helper()
	bad, err := e.a.Unresolved()
	if err != nil {
		t.Fatal(err)
	}
	return bad
}

// checkScenario asserts, for one launch scenario, whether the rules hold, which resources
// exist and which do not (always: in every scenario), and that nothing references a
// resource that does not exist.
func checkScenario(t *testing.T, doc map[string]interface{}, values map[string]string, rules bool, exist, absent, always []string) {
	t.Helper()
	e := newEvaluator(t, doc, values)
	if ok, rule := e.rulesHold(t); ok != rules {
		t.Fatalf("rules hold = %v (failing rule %q), want %v", ok, rule, rules)
	}
	have := e.existing()
	for _, id := range append(append([]string(nil), exist...), always...) {
		if !have[id] {
			t.Errorf("%s should exist", id)
		}
	}
	for _, id := range absent {
		if have[id] {
			t.Errorf("%s should not exist", id)
		}
	}
	if bad := e.unresolved(t); len(bad) > 0 {
		t.Errorf("references to resources that do not exist: %v", bad)
	}
}

// launched is values as a Launch Stack URL from make publish gives them (CodeBucketPrefix
// filled in) when fromURL is true.
func launched(values map[string]string, fromURL bool) map[string]string {
	out := map[string]string{}
	for k, v := range values {
		out[k] = v
	}
	if fromURL {
		out[ParamCodeBucketPrefix] = "acme-sysdig"
	}
	return out
}

// userDocs is what users read: README.md and the pages under docs/.
func userDocs(t *testing.T) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	pages, _ := filepath.Glob(filepath.Join("..", "..", "docs", "*.md"))
	for _, p := range pages {
		page, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		b = append(append(b, '\n'), page...)
	}
	return string(b)
}

// yourPrefix stands for the reader's own bucket prefix in the docs.
const yourPrefix = "<your-prefix>"

// checkLaunchDocs asserts that the docs show how to get a Launch Stack link for the reader's
// own buckets (the make target that prints it, and the link's form as it prints it), and
// link to no code bucket the reader did not choose: whoever can write there chooses the
// code that reads the Sysdig token.
func checkLaunchDocs(t *testing.T, text, target, templateKey, stackName string) {
	t.Helper()
	if cmd := "make " + target + " BUCKET_PREFIX=" + yourPrefix; !strings.Contains(text, cmd) {
		t.Errorf("the user docs do not show %q", cmd)
	}
	real := launch.QuickCreateURL("us-east-1", launch.TemplateURL(launch.RegionalBucket("PREFIX", "us-east-1"), "us-east-1", templateKey), stackName,
		map[string]string{launch.ParamCodeBucketPrefix: "PREFIX", launch.ParamCodeKey: launch.DefaultCodeKey})
	form := "&stackName=" + stackName + "&param_" + launch.ParamCodeBucketPrefix + "="
	if !strings.Contains(real, form+"PREFIX&") {
		t.Fatalf("make %s's link no longer has the form the docs show (%s…): %s", target, form, real)
	}
	if !strings.Contains(text, form+yourPrefix) {
		t.Errorf("the user docs do not show the form of make %s's link: %s%s", target, form, yourPrefix)
	}
	for _, m := range regexp.MustCompile("param_"+launch.ParamCodeBucketPrefix+"=([^&)\\s`]+)").FindAllStringSubmatch(text, -1) {
		if m[1] != yourPrefix {
			t.Errorf("the user docs link to the code bucket prefix %q, which the reader did not choose", m[1])
		}
	}
}
