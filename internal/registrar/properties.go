package registrar

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"sysdig-aws-connect/internal/rolearn"
	"sysdig-aws-connect/internal/sysdig"
)

// Resource types this function serves (a public interface: templates depend on them).
const (
	TypeExternalID = "Custom::SysdigExternalId"
	TypeProvider   = "Custom::SysdigProvider"
)

// Property names (a public interface).
const (
	PropSysdigAPIURL       = "SysdigApiUrl"
	PropAPITokenSecretID   = "ApiTokenSecretId"
	PropSkipTLSVerify      = "SkipTlsVerify"
	PropRoleARN            = "RoleArn"
	PropAlias              = "Alias"
	PropRegions            = "Regions"
	PropOnExisting         = "OnExisting"
	PropDeregisterOnDelete = "DeregisterOnDelete"
	PropProviderAPI        = "ProviderApi"
)

// DefaultAlias is the seed's alias.
const DefaultAlias = "role_delegation"

// OnExisting policies.
const (
	OnExistingFail  = "Fail"
	OnExistingAdopt = "Adopt"
)

// CloudFormation adds these to every custom resource's properties.
var cloudFormationProperties = []string{"ServiceToken", "ServiceTimeout"}

// PropertyError names the property at fault and the form it expects.
type PropertyError struct {
	Property string
	Problem  string
}

func (e *PropertyError) Error() string { return "property " + e.Property + ": " + e.Problem }

// Connection is what both resource types need to reach Sysdig.
type Connection struct {
	BaseURL       string // normalized: scheme://host[:port][/path], no trailing slash
	SecretID      string
	SkipTLSVerify bool
}

// ExternalIDProperties are the properties of Custom::SysdigExternalId.
type ExternalIDProperties struct {
	Connection
	// Region is the stack's SysdigRegion (us1, eu1, …, custom); empty when not sent.
	Region string
	// GivenAccount is SysdigAwsAccountId as given; empty means "the account Sysdig reports".
	GivenAccount string
	// OnPrem is the OnPremCredentials mode; None (SaaS trust) when not sent.
	OnPrem string
}

// ProviderProperties are the properties of Custom::SysdigProvider.
type ProviderProperties struct {
	Connection
	RoleARN            string
	Role               RoleARN
	Alias              string
	Regions            []string // Sysdig names, sorted, unique; empty means all regions
	OnExisting         string
	DeregisterOnDelete bool
	API                sysdig.APIVersion
}

// Spec is what Sysdig is asked to hold for these properties.
func (p ProviderProperties) Spec() sysdig.ProviderSpec {
	return sysdig.ProviderSpec{RoleARN: p.RoleARN, Alias: p.Alias, Regions: p.Regions}
}

// ParseExternalIDProperties validates the properties of Custom::SysdigExternalId.
func ParseExternalIDProperties(props map[string]any) (ExternalIDProperties, error) {
	r := reader{props: props}
	if err := r.allowOnly(PropSysdigAPIURL, PropAPITokenSecretID, PropSkipTLSVerify,
		PropSysdigRegion, PropSysdigAwsAccountID, PropOnPremCredentials); err != nil {
		return ExternalIDProperties{}, err
	}
	conn, err := r.connection()
	if err != nil {
		return ExternalIDProperties{}, err
	}
	p := ExternalIDProperties{Connection: conn}
	if err := r.readAccountChoice(&p); err != nil {
		return ExternalIDProperties{}, err
	}
	return p, nil
}

// ParseProviderProperties validates the properties of Custom::SysdigProvider.
func ParseProviderProperties(props map[string]any) (ProviderProperties, error) {
	r := reader{props: props}
	if err := r.allowOnly(PropSysdigAPIURL, PropAPITokenSecretID, PropSkipTLSVerify, PropRoleARN, PropAlias,
		PropRegions, PropOnExisting, PropDeregisterOnDelete, PropProviderAPI); err != nil {
		return ProviderProperties{}, err
	}
	var p ProviderProperties
	var err error
	if p.Connection, err = r.connection(); err != nil {
		return p, err
	}
	if p.RoleARN, err = r.requiredString(PropRoleARN, "an IAM role ARN such as arn:aws:iam::123456789012:role/sysdig-role"); err != nil {
		return p, err
	}
	if p.Role, err = ParseRoleARN(p.RoleARN); err != nil {
		return p, &PropertyError{PropRoleARN, err.Error()}
	}
	if strings.Contains(p.RoleARN, idSeparator) {
		return p, &PropertyError{PropRoleARN, "must not contain '|' (IAM allows it in paths; this function cannot name such a role)"}
	}
	if p.Alias, err = r.optionalString(PropAlias, DefaultAlias); err != nil {
		return p, err
	}
	if !aliasPattern.MatchString(p.Alias) {
		return p, &PropertyError{PropAlias, "must be 1 to 128 characters of letters, digits, spaces and . _ - : / @ ( ) +"}
	}
	if p.Regions, err = r.regions(); err != nil {
		return p, err
	}
	onExisting, err := r.optionalString(PropOnExisting, OnExistingFail)
	if err != nil {
		return p, err
	}
	switch {
	case strings.EqualFold(onExisting, OnExistingFail):
		p.OnExisting = OnExistingFail
	case strings.EqualFold(onExisting, OnExistingAdopt):
		p.OnExisting = OnExistingAdopt
	default:
		return p, &PropertyError{PropOnExisting, fmt.Sprintf("%q is not Fail or Adopt", onExisting)}
	}
	if p.DeregisterOnDelete, err = r.boolean(PropDeregisterOnDelete, true); err != nil {
		return p, err
	}
	api, err := r.optionalString(PropProviderAPI, string(sysdig.V1))
	if err != nil {
		return p, err
	}
	if p.API, err = sysdig.ParseAPIVersion(strings.ToLower(api)); err != nil {
		return p, &PropertyError{PropProviderAPI, fmt.Sprintf("%q is not v1 or v2", api)}
	}
	if p.API == sysdig.V2 && p.Role.HasPath() {
		return p, &PropertyError{PropProviderAPI, fmt.Sprintf("v2 refused for RoleArn %s: the v2 API takes only the role's name, so Sysdig would assume the role without its path %s, another role; use ProviderApi v1, or RolePath /", p.RoleARN, p.Role.Path)}
	}
	return p, nil
}

// maxBaseURLBytes keeps the longest PhysicalResourceId (URL, provider id, role ARN with its
// longest path, "adopted") within CloudFormation's 1 KB.
const maxBaseURLBytes = 240

var aliasPattern = regexp.MustCompile(`^[A-Za-z0-9 ._:/@()+-]{1,128}$`)

// reader reads CloudFormation property values, which arrive as strings (also booleans and
// numbers) or, for list properties, as lists of strings.
type reader struct {
	props map[string]any
}

func (r reader) allowOnly(names ...string) error {
	var unknown []string
	for k := range r.props {
		if !slices.Contains(names, k) && !slices.Contains(cloudFormationProperties, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	return &PropertyError{unknown[0], fmt.Sprintf("unknown property (known: %s)", strings.Join(names, ", "))}
}

func (r reader) connection() (Connection, error) {
	var c Connection
	raw, err := r.requiredString(PropSysdigAPIURL, "the Sysdig API base URL, such as https://app.sysdigcloud.com")
	if err != nil {
		return c, err
	}
	u, err := sysdig.ValidateBaseURL(raw)
	if err != nil {
		return c, &PropertyError{PropSysdigAPIURL, err.Error()}
	}
	c.BaseURL = u.String()
	if len(c.BaseURL) > maxBaseURLBytes || strings.ContainsAny(c.BaseURL, idSeparator+",") {
		return c, &PropertyError{PropSysdigAPIURL, fmt.Sprintf("longer than %d characters, or containing '|' or ','", maxBaseURLBytes)}
	}
	if c.SecretID, err = r.requiredString(PropAPITokenSecretID, "the name or ARN of the Secrets Manager secret holding the Sysdig API token"); err != nil {
		return c, err
	}
	if len(c.SecretID) > 2048 {
		return c, &PropertyError{PropAPITokenSecretID, "longer than 2048 characters; give a secret name or ARN"}
	}
	if c.SkipTLSVerify, err = r.boolean(PropSkipTLSVerify, false); err != nil {
		return c, err
	}
	return c, nil
}

func (r reader) scalar(name string) (string, bool, error) {
	v, ok := r.props[name]
	if !ok || v == nil {
		return "", false, nil
	}
	switch t := v.(type) {
	case string:
		return strings.TrimSpace(t), true, nil
	case bool:
		return fmt.Sprint(t), true, nil
	case float64:
		return fmt.Sprint(t), true, nil
	default:
		return "", false, &PropertyError{name, fmt.Sprintf("must be a string, not %T", v)}
	}
}

func (r reader) requiredString(name, form string) (string, error) {
	s, ok, err := r.scalar(name)
	if err != nil {
		return "", err
	}
	if !ok || s == "" {
		return "", &PropertyError{name, "required: " + form}
	}
	return s, nil
}

func (r reader) optionalString(name, def string) (string, error) {
	s, ok, err := r.scalar(name)
	if err != nil {
		return "", err
	}
	if !ok || s == "" {
		return def, nil
	}
	return s, nil
}

func (r reader) boolean(name string, def bool) (bool, error) {
	s, ok, err := r.scalar(name)
	if err != nil {
		return false, err
	}
	if !ok || s == "" {
		return def, nil
	}
	switch strings.ToLower(s) {
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return false, &PropertyError{name, fmt.Sprintf("%q is not true or false", s)}
}

// regions reads a list or a comma-separated string of AWS region codes or Sysdig names and
// returns the Sysdig names, sorted and unique.
func (r reader) regions() ([]string, error) {
	v, ok := r.props[PropRegions]
	if !ok || v == nil {
		return nil, nil
	}
	var items []string
	switch t := v.(type) {
	case string:
		items = strings.Split(t, ",")
	case []any:
		for _, e := range t {
			s, ok := e.(string)
			if !ok {
				return nil, &PropertyError{PropRegions, fmt.Sprintf("list items must be strings, not %T", e)}
			}
			items = append(items, strings.Split(s, ",")...)
		}
	case []string:
		items = t
	default:
		return nil, &PropertyError{PropRegions, fmt.Sprintf("must be a list or a comma-separated string, not %T", v)}
	}
	seen := map[string]bool{}
	var out []string
	for _, item := range items {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, err := sysdig.SysdigRegionName(item)
		if err != nil {
			return nil, &PropertyError{PropRegions, fmt.Sprintf("%q: use AWS region codes such as us-east-1 or Sysdig names such as US_EAST_1", truncate(item, 40))}
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	if len(out) > 64 {
		return nil, &PropertyError{PropRegions, fmt.Sprintf("%d regions; at most 64", len(out))}
	}
	sort.Strings(out)
	return out, nil
}

// RoleARN is a parsed IAM role ARN.
type RoleARN = rolearn.ARN

// ParseRoleARN validates an IAM role ARN strictly (see rolearn.Parse).
func ParseRoleARN(s string) (RoleARN, error) { return rolearn.Parse(s) }

// StackARN is the part of a CloudFormation stack id this function relies on.
type StackARN struct {
	Partition string
	Region    string
	AccountID string
}

var stackARNPattern = regexp.MustCompile(`^arn:(aws[a-z-]*):cloudformation:([a-z0-9-]+):(\d{12}):stack/`)

// ParseStackARN reads partition, region and account from a StackId.
func ParseStackARN(s string) (StackARN, error) {
	m := stackARNPattern.FindStringSubmatch(s)
	if m == nil {
		return StackARN{}, fmt.Errorf("StackId %q is not a CloudFormation stack ARN", truncate(s, 120))
	}
	return StackARN{Partition: m[1], Region: m[2], AccountID: m[3]}, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
