package operator

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	"sysdig-aws-connect/internal/sysdig"
)

// ---- whoami ----

type whoamiCmd struct {
	roleFlags
}

func (c *whoamiCmd) Run(a *app) error {
	// Check the role flags before asking AWS.
	if _, err := stackRoleARN(identity{Partition: "aws", Account: "000000000000"}, c.roleFlags); err != nil {
		return err
	}
	id, err := a.callerIdentity("")
	if err != nil {
		return err
	}
	role, err := stackRoleARN(id, c.roleFlags)
	if err != nil {
		return err
	}
	if a.json() {
		return a.writeJSON(struct {
			identity
			RoleARN string `json:"roleArn"`
		}{id, role})
	}
	_, err = fmt.Fprintf(a.stdout, "Account:   %s\nCaller:    %s\nUser ID:   %s\nPartition: %s\nStack role ARN: %s\n",
		id.Account, clean(id.ARN, 300), clean(id.UserID, 200), id.Partition, role)
	return err
}

// ---- external-id ----

type externalIDCmd struct{}

func (c *externalIDCmd) Run(a *app) error {
	client, err := a.sysdig()
	if err != nil {
		return err
	}
	info, err := client.ExternalID(a.ctx)
	if err != nil {
		return fmt.Errorf("read the external ID: %w", err)
	}
	if a.json() {
		return a.writeJSON(struct {
			ExternalID         string `json:"externalId"`
			SysdigAWSAccountID string `json:"sysdigAwsAccountId"`
			Source             string `json:"source"`
		}{info.ExternalID, info.SysdigAWSAccountID, info.Source})
	}
	account := clean(info.SysdigAWSAccountID, 40)
	if account == "" {
		account = "not reported by this tenant (SaaS us1 uses " + DefaultSysdigAWSAccountID + "; other regions: see Sysdig's list of AWS account IDs; on-prem: your own account)"
	}
	_, err = fmt.Fprintf(a.stdout, "External ID:        %s\nSysdig AWS account: %s\nSource:             %s%s\n",
		clean(info.ExternalID, 200), account, a.baseURL, clean(info.Source, 200))
	return err
}

// ---- providers list / get ----

type providersListCmd struct{}

func (c *providersListCmd) Run(a *app) error {
	client, err := a.sysdig()
	if err != nil {
		return err
	}
	ps, err := client.ListProviders(a.ctx, a.apiVersion())
	if errors.Is(err, sysdig.ErrListingNotSupported) {
		other := sysdig.V1
		if a.apiVersion() == sysdig.V1 {
			other = sysdig.V2
		}
		return &hintError{err: fmt.Errorf("list providers: %w", err), hint: "this Sysdig offers no list with the " + string(a.apiVersion()) +
			" API; try the other one: " + a.suggestAPI(string(other), "providers", "list") + "; or find the providers in the Sysdig UI"}
	}
	if err != nil {
		return fmt.Errorf("list providers: %w", err)
	}
	dups := duplicateRoles(ps)
	if a.json() {
		dupIDs := duplicateIDs(dups)
		out := make([]providerJSON, 0, len(ps))
		for _, p := range ps {
			j := toJSON(p)
			j.DuplicateRole = dupIDs[p.ID]
			out = append(out, j)
		}
		return a.writeJSON(out)
	}
	if len(ps) == 0 {
		_, err := fmt.Fprintf(a.stdout, "No AWS providers registered at %s (%s API).\n", a.baseURL, a.apiVersion())
		return err
	}
	if err := a.writeProviderTable(ps); err != nil {
		return err
	}
	return writeDuplicates(a.stdout, dups, a.suggest)
}

type providersGetCmd struct {
	ID string `arg:"" name:"id" help:"Provider id (see providers list)."`
}

func (c *providersGetCmd) Run(a *app) error {
	client, err := a.sysdig()
	if err != nil {
		return err
	}
	p, err := client.GetProvider(a.ctx, a.apiVersion(), c.ID)
	if sysdig.IsNotFound(err) {
		return &hintError{err: fmt.Errorf("provider %s not found at %s (%s API)", clean(c.ID, 130), a.baseURL, a.apiVersion()),
			hint: "list the registered providers with: " + a.suggest("providers", "list")}
	}
	if err != nil {
		return fmt.Errorf("get provider %s: %w", clean(c.ID, 130), err)
	}
	if a.json() {
		return a.writeJSON(toJSON(p))
	}
	return a.writeProvider(p, "")
}

// ---- register ----

type registerCmd struct {
	roleFlags
	RoleARN    string   `name:"role-arn" placeholder:"ARN" help:"IAM role to register; default: the role the stack creates in the caller's account (--role-path, --role-name)."`
	Alias      string   `name:"alias" placeholder:"NAME" help:"Provider alias; default for a new provider: role_delegation."`
	Regions    []string `name:"regions" sep:"," placeholder:"LIST" help:"Restrict resource discovery to these AWS regions (us-east-1,eu-west-1), or all; default for a new provider: all regions."`
	OnExisting string   `name:"on-existing" enum:"fail,adopt" default:"fail" help:"When Sysdig already has a provider for the role: fail, or adopt it (only the --alias and --regions given are changed)."`
}

// registerResult is register's JSON output.
type registerResult struct {
	Action   string       `json:"action"` // created, adopted, updated (adopted and changed)
	Provider providerJSON `json:"provider"`
}

// defaultAlias is a new provider's alias, as in Sysdig's guide and the stack.
const defaultAlias = "role_delegation"

func (c *registerCmd) Run(a *app) error {
	regionsGiven := c.Regions != nil
	all := len(c.Regions) == 1 && strings.EqualFold(strings.TrimSpace(c.Regions[0]), "all")
	var regions []string
	if !all {
		var err error
		if regions, err = normalizeRegions(c.Regions); err != nil {
			return err
		}
	}
	if len(c.Alias) > 256 || strings.ContainsFunc(c.Alias, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return usagef("--alias must be at most 256 printable characters")
	}
	// Validate all local input before any network call.
	if _, err := a.endpoint(); err != nil {
		return err
	}
	role, _, err := a.roleARN(c.RoleARN, c.roleFlags)
	if err != nil {
		return err
	}
	client, err := a.sysdig()
	if err != nil {
		return err
	}
	alias := c.Alias
	if alias == "" {
		alias = defaultAlias
	}
	spec := sysdig.ProviderSpec{RoleARN: role, Alias: alias, Regions: regions}
	v := a.apiVersion()

	existing, found, err := client.FindProviderByRole(a.ctx, v, role)
	if errors.Is(err, sysdig.ErrListingNotSupported) {
		// Nothing to look in: register, and a 409 says the role is taken.
		found, err = false, nil
	}
	if err != nil {
		return fmt.Errorf("look up providers for role %s: %w", role, err)
	}
	if found {
		// Adopting changes only what the command names; the rest stays as Sysdig has it.
		if c.Alias == "" {
			spec.Alias = existing.Alias
		}
		if !regionsGiven {
			spec.Regions = existing.Regions
		}
	}
	var res registerResult
	switch {
	case found && c.OnExisting != "adopt":
		return &hintError{err: fmt.Errorf("Sysdig already has provider %s for role %s (alias %q)", clean(existing.ID, 130), role, clean(existing.Alias, 100)),
			hint: "keep it with: " + a.suggest(append(c.replay(role), "--on-existing", "adopt")...) + "; or remove it first with: " + a.suggest("deregister", existing.ID, "--role-arn", role)}
	case found && matches(existing, spec):
		res = registerResult{Action: "adopted", Provider: toJSON(existing)}
	case found:
		p, err := client.UpdateProvider(a.ctx, v, existing.ID, spec)
		if err != nil {
			return fmt.Errorf("adopt provider %s for role %s: update its alias and regions: %w", clean(existing.ID, 130), role, err)
		}
		res = registerResult{Action: "updated", Provider: toJSON(p)}
	default:
		p, err := client.CreateProvider(a.ctx, v, spec)
		if err != nil {
			return a.registerError(c, role, err)
		}
		res = registerResult{Action: "created", Provider: toJSON(p)}
	}
	if res.Provider.Status == "" {
		res.Provider.Status = "unknown"
	}
	if a.json() {
		return a.writeJSON(res)
	}
	var what string
	switch res.Action {
	case "created":
		what = "Registered role %s with Sysdig as a new provider."
	case "adopted":
		what = "Adopted the existing provider for role %s (alias and regions already match)."
	default:
		// Only what the command named was changed.
		var set []string
		if c.Alias != "" {
			set = append(set, "alias")
		}
		if regionsGiven {
			set = append(set, "regions")
		}
		what = "Adopted the existing provider for role %s and set its " + strings.Join(set, " and ") + "."
	}
	if _, err := fmt.Fprintf(a.stdout, what+"\n", role); err != nil {
		return err
	}
	p := sysdig.Provider{ID: res.Provider.ID, RoleARN: res.Provider.RoleARN, Alias: res.Provider.Alias, Regions: res.Provider.Regions, Status: res.Provider.Status}
	return a.writeProvider(p, "  ")
}

// replay is this register command's own flags, for suggested command lines.
func (c *registerCmd) replay(role string) []string {
	out := []string{"register", "--role-arn", role}
	if c.Alias != "" {
		out = append(out, "--alias", c.Alias)
	}
	if c.Regions != nil {
		out = append(out, "--regions", strings.Join(c.Regions, ","))
	}
	return out
}

// registerError explains a refused create.
func (a *app) registerError(c *registerCmd, role string, err error) error {
	err = fmt.Errorf("register role %s: %w", role, err)
	var apiErr *sysdig.APIError
	if !errors.As(err, &apiErr) {
		return err
	}
	switch {
	case apiErr.StatusCode == 409:
		return &hintError{err: err, hint: "Sysdig already holds this role: see " + a.suggest("providers", "list") + ", then keep it with: " + a.suggest(append(c.replay(role), "--on-existing", "adopt")...)}
	case (apiErr.StatusCode == 400 || apiErr.StatusCode == 422) && strings.Contains(strings.ToLower(apiErr.Message), "assume"):
		return &hintError{err: err, hint: "Sysdig cannot assume the role: check its trust policy (Sysdig's AWS account and the external ID from " + a.suggest("external-id") + "); a role created moments ago may need a minute to propagate, then retry"}
	}
	return err
}

// matches reports whether p already has spec's alias and regions.
func matches(p sysdig.Provider, spec sysdig.ProviderSpec) bool {
	have := slices.Clone(p.Regions)
	slices.Sort(have)
	want := slices.Clone(spec.Regions)
	slices.Sort(want)
	return p.Alias == spec.Alias && slices.Equal(slices.Compact(have), slices.Compact(want))
}

// normalizeRegions turns --regions into Sysdig names (US_EAST_1), unique, in order.
func normalizeRegions(in []string) ([]string, error) {
	if len(in) > 64 {
		return nil, usagef("--regions lists %d regions: at most 64", len(in))
	}
	var out []string
	for _, r := range in {
		if strings.TrimSpace(r) == "" {
			continue
		}
		name, err := sysdig.SysdigRegionName(r)
		if err != nil {
			return nil, usagef("--regions: %s", strings.TrimPrefix(err.Error(), "sysdig: "))
		}
		if !slices.Contains(out, name) {
			out = append(out, name)
		}
	}
	return out, nil
}

// ---- deregister ----

type deregisterCmd struct {
	ID      string `arg:"" name:"id" help:"Provider id (see providers list)."`
	RoleARN string `name:"role-arn" placeholder:"ARN" help:"Refuse unless the provider holds this role."`
}

func (c *deregisterCmd) Run(a *app) error {
	if c.RoleARN != "" {
		if _, _, err := a.roleARN(c.RoleARN, roleFlags{}); err != nil {
			return err
		}
	}
	client, err := a.sysdig()
	if err != nil {
		return err
	}
	v := a.apiVersion()
	id := clean(c.ID, 130)
	if c.RoleARN != "" {
		p, err := client.GetProvider(a.ctx, v, c.ID)
		if sysdig.IsNotFound(err) {
			return a.deregistered(id, "already-gone")
		}
		if err != nil {
			return fmt.Errorf("read provider %s to check its role: %w", id, err)
		}
		if p.RoleARN == "" {
			// The very case the registrar's fail-closed warnings print this command for:
			// the check cannot be made, and a person must decide.
			return &hintError{err: fmt.Errorf("refused: Sysdig's answer for provider %s does not name its role, so --role-arn cannot be checked; nothing was removed", id),
				hint: "check in the Sysdig UI that provider " + id + " is the one to remove (its AWS account and role), then run the command again without --role-arn: " + a.suggest("deregister", id)}
		}
		if !sysdig.SameRole(p.RoleARN, c.RoleARN) {
			return &hintError{err: fmt.Errorf("refused: provider %s holds role %s, not %s; nothing was removed", id, orDash(p.RoleARN, 300), c.RoleARN),
				hint: "check the id with: " + a.suggest("providers", "list")}
		}
	}
	err = client.DeleteProvider(a.ctx, v, c.ID)
	if sysdig.IsNotFound(err) {
		return a.deregistered(id, "already-gone")
	}
	if err != nil {
		return fmt.Errorf("deregister provider %s: %w", id, err)
	}
	return a.deregistered(id, "deleted")
}

func (a *app) deregistered(id, result string) error {
	if a.json() {
		return a.writeJSON(struct {
			ID     string `json:"id"`
			Result string `json:"result"`
		}{id, result})
	}
	var err error
	if result == "deleted" {
		_, err = fmt.Fprintf(a.stdout, "Deregistered provider %s.\n", id)
	} else {
		_, err = fmt.Fprintf(a.stdout, "Provider %s is already gone; nothing to do.\n", id)
	}
	return err
}
