package cfnsim

import (
	"fmt"
	"sort"
	"strings"
)

// Analysis is what CloudFormation decides from a template and parameter values before it
// creates anything: which rules hold, which conditions are true, which resources and
// outputs exist, and whether every reference of those names something that exists.
type Analysis struct {
	t  *Template
	sc *scope
}

// Analyze evaluates the template for the given values. Parameters without a value take
// their default; unlike Create it does not insist on the ones without a default (they
// read as empty) or check AllowedValues and AllowedPattern, so a test can ask about
// conditions and references alone.
func Analyze(t *Template, params map[string]string, pseudo Pseudo) (*Analysis, error) {
	values := map[string]string{}
	for name, p := range t.Parameters {
		if p.Default != nil {
			values[name] = *p.Default
		}
	}
	for name, v := range params {
		if _, ok := t.Parameters[name]; !ok {
			return nil, fmt.Errorf("parameter %s is not in the template", name)
		}
		values[name] = v
	}
	if pseudo.Partition == "" {
		pseudo.Partition = "aws"
	}
	return &Analysis{t: t, sc: &scope{t: t, params: values, pseudo: pseudo, physical: map[string]string{},
		attributes: map[string]map[string]any{}, conditions: map[string]bool{}}}, nil
}

// RuleError names the rule whose assertion failed.
type RuleError struct {
	Rule        string
	Description string
}

func (e *RuleError) Error() string { return fmt.Sprintf("rule %s: %s", e.Rule, e.Description) }

// Rules returns a *RuleError for the first rule (by name) that does not hold.
func (a *Analysis) Rules() error {
	return checkRules(a.t, a.sc.params, a.sc.pseudo)
}

// Condition evaluates one named condition.
func (a *Analysis) Condition(name string) (bool, error) { return a.sc.condition(name) }

// Existing lists the resources whose Condition holds (or that have none).
func (a *Analysis) Existing() (map[string]bool, error) {
	out := map[string]bool{}
	for id, r := range a.t.Resources {
		ok, err := a.holds(r.Condition)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", id, err)
		}
		if ok {
			out[id] = true
		}
	}
	return out, nil
}

func (a *Analysis) holds(condition string) (bool, error) {
	if condition == "" {
		return true, nil
	}
	return a.sc.condition(condition)
}

// Unresolved walks every existing resource (properties, metadata, DependsOn) and output,
// following only the Fn::If branch its condition selects, and lists the references to
// resources that do not exist ("where -> target"): CloudFormation's "Unresolved resource
// dependencies" check.
func (a *Analysis) Unresolved() ([]string, error) {
	have, err := a.Existing()
	if err != nil {
		return nil, err
	}
	var bad []string
	var walkErr error
	check := func(where, target string) {
		if strings.HasPrefix(target, "AWS::") || have[target] {
			return
		}
		if _, ok := a.t.Parameters[target]; ok {
			return
		}
		bad = append(bad, where+" -> "+target)
	}
	var walk func(where string, v any)
	walk = func(where string, v any) {
		switch x := v.(type) {
		case []any:
			for _, y := range x {
				walk(where, y)
			}
		case map[string]any:
			if ref, ok := x["Ref"].(string); ok && len(x) == 1 {
				check(where, ref)
				return
			}
			if ga, ok := x["Fn::GetAtt"].([]any); ok && len(x) == 1 && len(ga) > 0 {
				check(where, scalarString(ga[0]))
				return
			}
			if fi, ok := x["Fn::If"].([]any); ok && len(x) == 1 && len(fi) == 3 {
				cond, err := a.sc.condition(scalarString(fi[0]))
				if err != nil && walkErr == nil {
					walkErr = err
				}
				if cond {
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
	for id, r := range a.t.Resources {
		if !have[id] {
			continue
		}
		walk(id, r.Properties)
		walk(id, r.Metadata)
		switch d := r.DependsOn.(type) {
		case string:
			check(id+" DependsOn", d)
		case []any:
			for _, e := range d {
				check(id+" DependsOn", scalarString(e))
			}
		}
	}
	for id, o := range a.t.Outputs {
		ok, err := a.holds(o.Condition)
		if err != nil {
			return nil, err
		}
		if ok {
			walk("Outputs."+id, o.Value)
		}
	}
	sort.Strings(bad)
	return bad, walkErr
}
