package sysdig

import (
	"context"
	"errors"
	"fmt"
)

// This file is the client's boundary: every exported method that talks to Sysdig
// returns through it. Nothing secret leaves: every error's text is scrubbed of the
// token in all its forms (see internal/redact), and an answer that holds the token in
// any field it decodes is refused rather than used or shown.

// CreateProvider registers a provider with one POST and returns the provider its
// answer describes (Status is empty when the answer has none). Create is not
// idempotent: when an attempt's outcome is ambiguous (a 5xx other than 503, or a
// connection lost after the request may have been sent), the client looks the
// role up before the next attempt and returns the provider if it now exists, so
// a retry never registers the role twice. A 409 (role already registered,
// ASSUMED) is returned as an *APIError unless an earlier ambiguous attempt
// explains it. A provider found by such a look-up has FoundByLookup set: it is
// not proof that this call created it. Nothing is listed on the way of a plain
// success.
func (c *Client) CreateProvider(ctx context.Context, v APIVersion, spec ProviderSpec) (Provider, error) {
	p, err := c.createProvider(ctx, v, spec)
	return c.checked("create answer", p, err)
}

// GetProvider reads one provider; an unknown id is an *APIError with status 404.
func (c *Client) GetProvider(ctx context.Context, v APIVersion, id string) (Provider, error) {
	p, err := c.getProvider(ctx, v, id)
	return c.checked("provider answer", p, err)
}

// UpdateProvider replaces a provider's role, alias and regions (v1 body
// with "id" is ASSUMED, mirroring v2). PUT is idempotent and retried.
func (c *Client) UpdateProvider(ctx context.Context, v APIVersion, id string, spec ProviderSpec) (Provider, error) {
	p, err := c.updateProvider(ctx, v, id, spec)
	return c.checked("update answer", p, err)
}

// DeleteProvider removes a provider. An unknown id (already deleted) comes
// back as an *APIError with StatusCode 404 (ASSUMED); the caller decides.
func (c *Client) DeleteProvider(ctx context.Context, v APIVersion, id string) error {
	return c.seal(c.deleteProvider(ctx, v, id))
}

// VisitProviders reads the tenant's providers one at a time, calling visit for each
// until it returns false; only one provider is held in memory at once. A tenant that
// does not offer the list answers an error wrapping ErrListingNotSupported. A list
// holding the token in any provider's field ends with an error before that provider
// reaches visit.
func (c *Client) VisitProviders(ctx context.Context, v APIVersion, visit func(Provider) bool) error {
	var leak error
	err := c.visitProviders(ctx, v, func(p Provider) bool {
		if leak = c.leak("provider list", p); leak != nil {
			return false
		}
		return visit(p)
	})
	if leak != nil {
		return c.seal(leak)
	}
	return c.seal(err)
}

// ExternalID reads the tenant's external ID: first from
// /api/v2/providers/info/awsCloudInformation, and when that does not exist on
// the tenant (404, 405 or 501) or has no external id, from /api/users/me.
func (c *Client) ExternalID(ctx context.Context) (ExternalIDInfo, error) {
	info, err := c.externalID(ctx)
	if err != nil {
		return ExternalIDInfo{}, c.seal(err)
	}
	for _, f := range []struct{ name, value string }{{"externalId", info.ExternalID}, {"awsSystemAccountId", info.SysdigAWSAccountID}} {
		if c.scrubber.Contains(f.value) {
			return ExternalIDInfo{}, c.seal(echoedToken("GET "+info.Source, f.name, f.value))
		}
	}
	return info, nil
}

// checked seals err, and refuses a provider that holds the token in any field.
func (c *Client) checked(what string, p Provider, err error) (Provider, error) {
	if err != nil {
		return Provider{}, c.seal(err)
	}
	if err := c.leak(what, p); err != nil {
		return Provider{}, c.seal(err)
	}
	return p, nil
}

// leak says which decoded field of p holds the token (or a piece of it), if any.
func (c *Client) leak(what string, p Provider) error {
	fields := []struct{ name, value string }{{"id", p.ID}, {"role", p.RoleARN}, {"alias", p.Alias}, {"status", p.Status}, {"status message", p.Message}}
	for _, r := range p.Regions {
		fields = append(fields, struct{ name, value string }{"regions", r})
	}
	for _, f := range fields {
		if c.scrubber.Contains(f.value) {
			return echoedToken("the "+what, f.name, f.value)
		}
	}
	return nil
}

// echoedToken describes a field that holds the token by its type and length only.
func echoedToken(where, field, value string) error {
	return fmt.Errorf("sysdig: %s's %q (a string of %d bytes) holds the API token: the Sysdig API, or a proxy in front of it, echoed the token back, so nothing from this answer is used; check the API URL and any proxy between this function and Sysdig", where, field, len(value))
}

// sealedError is an error on its way out of the client, its text scrubbed. It answers
// errors.Is and errors.As for what it wraps (an *APIError's fields are scrubbed when
// it is made) but has no Unwrap: the wrapped chain's own texts are not handed out.
type sealedError struct {
	msg string
	err error
}

func (e *sealedError) Error() string        { return e.msg }
func (e *sealedError) Is(target error) bool { return errors.Is(e.err, target) }
func (e *sealedError) As(target any) bool   { return errors.As(e.err, target) }

func (c *Client) seal(err error) error {
	if err == nil {
		return nil
	}
	return &sealedError{msg: c.scrub(err.Error()), err: err}
}
