package demo

import (
	"bytes"
	"io"
	"strings"
	"unicode/utf8"
)

// MaxColumns is the widest line the demo prints: it reads in an ordinary terminal.
const MaxColumns = 100

// wrapWriter folds every line longer than width: at the last space that fits, or inside a
// long word (an ARN, a URL) when there is none, continuing with the line's own indent plus
// four spaces. It buffers until a newline, so a line written in pieces folds as a whole.
type wrapWriter struct {
	w     io.Writer
	width int
	buf   []byte
}

func newWrapWriter(w io.Writer, width int) *wrapWriter { return &wrapWriter{w: w, width: width} }

func (ww *wrapWriter) Write(p []byte) (int, error) {
	ww.buf = append(ww.buf, p...)
	for {
		i := bytes.IndexByte(ww.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(ww.buf[:i])
		ww.buf = ww.buf[i+1:]
		if _, err := io.WriteString(ww.w, strings.Join(fold(line, ww.width), "\n")+"\n"); err != nil {
			return 0, err
		}
	}
}

// Flush writes a last line that has no newline.
func (ww *wrapWriter) Flush() error {
	if len(ww.buf) == 0 {
		return nil
	}
	line := string(ww.buf)
	ww.buf = nil
	_, err := io.WriteString(ww.w, strings.Join(fold(line, ww.width), "\n"))
	return err
}

// fold splits line into pieces of at most width runes.
func fold(line string, width int) []string {
	if utf8.RuneCountInString(line) <= width {
		return []string{line}
	}
	indent := line[:len(line)-len(strings.TrimLeft(line, " "))]
	cont := indent + "    "
	if utf8.RuneCountInString(cont) > width/2 {
		cont = "    "
	}
	var out []string
	rest, prefix := line, ""
	for {
		r := []rune(prefix + rest)
		if len(r) <= width {
			out = append(out, string(r))
			return out
		}
		head := r[:width]
		cut := -1
		// Break at the last space after the indent, so the piece carries some text.
		for j := len(head) - 1; j > len([]rune(prefix))+len([]rune(indent)); j-- {
			if head[j] == ' ' {
				cut = j
				break
			}
		}
		if cut < 0 {
			out = append(out, string(head))
			rest = string(r[width:])
		} else {
			out = append(out, strings.TrimRight(string(r[:cut]), " "))
			rest = strings.TrimLeft(string(r[cut:]), " ")
		}
		prefix = cont
	}
}
