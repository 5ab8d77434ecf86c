package operator

import (
	"fmt"
	"io"
	"strings"

	"sysdig-aws-connect/internal/sysdig"
)

// duplicate is a role that more than one provider holds.
type duplicate struct {
	role string   // as first listed
	ids  []string // the providers holding it, in list order
}

// duplicateRoles finds, in one list of the whole tenant, the roles that more than one
// provider holds. OnExisting=Fail counts on Sysdig refusing a second provider for a role
// (ASSUMED: with 409); this is how an operator checks that the assumption held. Roles
// match as IAM and the v2 API see them: account id and role name, whatever path and case.
func duplicateRoles(ps []sysdig.Provider) []duplicate {
	var order []string
	byKey := map[string]*duplicate{}
	for _, p := range ps {
		if p.RoleARN == "" {
			continue
		}
		key := roleKey(p.RoleARN)
		d, ok := byKey[key]
		if !ok {
			d = &duplicate{role: p.RoleARN}
			byKey[key] = d
			order = append(order, key)
		}
		d.ids = append(d.ids, p.ID)
	}
	var out []duplicate
	for _, k := range order {
		if d := byKey[k]; len(d.ids) > 1 {
			out = append(out, *d)
		}
	}
	return out
}

func roleKey(arn string) string {
	if _, account, name, err := sysdig.ParseRoleARN(arn); err == nil {
		return account + "/" + strings.ToLower(name)
	}
	return strings.ToLower(arn)
}

// duplicateIDs is the set of providers whose role another provider holds too.
func duplicateIDs(ds []duplicate) map[string]bool {
	set := map[string]bool{}
	for _, d := range ds {
		for _, id := range d.ids {
			set[id] = true
		}
	}
	return set
}

// writeDuplicates tells the operator which roles are registered more than once, and the
// complete command (flags in use) that removes a surplus one.
func writeDuplicates(w io.Writer, ds []duplicate, suggest func(args ...string) string) error {
	if len(ds) == 0 {
		return nil
	}
	var b strings.Builder
	fmt.Fprintf(&b, "\nWarning: %d role(s) registered more than once; Sysdig should hold one provider per role:\n", len(ds))
	for _, d := range ds {
		fmt.Fprintf(&b, "  %s: providers %s\n", clean(d.role, 300), clean(strings.Join(d.ids, ", "), 400))
	}
	b.WriteString("Keep the one a stack names (its SysdigProviderId output, or the SysdigProvider resource's physical id) and remove each other one with:\n")
	for _, d := range ds {
		fmt.Fprintf(&b, "  %s\n", suggest("deregister", "<id>", "--role-arn", clean(d.role, 300)))
	}
	_, err := io.WriteString(w, b.String())
	return err
}
