package docs

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// The messages a user can read come from the packages that produce the function's Reasons
// and log lines, and the CLI's errors. A directory that does not exist (yet) is skipped.
var messageDirs = []string{
	"lambda",
	"internal/customresource", "internal/registrar", "internal/stackauth", "internal/tokensource",
	"internal/dedupe", "internal/registry", "internal/sysdig", "internal/rolearn",
	"internal/operator", "internal/onprem", "internal/orgreport", "internal/driftcheck", "cmd/sysdig-connect",
}

// internalMarker, in a comment on the line of a message or the line above it, marks a
// message no user can meet (a programming error, a sentinel compared with errors.Is, a
// message always wrapped by another that has an entry). Write why after it:
//
//	//msg:internal sentinel, always wrapped by "... does not list providers"
const internalMarker = "msg:internal"

// message is one user-facing text the code can produce, as a format: %s, %q, %d, %v, %w
// and the like stand for the values filled in.
type message struct {
	format   string
	pos      string // file:line
	kind     string // "error", "log", "refusal", ...
	required bool   // needs a troubleshooting entry
	why      string // why it needs none, when not required
}

// Prefixes the Error methods of these types put before the text they are built with.
var errorTypePrefix = map[string]string{
	"RefusedError":        "refused: ",
	"PropertyError":       "property %s: ",
	"InvalidRequestError": "invalid custom-resource request: ",
}

// collectMessages walks the packages' non-test Go files and returns every message built
// by fmt.Errorf, errors.New, usagef, refuse, the composite literal of a *Error type, and
// every log line (an entry is owed to the Error ones; the others may be quoted).
func collectMessages(t *testing.T) []message {
	t.Helper()
	var out []message
	fset := token.NewFileSet()
	for _, dir := range messageDirs {
		files, err := filepath.Glob(filepath.Join("..", dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, file := range files {
			if strings.HasSuffix(file, "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, file, nil, parser.ParseComments)
			if err != nil {
				t.Fatal(err)
			}
			marked := markedLines(fset, f)
			add := func(n ast.Node, format, kind string) {
				p := fset.Position(n.Pos())
				m := message{format: format, pos: repoPath(file) + ":" + strconv.Itoa(p.Line), kind: kind, required: true}
				switch {
				case marked[p.Line] || marked[p.Line-1]:
					m.required, m.why = false, internalMarker
				case kind == "text":
					m.required, m.why = false, "a text built with fmt.Sprintf"
				case kind == "log-info" || kind == "log-warn":
					// Quote a warning where it helps; an entry is owed to errors only.
					m.required, m.why = false, "an Info or Warn log line"
				case isWrapper(format):
					m.required, m.why = false, "context for the error it wraps"
				}
				out = append(out, m)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.CallExpr:
					name := callName(n.Fun)
					switch {
					case (name == "fmt.Errorf" || name == "errors.New" || name == "usagef") && len(n.Args) > 0:
						if s, ok := stringValue(n.Args[0]); ok {
							add(n, s, "error")
						}
					case name == "fmt.Sprintf" && len(n.Args) > 0:
						// A text built apart (a note, a Reason's part): known, quotable, owed
						// no entry of its own; where it ends up in an error, that error is.
						if s, ok := stringValue(n.Args[0]); ok {
							add(n, s, "text")
						}
					case strings.HasSuffix(name, ".fail") && len(n.Args) > 0: // internal/registry's decoder
						if s, ok := stringValue(n.Args[0]); ok {
							add(n, s, "error")
						}
					case name == "set" && len(n.Args) > 1: // internal/orgreport's verdict details
						// A row's detail: quotable on its verdict's entry, owed none of its own.
						if s, ok := stringValue(n.Args[1]); ok {
							add(n, s, "text")
						}
					case name == "unexpected" && len(n.Args) > 0: // internal/sysdig's answer-shape errors
						if s, ok := stringValue(n.Args[0]); ok {
							add(n, "sysdig: the %s %s "+s, "error")
						}
					case name == "refuse" && len(n.Args) > 0:
						if s, ok := stringValue(n.Args[0]); ok {
							add(n, "refused: "+s, "refusal")
						}
					case strings.HasSuffix(name, ".Warn") || strings.HasSuffix(name, ".Error") || strings.HasSuffix(name, ".Info"):
						if len(n.Args) == 0 || strings.HasPrefix(name, "errors.") {
							return true
						}
						if s, ok := stringValue(n.Args[0]); ok {
							kind := "log-error"
							if strings.HasSuffix(name, ".Info") {
								kind = "log-info"
							} else if strings.HasSuffix(name, ".Warn") {
								kind = "log-warn"
							}
							add(n, s, kind)
						}
					}
				case *ast.CompositeLit:
					typeName := callName(n.Type)
					if i := strings.LastIndex(typeName, "."); i >= 0 {
						typeName = typeName[i+1:]
					}
					if !strings.HasSuffix(typeName, "Error") {
						return true
					}
					prefix := errorTypePrefix[typeName]
					for _, el := range n.Elts {
						v := el
						if kv, ok := el.(*ast.KeyValueExpr); ok {
							if k, _ := kv.Key.(*ast.Ident); k == nil || !strings.EqualFold(k.Name, "reason") && k.Name != "Problem" && k.Name != "msg" {
								continue
							}
							v = kv.Value
						}
						if call, ok := v.(*ast.CallExpr); ok && callName(call.Fun) == "fmt.Errorf" {
							continue // collected as an error on its own
						}
						if s, ok := stringValue(v); ok && strings.ContainsAny(s, " ") {
							add(n, prefix+s, "error")
						} else if !ok && prefix != "" {
							add(n, prefix+"%v", "error") // another error's text: a wrapper
						}
					}
				}
				return true
			})
		}
	}
	return out
}

// markedLines are the lines holding an internalMarker comment.
func markedLines(fset *token.FileSet, f *ast.File) map[int]bool {
	lines := map[int]bool{}
	for _, g := range f.Comments {
		for _, c := range g.List {
			if strings.Contains(c.Text, internalMarker) {
				lines[fset.Position(c.Pos()).Line] = true
			}
		}
	}
	return lines
}

func callName(e ast.Expr) string {
	switch e := e.(type) {
	case *ast.Ident:
		return e.Name
	case *ast.SelectorExpr:
		return callName(e.X) + "." + e.Sel.Name
	case *ast.StarExpr:
		return callName(e.X)
	case *ast.UnaryExpr:
		return callName(e.X)
	}
	return ""
}

// stringValue renders a string expression as a format: literals as they are, a
// fmt.Sprintf as its format, anything else (a variable, a call) as %v.
func stringValue(e ast.Expr) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		if e.Kind != token.STRING {
			return "", false
		}
		s, err := strconv.Unquote(e.Value)
		return s, err == nil
	case *ast.BinaryExpr:
		if e.Op != token.ADD {
			return "", false
		}
		l, lok := stringValue(e.X)
		r, rok := stringValue(e.Y)
		if !lok && !rok {
			return "", false
		}
		if !lok {
			l = "%v"
		}
		if !rok {
			r = "%v"
		}
		return l + r, true
	case *ast.CallExpr:
		if callName(e.Fun) == "fmt.Sprintf" && len(e.Args) > 0 {
			return stringValue(e.Args[0])
		}
	case *ast.ParenExpr:
		return stringValue(e.X)
	}
	return "", false
}

var verbRE = regexp.MustCompile(`%[-+# 0]*[0-9]*(\.[0-9]+)?[a-zA-Z]`)

// isWrapper: a format that only puts context before the error it wraps ("read secret %s:
// %w"), or holds no words of its own ("%w: %w"). The wrapped error carries the entry.
func isWrapper(format string) bool {
	if strings.HasSuffix(format, ": %w") || strings.HasSuffix(format, ": %v") && strings.Count(format, "%") == strings.Count(format, "%v")+strings.Count(format, "%s") {
		return true
	}
	return !regexp.MustCompile(`[A-Za-z]{2}`).MatchString(verbRE.ReplaceAllString(format, ""))
}

// ---- matching a message with a quote ------------------------------------------------

// A glob is text in which '\x00' stands for any text.
const any = "\x00"

var spaceRE = regexp.MustCompile(`\s+`)

// formatGlob turns a format into a glob: every verb may be any text, and so may what
// comes before and after (an error that wraps it).
func formatGlob(format string) string {
	s := strings.ReplaceAll(format, "%%", "\x01")
	s = verbRE.ReplaceAllString(s, any)
	s = strings.ReplaceAll(s, "\x01", "%")
	// Another error may wrap the message: text may come before and after it.
	return any + spaceRE.ReplaceAllString(s, " ") + any
}

var placeholderRE = regexp.MustCompile(`…|\.\.\.|<[A-Za-z][A-Za-z0-9 _.:/-]*>`)

// quoteGlob turns a quote from the page into a glob: "…", "..." and <name> are
// placeholders, and a quote may be any part of a message.
func quoteGlob(quote string) string {
	return any + placeholderRE.ReplaceAllString(spaceRE.ReplaceAllString(quote, " "), any) + any
}

// alignScore is the most literal bytes the two globs can share in a common match: the
// bytes one glob's text gives and the other's text gives too, not those a wildcard
// swallows. -1 when no text matches both (only '\x00' is special).
func alignScore(a, b string) int {
	n, m := len(a), len(b)
	below := make([]int, m+1) // row i+1
	cur := make([]int, m+1)   // row i
	for j := range below {
		below[j] = -1
	}
	for i := n; i >= 0; i-- {
		for j := m; j >= 0; j-- {
			v := -1
			switch {
			case i == n && j == m:
				v = 0
			case i < n && a[i] == 0:
				// a's wildcard ends here, or swallows b's next byte.
				v = below[j]
				if j < m {
					v = max(v, cur[j+1])
				}
			case j < m && b[j] == 0:
				v = cur[j+1]
				if i < n {
					v = max(v, below[j])
				}
			case i < n && j < m && a[i] == b[j] && below[j+1] >= 0:
				v = below[j+1] + 1
			}
			cur[j] = v
		}
		below, cur = cur, below
	}
	return below[0]
}

// minShared is how many literal bytes a quote and a message must share to match: all of
// the shorter one's literal text up to this many.
const minShared = 24

// literalLen counts a glob's literal bytes but spaces, which quotes trim at their ends.
func literalLen(glob string) int {
	return len(strings.NewReplacer(any, "", " ", "").Replace(glob))
}

// literalCore is a glob's longest run of literal text, to skip pairs that cannot meet.
func literalCore(glob string) string {
	best := ""
	for _, part := range strings.Split(glob, any) {
		if len(part) > len(best) {
			best = part
		}
	}
	return best
}

func sortedUnique(s []string) []string {
	sort.Strings(s)
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// ---- the troubleshooting page -----------------------------------------------------

// quote is one message as docs/troubleshooting.md shows it.
type quote struct {
	text string
	line int
}

// Quotes are the code spans holding a space, outside code blocks, in paragraphs and list
// items, and in the table columns headed Message or Reason contains. Commands (aws …,
// sysdig-connect …, make …) are not quotes.
func pageQuotes(t *testing.T, path string) []quote {
	t.Helper()
	var out []quote
	take := func(text string, line int) {
		for _, c := range codeRE.FindAllString(text, -1) {
			c = strings.TrimSpace(strings.Trim(c, "`"))
			if !strings.Contains(c, " ") || commandRE.MatchString(c) {
				continue
			}
			out = append(out, quote{text: c, line: line})
		}
	}
	lines := strings.Split(readFile(t, path), "\n")
	inFence := false
	var para []string
	paraLine := 0
	var columns []int // the quote columns of the current table
	flush := func() {
		if len(para) > 0 {
			take(strings.Join(para, " "), paraLine)
		}
		para = nil
	}
	for i, l := range lines {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "```") {
			inFence = !inFence
			flush()
			continue
		}
		if inFence {
			continue
		}
		if strings.HasPrefix(trimmed, "|") {
			flush()
			cells := tableCells(trimmed)
			switch {
			case i > 0 && !strings.HasPrefix(strings.TrimSpace(lines[i-1]), "|"): // header
				columns = nil
				for k, c := range cells {
					if h := strings.ToLower(c); strings.HasPrefix(h, "message") || strings.HasPrefix(h, "reason contains") {
						columns = append(columns, k)
					}
				}
			case strings.Trim(trimmed, "|-: ") == "":
			default:
				for _, k := range columns {
					if k < len(cells) {
						take(cells[k], i+1)
					}
				}
			}
			continue
		}
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			flush()
			continue
		}
		if len(para) == 0 {
			paraLine = i + 1
		}
		para = append(para, trimmed)
	}
	flush()
	return out
}

var commandRE = regexp.MustCompile(`^((aws|cdk|sysdig-connect|make|filter|fields|SYSDIG_MONITOR_API_TOKEN=\S*) |--[a-z-]+ \S+$)`)

// tableCells splits a table row at the '|' that are not escaped (\|) or in a code span.
func tableCells(row string) []string {
	var cells []string
	var cur strings.Builder
	inCode := false
	for i := 0; i < len(row); i++ {
		c := row[i]
		switch {
		case c == '\\' && i+1 < len(row) && row[i+1] == '|':
			cur.WriteByte('|')
			i++
		case c == '`':
			inCode = !inCode
			cur.WriteByte(c)
		case c == '|' && !inCode:
			cells = append(cells, strings.TrimSpace(cur.String()))
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	if s := strings.TrimSpace(cur.String()); s != "" {
		cells = append(cells, s)
	}
	if len(cells) > 0 && cells[0] == "" {
		cells = cells[1:]
	}
	return cells
}
