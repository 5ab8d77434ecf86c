package registrar

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"sysdig-aws-connect/internal/sysdig"
)

// A provider's PhysicalResourceId names everything a later request needs to act on exactly
// that provider, and nothing else, with no state kept anywhere:
//
//	sysdig-provider|<api>|<Sysdig base URL>|<provider id>|<role ARN>[|adopted]
//
// "adopted" marks a provider that existed before the stack (OnExisting=Adopt): Delete
// leaves it at Sysdig, so no rollback or stack deletion removes a registration the stack
// did not create (the Datadog #124 rule, whichever way the stack fails).
// A Create that registered nothing answers
//
//	sysdig-provider|none|<RequestId>
//
// which a later Delete recognises as nothing to remove. '|' cannot occur in any field.
const (
	providerIDPrefix = "sysdig-provider"
	externalIDPrefix = "sysdig-external-id"
	noneMarker       = "none"
	adoptedMarker    = "adopted"
	idSeparator      = "|"
)

// ProviderRef is the content of a provider's PhysicalResourceId.
type ProviderRef struct {
	API     sysdig.APIVersion
	BaseURL string
	ID      string
	RoleARN string
	Adopted bool
}

// String formats the PhysicalResourceId.
func (r ProviderRef) String() string {
	fields := []string{providerIDPrefix, string(r.API), r.BaseURL, r.ID, r.RoleARN}
	if r.Adopted {
		fields = append(fields, adoptedMarker)
	}
	return strings.Join(fields, idSeparator)
}

// NoneID is the PhysicalResourceId of a Create that registered nothing.
func NoneID(requestID string) string {
	return strings.Join([]string{providerIDPrefix, noneMarker, strings.ReplaceAll(requestID, idSeparator, "")}, idSeparator)
}

// ErrNotAProvider marks a PhysicalResourceId that names no provider (a NoneID, or an id
// this function never answered).
var ErrNotAProvider = errors.New("physical id names no Sysdig provider") //msg:internal a sentinel compared with errors.Is

var providerIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,128}$`)

// ParseProviderRef reads a PhysicalResourceId. Ids that name no provider return
// ErrNotAProvider; ids in this function's format but damaged return another error.
func ParseProviderRef(s string) (ProviderRef, error) {
	parts := strings.Split(s, idSeparator)
	if len(parts) < 2 || parts[0] != providerIDPrefix || parts[1] == noneMarker {
		return ProviderRef{}, ErrNotAProvider
	}
	adopted := len(parts) == 6 && parts[5] == adoptedMarker
	if len(parts) != 5 && !adopted {
		return ProviderRef{}, fmt.Errorf("malformed provider physical id %q", truncate(s, 200))
	}
	api, err := sysdig.ParseAPIVersion(parts[1])
	if err != nil {
		return ProviderRef{}, fmt.Errorf("malformed provider physical id: %w", err)
	}
	u, err := sysdig.ValidateBaseURL(parts[2])
	if err != nil {
		return ProviderRef{}, fmt.Errorf("malformed provider physical id: %w", err)
	}
	if !providerIDPattern.MatchString(parts[3]) {
		return ProviderRef{}, fmt.Errorf("malformed provider physical id: bad provider id %q", truncate(parts[3], 40))
	}
	if _, err := ParseRoleARN(parts[4]); err != nil {
		return ProviderRef{}, fmt.Errorf("malformed provider physical id: %w", err)
	}
	return ProviderRef{API: api, BaseURL: u.String(), ID: parts[3], RoleARN: parts[4], Adopted: adopted}, nil
}

// externalIDPhysicalID is stable for a Sysdig tenant URL, so changing the URL replaces the
// resource (and its Delete is a no-op, as always for this type).
func externalIDPhysicalID(baseURL string) string {
	return externalIDPrefix + idSeparator + baseURL
}
