package docs

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMessageMatching pins what counts as a quote of a message: a part of it, with values
// as … or <name> or as examples, sharing enough of the message's own words.
func TestMessageMatching(t *testing.T) {
	for _, tc := range []struct {
		format, quote string
		needMessage   bool // the message's text must be covered (else the quote's)
		want          bool
	}{
		{"secret %s not found: check ApiTokenSecretId (a name or ARN in this region): %w", "secret … not found: check ApiTokenSecretId", true, true},
		{"secret %s not found: check ApiTokenSecretId (a name or ARN in this region): %w", "read the Sysdig API token: secret sysdig/api-token not found: check ApiTokenSecretId (a name", false, true},
		{"the API answered with a redirect", "sysdig: GET /x: the API answered with a redirect to …", true, true},
		{"missing ResponseURL", "missing ResponseURL", true, true},
		{"missing ResponseURL", "missing StackId", true, false},
		// A message that starts with a value does not match every quote.
		{"%q is not an IAM role ARN (arn:aws:iam::123456789012:role/[path/]name)", "the secret is empty: store the Sysdig Monitor API token in it", true, false},
		{"%q is not an IAM role ARN (arn:aws:iam::123456789012:role/[path/]name)", `property RoleArn: "x" is not an IAM role ARN (arn:aws:iam::123456789012:role/[path/]name)`, true, true},
		// A quote sharing only a short wrapper with a message is not that message.
		{"read secret %s: %w", "read secret … with a wholly different message after it", false, false},
		{"sysdig: %s %s: %s", "sysdig: retrying", false, false},
		{"the token is %d bytes long, more than %d: is the right value stored?", "the token is <n> bytes long, more than <max>: is the right value stored?", true, true},
		{"the token is %d bytes long, more than %d: is the right value stored?", "the token is … bytes long, less than …", true, false},
	} {
		got := meets(message{format: tc.format}, quote{text: tc.quote}, tc.needMessage)
		if got != tc.want {
			t.Errorf("format %q, quote %q, needMessage %v: got %v, want %v", tc.format, tc.quote, tc.needMessage, got, tc.want)
		}
	}
}

// TestMessageCollector checks that the collector finds each kind of message, with its
// position, and keeps wrappers, Info lines and marked messages out of what needs an entry.
func TestMessageCollector(t *testing.T) {
	byFormat := map[string]message{}
	for _, m := range collectMessages(t) {
		byFormat[m.format] = m
	}
	for format, want := range map[string]struct {
		required bool
		file     string
	}{
		"AWS_REGION is not set: the function cannot tell CloudFormation's response URLs from others": {true, "lambda/main.go"},
		"the secret is empty: store the Sysdig Monitor API token in it":                              {true, "internal/tokensource/tokensource.go"},
		"refused: CloudFormation returned no stack instance of StackSet %s for account %s":           {true, "internal/stackauth/stackauth.go"},
		"refused: SkipTlsVerify is true but the stack that deployed this function did not choose it": {true, "internal/registrar/registrar.go"},
		"property %s: %q is not Fail or Adopt":                                                       {true, "internal/registrar/properties.go"},
		"response not delivered: the stack will wait for its ServiceTimeout":                         {true, "internal/customresource/function.go"},
		"--alias must be at most 256 printable characters":                                           {true, "internal/operator/commands.go"},
		"sysdig: the %s %s has two \"providers\" arrays":                                             {true, "internal/sysdig/stream.go"},
		"read the Sysdig API token: %w":                                                              {false, "internal/registrar/registrar.go"},
		"adopting existing Sysdig provider":                                                          {false, "internal/registrar/provider.go"},
		"sysdig: WithHTTPClient(nil): pass an *http.Client or leave the option out":                  {false, "internal/sysdig/client.go"},
	} {
		m, ok := byFormat[format]
		if !ok {
			t.Errorf("not collected: %q", format)
			continue
		}
		if m.required != want.required || !strings.HasPrefix(m.pos, want.file+":") {
			t.Errorf("%q: required %v at %s, want %v at %s", format, m.required, m.pos, want.required, want.file)
		}
	}
}

// TestTroubleshootingTestFailsOnGaps runs the two checks against a page without an entry
// and a page with a stale quote: each must report the message or quote verbatim.
func TestTroubleshootingTestFailsOnGaps(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "page.md")
	text := "**Symptom.** `the secret is empty: store the Sysdig Monitor API token in it`.\n\n" +
		"| Message | Fix |\n| --- | --- |\n| `a message this product never printed at all` | x |\n"
	if err := os.WriteFile(page, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	quotes := pageQuotes(t, page)
	if len(quotes) != 2 {
		t.Fatalf("quotes %+v, want the paragraph's and the table's", quotes)
	}
	msgs := allMessages(t)
	var stale []string
	for _, q := range quotes {
		found := false
		for _, m := range msgs {
			found = found || meets(m, q, false)
		}
		if !found {
			stale = append(stale, q.text)
		}
	}
	if len(stale) != 1 || stale[0] != "a message this product never printed at all" {
		t.Errorf("stale quotes %q, want the one no message matches", stale)
	}
	covered := 0
	for _, m := range msgs {
		for _, q := range quotes {
			if m.required && meets(m, q, true) {
				covered++
			}
		}
	}
	if covered != 1 {
		t.Errorf("%d messages covered by a page quoting one, want 1", covered)
	}
}
