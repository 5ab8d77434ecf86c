package orgreport

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"unicode"
)

// Formats the CLI writes.
const (
	FormatTable = "table"
	FormatJSON  = "json"
	FormatCSV   = "csv"
	FormatHTML  = "html" // WriteHTML: one self-contained page
)

// Header is the CSV header: the JSON names of Row, in the same order.
var Header = []string{"account_id", "account_name", "account_state", "ou", "instance_status", "instance_reason",
	"provider_id", "sysdig_status", "sysdig_message", "verdict", "detail", "fix"}

func (r Row) fields() []string {
	return []string{r.AccountID, r.AccountName, r.AccountState, r.OU, r.InstanceStatus, r.InstanceReason,
		r.ProviderID, r.SysdigStatus, r.SysdigMessage, string(r.Verdict), r.Detail, r.Fix}
}

// Summary is the one line of counts: "20 accounts: 15 OK, 1 PENDING, …".
func Summary(r *Report) string {
	parts := make([]string, 0, len(Verdicts))
	for _, v := range Verdicts {
		parts = append(parts, fmt.Sprintf("%d %s", r.Counts[v], v))
	}
	noun := "accounts"
	if len(r.Rows) == 1 {
		noun = "account"
	}
	return fmt.Sprintf("%d %s: %s", len(r.Rows), noun, strings.Join(parts, ", "))
}

// WriteJSON writes the report as one indented JSON document.
func WriteJSON(w io.Writer, r *Report) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// WriteCSV writes a header and one line per row (the fields of the JSON rows).
func WriteCSV(w io.Writer, r *Report) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Header); err != nil {
		return err
	}
	for _, row := range r.Rows {
		f := row.fields()
		for i := range f {
			f[i] = csvSafe(f[i])
		}
		if err := cw.Write(f); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// csvSafe keeps a spreadsheet from reading a cell as a formula (the reasons and messages
// come from AWS and Sysdig, not from us).
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) && s != "-" {
		return "'" + s
	}
	return s
}

// WriteTable writes the rows as aligned columns, then the fix of each row that has one,
// then the summary line.
func WriteTable(w io.Writer, r *Report) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ACCOUNT\tNAME\tOU\tINSTANCE\tPROVIDER\tSYSDIG\tVERDICT\tDETAIL")
	for _, row := range r.Rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", cell(row.AccountID, 12), cell(row.AccountName, 24), cell(row.OU, 40),
			cell(row.InstanceStatus, 30), cell(row.ProviderID, 20), cell(row.SysdigStatus, 20), row.Verdict, cell(row.Detail, 160))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fixes := 0
	for _, row := range r.Rows {
		if row.Fix == "" {
			continue
		}
		if fixes == 0 {
			fmt.Fprintln(w, "\nFixes:")
		}
		fixes++
		fmt.Fprintf(w, "  %s %s:\n    %s\n", row.Verdict, row.AccountID, cell(row.Fix, 2000))
	}
	_, err := fmt.Fprintf(w, "\n%s\n", Summary(r))
	return err
}

// cell makes a value one printable line of at most n characters, "-" when empty.
func cell(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\t' {
			return ' '
		}
		return r
	}, s)
	if s = strings.TrimSpace(s); s == "" {
		return "-"
	}
	if rs := []rune(s); len(rs) > n {
		return string(rs[:n-1]) + "…"
	}
	return s
}
