// Package cfnsim plays a CloudFormation template's life locally, the way CloudFormation
// would for custom resources: it evaluates parameters, conditions and intrinsic functions,
// orders resources by their dependencies, sends Create, Update and Delete requests for
// Custom:: resources to a function and waits for each answer at a ResponseURL, rolls back
// failures and cleans up replaced resources. Other resource types get plausible physical
// ids and attributes (a role's Arn, a function's Arn) so references resolve.
//
// It exists so the project's own synthesized template, not a hand-written copy of its
// properties, drives the local demo and the end-to-end tests.
package cfnsim

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Template is the part of a CloudFormation template the simulator reads.
type Template struct {
	Parameters map[string]Parameter                 `json:"Parameters"`
	Mappings   map[string]map[string]map[string]any `json:"Mappings"`
	Conditions map[string]any                       `json:"Conditions"`
	Rules      map[string]Rule                      `json:"Rules"`
	Resources  map[string]Resource                  `json:"Resources"`
	Outputs    map[string]Output                    `json:"Outputs"`
}

// Parameter is a template parameter.
type Parameter struct {
	Type           string   `json:"Type"`
	Default        *string  `json:"-"`
	AllowedValues  []string `json:"-"`
	AllowedPattern string   `json:"AllowedPattern"`
	NoEcho         bool     `json:"-"`
}

// UnmarshalJSON accepts defaults and allowed values written as strings or numbers.
func (p *Parameter) UnmarshalJSON(b []byte) error {
	var raw struct {
		Type           string `json:"Type"`
		Default        any    `json:"Default"`
		AllowedValues  []any  `json:"AllowedValues"`
		AllowedPattern string `json:"AllowedPattern"`
		NoEcho         any    `json:"NoEcho"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	p.Type, p.AllowedPattern = raw.Type, raw.AllowedPattern
	if raw.Default != nil {
		s := scalarString(raw.Default)
		p.Default = &s
	}
	for _, v := range raw.AllowedValues {
		p.AllowedValues = append(p.AllowedValues, scalarString(v))
	}
	p.NoEcho = scalarString(raw.NoEcho) == "true"
	return nil
}

// Rule is a template rule: when RuleCondition holds, every assertion must.
type Rule struct {
	RuleCondition any `json:"RuleCondition"`
	Assertions    []struct {
		Assert            any    `json:"Assert"`
		AssertDescription string `json:"AssertDescription"`
	} `json:"Assertions"`
}

// checkRules evaluates the template's rules against parameter values, as CloudFormation
// does before it creates or updates anything.
func checkRules(t *Template, params map[string]string, pseudo Pseudo) error {
	sc := &scope{t: t, params: params, pseudo: pseudo, physical: map[string]string{}, attributes: map[string]map[string]any{}, conditions: map[string]bool{}}
	names := make([]string, 0, len(t.Rules))
	for n := range t.Rules {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		rule := t.Rules[name]
		if rule.RuleCondition != nil {
			ok, err := sc.boolean(rule.RuleCondition)
			if err != nil {
				return fmt.Errorf("rule %s: %w", name, err)
			}
			if !ok {
				continue
			}
		}
		for _, a := range rule.Assertions {
			ok, err := sc.boolean(a.Assert)
			if err != nil {
				return fmt.Errorf("rule %s: %w", name, err)
			}
			if !ok {
				return &RuleError{Rule: name, Description: a.AssertDescription}
			}
		}
	}
	return nil
}

// Resource is a template resource.
type Resource struct {
	Type           string         `json:"Type"`
	Condition      string         `json:"Condition"`
	Properties     map[string]any `json:"Properties"`
	Metadata       any            `json:"Metadata"`
	DependsOn      any            `json:"DependsOn"`
	DeletionPolicy string         `json:"DeletionPolicy"`
}

// Output is a template output.
type Output struct {
	Value     any    `json:"Value"`
	Condition string `json:"Condition"`
}

// ParseTemplate reads a JSON template.
func ParseTemplate(b []byte) (*Template, error) {
	var t Template
	if err := json.Unmarshal(b, &t); err != nil {
		return nil, fmt.Errorf("parse template: %w", err)
	}
	if len(t.Resources) == 0 {
		return nil, fmt.Errorf("parse template: no Resources")
	}
	return &t, nil
}

// Pseudo holds the pseudo parameters.
type Pseudo struct {
	AccountID, Region, Partition, StackName, StackID string
}

// scope evaluates expressions against parameter values and resource state.
type scope struct {
	t          *Template
	params     map[string]string
	pseudo     Pseudo
	physical   map[string]string
	attributes map[string]map[string]any
	conditions map[string]bool
}

// resolveParameters applies defaults and checks AllowedValues and AllowedPattern, as
// CloudFormation does before it starts.
// Parameters of an SSM type name a parameter store entry, looked up in ssm.
func resolveParameters(t *Template, given map[string]string, ssm map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for name := range given {
		if _, ok := t.Parameters[name]; !ok {
			return nil, fmt.Errorf("parameter %s is not in the template", name)
		}
	}
	for name, p := range t.Parameters {
		v, ok := given[name]
		if !ok {
			if p.Default == nil {
				return nil, fmt.Errorf("parameter %s needs a value", name)
			}
			v = *p.Default
		}
		if len(p.AllowedValues) > 0 && !slices.Contains(p.AllowedValues, v) {
			return nil, fmt.Errorf("parameter %s: %q is not one of %v", name, v, p.AllowedValues)
		}
		if p.AllowedPattern != "" {
			re, err := regexp.Compile("^(?:" + p.AllowedPattern + ")$")
			if err != nil {
				return nil, fmt.Errorf("parameter %s: AllowedPattern: %w", name, err)
			}
			values := []string{v}
			if strings.HasPrefix(p.Type, "List<") || p.Type == "CommaDelimitedList" {
				values = splitList(v)
			}
			for _, item := range values {
				if !re.MatchString(item) {
					return nil, fmt.Errorf("parameter %s: %q does not match %s", name, item, p.AllowedPattern)
				}
			}
		}
		if strings.HasPrefix(p.Type, "AWS::SSM::Parameter::Value<") {
			value, ok := ssm[v]
			if !ok {
				return nil, fmt.Errorf("parameter %s: SSM parameter %s does not exist", name, v)
			}
			v = value
		}
		out[name] = v
	}
	return out, nil
}

func splitList(v string) []string {
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

func (s *scope) condition(name string) (bool, error) {
	if v, ok := s.conditions[name]; ok {
		return v, nil
	}
	expr, ok := s.t.Conditions[name]
	if !ok {
		return false, fmt.Errorf("condition %s is not defined", name)
	}
	s.conditions[name] = false // a cycle evaluates to false rather than recursing forever
	v, err := s.boolean(expr)
	if err != nil {
		return false, fmt.Errorf("condition %s: %w", name, err)
	}
	s.conditions[name] = v
	return v, nil
}

func (s *scope) boolean(expr any) (bool, error) {
	m, ok := expr.(map[string]any)
	if !ok || len(m) != 1 {
		return false, fmt.Errorf("not a condition function: %v", expr)
	}
	for fn, arg := range m {
		args, _ := arg.([]any)
		switch fn {
		case "Condition":
			return s.condition(scalarString(arg))
		case "Fn::Equals":
			if len(args) != 2 {
				return false, fmt.Errorf("Fn::Equals takes two values")
			}
			a, err := s.resolve(args[0])
			if err != nil {
				return false, err
			}
			b, err := s.resolve(args[1])
			if err != nil {
				return false, err
			}
			return scalarString(a) == scalarString(b), nil
		case "Fn::Contains":
			if len(args) != 2 {
				return false, fmt.Errorf("Fn::Contains takes [list, value]")
			}
			list, err := s.resolve(args[0])
			if err != nil {
				return false, err
			}
			v, err := s.resolve(args[1])
			if err != nil {
				return false, err
			}
			items, _ := list.([]any)
			for _, it := range items {
				if scalarString(it) == scalarString(v) {
					return true, nil
				}
			}
			return false, nil
		case "Fn::Not":
			if len(args) != 1 {
				return false, fmt.Errorf("Fn::Not takes one condition")
			}
			v, err := s.boolean(args[0])
			return !v, err
		case "Fn::And", "Fn::Or":
			want := fn == "Fn::Or"
			for _, a := range args {
				v, err := s.boolean(a)
				if err != nil {
					return false, err
				}
				if v == want {
					return want, nil
				}
			}
			return !want, nil
		}
		return false, fmt.Errorf("unsupported condition function %s", fn)
	}
	return false, nil
}

// noValue marks AWS::NoValue: the property is removed.
type noValue struct{}

// resolve evaluates intrinsic functions in v.
func (s *scope) resolve(v any) (any, error) { return mapValue(v, s.intrinsic) }

// mapValue rebuilds v, giving each intrinsic function call ({"Ref": …} or {"Fn::…": …})
// to call and leaving out what comes back as AWS::NoValue.
func mapValue(v any, call func(fn string, arg any) (any, error)) (any, error) {
	switch t := v.(type) {
	case []any:
		out := make([]any, 0, len(t))
		for _, e := range t {
			r, err := mapValue(e, call)
			if err != nil {
				return nil, err
			}
			if _, skip := r.(noValue); !skip {
				out = append(out, r)
			}
		}
		return out, nil
	case map[string]any:
		if fn, arg, ok := single(t); ok {
			return call(fn, arg)
		}
		out := make(map[string]any, len(t))
		for k, e := range t {
			r, err := mapValue(e, call)
			if err != nil {
				return nil, err
			}
			if _, skip := r.(noValue); !skip {
				out[k] = r
			}
		}
		return out, nil
	}
	return v, nil
}

func (s *scope) intrinsic(fn string, arg any) (any, error) {
	args, _ := arg.([]any)
	switch fn {
	case "Ref":
		return s.ref(scalarString(arg))
	case "Fn::GetAtt":
		var logical, attr string
		switch a := arg.(type) {
		case []any:
			if len(a) != 2 {
				return nil, fmt.Errorf("Fn::GetAtt takes [resource, attribute]")
			}
			logical, attr = scalarString(a[0]), scalarString(a[1])
		case string:
			logical, attr, _ = strings.Cut(a, ".")
		}
		attrs, ok := s.attributes[logical]
		if !ok {
			return nil, fmt.Errorf("Fn::GetAtt %s.%s: resource not created", logical, attr)
		}
		v, ok := attrs[attr]
		if !ok {
			if r := s.t.Resources[logical]; !isCustom(r.Type) {
				// A simulated resource has every attribute its type documents; the ones
				// no provisioner sets read as a placeholder that names them.
				return s.physical[logical] + "." + attr, nil
			}
			return nil, fmt.Errorf("Fn::GetAtt %s.%s: no such attribute in the custom resource's Data", logical, attr)
		}
		return v, nil
	case "Fn::If":
		if len(args) != 3 {
			return nil, fmt.Errorf("Fn::If takes [condition, then, else]")
		}
		ok, err := s.condition(scalarString(args[0]))
		if err != nil {
			return nil, err
		}
		if ok {
			return s.resolve(args[1])
		}
		return s.resolve(args[2])
	case "Fn::Join":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Join takes [delimiter, list]")
		}
		list, err := s.resolve(args[1])
		if err != nil {
			return nil, err
		}
		items, ok := list.([]any)
		if !ok {
			return nil, fmt.Errorf("Fn::Join: not a list")
		}
		parts := make([]string, len(items))
		for i, it := range items {
			parts[i] = scalarString(it)
		}
		return strings.Join(parts, scalarString(args[0])), nil
	case "Fn::Select":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Select takes [index, list]")
		}
		idxV, err := s.resolve(args[0])
		if err != nil {
			return nil, err
		}
		list, err := s.resolve(args[1])
		if err != nil {
			return nil, err
		}
		idx, err := strconv.Atoi(scalarString(idxV))
		items, _ := list.([]any)
		if err != nil || idx < 0 || idx >= len(items) {
			return nil, fmt.Errorf("Fn::Select: index %v out of range", idxV)
		}
		return items[idx], nil
	case "Fn::Split":
		if len(args) != 2 {
			return nil, fmt.Errorf("Fn::Split takes [delimiter, string]")
		}
		src, err := s.resolve(args[1])
		if err != nil {
			return nil, err
		}
		var out []any
		for _, p := range strings.Split(scalarString(src), scalarString(args[0])) {
			out = append(out, p)
		}
		return out, nil
	case "Fn::FindInMap":
		if len(args) != 3 {
			return nil, fmt.Errorf("Fn::FindInMap takes [map, key, key]")
		}
		keys := make([]string, 3)
		for i, a := range args {
			r, err := s.resolve(a)
			if err != nil {
				return nil, err
			}
			keys[i] = scalarString(r)
		}
		v, ok := s.t.Mappings[keys[0]][keys[1]][keys[2]]
		if !ok {
			return nil, fmt.Errorf("Fn::FindInMap %v: not found", keys)
		}
		return v, nil
	case "Fn::Sub":
		var text string
		vars := map[string]any{}
		switch a := arg.(type) {
		case string:
			text = a
		case []any:
			if len(a) != 2 {
				return nil, fmt.Errorf("Fn::Sub takes a string or [string, variables]")
			}
			text = scalarString(a[0])
			m, _ := a[1].(map[string]any)
			for k, e := range m {
				r, err := s.resolve(e)
				if err != nil {
					return nil, err
				}
				vars[k] = r
			}
		}
		return s.sub(text, vars)
	case "Fn::Base64":
		return s.resolve(arg)
	}
	return nil, fmt.Errorf("unsupported intrinsic function %s", fn)
}

var subVar = regexp.MustCompile(`\$\{([^}!][^}]*)\}`)

func (s *scope) sub(text string, vars map[string]any) (any, error) {
	var firstErr error
	out := subVar.ReplaceAllStringFunc(text, func(m string) string {
		name := m[2 : len(m)-1]
		if v, ok := vars[name]; ok {
			return scalarString(v)
		}
		var v any
		var err error
		if logical, attr, ok := strings.Cut(name, "."); ok {
			v, err = s.intrinsic("Fn::GetAtt", []any{logical, attr})
		} else {
			v, err = s.ref(name)
		}
		if err != nil && firstErr == nil {
			firstErr = err
		}
		return scalarString(v)
	})
	return strings.ReplaceAll(out, "${!", "${"), firstErr
}

func (s *scope) ref(name string) (any, error) {
	switch name {
	case "AWS::AccountId":
		return s.pseudo.AccountID, nil
	case "AWS::Region":
		return s.pseudo.Region, nil
	case "AWS::Partition":
		return s.pseudo.Partition, nil
	case "AWS::StackName":
		return s.pseudo.StackName, nil
	case "AWS::StackId":
		return s.pseudo.StackID, nil
	case "AWS::URLSuffix":
		return "amazonaws.com", nil
	case "AWS::NoValue":
		return noValue{}, nil
	}
	if p, ok := s.t.Parameters[name]; ok {
		v := s.params[name]
		if strings.HasPrefix(p.Type, "List<") || p.Type == "CommaDelimitedList" {
			var out []any
			for _, item := range splitList(v) {
				out = append(out, item)
			}
			if out == nil {
				// As CloudFormation: an empty list parameter is one empty string.
				out = []any{""}
			}
			return out, nil
		}
		return v, nil
	}
	if id, ok := s.physical[name]; ok {
		return id, nil
	}
	return nil, fmt.Errorf("Ref %s: no such parameter, or resource not created", name)
}

// scalarString renders a value as CloudFormation sends it to a custom resource: strings
// as they are, booleans and numbers as text.
func scalarString(v any) string {
	switch t := v.(type) {
	case nil:
		return ""
	case string:
		return t
	case bool:
		return strconv.FormatBool(t)
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64)
	case json.Number:
		return t.String()
	}
	return fmt.Sprint(v)
}

// stringify converts every scalar in a resolved property tree to a string, as
// CloudFormation does for custom-resource properties.
func stringify(v any) any {
	switch t := v.(type) {
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = stringify(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[k] = stringify(e)
		}
		return out
	}
	return scalarString(v)
}

// dependencies lists the resources r refers to (Ref, GetAtt, Sub, DependsOn).
func dependencies(t *Template, r Resource) []string {
	seen := map[string]bool{}
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			for k, e := range x {
				switch k {
				case "Ref":
					seen[scalarString(e)] = true
				case "Fn::GetAtt":
					if a, ok := e.([]any); ok && len(a) > 0 {
						seen[scalarString(a[0])] = true
					} else if str, ok := e.(string); ok {
						name, _, _ := strings.Cut(str, ".")
						seen[name] = true
					}
				case "Fn::Sub":
					text := e
					if a, ok := e.([]any); ok && len(a) > 0 {
						text = a[0]
						walk(a[1:])
					}
					for _, m := range subVar.FindAllStringSubmatch(scalarString(text), -1) {
						name, _, _ := strings.Cut(m[1], ".")
						seen[name] = true
					}
				}
				walk(e)
			}
		}
	}
	walk(r.Properties)
	switch d := r.DependsOn.(type) {
	case string:
		seen[d] = true
	case []any:
		for _, e := range d {
			seen[scalarString(e)] = true
		}
	}
	var out []string
	for name := range seen {
		if _, ok := t.Resources[name]; ok {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// order returns the resources in creation order (dependencies first, then by name).
func order(t *Template) ([]string, error) {
	state := map[string]int{} // 0 new, 1 visiting, 2 done
	var out []string
	var visit func(name string, path []string) error
	visit = func(name string, path []string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("circular dependency: %s", strings.Join(append(path, name), " -> "))
		case 2:
			return nil
		}
		state[name] = 1
		for _, d := range dependencies(t, t.Resources[name]) {
			if err := visit(d, append(path, name)); err != nil {
				return err
			}
		}
		state[name] = 2
		out = append(out, name)
		return nil
	}
	names := make([]string, 0, len(t.Resources))
	for n := range t.Resources {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := visit(n, nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}
