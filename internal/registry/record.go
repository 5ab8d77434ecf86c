// Package registry is the registry of record: what the Organizations deployer's registrar
// itself registered at Sysdig, one DynamoDB item per custom resource of a stack instance.
// A request's PhysicalResourceId is only a claim; this record is the proof of which
// provider a stack instance owns.
package registry

import "time"

// Origin says whether the registrar created the provider or adopted one that existed.
type Origin string

// The origins of a registration.
const (
	OriginCreated Origin = "created"
	OriginAdopted Origin = "adopted"
)

// State is whether the registration is in force or was removed by a Delete.
type State string

// The states of a registration.
const (
	StateActive  State = "active"
	StateRemoved State = "removed"
)

// Key names one registration: the stack instance's StackId and the custom resource's
// LogicalResourceId (both from CloudFormation, checked by the request check).
type Key struct {
	StackID           string
	LogicalResourceID string
}

// Record is one registration as the registrar recorded it.
type Record struct {
	Key
	Account    string // the stack instance's account (from its StackId)
	Region     string // the stack instance's region (from its StackId)
	RoleARN    string
	ProviderID string
	API        string // Sysdig's provider API: "v1" or "v2"
	SysdigURL  string
	Alias      string
	Regions    []string
	Origin     Origin
	State      State
	CreatedAt  time.Time
	UpdatedAt  time.Time
	RemovedAt  time.Time // zero while State is StateActive
	LastStatus string    // the last status Sysdig gave for the provider
	// Replaced are the providers a replacing Update superseded and CloudFormation has not
	// deleted yet (its cleanup Delete, or a rollback's Delete of the new one, follows):
	// the only other ids a Delete of this resource may name. Oldest first.
	Replaced []Superseded
}

// Superseded is a provider a replacing Update superseded, as the registry held it.
type Superseded struct {
	ProviderID string
	RoleARN    string
	API        string
	SysdigURL  string
	Origin     Origin
}

// DynamoDB attribute names of a record: a public interface (docs/security.md), read by
// `sysdig-connect org status` and the scheduled drift check.
const (
	AttrStackID           = "StackId"           // partition key (S)
	AttrLogicalResourceID = "LogicalResourceId" // sort key (S)
	AttrAccount           = "Account"
	AttrRegion            = "Region"
	AttrRoleARN           = "RoleArn"
	AttrProviderID        = "ProviderId"
	AttrAPI               = "ProviderApi"
	AttrSysdigURL         = "SysdigUrl"
	AttrAlias             = "Alias"
	AttrRegions           = "Regions" // list of strings
	AttrOrigin            = "Origin"
	AttrState             = "State"
	AttrCreatedAt         = "CreatedAt" // RFC 3339, UTC
	AttrUpdatedAt         = "UpdatedAt"
	AttrRemovedAt         = "RemovedAt"
	AttrLastStatus        = "LastStatus"
	AttrReplaced          = "Replaced" // list of maps with ProviderId, RoleArn, ProviderApi, SysdigUrl, Origin
)
