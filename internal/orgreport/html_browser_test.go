package orgreport

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// chromiumPath finds Debian's chromium (.ci/run installs it). Without one, the browser test
// skips on a developer's machine and fails in CI (CI=true), where its absence is a defect.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no chromium on PATH: CI must install Debian's chromium (.ci/run does: apt-get install chromium)")
	}
	t.Skip("no chromium on PATH: install Debian's chromium (apt-get install chromium) to run the HTML report in a real browser")
	return ""
}

// browser starts a headless chromium with a fresh profile that reaches nothing by itself.
func browser(t *testing.T) context.Context {
	t.Helper()
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 900),
	}
	// A bound, not an assertion: a wedged browser fails the test instead of hanging it.
	ctx, cancelTimeout := context.WithTimeout(context.Background(), 2*time.Minute)
	ctx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	ctx, cancelBrowser := chromedp.NewContext(ctx)
	t.Cleanup(func() { cancelBrowser(); cancelAlloc(); cancelTimeout() })
	return ctx
}

// visibleAccounts is the account id of every row the page shows, in order.
const visibleAccounts = `Array.from(document.querySelectorAll("#rows tr[data-verdict]")).filter(r => r.offsetParent !== null).map(r => r.cells[0].textContent)`

func TestHTMLInBrowser(t *testing.T) {
	ctx := browser(t)
	r := verdictsReport()
	path := filepath.Join(t.TempDir(), "org-status.html")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(f, r); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	page := (&url.URL{Scheme: "file", Path: path}).String()

	// Every request the page makes, and every script error or console message (a CSP
	// refusal is one) it raises.
	var mu sync.Mutex
	var requests, problems []string
	if err := chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			requests = append(requests, e.Request.URL)
		case *runtime.EventExceptionThrown:
			problems = append(problems, "exception: "+e.ExceptionDetails.Text)
		case *runtime.EventConsoleAPICalled:
			problems = append(problems, "console."+string(e.Type))
		case *cdplog.EventEntryAdded:
			problems = append(problems, string(e.Entry.Level)+": "+e.Entry.Text)
		}
	}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(page), chromedp.WaitVisible(chromedp.ID("report"))); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	counts, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]string](
		`Object.fromEntries(Array.from(document.querySelectorAll(".count")).map(e => [e.id.slice(6), e.textContent]))`))
	if err != nil {
		t.Fatalf("read the counts: %v", err)
	}
	for _, v := range Verdicts {
		if want := strconv.Itoa(r.Counts[v]); counts[string(v)] != want {
			t.Errorf("bar of %s shows %q; want %s", v, counts[string(v)], want)
		}
	}
	if pwned, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`window.pwned === 1`)); err != nil || pwned {
		t.Errorf("a row's text ran as script (%v)", err)
	}
	if shown, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("shown"))); err != nil || shown != "9 of 9 accounts" {
		t.Errorf("before filtering: %q (%v)", shown, err)
	}

	rowsOf := func(keep func(Row) bool) []string {
		var ids []string
		for _, row := range r.Rows {
			if keep(row) {
				ids = append(ids, row.AccountID)
			}
		}
		return ids
	}
	check := func(what string, want []string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		got, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](visibleAccounts))
		if err != nil {
			t.Fatalf("%s: read the rows: %v", what, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the page shows %q; want %q", what, got, want)
		}
	}
	selectValue := func(sel, value string) chromedp.Action[chromedp.Void] {
		return chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector(` + quoteJS(sel) + `); s.value = ` + quoteJS(value) +
			`; s.dispatchEvent(new Event("change")); })()`)
	}
	click := func(sel string) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)
	}

	// Filtering by each verdict, with its bar and with the select, shows exactly its rows.
	all := rowsOf(func(Row) bool { return true })
	for _, v := range Verdicts {
		want := rowsOf(func(row Row) bool { return row.Verdict == v })
		bar := `button.bar[data-verdict="` + string(v) + `"]`
		check("click the "+string(v)+" bar", want, click(bar))
		check("click the "+string(v)+" bar again", all, click(bar))
		check("select "+string(v), want, selectValue("#filter-verdict", string(v)))
	}
	// Verdict and OU together; then an OU alone, including "outside the target OUs".
	check("FAILED in ou-root-bbbb", rowsOf(func(row Row) bool { return row.Verdict == VerdictFailed && row.OU == "ou-root-bbbb" }),
		selectValue("#filter-verdict", "FAILED"), selectValue("#filter-ou", "ou-root-bbbb"))
	check("outside the target OUs", rowsOf(func(row Row) bool { return row.OU == "" }),
		selectValue("#filter-verdict", "*"), selectValue("#filter-ou", ""))
	check("every row", all, selectValue("#filter-ou", "*"))

	// Sorting: by account, both ways; by verdict, in report order (stable within a verdict).
	asc := slices.Clone(all)
	slices.Sort(asc)
	desc := slices.Clone(asc)
	slices.Reverse(desc)
	check("sort by account", asc, click(`th button[data-col="0"]`))
	check("sort by account, descending", desc, click(`th button[data-col="0"]`))
	var byVerdict []string
	for _, v := range Verdicts {
		for _, id := range desc {
			if r.Rows[slices.Index(all, id)].Verdict == v {
				byVerdict = append(byVerdict, id)
			}
		}
	}
	check("sort by verdict", byVerdict, click(`th button[data-col="2"]`))
	if a, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`th:nth-child(3)`), "aria-sort")); err != nil || a.Value != "ascending" {
		t.Errorf("the verdict header's aria-sort: %+v (%v)", a, err)
	}

	mu.Lock()
	defer mu.Unlock()
	for _, u := range requests {
		if u != page {
			t.Errorf("the page requested %s: it must load nothing", u)
		}
	}
	if len(problems) > 0 {
		t.Errorf("script errors or console warnings (a CSP refusal shows here): %q", problems)
	}
}

func quoteJS(s string) string {
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
}
