package docs

import (
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"sysdig-aws-connect/internal/sysdig"
)

// How to add an entry: find the message in the test's failure (it prints the format, with
// %s, %q, %d, %v or %w where the text carries a value), and quote it in
// docs/troubleshooting.md under the area it belongs to, in a **Symptom.** paragraph or a
// table column headed "Message" or "Reason contains", with … or <name> where a value goes:
//
//	**Symptom.** The create fails with `secret … not found: check ApiTokenSecretId …`.
//
// A quote may be part of a message. Then run: go test ./docs -run Troubleshooting
// A message no user can meet (a programming error) gets a //msg:internal comment instead.

const troubleshootingPage = "troubleshooting.md"

// externalMessages are texts AWS itself shows, which the page quotes next to ours.
var externalMessages = []string{
	"CloudFormation did not receive a response from your Custom Resource",
	"Invalid principal in policy",
	"Cannot delete entity, must delete access keys first",
	"Account used is not a delegated administrator",
	"%s already exists",
	"The specified KMS key does not exist or is not allowed to be used with Arn %s",
}

// ruleMessages are the AssertDescription of every Rule of the committed templates.
func ruleMessages(t *testing.T) []message {
	t.Helper()
	files, err := filepath.Glob("../templates/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no templates: %v", err)
	}
	var out []message
	seen := map[string]bool{}
	for _, f := range files {
		var doc struct {
			Rules map[string]struct {
				Assertions []struct{ AssertDescription string }
			}
		}
		if err := json.Unmarshal([]byte(readFile(t, f)), &doc); err != nil {
			t.Fatal(err)
		}
		for name, r := range doc.Rules {
			for _, a := range r.Assertions {
				if seen[a.AssertDescription] {
					continue
				}
				seen[a.AssertDescription] = true
				out = append(out, message{format: strings.ReplaceAll(a.AssertDescription, "%", "%%"),
					pos: repoPath(f) + " Rules." + name, kind: "rule", required: true})
			}
		}
	}
	return out
}

// apiErrorMessages are the Sysdig client's renderings of an error answer, built by its
// own Error method: the ones with a hint (401, 403) need an entry.
func apiErrorMessages() []message {
	var out []message
	for _, code := range []int{400, 401, 403, 404, 405, 409, 422, 429, 500, 502, 503, 504} {
		e := &sysdig.APIError{Method: "\x02", Path: "\x02", StatusCode: code, Message: "\x02", RetryAfter: 1}
		f := strings.ReplaceAll(strings.ReplaceAll(e.Error(), "%", "%%"), "\x02", "%s")
		f = strings.ReplaceAll(f, "after 1ns", "after %s")
		out = append(out, message{format: f, pos: fmt.Sprintf("internal/sysdig/errors.go APIError %d", code), kind: "sysdig answer",
			required: code == http.StatusUnauthorized || code == http.StatusForbidden, why: "a generic rendering of Sysdig's answer"})
	}
	return out
}

func allMessages(t *testing.T) []message {
	msgs := collectMessages(t)
	if len(msgs) < 100 {
		t.Fatalf("found only %d messages in %v: is the collector broken?", len(msgs), messageDirs)
	}
	msgs = append(msgs, ruleMessages(t)...)
	msgs = append(msgs, apiErrorMessages()...)
	for _, m := range externalMessages {
		msgs = append(msgs, message{format: m, pos: "AWS", kind: "AWS", why: "AWS's own text"})
	}
	return msgs
}

// meets: the quote shows (part of) the message. need is the side whose text must be
// matched: the message's (is it covered?) or the quote's (is it real?).
func meets(m message, q quote, needMessage bool) bool {
	mg, qg := formatGlob(m.format), quoteGlob(q.text)
	need := literalLen(qg)
	if needMessage {
		need = literalLen(mg)
	}
	return alignScore(mg, qg) >= min(need, minShared)
}

// TestTroubleshootingCoversEveryMessage: every message a user can meet (each Rule's
// AssertDescription, each Reason, start-up failure, warning and error log line, CLI error)
// has a quote on docs/troubleshooting.md that matches it.
func TestTroubleshootingCoversEveryMessage(t *testing.T) {
	quotes := pageQuotes(t, troubleshootingPage)
	var missing []string
	for _, m := range allMessages(t) {
		if !m.required {
			continue
		}
		found := false
		for _, q := range quotes {
			if meets(m, q, true) {
				found = true
				break
			}
		}
		if !found {
			missing = append(missing, fmt.Sprintf("  %s (%s): %s", m.pos, m.kind, m.format))
		}
	}
	if len(missing) > 0 {
		sort.Strings(missing)
		t.Errorf("%d messages have no entry in docs/%s; quote each under its area (see the comment at the top of docs/troubleshooting_test.go), or mark one no user can meet with //%s:\n%s",
			len(missing), troubleshootingPage, internalMarker, strings.Join(missing, "\n"))
	}
}

// TestTroubleshootingQuotesOnlyRealMessages: every quote on the page matches a message the
// code, a template or AWS can produce.
func TestTroubleshootingQuotesOnlyRealMessages(t *testing.T) {
	msgs := allMessages(t)
	quotes := pageQuotes(t, troubleshootingPage)
	if len(quotes) < 20 {
		t.Fatalf("found only %d quotes on %s: is the reader broken?", len(quotes), troubleshootingPage)
	}
	var stray []string
	for _, q := range quotes {
		found := false
		for _, m := range msgs {
			if meets(m, q, false) {
				found = true
				break
			}
		}
		if !found {
			stray = append(stray, fmt.Sprintf("  docs/%s:%d: %s", troubleshootingPage, q.line, q.text))
		}
	}
	if len(stray) > 0 {
		t.Errorf("%d quotes on docs/%s match no message the code, the templates or AWS produce (fix the quote, or the message changed):\n%s",
			len(stray), troubleshootingPage, strings.Join(stray, "\n"))
	}
}
