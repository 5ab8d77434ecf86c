package cfnsim

import (
	"fmt"
	"strconv"
	"strings"
)

// Deployed is the template as CloudFormation would deploy it for the analysed values: only
// the resources whose condition holds, every Fn::If replaced by the branch its condition
// selects (AWS::NoValue removed), and every expression that names only parameters and
// pseudo parameters replaced by its value. References to resources (Ref, Fn::GetAtt)
// stay as they are: they exist only once the resources do. Policy checkers such as
// cfn-guard read it as the stack that will exist, not as every stack the template allows.
func (a *Analysis) Deployed() (map[string]any, error) {
	have, err := a.Existing()
	if err != nil {
		return nil, err
	}
	resources := map[string]any{}
	for id, r := range a.t.Resources {
		if !have[id] {
			continue
		}
		out := map[string]any{"Type": r.Type}
		if r.Properties != nil {
			p, err := a.deployed(r.Properties)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", id, err)
			}
			out["Properties"] = p
		}
		resources[id] = out
	}
	return map[string]any{"Resources": resources}, nil
}

func (a *Analysis) deployed(v any) (any, error) { return mapValue(v, a.deployedCall) }

// deployedCall decides one intrinsic function call as deployment would (see Deployed).
func (a *Analysis) deployedCall(fn string, arg any) (any, error) {
	if name, _ := arg.(string); fn == "Ref" && a.t.Parameters[name].Type == "Number" {
		// CloudFormation gives a Number parameter to a property as a number.
		if n, err := strconv.ParseFloat(a.sc.params[name], 64); err == nil {
			return n, nil
		}
	}
	if fn == "Fn::If" {
		args, _ := arg.([]any)
		if len(args) != 3 {
			return nil, fmt.Errorf("Fn::If takes [condition, yes, no]")
		}
		name, _ := args[0].(string)
		yes, err := a.sc.condition(name)
		if err != nil {
			return nil, err
		}
		if yes {
			return a.deployed(args[1])
		}
		return a.deployed(args[2])
	}
	// An expression of parameters alone has its value now; one that names a resource
	// keeps its form, with its Fn::If decided inside.
	call := map[string]any{fn: arg}
	if r, err := a.sc.resolve(call); err == nil {
		return r, nil
	}
	inner, err := a.deployed(arg)
	if err != nil {
		return nil, err
	}
	return map[string]any{fn: inner}, nil
}

// single reports whether m is an intrinsic function call ({"Ref": …} or {"Fn::…": …}).
func single(m map[string]any) (string, any, bool) {
	if len(m) != 1 {
		return "", nil, false
	}
	for k, arg := range m {
		if k == "Ref" || strings.HasPrefix(k, "Fn::") {
			return k, arg, true
		}
	}
	return "", nil, false
}
