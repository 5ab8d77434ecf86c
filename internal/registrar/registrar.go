// Package registrar is the lifecycle logic of the two custom resources: it turns
// CloudFormation's Create, Update and Delete into Sysdig calls, following the rules in
// the README ("Lifecycle rules"): validate first, never leak what it created, never
// remove what it did not create, and keep one account from acting on another's role.
package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
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

// TokenRefresher is a TokenSource that can read a token again, past its cache: when
// Sysdig refuses the token (401), the secret may hold a rotated one.
type TokenRefresher interface {
	Refresh(ctx context.Context, secretID string) (string, error)
}

// Registrar handles custom-resource requests for both resource types.
type Registrar struct {
	allowedURLs    []string // normalized; empty allows any
	allowedSecrets []string // empty allows any
	skipTLSVerify  *bool    // nil allows requests to choose
	tokens         TokenSource
	newSysdig      SysdigFactory
	logger         *slog.Logger
	propagation    time.Duration
	propagationIv  time.Duration
	instances      int
	registry       Registry         // ownership.go; nil: no registry of record
	now            func() time.Time // the registry's clock

	// clients are kept for the life of the instance, one per tenant, token and TLS
	// choice, so that warm invocations reuse their kept-alive connections and their
	// pacing to Sysdig's rate limit.
	mu      sync.Mutex
	clients map[clientKey]Sysdig
}

// maxClients bounds the clients an instance keeps.
const maxClients = 8

type clientKey struct {
	baseURL, token string
	skipTLS        bool
}

// Option configures a Registrar.
type Option func(*Registrar)

// WithLogger sets the structured logger.
func WithLogger(l *slog.Logger) Option { return func(r *Registrar) { r.logger = l } }

// WithSysdigFactory replaces how Sysdig clients are built.
func WithSysdigFactory(f SysdigFactory) Option { return func(r *Registrar) { r.newSysdig = f } }

// WithConcurrentInstances says how many instances of the function may run at once (the
// reserved concurrency): they share Sysdig's rate limit, each pacing to its part.
func WithConcurrentInstances(n int) Option { return func(r *Registrar) { r.instances = max(n, 1) } }

// WithRolePropagationWait bounds how long a registration that Sysdig refuses because it
// cannot assume the brand-new role yet is retried, and the first wait between tries.
func WithRolePropagationWait(total, initial time.Duration) Option {
	return func(r *Registrar) { r.propagation, r.propagationIv = total, initial }
}

// WithAllowedAPIURLs restricts the Sysdig API base URLs the function sends the token to.
// A function that serves requests from other accounts (through SNS) must set it: the
// request names the URL, and the token must never go where its owner did not choose.
func WithAllowedAPIURLs(urls ...string) Option {
	return func(r *Registrar) {
		for _, raw := range urls {
			if raw = strings.TrimSpace(raw); raw == "" {
				continue
			}
			if u, err := sysdig.ValidateBaseURL(raw); err == nil {
				raw = u.String()
			}
			r.allowedURLs = append(r.allowedURLs, raw)
		}
	}
}

// WithAllowedTokenSecrets restricts the secrets (names or ARNs, as the template passes
// them) the function reads the token from.
func WithAllowedTokenSecrets(ids ...string) Option {
	return func(r *Registrar) {
		for _, id := range ids {
			if id = strings.TrimSpace(id); id != "" {
				r.allowedSecrets = append(r.allowedSecrets, id)
			}
		}
	}
}

// WithSkipTLSVerifyAllowed says whether requests may turn TLS verification off (the
// deploying stack's choice); without this option they may.
func WithSkipTLSVerifyAllowed(allowed bool) Option {
	return func(r *Registrar) { r.skipTLSVerify = &allowed }
}

// RefusedError is a request naming a Sysdig URL, a secret or a TLS setting the function
// was not deployed with: nothing was read and nothing was sent.
type RefusedError struct{ reason string }

func (e *RefusedError) Error() string { return "refused: " + e.reason }

// Refusal marks the error as a refusal (customresource.Refusal).
func (e *RefusedError) Refusal() bool { return true }

// New returns a Registrar reading tokens from tokens.
func New(tokens TokenSource, opts ...Option) *Registrar {
	r := &Registrar{
		tokens:        tokens,
		logger:        slog.Default(),
		propagation:   90 * time.Second,
		propagationIv: 2 * time.Second,
		instances:     1,
		now:           time.Now,
		clients:       map[clientKey]Sysdig{},
	}
	r.newSysdig = func(baseURL, token string, skipTLSVerify bool) (Sysdig, error) {
		opts := []sysdig.Option{sysdig.WithLogger(r.logger), sysdig.WithConcurrentInstances(r.instances)}
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

// connect reads the token and builds a client for the tenant, if the tenant and the
// secret are ones this function was deployed to use.
func (r *Registrar) connect(ctx context.Context, c Connection) (Sysdig, error) {
	if len(r.allowedURLs) > 0 && !slices.Contains(r.allowedURLs, c.BaseURL) {
		return nil, &RefusedError{fmt.Sprintf("this function sends the Sysdig token only to %s, not to %s", strings.Join(r.allowedURLs, ", "), c.BaseURL)}
	}
	if len(r.allowedSecrets) > 0 && !slices.Contains(r.allowedSecrets, c.SecretID) {
		return nil, &RefusedError{fmt.Sprintf("this function reads the Sysdig token only from %s, not from %s", strings.Join(r.allowedSecrets, ", "), c.SecretID)}
	}
	if c.SkipTLSVerify && r.skipTLSVerify != nil && !*r.skipTLSVerify {
		return nil, &RefusedError{"SkipTlsVerify is true but the stack that deployed this function did not choose it"}
	}
	token, err := r.tokens.Token(ctx, c.SecretID)
	if err != nil {
		return nil, fmt.Errorf("read the Sysdig API token: %w", err)
	}
	if c.SkipTLSVerify {
		r.logger.Warn("TLS certificate verification is off for the Sysdig API (SkipTlsVerify=true): use only for on-prem self-signed certificates",
			slog.String("sysdig_api_url", c.BaseURL))
	}
	client, err := r.clientFor(c, token)
	if err != nil {
		return nil, err
	}
	return &reauth{r: r, conn: c, token: token, client: client}, nil
}

// clientFor returns the instance's client for the tenant and token, building it once.
// A client for the same tenant with an older token is dropped with its connections.
func (r *Registrar) clientFor(c Connection, token string) (Sysdig, error) {
	key := clientKey{baseURL: c.BaseURL, token: token, skipTLS: c.SkipTLSVerify}
	r.mu.Lock()
	defer r.mu.Unlock()
	if client, ok := r.clients[key]; ok {
		return client, nil
	}
	client, err := r.newSysdig(c.BaseURL, token, c.SkipTLSVerify)
	if err != nil {
		return nil, fmt.Errorf("Sysdig client for %s: %w", c.BaseURL, err)
	}
	for k, old := range r.clients {
		// The same tenant with an older token, or any one when the instance already keeps
		// as many as it may (a function allowed any URL serves whatever requests name).
		if (k.baseURL == key.baseURL && k.skipTLS == key.skipTLS) || len(r.clients) >= maxClients {
			if ic, ok := old.(interface{ CloseIdleConnections() }); ok {
				ic.CloseIdleConnections()
			}
			delete(r.clients, k)
		}
	}
	r.clients[key] = client
	return client, nil
}

// reauth is the client of one request. When Sysdig refuses the token (401) on the call
// itself, the secret is read again once, past the cache (it may hold a rotated token),
// and the refused call is made again with the new token. A 401 means Sysdig did nothing,
// so repeating the call is safe; a 401 to a look-up made inside another call (the GET
// after an unclear POST) is not repeated, since the call it belongs to may have worked.
type reauth struct {
	r       *Registrar
	conn    Connection
	token   string
	client  Sysdig
	retried bool
}

func (a *reauth) again(ctx context.Context, err error, method string) bool {
	var apiErr *sysdig.APIError
	if a.retried || !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusUnauthorized || apiErr.Method != method {
		return false
	}
	a.retried = true
	refresher, ok := a.r.tokens.(TokenRefresher)
	if !ok {
		return false
	}
	token, rerr := refresher.Refresh(ctx, a.conn.SecretID)
	if rerr != nil || token == a.token {
		return false
	}
	client, cerr := a.r.clientFor(a.conn, token)
	if cerr != nil {
		return false
	}
	a.r.logger.Info("Sysdig refused the API token; read the secret again and found a new token (rotated): repeating the call")
	a.token, a.client = token, client
	return true
}

func (a *reauth) ExternalID(ctx context.Context) (sysdig.ExternalIDInfo, error) {
	info, err := a.client.ExternalID(ctx)
	if a.again(ctx, err, http.MethodGet) {
		return a.client.ExternalID(ctx)
	}
	return info, err
}

func (a *reauth) CreateProvider(ctx context.Context, v sysdig.APIVersion, spec sysdig.ProviderSpec) (sysdig.Provider, error) {
	p, err := a.client.CreateProvider(ctx, v, spec)
	if a.again(ctx, err, http.MethodPost) {
		return a.client.CreateProvider(ctx, v, spec)
	}
	return p, err
}

func (a *reauth) GetProvider(ctx context.Context, v sysdig.APIVersion, id string) (sysdig.Provider, error) {
	p, err := a.client.GetProvider(ctx, v, id)
	if a.again(ctx, err, http.MethodGet) {
		return a.client.GetProvider(ctx, v, id)
	}
	return p, err
}

func (a *reauth) FindProviderByRole(ctx context.Context, v sysdig.APIVersion, roleARN string) (sysdig.Provider, bool, error) {
	p, ok, err := a.client.FindProviderByRole(ctx, v, roleARN)
	if a.again(ctx, err, http.MethodGet) {
		return a.client.FindProviderByRole(ctx, v, roleARN)
	}
	return p, ok, err
}

func (a *reauth) UpdateProvider(ctx context.Context, v sysdig.APIVersion, id string, spec sysdig.ProviderSpec) (sysdig.Provider, error) {
	p, err := a.client.UpdateProvider(ctx, v, id, spec)
	if a.again(ctx, err, http.MethodPut) {
		return a.client.UpdateProvider(ctx, v, id, spec)
	}
	return p, err
}

func (a *reauth) DeleteProvider(ctx context.Context, v sysdig.APIVersion, id string) error {
	err := a.client.DeleteProvider(ctx, v, id)
	if a.again(ctx, err, http.MethodDelete) {
		return a.client.DeleteProvider(ctx, v, id)
	}
	return err
}

func (r *Registrar) handleExternalID(ctx context.Context, req customresource.Request) (customresource.Result, error) {
	if req.RequestType == cfn.RequestDelete {
		// Reading the external ID changed nothing at Sysdig, so there is nothing to undo.
		return customresource.Result{PhysicalResourceID: req.PhysicalResourceID}, nil
	}
	// A failed Update keeps its id (else it would look like a replacement); a failed
	// Create answers an id that names nothing.
	failed := customresource.Result{PhysicalResourceID: req.PhysicalResourceID}
	if req.RequestType == cfn.RequestCreate {
		failed.PhysicalResourceID = strings.Join([]string{externalIDPrefix, noneMarker, req.RequestID}, idSeparator)
	}
	props, err := ParseExternalIDProperties(req.ResourceProperties)
	if err != nil {
		return failed, err
	}
	client, err := r.connect(ctx, props.Connection)
	if err != nil {
		return failed, err
	}
	info, err := client.ExternalID(ctx)
	if err != nil {
		return failed, fmt.Errorf("get the external ID: %w", err)
	}
	account, accountSource, err := ChooseSysdigAccount(info.SysdigAWSAccountID, props)
	if err != nil {
		return failed, err
	}
	// The key is always there (empty only on-prem when Sysdig reports none), so a
	// template's Fn::GetAtt never fails on it.
	data := map[string]any{"ExternalId": info.ExternalID, "SysdigAwsAccountId": account}
	r.logger.Info("external ID read", slog.String("logical_id", req.LogicalResourceID), slog.String("source", info.Source),
		slog.String("sysdig_aws_account_id", account), slog.String("account_source", accountSource))
	return customresource.Result{PhysicalResourceID: externalIDPhysicalID(props.BaseURL), Data: data}, nil
}
