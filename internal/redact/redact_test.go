package redact_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"

	"sysdig-aws-connect/internal/redact"
)

const token = "3f2b9c1e-7d4a-4e8b-9a6f-0c5d2e1b8a7f"

// jsonUEscape writes every character of s as \uXXXX, with depth backslashes.
func jsonUEscape(s string, depth int, upper bool) string {
	var b strings.Builder
	for _, r := range s {
		f := "%s" + "u%04x"
		if upper {
			f = "%s" + "u%04X"
		}
		fmt.Fprintf(&b, f, strings.Repeat(`\`, depth), r)
	}
	return b.String()
}

func percentAll(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// Pieces lists every run of 8 characters of secret.
func pieces(secret string) []string {
	r := []rune(secret)
	var out []string
	for i := 0; i+redact.MinPiece <= len(r); i++ {
		out = append(out, string(r[i:i+redact.MinPiece]))
	}
	return out
}

// leaked reports the first 8-character piece of secret found in text.
func leaked(text, secret string) string {
	for _, p := range pieces(secret) {
		if strings.Contains(text, p) {
			return p
		}
	}
	return ""
}

func TestScrubberForms(t *testing.T) {
	mixed := func(s string) string { // every other character \u-escaped
		var b strings.Builder
		for i, r := range s {
			if i%2 == 0 {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				b.WriteRune(r)
			}
		}
		return b.String()
	}
	jsonMarshalled, _ := json.Marshal(map[string]string{"message": "Bearer " + token})
	nested, _ := json.Marshal(map[string]string{"body": string(jsonMarshalled)})
	cases := []struct {
		name, text string
		truncated  bool
	}{
		{"raw", "Authorization: Bearer " + token + " was rejected", false},
		{"raw twice", token + token, false},
		{"json u-escaped lower", `{"message":"Bearer ` + jsonUEscape(token, 1, false) + `"}`, false},
		{"json u-escaped upper", `{"message":"` + jsonUEscape(token, 1, true) + `"}`, false},
		{"json u-escaped mixed", `{"message":"` + mixed(token) + `"}`, false},
		{"json inside json", string(nested), false},
		{"json u-escaped twice", `{"m":"` + jsonUEscape(token, 2, false) + `"}`, false},
		{"percent-encoded every byte", "https://proxy/?h=" + percentAll(token), false},
		{"percent-encoded twice", strings.ReplaceAll(percentAll(token), "%", "%25"), false},
		{"query escape", url.QueryEscape("Bearer " + token), false},
		{"html references", strings.ReplaceAll(token, "-", "&#45;"), false},
		{"html hex references", strings.ReplaceAll(token, "a", "&#x61;"), false},
		{"piece in the middle", "x" + token[5:20] + "y", false},
		{"cut after 3 characters", strings.Repeat("a", 100) + token[:3], true},
		{"cut after 9 characters", strings.Repeat("a", 100) + token[:9], true},
		{"escaped and cut", "pad " + jsonUEscape(token, 1, false)[:40], true},
		{"escaped and cut inside an escape", "pad " + jsonUEscape(token, 1, false)[:39], true},
		{"percent-encoded and cut inside an escape", "pad " + percentAll(token)[:17], true},
	}
	s := redact.New(token)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var got string
			if tc.truncated {
				got = s.Truncated(tc.text)
			} else {
				got = s.String(tc.text)
			}
			if p := leaked(got, token); p != "" {
				t.Fatalf("piece %q survived in %q", p, got)
			}
			if !strings.Contains(got, redact.Mask) {
				t.Fatalf("nothing masked in %q", got)
			}
			if tc.truncated && (strings.HasSuffix(got, token[:3]) || strings.Contains(got, `\u0033`) || strings.Contains(got, "%33")) {
				t.Fatalf("the cut prefix survived: %q", got)
			}
			if !tc.truncated && !s.Contains(tc.text) {
				t.Fatalf("Contains(%q) = false", tc.text)
			}
		})
	}
}

func TestScrubberLeavesOtherTextAlone(t *testing.T) {
	cases := []struct{ secret, text string }{
		{token, "sysdig: POST /api/providers: 409 Conflict: role already registered"},
		{token, "3f2b9c1 is seven characters of the token, which is fine"},
		{token, ""},
		{"", "nothing to mask"},
		{"short", "a secret under 8 characters shows only whole: shor"},
		{token, "100% sure, 50%25 off, a+b, &amp; \\n"},
	}
	for _, tc := range cases {
		s := redact.New(tc.secret)
		if got := s.String(tc.text); got != tc.text {
			t.Errorf("secret %q: String(%q) = %q, want it unchanged", tc.secret, tc.text, got)
		}
	}
	var nilScrubber *redact.Scrubber
	if nilScrubber.String("x") != "x" || nilScrubber.Contains("x") {
		t.Error("a nil Scrubber must mask nothing")
	}
	if got := redact.New("short").String("a short secret"); got != "a *** secret" {
		t.Errorf("a secret under 8 characters is masked whole: got %q", got)
	}
}

// TestScrubberBacktrackingIsBounded: text built to make the matcher try every reading
// of every %25 still finishes (the loop is bounded by steps, not by luck).
func TestScrubberBacktrackingIsBounded(t *testing.T) {
	secret := strings.Repeat("%25", 30)
	text := strings.Repeat("%2525", 2000)
	s := redact.New(secret)
	out := s.String(text)
	if leaked(out, secret) != "" {
		t.Fatalf("a piece survived")
	}
}

func FuzzScrubber(f *testing.F) {
	f.Add(token, "Bearer "+token, uint8(0))
	f.Add(token, jsonUEscape(token, 1, false), uint8(1))
	f.Add("p%ss\\w&rd+", "x"+percentAll("p%ss\\w&rd+"), uint8(2))
	f.Add("ümlaut-tøken-✓-𝄞", jsonUEscape("ümlaut-tøken-✓-𝄞", 1, true), uint8(3))
	f.Fuzz(func(t *testing.T, secret, text string, form uint8) {
		if !utf8.ValidString(secret) || secret == "" || len(secret) > 200 || len(text) > 4096 {
			return
		}
		s := redact.New(secret)
		// Whatever the text, scrubbing terminates and scrubbing twice changes nothing
		// more when the mask shares no character with the secret.
		once := s.String(text)
		if !strings.ContainsRune(secret, '*') && s.String(once) != once {
			t.Fatalf("not idempotent: %q -> %q -> %q", text, once, s.String(once))
		}
		// The secret put into the text in one of its forms never survives.
		var encoded string
		switch form % 4 {
		case 0:
			encoded = secret
		case 1:
			encoded = jsonUEscape(secret, 1, form%8 > 3)
		case 2:
			encoded = percentAll(secret)
		default:
			b, _ := json.Marshal(secret)
			encoded = string(b[1 : len(b)-1])
		}
		out := s.String(text + " " + encoded + " " + text)
		if strings.ContainsRune(secret, '*') {
			return // the mask itself would look like a piece
		}
		if p := leaked(out, secret); p != "" {
			t.Fatalf("piece %q of %q survived in %q", p, secret, out)
		}
		if utf8.RuneCountInString(secret) < redact.MinPiece && strings.Contains(out, secret) {
			t.Fatalf("short secret %q survived in %q", secret, out)
		}
		cut := text + " " + encoded
		cut = cut[:len(cut)-len(encoded)/2]
		if p := leaked(s.Truncated(cut), secret); p != "" {
			t.Fatalf("piece %q survived the cut in %q", p, s.Truncated(cut))
		}
	})
}

// BenchmarkScrub64KiB: the cost of scrubbing the largest error body the client reads,
// without and with the token in it (compare the two side by side).
func BenchmarkScrub64KiB(b *testing.B) {
	s := redact.New(token)
	plain := strings.Repeat(`{"errors":[{"reason":"Bad Request","message":"role 3f2b is not valid"}]} `, 64<<10/72)
	echoed := plain[:len(plain)/2] + jsonUEscape(token, 1, false) + plain[len(plain)/2:]
	for _, bc := range []struct{ name, text string }{{"plain", plain}, {"echoed", echoed}} {
		b.Run(bc.name, func(b *testing.B) {
			b.SetBytes(int64(len(bc.text)))
			for b.Loop() {
				s.Truncated(bc.text)
			}
		})
	}
}
