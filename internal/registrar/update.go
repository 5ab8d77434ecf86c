package registrar

import (
	"context"
	"fmt"
	"log/slog"

	"sysdig-aws-connect/internal/customresource"
	"sysdig-aws-connect/internal/registry"
	"sysdig-aws-connect/internal/sysdig"
)

func (r *Registrar) updateProvider(ctx context.Context, req customresource.Request) (customresource.Result, error) {
	oldID := req.PhysicalResourceID
	customresource.RecordPhysicalID(ctx, oldID)
	keep := customresource.Result{PhysicalResourceID: oldID}
	props, stack, err := providerProperties(req)
	if err != nil {
		return keep, err
	}
	current, refErr := ParseProviderRef(oldID)
	if refErr == nil {
		role, _ := ParseRoleARN(current.RoleARN)
		if err := sameAccount(role, stack, "the provider this resource names ("+current.RoleARN+")"); err != nil {
			return keep, err
		}
	}
	// The registry of record, not the PhysicalResourceId, says which provider this
	// resource owns: any other id is refused before any Sysdig call.
	h, err := r.lookup(ctx, req, current.ID)
	if err != nil {
		return keep, err
	}
	if h.found && !h.current {
		return keep, &OwnershipError{notOwned(current.ID, h.rec)}
	}
	if h.current {
		current = h.ref
	}
	switch {
	case refErr != nil:
		// The resource names no provider yet (an earlier Create registered nothing).
		return r.replaceProvider(ctx, req, props, nil, "the resource names no provider", h, nil)
	case current.BaseURL != props.BaseURL || current.RoleARN != props.RoleARN:
		return r.replaceOwned(ctx, req, props, current, stack, h)
	}

	oldProps, oldErr := ParseProviderProperties(req.OldResourceProperties)
	if current.API == props.API && oldErr == nil && sameSpec(oldProps, props) {
		r.logger.Info("nothing Sysdig holds changed; no call", slog.String("provider_id", current.ID))
		return providerResult(current, StatusUnchanged, props.Alias), nil
	}
	client, err := r.connect(ctx, props.Connection)
	if err != nil {
		return keep, err
	}
	if !h.current || current.API != props.API {
		// No record (the single-account function, or a stack older than the registry): the
		// id must still hold this stack's role. A provider removed outside CloudFormation
		// may have left its id to someone else's registration, which an update must not
		// overwrite. The read is by id in the API version the stack now asks for: v1 and v2
		// address one store of providers (ASSUMED), so a ProviderApi change keeps the
		// provider rather than registering the role twice. The record proves the id only
		// in the version it was registered through: a ProviderApi change (a claim of the
		// request) is read first too, should that assumption be wrong.
		held, gone, refusal, err := proveByRead(ctx, client, props.API, current, stack)
		switch {
		case err != nil:
			return keep, err
		case refusal != "" && (held.RoleARN == "" || held.ID != current.ID):
			// Nothing proves whose the provider is (an answer without the role, or about
			// another id): fail closed.
			r.logger.Warn("provider left unchanged: "+refusal+"; if it is this stack's, update or remove it by hand: "+
				deregisterCommand(props.Connection, current.API, current.ID, current.RoleARN), slog.String("provider_id", current.ID))
			return keep, &OwnershipError{refusal}
		case (gone || refusal != "") && current.API != props.API:
			// The registry's own provider stays superseded, so that CloudFormation's
			// cleanup Delete may remove it through the version it was registered with.
			var superseded *registry.Superseded
			if h.current {
				superseded = supersededOf(current)
			}
			return r.replaceProvider(ctx, req, props, client, "ProviderApi changed and the provider is not found through it", h, superseded)
		case gone || refusal != "":
			r.logger.Warn("the provider was removed at Sysdig outside CloudFormation; registering the role again", slog.String("provider_id", current.ID))
			return r.replaceProvider(ctx, req, props, client, "provider gone at Sysdig", h, nil)
		}
	}
	if current.API != props.API {
		// The PhysicalResourceId keeps naming the old API version: a new id would make
		// CloudFormation delete this very provider. Later Deletes use that version.
		r.logger.Info("ProviderApi changed; keeping the provider both API versions show", slog.String("provider_id", current.ID))
	}
	// With the record, this PUT is the Update's only Sysdig call.
	p, err := client.UpdateProvider(ctx, props.API, current.ID, props.Spec())
	if sysdig.IsNotFound(err) {
		// A provider the registry holds stays superseded, not forgotten: after a
		// ProviderApi change it may still exist through the old version, and CloudFormation's
		// cleanup Delete of it must be allowed (a DELETE of one that is gone answers 404).
		var superseded *registry.Superseded
		if h.current {
			superseded = supersededOf(current)
		}
		return r.replaceProvider(ctx, req, props, client, "provider not found at Sysdig", h, superseded)
	}
	if err != nil {
		return keep, fmt.Errorf("update provider %s (alias, regions): %w", current.ID, err)
	}
	if p.Status == "" {
		// Only an answer without the status costs another call.
		if p, err = client.GetProvider(ctx, props.API, current.ID); err != nil {
			return keep, fmt.Errorf("updated provider %s but could not read it back: %w", current.ID, err)
		}
	}
	if err := r.recordRegistration(ctx, req, current, props, p.Status, h.rec, h.found, nil); err != nil {
		return keep, err
	}
	r.logger.Info("provider updated in place", slog.String("provider_id", current.ID), slog.String("status", p.Status))
	return providerResult(current, p.Status, props.Alias), nil
}

// replaceOwned replaces the provider current (RoleArn or SysdigApiUrl changed). The
// registry records current as superseded, so that CloudFormation's cleanup Delete, which
// names it, may remove it: the registry's own provider at once, and for a stack older
// than the registry after reading it proves it this stack's (else the cleanup Delete
// leaves it, fail closed).
func (r *Registrar) replaceOwned(ctx context.Context, req customresource.Request, props ProviderProperties, current ProviderRef, stack StackARN, h held) (customresource.Result, error) {
	why := "RoleArn or SysdigApiUrl changed"
	if h.current || r.registry == nil {
		return r.replaceProvider(ctx, req, props, nil, why, h, supersededOf(current))
	}
	client, err := r.connect(ctx, props.Connection)
	if err != nil {
		return customresource.Result{PhysicalResourceID: req.PhysicalResourceID}, err
	}
	var superseded *registry.Superseded
	if _, gone, refusal, err := proveByRead(ctx, client, current.API, current, stack); err == nil && !gone && refusal == "" {
		superseded = supersededOf(current)
	} else if refusal != "" {
		r.logger.Warn("the provider being replaced is not proved this stack's ("+refusal+"): CloudFormation's cleanup will leave it; if it is this stack's, remove it by hand with "+
			deregisterCommand(Connection{BaseURL: current.BaseURL, SecretID: props.SecretID, SkipTLSVerify: props.SkipTLSVerify}, current.API, current.ID, current.RoleARN),
			slog.String("provider_id", current.ID))
	}
	return r.replaceProvider(ctx, req, props, client, why, h, superseded)
}

// replaceProvider registers a new provider; CloudFormation then deletes the old one with
// a Delete naming the old id. If the Update fails after registering, the new provider is
// removed here, since a failed Update's answer cannot hand it to a later Delete.
// client may be nil, in which case it connects first.
// h is what the registry held; superseded is the provider replaced, when it is proved this
// stack's (the registry records it as such).
func (r *Registrar) replaceProvider(ctx context.Context, req customresource.Request, props ProviderProperties, client Sysdig, why string, h held, superseded *registry.Superseded) (customresource.Result, error) {
	keep := customresource.Result{PhysicalResourceID: req.PhysicalResourceID}
	r.logger.Info("replacing provider", slog.String("why", why), slog.String("old_physical_id", req.PhysicalResourceID))
	if client == nil {
		var err error
		if client, err = r.connect(ctx, props.Connection); err != nil {
			return keep, err
		}
	}
	reg, err := r.register(ctx, client, props, false)
	if err != nil {
		if reg.created {
			err = r.undoCreate(ctx, client, reg.ref, err)
		}
		return keep, err
	}
	if err := r.recordRegistration(ctx, req, reg.ref, props, reg.provider.Status, h.rec, h.found, superseded); err != nil {
		if reg.created {
			err = r.undoCreate(ctx, client, reg.ref, err)
		}
		return keep, err
	}
	return providerResult(reg.ref, reg.provider.Status, reg.alias(props)), nil
}

// undoCreate removes a provider this request created before failing. It runs on the
// cleanup context, since the request's may be the very thing that ran out.
func (r *Registrar) undoCreate(ctx context.Context, client Sysdig, ref ProviderRef, cause error) error {
	cleanupCtx, cancel := customresource.CleanupContext(ctx)
	defer cancel()
	if err := client.DeleteProvider(sysdig.Unpaced(cleanupCtx), ref.API, ref.ID); err != nil && !sysdig.IsNotFound(err) {
		r.logger.Error("could not remove the provider this failed update registered", slog.String("provider_id", ref.ID), slog.String("error", err.Error()))
		return fmt.Errorf("%w; the new provider %s could not be removed (%v): remove it at Sysdig", cause, ref.ID, err)
	}
	r.logger.Info("removed the provider this failed update registered", slog.String("provider_id", ref.ID))
	return cause
}
