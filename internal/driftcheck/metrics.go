package driftcheck

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"time"

	"sysdig-aws-connect/internal/orgreport"
)

// The drift check's CloudWatch metrics (Embedded Metric Format): a public interface
// (README "Names other tools rely on", docs/organizations.md).
const (
	Namespace      = "SysdigAwsConnect"
	MetricAccounts = "Accounts"
	DimStackSet    = "StackSet"
	DimVerdict     = "Verdict"
)

// emfRecord is one Embedded Metric Format line: CloudWatch Logs turns it into the metric
// Accounts{StackSet, Verdict}. Field order is fixed for readable logs.
type emfRecord struct {
	AWS      emfMeta `json:"_aws"`
	StackSet string  `json:"StackSet"`
	Verdict  string  `json:"Verdict"`
	Accounts int     `json:"Accounts"`
}

type emfMeta struct {
	Timestamp         int64          `json:"Timestamp"`
	CloudWatchMetrics []emfDirective `json:"CloudWatchMetrics"`
}

type emfDirective struct {
	Namespace  string      `json:"Namespace"`
	Dimensions [][]string  `json:"Dimensions"`
	Metrics    []emfMetric `json:"Metrics"`
}

type emfMetric struct {
	Name string `json:"Name"`
	Unit string `json:"Unit"`
}

// WriteMetrics writes one EMF line per verdict, every verdict every run (zeros included),
// so a verdict that clears reads 0 rather than nothing.
func WriteMetrics(w io.Writer, r *orgreport.Report, at time.Time) error {
	directive := []emfDirective{{Namespace: Namespace, Dimensions: [][]string{{DimStackSet, DimVerdict}},
		Metrics: []emfMetric{{Name: MetricAccounts, Unit: "Count"}}}}
	for _, v := range orgreport.Verdicts {
		line, err := json.Marshal(emfRecord{AWS: emfMeta{Timestamp: at.UnixMilli(), CloudWatchMetrics: directive},
			StackSet: r.StackSet, Verdict: string(v), Accounts: r.Counts[v]})
		if err != nil {
			return err
		}
		if _, err := fmt.Fprintf(w, "%s\n", line); err != nil {
			return fmt.Errorf("write the drift check's metrics: %w", err)
		}
	}
	return nil
}

// LogAccounts writes one JSON log line per account that is not OK: what it is, why, and
// the command that fixes it.
func LogAccounts(logger *slog.Logger, r *orgreport.Report) {
	for _, row := range r.Rows {
		if row.Verdict == orgreport.VerdictOK {
			continue
		}
		logger.Warn("drift check: account not OK",
			slog.String("stack_set", r.StackSet), slog.String("verdict", string(row.Verdict)),
			slog.String("account_id", row.AccountID), slog.String("account_name", row.AccountName),
			slog.String("account_state", row.AccountState), slog.String("ou", row.OU),
			slog.String("instance_status", row.InstanceStatus), slog.String("instance_reason", row.InstanceReason),
			slog.String("provider_id", row.ProviderID), slog.String("sysdig_status", row.SysdigStatus),
			slog.String("sysdig_message", row.SysdigMessage), slog.String("detail", row.Detail), slog.String("fix", row.Fix))
	}
}
