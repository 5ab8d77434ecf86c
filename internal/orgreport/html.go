package orgreport

import (
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"sort"
	"time"
)

// The page's style and script are inlined, so the page opens offline and from a mail
// attachment; its Content-Security-Policy allows exactly these two and nothing else
// (no fetches, images, fonts or other scripts), so even a row that escaped escaping
// could not load or run anything.
var (
	//go:embed html_page.css
	pageCSS string
	//go:embed html_page.js
	pageJS string
)

//go:embed html_page.tmpl
var pageTemplate string

var htmlPage = template.Must(template.New("page").Parse(pageTemplate))

// htmlOutsideOU labels the rows of accounts outside the target OUs in the OU filter.
const htmlOutsideOU = "(outside the target OUs)"

type htmlBar struct {
	Verdict Verdict
	Count   int
	Percent string // of all rows, for the bar's width
}

type htmlOU struct {
	Value, Label string
}

type htmlRow struct {
	Row
	Rank int // the verdict's place in Verdicts, so the verdict column sorts in report order
}

type htmlData struct {
	Report    *Report
	Generated string
	Total     int
	Bars      []htmlBar
	OUs       []htmlOU
	Rows      []htmlRow
	CSP       string
	CSS       template.CSS
	JS        template.JS
}

// WriteHTML writes the report as one self-contained HTML page: the counts as a bar per
// verdict, then the table, sortable by any column and filterable by verdict and OU.
// Every value from AWS or Sysdig is escaped for where it stands.
func WriteHTML(w io.Writer, r *Report) error {
	if r == nil {
		return fmt.Errorf("write the HTML report: no report") //msg:internal a programming error
	}
	counts := r.Counts
	if counts == nil { // a report built without Count(): count here, without changing it
		c := Report{Rows: r.Rows}
		c.Count()
		counts = c.Counts
	}
	d := htmlData{Report: r, Total: len(r.Rows), CSS: template.CSS(pageCSS), JS: template.JS(pageJS), CSP: pageCSP}
	if !r.Generated.IsZero() {
		d.Generated = r.Generated.UTC().Format(time.RFC3339)
	}
	rank := make(map[Verdict]int, len(Verdicts))
	for i, v := range Verdicts {
		rank[v] = i
		d.Bars = append(d.Bars, htmlBar{Verdict: v, Count: counts[v], Percent: percent(counts[v], d.Total)})
	}
	ous := map[string]bool{}
	for _, row := range r.Rows {
		rk, known := rank[row.Verdict]
		if !known {
			rk = len(Verdicts)
		}
		d.Rows = append(d.Rows, htmlRow{Row: row, Rank: rk})
		ous[row.OU] = true
	}
	for ou := range ous {
		label := ou
		if ou == "" {
			label = htmlOutsideOU
		}
		d.OUs = append(d.OUs, htmlOU{Value: ou, Label: label})
	}
	sort.Slice(d.OUs, func(i, j int) bool { return d.OUs[i].Value < d.OUs[j].Value })
	if err := htmlPage.Execute(w, d); err != nil {
		return fmt.Errorf("write the HTML report: %w", err)
	}
	return nil
}

// percent is count/total as a CSS percentage with one decimal; 0 when there are no rows.
func percent(count, total int) string {
	if total == 0 {
		return "0"
	}
	return fmt.Sprintf("%.1f", 100*float64(count)/float64(total))
}

// pageCSP lets the page run its own inline script and style (by hash) and load nothing.
var pageCSP = "default-src 'none'; style-src " + cspHash(pageCSS) + "; script-src " + cspHash(pageJS) +
	"; img-src 'none'; base-uri 'none'; form-action 'none'"

func cspHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
