package driftcheck

// The drift check's CloudWatch metrics (Embedded Metric Format): a public interface
// (README "Names other tools rely on", docs/organizations.md).
const (
	Namespace      = "SysdigAwsConnect"
	MetricAccounts = "Accounts"
	DimStackSet    = "StackSet"
	DimVerdict     = "Verdict"
)
