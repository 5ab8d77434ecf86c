package stacks

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
	"github.com/aws/aws-cdk-go/awscdk/v2/assertions"
	"github.com/aws/jsii-runtime-go"
	"github.com/cdklabs/cdk-nag-go/cdknag/v2"
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
// A small CloudFormation evaluator: enough of conditions, rules and references to
// decide, for given parameter values, which resources exist and whether every Ref,
// GetAtt and DependsOn of an existing resource or output names something that exists
// (CloudFormation's "Unresolved resource dependencies" check).

type evaluator struct {
	doc    map[string]interface{}
	params map[string]string
	conds  map[string]bool
}

func newEvaluator(t *testing.T, doc map[string]interface{}, values map[string]string) *evaluator {
	t.Helper()
	e := &evaluator{doc: doc, params: map[string]string{}, conds: map[string]bool{}}
	params, _ := doc["Parameters"].(map[string]interface{})
	for name, p := range params {
		if d, ok := p.(map[string]interface{})["Default"]; ok {
			e.params[name] = fmt.Sprint(d)
		}
	}
	for k, v := range values {
		if _, ok := params[k]; !ok {
			t.Fatalf("scenario sets unknown parameter %s", k)
		}
		e.params[k] = v
	}
	conds, _ := doc["Conditions"].(map[string]interface{})
	for name := range conds {
		e.conds[name] = e.condition(t, name)
	}
	return e
}

func (e *evaluator) condition(t *testing.T, name string) bool {
	conds, _ := e.doc["Conditions"].(map[string]interface{})
	expr, ok := conds[name]
	if !ok {
		t.Fatalf("unknown condition %s", name)
	}
	return e.boolean(t, expr)
}

func (e *evaluator) boolean(t *testing.T, expr interface{}) bool {
	m, ok := expr.(map[string]interface{})
	if !ok || len(m) != 1 {
		t.Fatalf("not a condition expression: %s", canon(expr))
	}
	for fn, arg := range m {
		switch fn {
		case "Condition":
			return e.condition(t, arg.(string))
		case "Fn::Equals":
			a := arg.([]interface{})
			return e.str(t, a[0]) == e.str(t, a[1])
		case "Fn::Not":
			return !e.boolean(t, arg.([]interface{})[0])
		case "Fn::And", "Fn::Or":
			and := fn == "Fn::And"
			for _, x := range arg.([]interface{}) {
				if e.boolean(t, x) != and {
					return !and
				}
			}
			return and
		}
		t.Fatalf("unsupported condition function %s", fn)
	}
	return false
}

func (e *evaluator) str(t *testing.T, v interface{}) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return fmt.Sprint(x)
	case map[string]interface{}:
		if ref, ok := x["Ref"].(string); ok {
			if p, ok := e.params[ref]; ok {
				return p
			}
			t.Fatalf("Ref %s is not a parameter", ref)
		}
		if sel, ok := x["Fn::Select"].([]interface{}); ok {
			list := e.list(t, sel[1])
			i := int(sel[0].(float64))
			if i >= len(list) {
				t.Fatalf("Fn::Select index %d out of %v", i, list)
			}
			return list[i]
		}
	}
	t.Fatalf("cannot evaluate %s to a string", canon(v))
	return ""
}

func (e *evaluator) list(t *testing.T, v interface{}) []string {
	if m, ok := v.(map[string]interface{}); ok {
		if sp, ok := m["Fn::Split"].([]interface{}); ok {
			return strings.Split(e.str(t, sp[1]), sp[0].(string))
		}
	}
	t.Fatalf("cannot evaluate %s to a list", canon(v))
	return nil
}

// exists reports whether a resource or output with that Condition attribute exists.
func (e *evaluator) exists(entry map[string]interface{}) bool {
	c, ok := entry["Condition"].(string)
	return !ok || e.conds[c]
}

// existing lists the logical ids of the resources that exist.
func (e *evaluator) existing() map[string]bool {
	out := map[string]bool{}
	for id, r := range e.doc["Resources"].(map[string]interface{}) {
		if e.exists(r.(map[string]interface{})) {
			out[id] = true
		}
	}
	return out
}

// rulesHold evaluates every Rules assertion.
func (e *evaluator) rulesHold(t *testing.T) (bool, string) {
	rules, _ := e.doc["Rules"].(map[string]interface{})
	for name, r := range rules {
		rm := r.(map[string]interface{})
		if c, ok := rm["RuleCondition"]; ok && !e.boolean(t, c) {
			continue
		}
		for _, a := range rm["Assertions"].([]interface{}) {
			am := a.(map[string]interface{})
			if !e.boolean(t, am["Assert"]) {
				return false, name
			}
		}
	}
	return true, ""
}

// unresolved walks every existing resource and output, following only the branch of
// each Fn::If its condition selects, and returns references to things that do not exist.
func (e *evaluator) unresolved(t *testing.T) []string {
	have := e.existing()
	params, _ := e.doc["Parameters"].(map[string]interface{})
	var bad []string
	check := func(where, target string) {
		if strings.HasPrefix(target, "AWS::") || have[target] {
			return
		}
		if _, ok := params[target]; ok {
			return
		}
		bad = append(bad, where+" -> "+target)
	}
	var walk func(where string, v interface{})
	walk = func(where string, v interface{}) {
		switch x := v.(type) {
		case []interface{}:
			for _, y := range x {
				walk(where, y)
			}
		case map[string]interface{}:
			if ref, ok := x["Ref"].(string); ok && len(x) == 1 {
				check(where, ref)
				return
			}
			if ga, ok := x["Fn::GetAtt"].([]interface{}); ok && len(x) == 1 {
				check(where, ga[0].(string))
				return
			}
			if fi, ok := x["Fn::If"].([]interface{}); ok && len(x) == 1 {
				if e.conds[fi[0].(string)] {
					walk(where, fi[1])
				} else {
					walk(where, fi[2])
				}
				return
			}
			for _, y := range x {
				walk(where, y)
			}
		}
	}
	for id, r := range e.doc["Resources"].(map[string]interface{}) {
		rm := r.(map[string]interface{})
		if !have[id] {
			continue
		}
		walk(id, rm["Properties"])
		walk(id, rm["Metadata"])
		if deps, ok := rm["DependsOn"].([]interface{}); ok {
			for _, d := range deps {
				check(id+" DependsOn", d.(string))
			}
		}
	}
	outputs, _ := e.doc["Outputs"].(map[string]interface{})
	for id, o := range outputs {
		om := o.(map[string]interface{})
		if e.exists(om) {
			walk("Outputs."+id, om["Value"])
		}
	}
	return bad
}
