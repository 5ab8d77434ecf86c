package demo

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"

	"sysdig-aws-connect/internal/cfnsim"
)

// grants records what the stack grants Sysdig, from the role and policy resources as
// CloudFormation would create them (properties resolved from the template).
type grants struct {
	mu       sync.Mutex
	role     map[string]any            // the SysdigRole's properties
	policies map[string]map[string]any // policy name → properties
}

// provisioners wrap the simulator's role and policy resources to record their properties.
func (g *grants) provisioners() []cfnsim.Option {
	return []cfnsim.Option{
		cfnsim.WithProvisioner("AWS::IAM::Role", func(_ context.Context, st *cfnsim.Stack, logical string, props map[string]any) (string, map[string]any, error) {
			name, _ := props["RoleName"].(string)
			path, _ := props["Path"].(string)
			if path == "" {
				path = "/"
			}
			if name == "" {
				name = st.Pseudo().StackName + "-" + logical
			}
			if logical == "SysdigRole" {
				g.mu.Lock()
				g.role = props
				g.mu.Unlock()
			}
			p := st.Pseudo()
			partition := p.Partition
			if partition == "" {
				partition = "aws"
			}
			return name, map[string]any{"Arn": fmt.Sprintf("arn:%s:iam::%s:role%s%s", partition, p.AccountID, path, name), "RoleId": "AROADEMO" + strings.ToUpper(logical)}, nil
		}),
		cfnsim.WithProvisioner("AWS::IAM::Policy", func(_ context.Context, st *cfnsim.Stack, logical string, props map[string]any) (string, map[string]any, error) {
			name, _ := props["PolicyName"].(string)
			if name == "" {
				name = logical
			}
			g.mu.Lock()
			if g.policies == nil {
				g.policies = map[string]map[string]any{}
			}
			g.policies[name] = props
			g.mu.Unlock()
			return st.Pseudo().StackName + "-" + logical, map[string]any{}, nil
		}),
	}
}

// statements returns a policy document's statements.
func statements(doc any) []map[string]any {
	m, _ := doc.(map[string]any)
	var out []map[string]any
	switch s := m["Statement"].(type) {
	case []any:
		for _, x := range s {
			if sm, ok := x.(map[string]any); ok {
				out = append(out, sm)
			}
		}
	case map[string]any:
		out = append(out, s)
	}
	return out
}

func strs(v any) []string {
	switch t := v.(type) {
	case string:
		return []string{t}
	case []any:
		var out []string
		for _, x := range t {
			out = append(out, fmt.Sprint(x))
		}
		return out
	case []string:
		return t
	}
	return nil
}

// lines renders the trust policy and the permissions for a reader.
func (g *grants) lines() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []string
	if g.role != nil {
		name, _ := g.role["RoleName"].(string)
		out = append(out, "  What the stack grants: the role "+name+" may be assumed by")
		for _, st := range statements(g.role["AssumeRolePolicyDocument"]) {
			var who []string
			if p, ok := st["Principal"].(map[string]any); ok {
				for _, k := range []string{"AWS", "Service", "Federated"} {
					who = append(who, strs(p[k])...)
				}
			}
			cond := ""
			if c, ok := st["Condition"].(map[string]any); ok {
				for op, kv := range c {
					if kvm, ok := kv.(map[string]any); ok {
						keys := make([]string, 0, len(kvm))
						for k := range kvm {
							keys = append(keys, k)
						}
						sort.Strings(keys)
						for _, k := range keys {
							cond += fmt.Sprintf(", only if %s %s %s", k, op, strings.Join(strs(kvm[k]), "|"))
						}
					}
				}
			}
			out = append(out, fmt.Sprintf("    %s (%s%s)", strings.Join(who, ", "), strings.Join(strs(st["Action"]), ", "), cond))
		}
	}
	names := make([]string, 0, len(g.policies))
	for n := range g.policies {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, st := range statements(g.policies[n]["PolicyDocument"]) {
			effect, _ := st["Effect"].(string)
			out = append(out, fmt.Sprintf("  and, by policy %s (%s on %s):", n, effect, strings.Join(strs(st["Resource"]), ", ")))
			out = append(out, "    "+strings.Join(strs(st["Action"]), " "))
		}
	}
	return out
}
