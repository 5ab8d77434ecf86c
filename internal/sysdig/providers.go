package sysdig

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// APIVersion selects which providers API the client uses.
type APIVersion string

const (
	// V1 is /api/providers, the API of Sysdig's role-delegation document.
	V1 APIVersion = "v1"
	// V2 is /api/v2/providers, the API of Sysdig's Terraform provider.
	V2 APIVersion = "v2"
)

// ParseAPIVersion reads "v1" or "v2" (case-insensitive; "1" and "2" too).
func ParseAPIVersion(s string) (APIVersion, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "v1", "1":
		return V1, nil
	case "v2", "2":
		return V2, nil
	}
	return "", fmt.Errorf("sysdig: unknown providers API version %q: expected v1 (/api/providers, Sysdig's role-delegation document) or v2 (/api/v2/providers, Sysdig's Terraform provider)", capText(printable(s), 32))
}

func (v APIVersion) collection() (string, error) {
	switch v {
	case V1:
		return "/api/providers", nil
	case V2:
		return "/api/v2/providers", nil
	}
	//msg:internal a programming error, or a sentinel never shown
	return "", fmt.Errorf("sysdig: unknown providers API version %q: use sysdig.V1 or sysdig.V2", string(v))
}

// ProviderSpec is what the caller wants registered.
type ProviderSpec struct {
	// RoleARN is the IAM role Sysdig assumes, arn:aws:iam::<account>:role/<name>.
	RoleARN string
	// Alias is the provider's display alias (optional).
	Alias string
	// Regions restricts resource discovery; AWS codes (us-east-1) or Sysdig
	// names (US_EAST_1). Empty means all regions.
	Regions []string
}

// Provider is a registered provider as the API reports it.
type Provider struct {
	ID      string
	RoleARN string
	Alias   string
	Regions []string // Sysdig names as stored (US_EAST_1); nil = all regions
	Status  string
	// Message is the last message Sysdig gives for the provider (status's
	// lastProviderMessages), empty when it gives none.
	Message string
	// FoundByLookup is set by CreateProvider when the provider comes from looking the
	// role up after an attempt whose outcome was unclear, not from the POST's answer.
	// Such a provider may be that attempt's, or one that held the role before the POST:
	// only the caller, knowing whether the role was free beforehand, can tell.
	FoundByLookup bool
}

// regionOptions is the object held (as a JSON string) in additionalOptions.
type regionOptions struct {
	Regions []string `json:"regions"`
}

// v1Body is the v1 create/update body (SEED; the update "id" is ASSUMED).
type v1Body struct {
	ID          json.RawMessage `json:"id,omitempty"`
	Name        string          `json:"name"`
	Credentials struct {
		Role string `json:"role"`
	} `json:"credentials"`
	Alias             string `json:"alias,omitempty"`
	AdditionalOptions string `json:"additionalOptions,omitempty"`
}

// v2Body is the v2 create/update body (TF; "alias" is ASSUMED).
type v2Body struct {
	ID              json.RawMessage `json:"id"`
	Platform        string          `json:"platform"`
	IntegrationType string          `json:"integrationType"`
	Credentials     struct {
		AccountID string `json:"accountId"`
		RoleName  string `json:"roleName"`
	} `json:"credentials"`
	AdditionalOptions string `json:"additionalOptions"`
	Alias             string `json:"alias,omitempty"`
}

// EncodeProvider builds the JSON request body for a create (id empty) or an
// update of a provider in the given API version.
func EncodeProvider(v APIVersion, id string, spec ProviderSpec) ([]byte, error) {
	if _, err := v.collection(); err != nil {
		return nil, err
	}
	_, account, roleName, err := ParseRoleARN(spec.RoleARN)
	if err != nil {
		return nil, err
	}
	if err := CheckRoleForAPI(v, spec.RoleARN); err != nil {
		return nil, err
	}
	regions, err := sysdigRegionNames(spec.Regions)
	if err != nil {
		return nil, err
	}
	opts := ""
	if len(regions) > 0 {
		b, err := json.Marshal(regionOptions{Regions: regions})
		if err != nil {
			return nil, fmt.Errorf("sysdig: encoding regions: %w", err)
		}
		opts = string(b) // a JSON string holding JSON (SEED)
	}
	alias := strings.TrimSpace(spec.Alias)
	var idJSON json.RawMessage
	if id != "" {
		if err := validateProviderID(id); err != nil {
			return nil, err
		}
		idJSON = idLiteral(id)
	}
	switch v {
	case V1:
		b := v1Body{ID: idJSON, Name: "aws", Alias: alias, AdditionalOptions: opts}
		b.Credentials.Role = strings.TrimSpace(spec.RoleARN)
		return json.Marshal(b)
	default:
		if idJSON == nil {
			idJSON = json.RawMessage("0") // TF sends 0 on create
		}
		b := v2Body{ID: idJSON, Platform: "AWS", IntegrationType: "API", AdditionalOptions: opts, Alias: alias}
		b.Credentials.AccountID = account
		b.Credentials.RoleName = roleName
		return json.Marshal(b)
	}
}

// idLiteral sends a numeric id as a JSON number (as the API hands it out) and
// anything else as a string.
func idLiteral(id string) json.RawMessage {
	if strings.Trim(id, "0123456789") == "" && len(id) <= 18 && (id == "0" || id[0] != '0') {
		return json.RawMessage(id)
	}
	b, _ := json.Marshal(id)
	return b
}

func (c *Client) itemPath(v APIVersion, id string) (string, error) {
	coll, err := v.collection()
	if err != nil {
		return "", err
	}
	if err := validateProviderID(id); err != nil {
		return "", err
	}
	return coll + "/" + url.PathEscape(id), nil
}

// createProvider is CreateProvider before its error is sealed (see sealed.go).
func (c *Client) createProvider(ctx context.Context, v APIVersion, spec ProviderSpec) (Provider, error) {
	coll, err := v.collection()
	if err != nil {
		return Provider{}, err
	}
	body, err := EncodeProvider(v, "", spec)
	if err != nil {
		return Provider{}, err
	}
	var found Provider
	// Before retrying after an unclear attempt: a provider for the role now is probably
	// that attempt's (or held the role before it: FoundByLookup lets the caller judge).
	// A tenant that does not list providers cannot say; the POST is retried, and a 409 to
	// it then says the earlier attempt probably worked.
	beforeRetry := func(ctx context.Context) (bool, error) {
		p, ok, err := c.FindProviderByRole(ctx, v, spec.RoleARN)
		if errors.Is(err, ErrListingNotSupported) {
			return false, nil
		}
		if err != nil {
			return true, fmt.Errorf("sysdig: POST %s: an earlier attempt may have registered role %s, and looking it up failed, so not trying again (check the providers in Sysdig before retrying): %w", coll, spec.RoleARN, err)
		}
		if ok {
			c.logger.Warn("sysdig: after a create attempt with an unclear outcome, found a provider for the role (that attempt's, or one that held the role before)", "path", coll, "id", c.scrub(p.ID))
			found = p
			return true, nil
		}
		return false, nil
	}
	onConflict := func(ctx context.Context) (bool, error) {
		p, ok, err := c.FindProviderByRole(ctx, v, spec.RoleARN)
		if errors.Is(err, ErrListingNotSupported) {
			return true, fmt.Errorf("sysdig: POST %s: an earlier attempt whose answer was lost probably registered role %s (Sysdig now answers 409), and this Sysdig does not list providers, so its id is unknown: remove the provider for this role at Sysdig, then retry: %w", coll, spec.RoleARN, err)
		}
		if err != nil {
			return true, fmt.Errorf("sysdig: POST %s: an earlier attempt may have registered role %s, and looking it up failed (check the providers in Sysdig before retrying): %w", coll, spec.RoleARN, err)
		}
		if ok {
			c.logger.Warn("sysdig: after a create attempt with an unclear outcome, found a provider for the role (that attempt's, or one that held the role before)", "path", coll, "id", c.scrub(p.ID))
			found = p
			return true, nil
		}
		return false, nil
	}
	// The answer is read as it arrives: the seed says it "lists all the providers", which
	// on a large tenant is megabytes, while its example holds the one provider. Either way
	// only one provider is held at a time and the read stops at the role's.
	var created Provider
	answer := func(r io.Reader) error {
		created = Provider{}
		ok, listed := false, 0
		tr := &transportReader{r: r}
		err := decodeProviders(v, tr, func(p Provider) bool {
			created, ok = p, true
			return false
		}, func(p Provider) bool {
			listed++
			if SameRole(p.RoleARN, spec.RoleARN) {
				created, ok = p, true
				return false
			}
			return true
		})
		var se *streamError
		switch {
		case err != nil && tr.err == nil && !errors.As(err, &se):
			// The whole answer arrived and does not parse (cut short, say).
			return &streamError{err: fmt.Errorf("sysdig: the %s create answer is not the expected JSON {\"provider\":{…}} or {\"providers\":[…]}: %w", v, jsonProblem(err))}
		case err != nil:
			return err
		case !ok:
			return &streamError{err: fmt.Errorf("sysdig: its list of %d providers has none for role %s, so the answer does not say whether Sysdig registered it: check the providers in Sysdig (SYSDIG_MONITOR_API_TOKEN=<token> sysdig-connect --api-url %s%s providers list) before retrying", listed, spec.RoleARN, c.base.String(), apiFlag(v))}
		}
		return nil
	}
	resp, err := c.do(ctx, request{method: http.MethodPost, path: coll, body: body, stream: answer, beforeRetry: beforeRetry, onConflictAfterAmbiguous: onConflict})
	if err != nil {
		return Provider{}, err
	}
	if resp.resolved {
		found.FoundByLookup = true
		return found, nil
	}
	return created, nil
}

// getProvider is GetProvider before its error is sealed (see sealed.go).
func (c *Client) getProvider(ctx context.Context, v APIVersion, id string) (Provider, error) {
	path, err := c.itemPath(v, id)
	if err != nil {
		return Provider{}, err
	}
	resp, err := c.do(ctx, request{method: http.MethodGet, path: path})
	if err != nil {
		return Provider{}, err
	}
	p, err := DecodeProvider(v, resp.body)
	if err != nil {
		return Provider{}, fmt.Errorf("sysdig: GET %s: %w", path, err)
	}
	return p, nil
}

// ErrListingNotSupported is returned (wrapped) when the tenant answers 404 or 405 to a
// provider list: no Sysdig document or client lists /api/v2/providers, so a tenant may
// well not offer it. It is not an error of the request, only a capability missing.
var ErrListingNotSupported = errors.New("this Sysdig does not list providers")

// ListProviders reads every provider of the tenant. The list is decoded as it arrives,
// so its size is bounded only by the caller's deadline.
func (c *Client) ListProviders(ctx context.Context, v APIVersion) ([]Provider, error) {
	out := []Provider{}
	err := c.VisitProviders(ctx, v, func(p Provider) bool {
		out = append(out, p)
		return true
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// visitProviders is VisitProviders before its error is sealed (see sealed.go).
func (c *Client) visitProviders(ctx context.Context, v APIVersion, visit func(Provider) bool) error {
	coll, err := v.collection()
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodGet, path: coll, stream: func(r io.Reader) error {
		tr := &transportReader{r: r}
		err := decodeProviderStream(v, tr, visit)
		var se *streamError
		if err != nil && tr.err == nil && !errors.As(err, &se) {
			// The whole answer arrived and does not parse (cut short, say).
			err = &streamError{err: fmt.Errorf("sysdig: the %s provider list is not the expected JSON {\"providers\":[…]}: %w", v, jsonProblem(err))}
		}
		return err
	}})
	switch s := statusOf(err); {
	case s == http.StatusNotFound || s == http.StatusMethodNotAllowed:
		return fmt.Errorf("%w: %w", ErrListingNotSupported, err)
	case err != nil:
		return err
	}
	return nil
}

// FindProviderByRole looks for the provider registered for roleARN. Roles
// match on account id and role name (the v2 API keeps only the bare name).
// The list is read only as far as the first match.
func (c *Client) FindProviderByRole(ctx context.Context, v APIVersion, roleARN string) (Provider, bool, error) {
	if _, _, _, err := ParseRoleARN(roleARN); err != nil {
		return Provider{}, false, err
	}
	var found Provider
	ok := false
	err := c.VisitProviders(ctx, v, func(p Provider) bool {
		if SameRole(p.RoleARN, roleARN) {
			found, ok = p, true
			return false
		}
		return true
	})
	if err != nil {
		return Provider{}, false, err
	}
	return found, ok, nil
}

// updateProvider is UpdateProvider before its error is sealed (see sealed.go).
func (c *Client) updateProvider(ctx context.Context, v APIVersion, id string, spec ProviderSpec) (Provider, error) {
	path, err := c.itemPath(v, id)
	if err != nil {
		return Provider{}, err
	}
	body, err := EncodeProvider(v, id, spec)
	if err != nil {
		return Provider{}, err
	}
	resp, err := c.do(ctx, request{method: http.MethodPut, path: path, body: body})
	if err != nil {
		return Provider{}, err
	}
	if len(bytes.TrimSpace(resp.body)) == 0 {
		// An empty 2xx: read the provider back.
		return c.GetProvider(ctx, v, id)
	}
	p, err := DecodeProvider(v, resp.body)
	if err != nil {
		return Provider{}, fmt.Errorf("sysdig: PUT %s answered %d but: %w", path, resp.status, err)
	}
	return p, nil
}

// deleteProvider is DeleteProvider before its error is sealed (see sealed.go).
func (c *Client) deleteProvider(ctx context.Context, v APIVersion, id string) error {
	path, err := c.itemPath(v, id)
	if err != nil {
		return err
	}
	_, err = c.do(ctx, request{method: http.MethodDelete, path: path})
	return err
}

// apiFlag is the sysdig-connect flag that selects v, for the commands a message suggests.
func apiFlag(v APIVersion) string {
	if v == V2 {
		return " --provider-api v2"
	}
	return ""
}
