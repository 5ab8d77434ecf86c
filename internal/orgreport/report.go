// Package orgreport builds the organization's status report: one row per account, with a
// verdict, from the deployer stack, AWS Organizations, the StackSet's instances, the
// registry of record and Sysdig. The CLI (`sysdig-connect org status`) and the scheduled
// drift check both use it.
package orgreport

import "time"

// Verdict is the state of one account, each with its fix.
type Verdict string

// The verdicts, in the order reports list their counts.
const (
	VerdictOK        Verdict = "OK"        // connected and healthy
	VerdictPending   Verdict = "PENDING"   // a StackSet operation is running
	VerdictFailed    Verdict = "FAILED"    // the stack instance failed: its reason
	VerdictMissing   Verdict = "MISSING"   // in a target OU but no instance or no registration
	VerdictOrphan    Verdict = "ORPHAN"    // a registration whose account or instance is gone
	VerdictDrift     Verdict = "DRIFT"     // Sysdig's role, alias or regions differ from the stack's
	VerdictUnhealthy Verdict = "UNHEALTHY" // Sysdig reports an error for the provider
	VerdictUnknown   Verdict = "UNKNOWN"   // a read failed: Detail says which
)

// Verdicts lists every verdict in report order.
var Verdicts = []Verdict{VerdictOK, VerdictPending, VerdictFailed, VerdictMissing,
	VerdictOrphan, VerdictDrift, VerdictUnhealthy, VerdictUnknown}

// Row is one account. The JSON names are the CSV header too (docs/cli.md).
type Row struct {
	AccountID      string  `json:"account_id"`
	AccountName    string  `json:"account_name"`
	AccountState   string  `json:"account_state"` // ACTIVE, SUSPENDED, PENDING_CLOSURE, or empty when unknown
	OU             string  `json:"ou"`            // the OU id the account sits in (empty: outside the target OUs)
	InstanceStatus string  `json:"instance_status"`
	InstanceReason string  `json:"instance_reason"`
	ProviderID     string  `json:"provider_id"`
	SysdigStatus   string  `json:"sysdig_status"`
	SysdigMessage  string  `json:"sysdig_message"`
	Verdict        Verdict `json:"verdict"`
	Detail         string  `json:"detail"` // why this verdict, in a sentence
	Fix            string  `json:"fix"`    // the one pasteable command that fixes it; empty for OK

	src *facts // what Build read about the account, for Reconcile
}

// Report is the whole organization at one moment.
type Report struct {
	Generated time.Time       `json:"generated"`
	Stack     string          `json:"stack"`     // the deployer stack
	StackSet  string          `json:"stack_set"` // its StackSet
	Counts    map[Verdict]int `json:"counts"`
	Rows      []Row           `json:"rows"`
}

// Count fills Counts from Rows, with every verdict present (zero included).
func (r *Report) Count() {
	r.Counts = make(map[Verdict]int, len(Verdicts))
	for _, v := range Verdicts {
		r.Counts[v] = 0
	}
	for _, row := range r.Rows {
		r.Counts[row.Verdict]++
	}
}

// AllOK reports whether every row is OK: the CLI exits 0 only then.
func (r *Report) AllOK() bool {
	for _, row := range r.Rows {
		if row.Verdict != VerdictOK {
			return false
		}
	}
	return true
}
