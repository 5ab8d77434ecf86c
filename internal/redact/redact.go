// Package redact removes a secret (the Sysdig API token) from text that is about to
// leave the program: an error, a CloudFormation Reason, a log line.
//
// An answer that echoes the secret rarely echoes it as is: a proxy's error page
// percent-encodes it, a JSON body escapes it (\u0061 for "a", any character, at any
// depth of nesting), an HTML page may use character references, and a body cut to a
// size limit keeps only its first part. A Scrubber recognises each character of the
// secret in any of those forms, mixed freely, and masks every run of MinPiece or more
// consecutive characters of the secret (the whole secret included), not just the
// whole of it.
package redact

import (
	"strings"
	"unicode/utf8"
)

const (
	// Mask replaces what was removed.
	Mask = "***"
	// MinPiece is the shortest run of the secret's characters that is masked: shorter
	// runs occur in ordinary text by chance and tell an attacker little.
	MinPiece = 8
	// maxSteps bounds the characters one scan compares: ordinary text needs a
	// handful per byte, so text needing more than this was built to make the
	// matcher work, and what is left of it is masked whole.
	maxSteps = 1 << 22
	// maxBackslashes bounds the backslashes read before an escape: JSON nested 5
	// deep has 31.
	maxBackslashes = 32
)

// Scrubber masks one secret. The zero value and a nil *Scrubber mask nothing.
type Scrubber struct {
	secret []rune
	starts map[rune][]int // positions of each rune in secret
	// skip marks the ASCII bytes that neither are in the secret nor start an escape:
	// most of any text, passed over without a look-up.
	skip [128]bool
}

// New returns a Scrubber for secret (an empty secret masks nothing).
func New(secret string) *Scrubber {
	s := &Scrubber{secret: []rune(secret), starts: map[rune][]int{}}
	for i, r := range s.secret {
		s.starts[r] = append(s.starts[r], i)
	}
	for c := range s.skip {
		s.skip[c] = len(s.starts[rune(c)]) == 0 && !strings.ContainsRune(`\%+&`, rune(c))
	}
	return s
}

// String returns text with every form and every piece of the secret masked.
func (s *Scrubber) String(text string) string {
	out, _ := s.scan(text, false)
	return out
}

// Truncated is String for text that was cut at its end (a body read up to a limit):
// a run of the secret's characters that reaches the end of text is masked however
// short, since the rest of the secret followed it before the cut.
func (s *Scrubber) Truncated(text string) string {
	out, _ := s.scan(text, true)
	return out
}

// Contains reports whether text holds the secret or a piece of it (see String).
func (s *Scrubber) Contains(text string) bool {
	_, found := s.scan(text, false)
	return found
}

func (s *Scrubber) scan(text string, truncated bool) (string, bool) {
	if s == nil || len(s.secret) == 0 || text == "" {
		return text, false
	}
	need := min(MinPiece, len(s.secret))
	m := &matcher{secret: s.secret, text: text}
	var b strings.Builder
	found := false
	last := 0 // text[last:i] is not yet written
	for i := 0; i < len(text); {
		if c := text[i]; c < 0x80 && s.skip[c] {
			i++
			continue
		}
		end, best := -1, 0
		var cands [maxCands]unit
		for _, c := range decodeAt(text, i, cands[:0]) {
			for _, k := range s.starts[c.r] {
				if len(s.secret)-k <= best {
					break // a later start cannot match more (starts ascend)
				}
				chars, e := m.longest(i, k)
				if (chars >= need || (truncated && atCut(text, e))) && e > end {
					end, best = e, chars
				}
			}
		}
		if m.steps > maxSteps {
			// Text built to make the matcher work without end: what is left is
			// masked whole rather than let through unread.
			b.WriteString(text[last:i])
			b.WriteString(Mask)
			return b.String(), true
		}
		if end < 0 {
			i++
			continue
		}
		found = true
		b.WriteString(text[last:i])
		b.WriteString(Mask)
		if truncated && atCut(text, end) {
			end = len(text) // with the escape the cut split
		}
		i, last = end, end
	}
	if !found {
		return text, false
	}
	b.WriteString(text[last:])
	return b.String(), true
}

// atCut reports whether a match ending at e reaches the cut at the end of text: it
// ends there, or only the start of an escape the cut split (\u00, %2, &#x6) follows.
func atCut(text string, e int) bool {
	rest := text[e:]
	return rest == "" || (len(rest) < 12 && strings.ContainsRune(`\%&`, rune(rest[0])))
}

// matcher matches the secret against one text. Where a piece of text reads as more
// than one character of the secret (%25 is "%" or the start of a double-encoded
// byte), every reading is tried, and the outcome from that point is remembered so
// each (text position, secret position) pair is worked out once.
type matcher struct {
	secret []rune
	text   string
	memo   map[[2]int][2]int
	steps  int
}

// longest matches secret[k:] against text from i, each character in any of its
// forms, and returns how many characters matched and where the match ends.
func (m *matcher) longest(i, k int) (chars, end int) {
	end = i
	for k < len(m.secret) && i < len(m.text) {
		m.steps++
		if m.steps > maxSteps {
			return chars, end
		}
		var cands, match [maxCands]unit
		nm := 0
		for _, c := range decodeAt(m.text, i, cands[:0]) {
			if c.r == m.secret[k] {
				match[nm] = c
				nm++
			}
		}
		switch nm {
		case 0:
			return chars, end
		case 1:
			chars, i, k = chars+1, i+match[0].n, k+1
			end = i
		default:
			best, bestEnd := 0, end
			for _, c := range match[:nm] {
				n, e := m.branch(i+c.n, k+1)
				if n+1 > best {
					best, bestEnd = n+1, max(e, i+c.n)
				}
			}
			return chars + best, bestEnd
		}
	}
	return chars, end
}

// branch is longest, remembered.
func (m *matcher) branch(i, k int) (int, int) {
	key := [2]int{i, k}
	if r, ok := m.memo[key]; ok {
		return r[0], r[1]
	}
	chars, end := m.longest(i, k)
	if m.memo == nil {
		m.memo = map[[2]int][2]int{}
	}
	m.memo[key] = [2]int{chars, end}
	return chars, end
}

// unit is one reading of text at a position: the character r, written in n bytes.
type unit struct {
	r rune
	n int
}

const maxCands = 6

// decodeAt appends the readings of text at i: the character as is, and the
// character an escape starting there stands for (JSON \uXXXX and short escapes
// behind any number of backslashes, percent-encoding once or twice, "+" for a
// space, HTML character references).
func decodeAt(text string, i int, out []unit) []unit {
	r, n := utf8.DecodeRuneInString(text[i:])
	out = append(out, unit{r, n})
	switch text[i] {
	case '\\':
		if u, ok := jsonEscape(text, i); ok {
			out = append(out, u)
		}
	case '%':
		for _, double := range []bool{false, true} {
			if u, ok := percentRune(text, i, double); ok {
				out = append(out, u)
			}
		}
	case '+':
		out = append(out, unit{' ', 1})
	case '&':
		if u, ok := htmlRef(text, i); ok {
			out = append(out, u)
		}
	}
	return out
}

// jsonEscape reads backslashes (one or more: JSON inside JSON doubles them) followed
// by u and four hex digits (a UTF-16 surrogate pair joined) or a short escape.
func jsonEscape(text string, i int) (unit, bool) {
	j := i
	for j < len(text) && text[j] == '\\' && j-i <= maxBackslashes {
		j++
	}
	if j == len(text) || j-i > maxBackslashes {
		return unit{}, false
	}
	if text[j] != 'u' {
		if r, ok := shortEscapes[text[j]]; ok {
			return unit{r, j + 1 - i}, true
		}
		if j-i >= 2 {
			return unit{'\\', 2}, true // an escaped backslash
		}
		return unit{}, false
	}
	u, ok := hexN(text, j+1, 4)
	if !ok {
		return unit{}, false
	}
	end := j + 5
	if u >= 0xD800 && u < 0xDC00 {
		// A high surrogate: the low one follows with the same escaping.
		k := end
		for k < len(text) && text[k] == '\\' && k-end <= maxBackslashes {
			k++
		}
		if k > end && k < len(text) && text[k] == 'u' {
			if lo, ok := hexN(text, k+1, 4); ok && lo >= 0xDC00 && lo < 0xE000 {
				return unit{rune((u-0xD800)<<10|(lo-0xDC00)) + 0x10000, k + 5 - i}, true
			}
		}
	}
	return unit{rune(u), end - i}, true
}

// percentRune reads one character percent-encoded byte by byte (%E2%82%AC), each
// byte once (%HH) or, when double, twice (%25HH).
func percentRune(text string, i int, double bool) (unit, bool) {
	var buf [utf8.UTFMax]byte
	j, nb := i, 0
	for nb < utf8.UTFMax {
		b, n, ok := percentByte(text, j, double)
		if !ok {
			break
		}
		if nb > 0 && b&0xC0 != 0x80 {
			break // not a continuation byte: the next character starts here
		}
		buf[nb] = b
		nb++
		j += n
		if utf8.FullRune(buf[:nb]) {
			break
		}
	}
	if nb == 0 {
		return unit{}, false
	}
	r, size := utf8.DecodeRune(buf[:nb])
	if r == utf8.RuneError && size <= 1 && buf[0] >= 0x80 {
		return unit{}, false
	}
	return unit{r, j - i}, true
}

func percentByte(text string, i int, double bool) (byte, int, bool) {
	if i >= len(text) || text[i] != '%' {
		return 0, 0, false
	}
	j := i + 1
	if double {
		if !strings.HasPrefix(text[j:], "25") {
			return 0, 0, false
		}
		j += 2
	}
	v, ok := hexN(text, j, 2)
	if !ok {
		return 0, 0, false
	}
	return byte(v), j + 2 - i, true
}

// htmlRef reads &#NNN; &#xHH; and the five named references of XML.
func htmlRef(text string, i int) (unit, bool) {
	semi := strings.IndexByte(text[i:min(len(text), i+12)], ';')
	if semi < 0 {
		return unit{}, false
	}
	body := strings.ToLower(text[i+1 : i+semi])
	if r, ok := namedRefs[body]; ok {
		return unit{r, semi + 1}, true
	}
	if !strings.HasPrefix(body, "#") || len(body) < 2 {
		return unit{}, false
	}
	var v rune
	if body[1] == 'x' {
		u, ok := hexN(body, 2, len(body)-2)
		if !ok {
			return unit{}, false
		}
		v = rune(u)
	} else {
		for _, c := range body[1:] {
			if c < '0' || c > '9' || v > utf8.MaxRune {
				return unit{}, false
			}
			v = v*10 + c - '0'
		}
	}
	if v > utf8.MaxRune {
		return unit{}, false
	}
	return unit{v, semi + 1}, true
}

var (
	shortEscapes = map[byte]rune{'/': '/', '"': '"', '\'': '\'', 'b': '\b', 'f': '\f', 'n': '\n', 'r': '\r', 't': '\t'}
	namedRefs    = map[string]rune{"amp": '&', "lt": '<', "gt": '>', "quot": '"', "apos": '\''}
)

// hexN reads n (1 to 6) hex digits at text[i:].
func hexN(text string, i, n int) (int, bool) {
	if n < 1 || n > 6 || i+n > len(text) {
		return 0, false
	}
	v := 0
	for _, c := range []byte(text[i : i+n]) {
		switch {
		case c >= '0' && c <= '9':
			v = v<<4 | int(c-'0')
		case c >= 'a' && c <= 'f':
			v = v<<4 | int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			v = v<<4 | int(c-'A'+10)
		default:
			return 0, false
		}
	}
	return v, true
}
