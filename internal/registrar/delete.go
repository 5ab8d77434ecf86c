package registrar

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"sysdig-aws-connect/internal/customresource"
	"sysdig-aws-connect/internal/sysdig"
)

// deleteProvider removes the provider the resource owns. A Delete that is refused (it
// names a provider the resource does not own, or one nothing proves it owns) still
// answers SUCCESS, so that the stack can be deleted, with Refused set and a warning.
func (r *Registrar) deleteProvider(ctx context.Context, req customresource.Request) (customresource.Result, error) {
	done := customresource.Result{PhysicalResourceID: req.PhysicalResourceID}
	refused := customresource.Result{PhysicalResourceID: req.PhysicalResourceID, Refused: true}
	ref, err := ParseProviderRef(req.PhysicalResourceID)
	if errors.Is(err, ErrNotAProvider) {
		r.logger.Info("nothing to remove: the resource names no provider")
		return done, nil
	}
	if err != nil {
		// Not an id this function answered: removing anything on its word would be a guess.
		r.logger.Warn("nothing removed: the physical id is not one this function answered", slog.String("error", err.Error()))
		return done, nil
	}
	stack, err := ParseStackARN(req.StackID)
	if err != nil {
		return done, err
	}
	role, _ := ParseRoleARN(ref.RoleARN)
	if err := sameAccount(role, stack, "provider "+ref.ID+" (role "+ref.RoleARN+")"); err != nil {
		return done, err
	}
	// The registry of record, not the PhysicalResourceId, says which provider this
	// resource owns, before any Sysdig call.
	h, err := r.lookup(ctx, req, ref.ID)
	if err != nil {
		return done, err
	}
	switch {
	case h.removed:
		r.logger.Info("nothing to remove: the registry of record holds this provider as removed already", slog.String("provider_id", ref.ID))
		return done, nil
	case h.found && !h.current && h.superseded < 0:
		r.logger.Warn("nothing removed at Sysdig: "+notOwned(ref.ID, h.rec), slog.String("provider_id", ref.ID),
			slog.String("stack_id", req.StackID), slog.String("logical_id", req.LogicalResourceID))
		return refused, nil
	case h.found:
		ref = h.ref
	}
	rd := reader{props: req.ResourceProperties}
	deregister, err := rd.boolean(PropDeregisterOnDelete, true)
	if err != nil {
		return done, err
	}
	switch {
	case !deregister:
		r.logger.Info("leaving the provider at Sysdig (DeregisterOnDelete=false)", slog.String("provider_id", ref.ID))
		return done, r.recordRemoval(ctx, h)
	case ref.Adopted:
		r.logger.Info("leaving the provider at Sysdig: it existed before the stack (adopted)", slog.String("provider_id", ref.ID))
		return done, r.recordRemoval(ctx, h)
	}
	secretID, err := rd.requiredString(PropAPITokenSecretID, "the name or ARN of the Secrets Manager secret holding the Sysdig API token")
	if err != nil {
		return done, err
	}
	skipTLS, err := rd.boolean(PropSkipTLSVerify, false)
	if err != nil {
		return done, err
	}
	client, err := r.connect(ctx, Connection{BaseURL: ref.BaseURL, SecretID: secretID, SkipTLSVerify: skipTLS})
	var refusedErr *RefusedError
	if errors.As(err, &refusedErr) {
		// The stack now uses another Sysdig or secret (a URL change replaced the provider
		// and this is the cleanup of the old one), or the request is forged. Failing would
		// leave the stack stuck in DELETE_FAILED; the old provider is left for a person.
		r.logger.Warn("provider left at Sysdig: "+refusedErr.Error()+"; remove it with "+
			deregisterCommand(Connection{BaseURL: ref.BaseURL, SecretID: "<the secret with that Sysdig's token>", SkipTLSVerify: skipTLS}, ref.API, ref.ID, ref.RoleARN),
			slog.String("provider_id", ref.ID), slog.String("sysdig_api_url", ref.BaseURL))
		return done, nil
	}
	if err != nil {
		return done, err
	}
	if !h.found {
		// No record (the single-account function, or a stack older than the registry):
		// read by id, and remove only what Sysdig's answer proves is this stack's.
		_, gone, refusal, err := proveByRead(ctx, client, ref.API, ref, stack)
		switch {
		case err != nil:
			return done, err
		case gone:
			r.logger.Info("provider already gone at Sysdig", slog.String("provider_id", ref.ID))
			return done, nil
		case refusal != "":
			r.logger.Warn("nothing removed at Sysdig: "+refusal+"; if it is this stack's, remove it by hand with "+
				deregisterCommand(Connection{BaseURL: ref.BaseURL, SecretID: secretID, SkipTLSVerify: skipTLS}, ref.API, ref.ID, ref.RoleARN),
				slog.String("provider_id", ref.ID), slog.String("stack_id", req.StackID))
			return refused, nil
		}
	}
	// With the record, this DELETE is the Delete's only Sysdig call.
	if err := client.DeleteProvider(ctx, ref.API, ref.ID); err != nil && !sysdig.IsNotFound(err) {
		return done, fmt.Errorf("deregister provider %s (role %s): %w", ref.ID, ref.RoleARN, err)
	}
	r.logger.Info("provider deregistered", slog.String("provider_id", ref.ID))
	if !h.found {
		r.recordPreRegistryRemoval(ctx, req, ref)
		return done, nil
	}
	return done, r.recordRemoval(ctx, h)
}
