// Package registrar is the lifecycle logic of the two custom resources: it turns
// CloudFormation's Create, Update and Delete into Sysdig calls, following the rules in
// the README ("Lifecycle rules"): validate first, never leak what it created, never
// remove what it did not create, and keep one account from acting on another's role.
package registrar

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-lambda-go/cfn"

	"sysdig-aws-connect/internal/customresource"
	"sysdig-aws-connect/internal/sysdig"
)

// Sysdig is the part of the Sysdig API client the lifecycle uses.
type Sysdig interface {
	ExternalID(ctx context.Context) (sysdig.ExternalIDInfo, error)
	CreateProvider(ctx context.Context, v sysdig.APIVersion, spec sysdig.ProviderSpec) (sysdig.Provider, error)
	GetProvider(ctx context.Context, v sysdig.APIVersion, id string) (sysdig.Provider, error)
	FindProviderByRole(ctx context.Context, v sysdig.APIVersion, roleARN string) (sysdig.Provider, bool, error)
	UpdateProvider(ctx context.Context, v sysdig.APIVersion, id string, spec sysdig.ProviderSpec) (sysdig.Provider, error)
	DeleteProvider(ctx context.Context, v sysdig.APIVersion, id string) error
}

// SysdigFactory builds a client for one tenant and token.
type SysdigFactory func(baseURL, token string, skipTLSVerify bool) (Sysdig, error)

// TokenSource reads the Sysdig API token.
type TokenSource interface {
	Token(ctx context.Context, secretID string) (string, error)
}

// Registrar handles custom-resource requests for both resource types.
type Registrar struct {
	tokens        TokenSource
	newSysdig     SysdigFactory
	logger        *slog.Logger
	propagation   time.Duration
	propagationIv time.Duration
}

// Option configures a Registrar.
type Option func(*Registrar)

// WithLogger sets the structured logger.
func WithLogger(l *slog.Logger) Option { return func(r *Registrar) { r.logger = l } }

// WithSysdigFactory replaces how Sysdig clients are built.
func WithSysdigFactory(f SysdigFactory) Option { return func(r *Registrar) { r.newSysdig = f } }

// WithRolePropagationWait bounds how long a registration that Sysdig refuses because it
// cannot assume the brand-new role yet is retried, and the first wait between tries.
func WithRolePropagationWait(total, initial time.Duration) Option {
	return func(r *Registrar) { r.propagation, r.propagationIv = total, initial }
}

// New returns a Registrar reading tokens from tokens.
func New(tokens TokenSource, opts ...Option) *Registrar {
	r := &Registrar{
		tokens:        tokens,
		logger:        slog.Default(),
		propagation:   90 * time.Second,
		propagationIv: 2 * time.Second,
	}
	r.newSysdig = func(baseURL, token string, skipTLSVerify bool) (Sysdig, error) {
		opts := []sysdig.Option{sysdig.WithLogger(r.logger)}
		if skipTLSVerify {
			opts = append(opts, sysdig.WithInsecureSkipVerify())
		}
		return sysdig.New(baseURL, token, opts...)
	}
	for _, o := range opts {
		o(r)
	}
	return r
}

// Handle implements customresource.Handler.
func (r *Registrar) Handle(ctx context.Context, req customresource.Request) (customresource.Result, error) {
	switch req.ResourceType {
	case TypeExternalID:
		return r.handleExternalID(ctx, req)
	case TypeProvider:
		return r.handleProvider(ctx, req)
	}
	if req.RequestType == cfn.RequestDelete {
		// Whatever it was, this function never created it.
		return customresource.Result{PhysicalResourceID: req.PhysicalResourceID}, nil
	}
	return customresource.Result{}, fmt.Errorf("unsupported ResourceType %q: this function serves %s and %s", truncate(req.ResourceType, 80), TypeExternalID, TypeProvider)
}

// connect reads the token and builds a client for the tenant.
func (r *Registrar) connect(ctx context.Context, c Connection) (Sysdig, error) {
	token, err := r.tokens.Token(ctx, c.SecretID)
	if err != nil {
		return nil, fmt.Errorf("read the Sysdig API token: %w", err)
	}
	if c.SkipTLSVerify {
		r.logger.Warn("TLS certificate verification is off for the Sysdig API (SkipTlsVerify=true): use only for on-prem self-signed certificates",
			slog.String("sysdig_api_url", c.BaseURL))
	}
	client, err := r.newSysdig(c.BaseURL, token, c.SkipTLSVerify)
	if err != nil {
		return nil, fmt.Errorf("Sysdig client for %s: %w", c.BaseURL, err)
	}
	return client, nil
}

func (r *Registrar) handleExternalID(ctx context.Context, req customresource.Request) (customresource.Result, error) {
	if req.RequestType == cfn.RequestDelete {
		// Reading the external ID changed nothing at Sysdig, so there is nothing to undo.
		return customresource.Result{PhysicalResourceID: req.PhysicalResourceID}, nil
	}
	props, err := ParseExternalIDProperties(req.ResourceProperties)
	if err != nil {
		return customresource.Result{PhysicalResourceID: failedPhysicalID(req, "sysdig-external-id")}, err
	}
	client, err := r.connect(ctx, props.Connection)
	if err != nil {
		return customresource.Result{PhysicalResourceID: failedPhysicalID(req, "sysdig-external-id")}, err
	}
	info, err := client.ExternalID(ctx)
	if err != nil {
		return customresource.Result{PhysicalResourceID: failedPhysicalID(req, "sysdig-external-id")}, fmt.Errorf("get the external ID: %w", err)
	}
	data := map[string]any{"ExternalId": info.ExternalID}
	if info.SysdigAWSAccountID != "" {
		data["SysdigAwsAccountId"] = info.SysdigAWSAccountID
	}
	r.logger.Info("external ID read", slog.String("logical_id", req.LogicalResourceID), slog.String("source", info.Source))
	return customresource.Result{PhysicalResourceID: externalIDPhysicalID(props.BaseURL), Data: data}, nil
}

// failedPhysicalID keeps an Update's id (a failed Update must not look like a
// replacement) and gives a failed Create an id that names nothing.
func failedPhysicalID(req customresource.Request, kind string) string {
	if req.RequestType == cfn.RequestCreate {
		if kind == providerIDPrefix {
			return NoneID(req.RequestID)
		}
		return kind + idSeparator + noneMarker + idSeparator + req.RequestID
	}
	return req.PhysicalResourceID
}
