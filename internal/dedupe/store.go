// Package dedupe recognises a custom-resource request delivered more than once. SNS and
// Lambda's asynchronous invocation deliver at least once: the same request (StackId,
// LogicalResourceId, RequestId) may reach the registrar twice, at the same time or later.
// A record per request, written with conditional writes, makes the first delivery the only
// one that acts: it holds a lease while it works, then stores its answer; a duplicate that
// finds the lease held does nothing, one that finds the answer sends it again, and one that
// finds an expired lease (the first delivery died) takes the request over.
//
// The records live in a DynamoDB table (the Organizations deployer creates it); Store is the
// interface, DynamoDB its implementation, Deduplicator the policy that
// customresource.WithDeduplicator plugs into the function.
package dedupe

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"time"
)

// Attribute names of the table. The deployer stack (cdk/stacks) creates the table with
// AttrKey as its only key (a string partition key) and AttrExpires as its TTL attribute.
const (
	AttrKey     = "pk"
	AttrExpires = "expires_at"

	attrState    = "state"
	attrOwner    = "owner"
	attrLease    = "lease_until_ms"
	attrURLHash  = "response_url_sha256"
	attrAnswer   = "answer"
	attrStackID  = "stack_id"
	attrLogical  = "logical_id"
	attrRequest  = "request_id"
	attrProgress = "progress_physical_id"
	maxIDInTable = 1024 // the ids are kept for people reading the table, cut to this
)

// Key names one request.
type Key struct {
	StackID           string
	LogicalResourceID string
	RequestID         string
}

// ID is the table's partition key for k: the SHA-256 of the three ids, length-prefixed so
// that no two different keys share an ID, and bounded whatever a request holds.
func (k Key) ID() string {
	h := sha256.New()
	for _, s := range []string{k.StackID, k.LogicalResourceID, k.RequestID} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(s)))
		h.Write(n[:])
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// State is where a request stands.
type State string

const (
	// StateInProgress: a delivery holds the lease and is working on the request.
	StateInProgress State = "IN_PROGRESS"
	// StateAnswered: the answer is stored.
	StateAnswered State = "ANSWERED"
)

// Record is what the table holds for one request.
type Record struct {
	Key   Key
	State State
	// Owner identifies the delivery that holds (or held) the lease.
	Owner string
	// LeaseUntil is when an in-progress record may be taken over.
	LeaseUntil time.Time
	// ResponseURLHash is the SHA-256 (hex) of the request's ResponseURL: a duplicate is
	// the same message, so a different ResponseURL under the same ids is not one.
	ResponseURLHash string
	// PhysicalID is the physical id the holder recorded as it made progress
	// (customresource.RecordPhysicalID): what it created before any answer. A delivery
	// that takes the request over learns it, so it does not create the same thing twice.
	PhysicalID string
	// Answer is the response body sent to CloudFormation (StateAnswered).
	Answer []byte
	// Expires is when DynamoDB may delete the record (TTL).
	Expires time.Time
}

// ErrLeaseLost is returned by Store.Answer when the record is no longer the owner's: its
// lease expired and another delivery took the request over (or it was answered).
var ErrLeaseLost = errors.New("the request's lease was lost to another delivery") //msg:internal a sentinel compared with errors.Is

// Store keeps the records with conditional writes.
type Store interface {
	// Acquire writes rec (StateInProgress, owned by rec.Owner) unless the key already has
	// a record that is answered, or in progress under another owner with a lease that has
	// not expired at now. It returns the record as it now stands and whether rec.Owner
	// holds it; when rec.Owner took over another delivery's record, current.PhysicalID is
	// the physical id that delivery recorded (the write itself drops it).
	Acquire(ctx context.Context, rec Record, now time.Time) (current Record, acquired bool, err error)
	// Progress stores physicalID in the record of key while owner still holds it in
	// progress (else ErrLeaseLost).
	Progress(ctx context.Context, key Key, owner, physicalID string) error
	// Answer stores answer in the record of key, if owner still holds it (else
	// ErrLeaseLost).
	Answer(ctx context.Context, key Key, owner string, answer []byte) error
	// Get reads the record of key (strongly consistent); ok is false when there is none.
	Get(ctx context.Context, key Key) (rec Record, ok bool, err error)
}

// HashURL is the ResponseURLHash of a ResponseURL.
func HashURL(responseURL string) string {
	sum := sha256.Sum256([]byte(responseURL))
	return hex.EncodeToString(sum[:])
}

func cut(s string) string {
	if len(s) > maxIDInTable {
		return s[:maxIDInTable]
	}
	return s
}
