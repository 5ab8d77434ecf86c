package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-lambda-go/cfn"
	"github.com/cenkalti/backoff/v5"

	"sysdig-aws-connect/internal/customresource"
	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
)

// StatusUnchanged is Data.Status when an Update changed nothing Sysdig holds, so no call
// was made to read the status again.
const StatusUnchanged = "unchanged"

func (r *Registrar) handleProvider(ctx context.Context, req customresource.Request) (customresource.Result, error) {
	switch req.RequestType {
	case cfn.RequestCreate:
		return r.createProvider(ctx, req)
	case cfn.RequestUpdate:
		return r.updateProvider(ctx, req)
	default:
		return r.deleteProvider(ctx, req)
	}
}

// providerProperties validates the request's properties and that the role belongs to the
// stack's own account: one account never registers or deregisters another's role.
func providerProperties(req customresource.Request) (ProviderProperties, StackARN, error) {
	props, err := ParseProviderProperties(req.ResourceProperties)
	if err != nil {
		return props, StackARN{}, err
	}
	stack, err := ParseStackARN(req.StackID)
	if err != nil {
		return props, stack, err
	}
	if err := sameAccount(props.Role, stack, "RoleArn "+props.RoleARN); err != nil {
		return props, stack, err
	}
	return props, stack, nil
}

func sameAccount(role RoleARN, stack StackARN, what string) error {
	if role.AccountID != stack.AccountID || role.Partition != stack.Partition {
		return fmt.Errorf("refused: %s belongs to account %s (%s) but the stack is in account %s (%s); a stack may only act on roles of its own account",
			what, role.AccountID, role.Partition, stack.AccountID, stack.Partition)
	}
	return nil
}

func (r *Registrar) createProvider(ctx context.Context, req customresource.Request) (customresource.Result, error) {
	none := NoneID(req.RequestID)
	// A delivery that took this request over keeps, until it knows better, the id the dead
	// one recorded: a FAILED answer then still hands that provider to rollback's Delete.
	prior, hasPrior := customresource.PriorPhysicalID(ctx)
	if hasPrior {
		customresource.RecordPhysicalID(ctx, prior)
	} else {
		customresource.RecordPhysicalID(ctx, none)
	}
	props, _, err := providerProperties(req)
	if err != nil {
		return customresource.Result{PhysicalResourceID: none}, err
	}
	client, err := r.connect(ctx, props.Connection)
	if err != nil {
		return customresource.Result{PhysicalResourceID: none}, err
	}
	if ref, ok := r.priorRegistration(prior, props); ok {
		res, resumed, err := r.resume(ctx, client, ref, props)
		if resumed && err == nil {
			status, _ := res.Data["Status"].(string)
			err = r.recordRegistration(ctx, req, ref, props, status, registry.Record{}, false, nil)
		}
		if resumed || err != nil {
			return res, err
		}
		customresource.RecordPhysicalID(ctx, none)
	} else if hasPrior {
		customresource.RecordPhysicalID(ctx, none)
	}
	reg, err := r.register(ctx, client, props, true)
	if err != nil {
		if reg.ref.ID != "" {
			// Rollback's Delete removes what this request created, and leaves what it
			// could only mark as adopted. Recorded, so that the Delete proves it from the
			// registry rather than from Sysdig's read (which may not name the role).
			if rerr := r.recordRegistration(ctx, req, reg.ref, props, reg.provider.Status, registry.Record{}, false, nil); rerr != nil {
				r.logger.Warn("could not record the provider of the failed create", slog.String("provider_id", reg.ref.ID), slog.String("error", rerr.Error()))
			}
			return customresource.Result{PhysicalResourceID: reg.ref.String()}, err
		}
		return customresource.Result{PhysicalResourceID: none}, err
	}
	// Recorded once Sysdig answered, before CloudFormation hears of it: the record, not the
	// PhysicalResourceId, is what later requests must prove ownership against.
	if err := r.recordRegistration(ctx, req, reg.ref, props, reg.provider.Status, registry.Record{}, false, nil); err != nil {
		return customresource.Result{PhysicalResourceID: reg.ref.String()}, err
	}
	r.logger.Info("provider registered", slog.String("logical_id", req.LogicalResourceID),
		slog.String("provider_id", reg.ref.ID), slog.Bool("adopted", !reg.created), slog.String("status", reg.provider.Status))
	return providerResult(reg.ref, reg.provider.Status, reg.alias(props)), nil
}

// priorRegistration is the provider an earlier delivery of this very request registered
// before it died without answering (customresource.PriorPhysicalID), when it is one it
// created (not adopted) for this role, Sysdig URL and API version.
func (r *Registrar) priorRegistration(prior string, props ProviderProperties) (ProviderRef, bool) {
	if prior == "" {
		return ProviderRef{}, false
	}
	ref, err := ParseProviderRef(prior)
	if err != nil || ref.Adopted || ref.RoleARN != props.RoleARN || ref.BaseURL != props.BaseURL || ref.API != props.API {
		return ProviderRef{}, false
	}
	return ref, true
}

// resume answers a Create taken over from a delivery that registered ref and died before
// answering: one GET by id (ids can be reused, as Delete knows), and no POST, which would
// get 409 for the role this very request registered. resumed is false when the provider is
// gone, its id now holds another role, or Sysdig's answer names no role: then the Create
// goes on as usual. A failed read answers FAILED naming ref, so that rollback's Delete
// removes it.
func (r *Registrar) resume(ctx context.Context, client Sysdig, ref ProviderRef, props ProviderProperties) (res customresource.Result, resumed bool, err error) {
	p, err := client.GetProvider(ctx, ref.API, ref.ID)
	switch {
	case sysdig.IsNotFound(err):
		r.logger.Warn("the provider an earlier delivery of this request registered is gone; registering again", slog.String("provider_id", ref.ID))
		return customresource.Result{}, false, nil
	case err != nil:
		return customresource.Result{PhysicalResourceID: ref.String()}, false,
			fmt.Errorf("read provider %s, registered by an earlier delivery of this request: %w", ref.ID, err)
	case p.ID != ref.ID:
		r.logger.Warn("Sysdig's answer for the provider an earlier delivery of this request registered describes another provider; registering again rather than assume it is this request's",
			slog.String("provider_id", ref.ID), slog.String("answer_id", p.ID))
		return customresource.Result{}, false, nil
	case p.RoleARN == "":
		// A missing field is never a match: the id may have been reused since, and the
		// registry would then record someone else's provider as this stack's.
		r.logger.Warn("Sysdig's answer for the provider an earlier delivery of this request registered does not name its role; registering again rather than assume it is this request's",
			slog.String("provider_id", ref.ID))
		return customresource.Result{}, false, nil
	case !sysdig.SameRole(p.RoleARN, ref.RoleARN):
		r.logger.Warn("the provider id an earlier delivery of this request registered now holds another role; registering again",
			slog.String("provider_id", ref.ID), slog.String("found_role", p.RoleARN))
		return customresource.Result{}, false, nil
	}
	r.logger.Info("provider registered by an earlier delivery of this request, which died before answering; answering with it",
		slog.String("provider_id", ref.ID), slog.String("status", p.Status))
	return providerResult(ref, p.Status, props.Alias), true, nil
}

// registration is what register did: the provider it now stands for, and whether it
// created it (rather than adopting one that existed before, or one it cannot prove it
// created: then ref.Adopted is set).
type registration struct {
	ref      ProviderRef
	provider sysdig.Provider
	created  bool
	// unclear marks a provider found by role after a registration whose answer was
	// lost, and kept as adopted: it was not changed, so it keeps its own alias.
	unclear bool
}

// alias is the alias the provider has at Sysdig, for Data.Alias.
func (g registration) alias(props ProviderProperties) string {
	if g.unclear && g.provider.Alias != "" {
		return g.provider.Alias
	}
	return props.Alias
}

// register applies OnExisting, creates the provider if needed and reads it back. When it
// created a provider and then failed, the result still names it (created is true).
//
// The happy path is one call: the POST, whose answer holds the provider and its status.
// Providers are looked up by role only when that is needed: OnExisting=Adopt (before the
// POST, so that a tenant that accepts a second provider for a role still gets none), a 409
// to the POST, and an outcome left unclear (a lost answer, a timeout). OnExisting=Fail
// relies on Sysdig refusing a second provider for the same role (ASSUMED: with 409).
//
// A provider found by a look-up after an unclear POST is this request's only when a
// look-up before the POST proved the role free (OnExisting=Adopt, on a tenant that lists
// providers). Otherwise it may have held the role before the stack, so it is recorded as
// adopted and the stack never removes it (the Datadog #124 rule); the price is that a
// provider the lost POST did register outlives the stack, which the log says.
func (r *Registrar) register(ctx context.Context, client Sysdig, props ProviderProperties, recordProgress bool) (registration, error) {
	provedFree := false
	if props.OnExisting == OnExistingAdopt {
		existing, found, err := client.FindProviderByRole(ctx, props.API, props.RoleARN)
		switch {
		case errors.Is(err, sysdig.ErrListingNotSupported):
			// Nothing to look in: register, and a 409 will say the role is taken.
			r.logger.Info("this Sysdig does not list providers; registering without looking for one to adopt", slog.String("role", props.RoleARN))
		case err != nil:
			return registration{}, fmt.Errorf("look up Sysdig providers for role %s: %w", props.RoleARN, err)
		case found:
			return r.adopt(ctx, client, props, existing)
		default:
			provedFree = true
		}
	}

	created, err := r.createProviderWaitingForRole(ctx, client, props)
	if sysdig.IsConflict(err) {
		return r.alreadyRegistered(ctx, client, props, err)
	}
	if err != nil {
		err = fmt.Errorf("register role %s with Sysdig: %w", props.RoleARN, err)
		// The answer to the POST may be what was lost (a deadline, a reset, a 5xx).
		p, found, note := r.findAfterUnclearCreate(ctx, client, props, err)
		if found {
			reg := r.foundAfterUnclearCreate(props, p, provedFree)
			if recordProgress {
				customresource.RecordPhysicalID(ctx, reg.ref.String())
			}
			if reg.created {
				return reg, fmt.Errorf("%w (Sysdig registered it all the same, as provider %s)", err, p.ID)
			}
			return reg, fmt.Errorf("%w; %s", err, unclearNote(props, p.ID))
		}
		if note != "" {
			err = fmt.Errorf("%w (%s)", err, note)
		}
		return registration{}, err
	}
	reg := registration{ref: ProviderRef{API: props.API, BaseURL: props.BaseURL, ID: created.ID, RoleARN: props.RoleARN}, provider: created, created: true}
	if created.FoundByLookup {
		reg = r.foundAfterUnclearCreate(props, created, provedFree)
	}
	if recordProgress {
		customresource.RecordPhysicalID(ctx, reg.ref.String())
	}
	if created.Status != "" {
		return reg, nil
	}
	// Only an answer without the status costs a second call.
	if reg.provider, err = client.GetProvider(ctx, props.API, created.ID); err != nil {
		return reg, fmt.Errorf("registered provider %s for role %s but could not read it back: %w", created.ID, props.RoleARN, err)
	}
	return reg, nil
}

// adopt takes over the provider that held the role before this resource, setting its
// alias and regions when they differ.
func (r *Registrar) adopt(ctx context.Context, client Sysdig, props ProviderProperties, existing sysdig.Provider) (registration, error) {
	ref := ProviderRef{API: props.API, BaseURL: props.BaseURL, ID: existing.ID, RoleARN: props.RoleARN, Adopted: true}
	p := existing
	if !matchesSpec(existing, props) {
		var err error
		if p, err = client.UpdateProvider(ctx, props.API, existing.ID, props.Spec()); err != nil {
			return registration{}, fmt.Errorf("adopt provider %s for role %s: update alias and regions: %w", existing.ID, props.RoleARN, err)
		}
	}
	r.logger.Info("adopting existing Sysdig provider", slog.String("provider_id", existing.ID))
	return registration{ref: ref, provider: p}, nil
}

// alreadyRegistered handles a 409 to the registration: Sysdig holds a provider for the
// role. It is looked up to name it, and adopted when OnExisting=Adopt.
func (r *Registrar) alreadyRegistered(ctx context.Context, client Sysdig, props ProviderProperties, conflict error) (registration, error) {
	existing, found, err := client.FindProviderByRole(ctx, props.API, props.RoleARN)
	switch {
	case errors.Is(err, sysdig.ErrListingNotSupported):
		return registration{}, fmt.Errorf("Sysdig already has a provider for role %s (it answered 409 Conflict to the registration), and this Sysdig does not list providers, so the stack can neither name nor adopt it: "+
			"remove that provider at Sysdig (find its id in the Sysdig UI, then run %s) and retry, or keep it and do not manage this role with a stack", props.RoleARN, deregisterCommand(props.Connection, props.API, "<id>", props.RoleARN))
	case err != nil:
		return registration{}, fmt.Errorf("register role %s with Sysdig: %w; looking up the provider that holds the role failed too: %w", props.RoleARN, conflict, err)
	case !found:
		// Removed in between, or a 409 for another reason: nothing was registered.
		return registration{}, fmt.Errorf("register role %s with Sysdig: %w (no provider for the role is listed now: retry the stack operation)", props.RoleARN, conflict)
	case props.OnExisting == OnExistingAdopt:
		return r.adopt(ctx, client, props, existing)
	}
	return registration{}, fmt.Errorf("Sysdig already has provider %s for role %s (alias %q): set OnExisting to Adopt to manage it with this stack, or remove it at Sysdig first (%s)",
		existing.ID, props.RoleARN, existing.Alias, deregisterCommand(props.Connection, props.API, existing.ID, props.RoleARN))
}

// createProviderWaitingForRole registers the role, retrying for a bounded time while
// Sysdig says it cannot assume it yet: a role created seconds ago may not have propagated
// through IAM. (ASSUMED: Sysdig answers 400 or 422 mentioning "assume" in that case; the
// Terraform module sleeps 60 s instead.)
func (r *Registrar) createProviderWaitingForRole(ctx context.Context, client Sysdig, props ProviderProperties) (sysdig.Provider, error) {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval = r.propagationIv
	b.MaxInterval = 15 * time.Second
	var last error
	p, err := backoff.Retry(ctx, func() (sysdig.Provider, error) {
		p, err := client.CreateProvider(ctx, props.API, props.Spec())
		last = err
		if err != nil && !roleNotAssumableYet(err) {
			return p, backoff.Permanent(err)
		}
		if err != nil {
			r.logger.Info("Sysdig cannot assume the role yet; waiting for IAM propagation", slog.String("error", err.Error()))
		}
		return p, err
	}, backoff.WithBackOff(b), backoff.WithMaxElapsedTime(r.propagation))
	if err != nil && last != nil && !errors.Is(err, last) {
		// The deadline ended the wait: the last attempt's answer says what Sysdig did.
		err = fmt.Errorf("%w (last attempt: %w)", err, last)
	}
	return p, err
}

// findAfterUnclearCreate looks the role up again after a registration whose outcome is
// unknown. A definite refusal (a 4xx answer) registered nothing and is not looked up. When
// it cannot tell, note says why, for the Reason.
func (r *Registrar) findAfterUnclearCreate(ctx context.Context, client Sysdig, props ProviderProperties, createErr error) (sysdig.Provider, bool, string) {
	// As the client judges it: a 4xx (and a 503, answered before any work) is definite.
	var apiErr *sysdig.APIError
	if errors.As(createErr, &apiErr) && (apiErr.StatusCode < 500 || apiErr.StatusCode == http.StatusServiceUnavailable) {
		return sysdig.Provider{}, false, ""
	}
	cleanupCtx, cancel := customresource.CleanupContext(ctx)
	defer cancel()
	cleanupCtx = sysdig.Unpaced(cleanupCtx)
	// Half of the cleanup window at most: undoing a replacement may need the rest.
	lookupCtx := cleanupCtx
	if dl, ok := cleanupCtx.Deadline(); ok {
		var cancelLookup context.CancelFunc
		lookupCtx, cancelLookup = context.WithDeadline(cleanupCtx, time.Now().Add(time.Until(dl)/2))
		defer cancelLookup()
	}
	p, found, err := client.FindProviderByRole(lookupCtx, props.API, props.RoleARN)
	if errors.Is(err, sysdig.ErrListingNotSupported) {
		r.logger.Error("cannot tell whether the failed registration happened: this Sysdig does not list providers; check Sysdig for the role",
			slog.String("role", props.RoleARN))
		return sysdig.Provider{}, false, "Sysdig may have registered the role all the same and does not list providers: check for it in the Sysdig UI before retrying"
	}
	if err != nil {
		r.logger.Error("cannot tell whether the failed registration happened; check Sysdig for the role",
			slog.String("role", props.RoleARN), slog.String("error", err.Error()))
		return sysdig.Provider{}, false, ""
	}
	return p, found, ""
}

// foundAfterUnclearCreate decides whose a provider found by role after an unclear
// registration is. With the role proved free before the POST it is this request's;
// otherwise it may be one made by hand before the stack, so it is recorded as adopted
// (never removed by the stack) and a warning says how to remove it by hand.
func (r *Registrar) foundAfterUnclearCreate(props ProviderProperties, p sysdig.Provider, provedFree bool) registration {
	ref := ProviderRef{API: props.API, BaseURL: props.BaseURL, ID: p.ID, RoleARN: props.RoleARN}
	if provedFree {
		return registration{ref: ref, provider: p, created: true}
	}
	ref.Adopted = true
	r.logger.Warn(unclearNote(props, p.ID), slog.String("provider_id", p.ID), slog.String("role", props.RoleARN))
	return registration{ref: ref, provider: p, unclear: true}
}

// unclearNote tells the user what happened to a provider found after an unclear
// registration and how to remove it.
func unclearNote(props ProviderProperties, id string) string {
	return fmt.Sprintf("provider %s for the role was found after a registration whose answer was lost; it may have existed before this stack, so the stack treats it as adopted and will not remove it: if it was not there before, remove it by hand with %s", id, deregisterCommand(props.Connection, props.API, id, props.RoleARN))
}

// deregisterCommand is the sysdig-connect command that removes provider id by hand,
// complete and pasteable by whoever holds the token: the stack's Sysdig URL and API
// version, and the role the provider must hold. The token goes in the environment, not
// --token-secret: a secret the stack created (ApiToken, and the Organizations deployer's)
// denies every reader but the function, so a command naming it would fail with
// AccessDenied for the person who reads the Reason.
func deregisterCommand(c Connection, api sysdig.APIVersion, id, roleARN string) string {
	cmd := "SYSDIG_MONITOR_API_TOKEN=<token> sysdig-connect --api-url " + c.BaseURL
	if api == sysdig.V2 {
		cmd += " --provider-api v2"
	}
	if c.SkipTLSVerify {
		cmd += " --insecure-skip-tls-verify"
	}
	return cmd + " deregister " + id + " --role-arn " + roleARN + tokenNote
}

// tokenNote follows every command a Reason or warning suggests: where the token comes from.
const tokenNote = " (<token>: a Sysdig Monitor administrator's API token; the stack's token secret may be readable only by its function)"

func roleNotAssumableYet(err error) bool {
	var apiErr *sysdig.APIError
	if !errors.As(err, &apiErr) || (apiErr.StatusCode != 400 && apiErr.StatusCode != 422) {
		return false
	}
	return strings.Contains(strings.ToLower(apiErr.Message), "assume")
}

func matchesSpec(p sysdig.Provider, props ProviderProperties) bool {
	regions := slices.Clone(p.Regions)
	slices.Sort(regions)
	return p.Alias == props.Alias && slices.Equal(slices.Compact(regions), props.Regions)
}

func sameSpec(a, b ProviderProperties) bool {
	return a.Alias == b.Alias && slices.Equal(a.Regions, b.Regions)
}

func providerResult(ref ProviderRef, status, alias string) customresource.Result {
	if status == "" {
		status = "unknown"
	}
	return customresource.Result{
		PhysicalResourceID: ref.String(),
		Data:               map[string]any{"ProviderId": ref.ID, "Status": status, "Alias": alias},
	}
}
