package stacks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// userDocs is README.md and every page under docs/, where parameters and outputs are described.
func userDocs(t *testing.T) string {
	t.Helper()
	root := filepath.Join("..", "..")
	var b strings.Builder
	files, _ := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	for _, f := range append([]string{filepath.Join(root, "README.md")}, files...) {
		doc, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		b.Write(doc)
		b.WriteByte('\n')
	}
	return b.String()
}
