package docs

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"unicode"
)

// maxReadmeBytes keeps the README a five-minute read; the reference lives in docs/.
const maxReadmeBytes = 12 * 1024

var (
	linkRE    = regexp.MustCompile(`\]\(([^()\s]+)\)`)
	headingRE = regexp.MustCompile(`^(#{1,6})\s+(.*?)\s*#*\s*$`)
	codeRE    = regexp.MustCompile("`[^`]*`")
)

func pages(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, pattern := range []string{"../*.md", "*.md"} {
		m, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m...)
	}
	if len(out) < 10 {
		t.Fatalf("found only %d Markdown pages: %v", len(out), out)
	}
	return out
}

// repoPath names a file relative to the repository root, as the tolerated list does.
func repoPath(p string) string {
	abs, _ := filepath.Abs(p)
	root, _ := filepath.Abs("..")
	rel, err := filepath.Rel(root, abs)
	if err != nil {
		return p
	}
	return filepath.ToSlash(rel)
}

func TestEveryRelativeLinkAndAnchorResolves(t *testing.T) {
	anchors := map[string][]string{}
	anchorsOf := func(path string) ([]string, error) {
		if a, ok := anchors[path]; ok {
			return a, nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		a := headingAnchors(b)
		anchors[path] = a
		return a, nil
	}
	checked := 0
	for _, page := range pages(t) {
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range links(b) {
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				if !strings.HasPrefix(target, "https://") {
					t.Errorf("%s: link %s is not https", page, target)
				}
				continue
			}
			checked++
			file, anchor, _ := strings.Cut(target, "#")
			dest := page
			if file != "" {
				dest = filepath.Join(filepath.Dir(page), filepath.FromSlash(file))
			}
			if _, err := os.Stat(dest); err != nil {
				t.Errorf("%s: link %q: %s does not exist", page, target, repoPath(dest))
				continue
			}
			if anchor == "" || !strings.HasSuffix(dest, ".md") {
				continue
			}
			a, err := anchorsOf(dest)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(a, anchor) {
				t.Errorf("%s: link %q: %s has no heading with anchor #%s (it has %v)", page, target, repoPath(dest), anchor, a)
			}
		}
	}
	if checked < 40 {
		t.Errorf("only %d relative links checked: is the link pattern still right?", checked)
	}
}

func TestReadmeStaysShort(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > maxReadmeBytes {
		t.Errorf("README.md is %d bytes, more than %d: move reference material into docs/", len(b), maxReadmeBytes)
	}
	t.Logf("README.md: %d bytes", len(b))
}

// TestNoInternalShorthand keeps words a reader cannot know out of the user docs.
func TestNoInternalShorthand(t *testing.T) {
	for _, page := range pages(t) {
		if strings.HasSuffix(page, "CHANGELOG.md") {
			continue
		}
		b, err := os.ReadFile(page)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		for _, word := range []string{"the seed", "seed step", "Datadog #124", "ASSUMED", "the guide's", "design notes"} {
			if strings.Contains(text, word) {
				t.Errorf("%s uses the internal shorthand %q: say it in plain words", page, word)
			}
		}
	}
}

// proseLines are the lines of a Markdown text outside fenced code blocks.
func proseLines(md []byte) []string {
	var out []string
	inFence := false
	sc := bufio.NewScanner(bytes.NewReader(md))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inFence = !inFence
			continue
		}
		if !inFence {
			out = append(out, line)
		}
	}
	return out
}

// links returns the link targets of a Markdown text outside code blocks and code spans.
func links(md []byte) []string {
	var out []string
	for _, line := range proseLines(md) {
		line = codeRE.ReplaceAllString(line, "")
		for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
			out = append(out, m[1])
		}
	}
	return out
}

// headingAnchors returns the anchors GitHub gives a page's headings.
func headingAnchors(md []byte) []string {
	var out []string
	seen := map[string]int{}
	for _, line := range proseLines(md) {
		m := headingRE.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		slug := Slug(m[2])
		if n := seen[slug]; n > 0 {
			out = append(out, slug+"-"+itoa(n))
		} else {
			out = append(out, slug)
		}
		seen[slug]++
	}
	return out
}

// Slug is GitHub's heading anchor: lower case, punctuation other than '-' and '_'
// dropped, spaces as '-'. Link text inside the heading counts, its target does not.
func Slug(heading string) string {
	heading = regexp.MustCompile(`\[([^\]]*)\]\([^)]*\)`).ReplaceAllString(heading, "$1")
	var b strings.Builder
	for _, r := range strings.ToLower(heading) {
		switch {
		case unicode.IsLetter(r), unicode.IsDigit(r), r == '-', r == '_':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('-')
		}
	}
	return b.String()
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var d []byte
	for ; n > 0; n /= 10 {
		d = append([]byte{byte('0' + n%10)}, d...)
	}
	return string(d)
}

func TestSlug(t *testing.T) {
	for in, want := range map[string]string{
		"DELETE_FAILED after the token was revoked": "delete_failed-after-the-token-was-revoked",
		"Already registered (409, OnExisting=Fail)": "already-registered-409-onexistingfail",
		"`Custom::SysdigProvider`":                  "customsysdigprovider",
		"providers list, providers get ID":          "providers-list-providers-get-id",
		"What it does, and for whom":                "what-it-does-and-for-whom",
	} {
		if got := Slug(in); got != want {
			t.Errorf("Slug(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestLinksSkipsCode(t *testing.T) {
	md := "see [a](a.md) and `[b](b.md)`\n```\n[c](c.md)\n```\n[d](d.md#x)\n"
	if got := links([]byte(md)); !slices.Equal(got, []string{"a.md", "d.md#x"}) {
		t.Errorf("links = %v", got)
	}
}
