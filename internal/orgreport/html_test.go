package orgreport

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// hostile is text from AWS or Sysdig that would break an unescaped page.
const hostile = `<script>window.pwned=1</script>"'><img src=x onerror="window.pwned=1"></td></tr>&amp;`

// verdictsReport has one row per verdict, two OUs and an account outside them; the first
// row carries hostile text in every field.
func verdictsReport() *Report {
	r := &Report{Generated: time.Date(2026, 12, 5, 9, 30, 0, 0, time.UTC), Stack: "sysdig-org", StackSet: "sysdig-connect-members"}
	r.Rows = append(r.Rows, Row{AccountID: "111111111111" + hostile, AccountName: "name" + hostile, AccountState: "ACTIVE" + hostile,
		OU: "ou-root-aaaa" + hostile, InstanceStatus: "CURRENT" + hostile, InstanceReason: "reason" + hostile,
		ProviderID: "p1" + hostile, SysdigStatus: "ok" + hostile, SysdigMessage: "msg" + hostile,
		Verdict: VerdictOK, Detail: "detail" + hostile, Fix: "fix" + hostile})
	ous := []string{"ou-root-aaaa", "ou-root-bbbb", ""}
	for i, v := range Verdicts[1:] {
		r.Rows = append(r.Rows, Row{AccountID: "2222222222" + string(rune('0'+i/10)) + string(rune('0'+i%10)), AccountName: "acct-" + string(v),
			AccountState: "ACTIVE", OU: ous[i%len(ous)], InstanceStatus: "OUTDATED", InstanceReason: "why " + string(v),
			ProviderID: "prov-" + string(v), SysdigStatus: "status", SysdigMessage: "message", Verdict: v,
			Detail: "detail of " + string(v), Fix: "sysdig-connect fix --account x"})
	}
	r.Rows = append(r.Rows, Row{AccountID: "333333333333", AccountName: "second failure", OU: "ou-root-bbbb", Verdict: VerdictFailed})
	r.Count()
	return r
}

func render(t *testing.T, r *Report) (string, *html.Node) {
	t.Helper()
	var b bytes.Buffer
	if err := WriteHTML(&b, r); err != nil {
		t.Fatalf("WriteHTML: %v", err)
	}
	doc, err := html.Parse(strings.NewReader(b.String()))
	if err != nil {
		t.Fatalf("parse the page: %v", err)
	}
	return b.String(), doc
}

func walk(n *html.Node, fn func(*html.Node)) {
	fn(n)
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, fn)
	}
}

func text(n *html.Node) string {
	var b strings.Builder
	walk(n, func(c *html.Node) {
		if c.Type == html.TextNode {
			b.WriteString(c.Data)
		}
	})
	return b.String()
}

func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

func elements(doc *html.Node, tag string) []*html.Node {
	var out []*html.Node
	walk(doc, func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == tag {
			out = append(out, n)
		}
	})
	return out
}

func byID(doc *html.Node, id string) *html.Node {
	var found *html.Node
	walk(doc, func(n *html.Node) {
		if v, ok := attr(n, "id"); ok && v == id && found == nil {
			found = n
		}
	})
	return found
}

func TestWriteHTMLEscapesAndShowsEveryField(t *testing.T) {
	r := verdictsReport()
	_, doc := render(t, r)

	if n := len(elements(doc, "script")); n != 1 {
		t.Errorf("%d script elements; want only the page's own", n)
	}
	if n := len(elements(doc, "img")); n != 0 {
		t.Errorf("%d img elements: a row's text became markup", n)
	}
	walk(doc, func(n *html.Node) {
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") || a.Key == "src" || a.Key == "href" {
				t.Errorf("<%s %s=%q>: the page must have no event handlers and load nothing", n.Data, a.Key, a.Val)
			}
		}
	})

	var got [][]string
	for _, tr := range elements(byID(doc, "rows"), "tr") {
		var cells []string
		for _, td := range elements(tr, "td") {
			cells = append(cells, text(td))
		}
		v, _ := attr(tr, "data-verdict")
		ou, _ := attr(tr, "data-ou")
		cells = append(cells, v, ou)
		got = append(got, cells)
	}
	if len(got) != len(r.Rows) {
		t.Fatalf("%d table rows; want %d", len(got), len(r.Rows))
	}
	for i, row := range r.Rows {
		want := []string{row.AccountID, row.AccountName, string(row.Verdict), row.AccountState, row.OU, row.InstanceStatus,
			row.InstanceReason, row.ProviderID, row.SysdigStatus, row.SysdigMessage, row.Detail, row.Fix, string(row.Verdict), row.OU}
		if strings.Join(got[i], "\x00") != strings.Join(want, "\x00") {
			t.Errorf("row %d:\n got %q\nwant %q", i, got[i], want)
		}
	}

	for _, c := range []struct{ id, want string }{
		{"stack", r.Stack}, {"stackset", r.StackSet}, {"generated", "2026-12-05T09:30:00Z"}, {"total", "9"},
		{"shown", "9 of 9 accounts"},
	} {
		if n := byID(doc, c.id); n == nil || text(n) != c.want {
			t.Errorf("#%s: want %q", c.id, c.want)
		}
	}
	for _, v := range Verdicts {
		n := byID(doc, "count-"+string(v))
		if n == nil {
			t.Errorf("no count for %s: every verdict has a bar, zero included", v)
			continue
		}
		want := "1" // one row per verdict, and a second FAILED
		if v == VerdictFailed {
			want = "2"
		}
		if text(n) != want {
			t.Errorf("count of %s = %q", v, text(n))
		}
	}
	var ous []string
	for _, o := range elements(byID(doc, "filter-ou"), "option") {
		ous = append(ous, text(o))
	}
	if want := "all|" + htmlOutsideOU + "|ou-root-aaaa|ou-root-aaaa" + hostile + "|ou-root-bbbb"; strings.Join(ous, "|") != want {
		t.Errorf("OU filter options %q; want %q", ous, want)
	}
}

func TestWriteHTMLIsSelfContained(t *testing.T) {
	page, doc := render(t, verdictsReport())
	for _, ref := range []string{"http:", "https:", "file:", "url(", "@import"} {
		if strings.Contains(page, ref) {
			t.Errorf("the page refers to %q: it must open offline", ref)
		}
	}
	var csp string
	for _, m := range elements(doc, "meta") {
		if v, _ := attr(m, "http-equiv"); v == "Content-Security-Policy" {
			csp, _ = attr(m, "content")
		}
	}
	if !strings.HasPrefix(csp, "default-src 'none';") {
		t.Fatalf("Content-Security-Policy %q: want default-src 'none'", csp)
	}
	// The browser runs the inline script and style only when their hashes are in the policy.
	for _, tag := range []string{"script", "style"} {
		el := elements(doc, tag)
		if len(el) != 1 {
			t.Fatalf("%d %s elements; want 1", len(el), tag)
		}
		sum := sha256.Sum256([]byte(text(el[0])))
		if h := "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(csp, tag+"-src "+h) {
			t.Errorf("the policy %q does not allow the page's own %s (%s)", csp, tag, h)
		}
	}
}

func TestWriteHTMLEdges(t *testing.T) {
	if err := WriteHTML(&bytes.Buffer{}, nil); err == nil {
		t.Error("WriteHTML(nil) succeeded")
	}
	// No rows, no counts computed: every verdict at zero, and a line that says so.
	_, doc := render(t, &Report{Stack: "s"})
	for _, v := range Verdicts {
		if n := byID(doc, "count-"+string(v)); n == nil || text(n) != "0" {
			t.Errorf("empty report: count of %s missing or not 0", v)
		}
	}
	if got := text(byID(doc, "rows")); !strings.Contains(got, "No accounts.") {
		t.Errorf("empty report body %q", got)
	}
	if got := text(byID(doc, "generated")); got != "unknown" {
		t.Errorf("no time: %q", got)
	}
	// Counts left unset are counted for the page, and the report is left as it was.
	r := verdictsReport()
	r.Counts = nil
	_, doc = render(t, r)
	if n := byID(doc, "count-FAILED"); text(n) != "2" || r.Counts != nil {
		t.Errorf("uncounted report: FAILED %q, Counts %v", text(n), r.Counts)
	}
}
