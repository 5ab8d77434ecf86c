package operator

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// TestDocsCoverEveryCommandAndFlag keeps docs/cli.md in step with the CLI: every
// command and every flag it accepts is named there.
func TestDocsCoverEveryCommandAndFlag(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "..", "docs", "cli.md"))
	if err != nil {
		t.Fatal(err)
	}
	text := string(doc)
	var c cli
	parser, err := kong.New(&c, kong.Name(Name), kong.Vars{"regions": "", "version": ""})
	if err != nil {
		t.Fatal(err)
	}
	commands, flags := 0, 0
	var walk func(n *kong.Node)
	walk = func(n *kong.Node) {
		if n.Type == kong.CommandNode {
			commands++
			if path := n.Path(); !strings.Contains(text, path) {
				t.Errorf("docs/cli.md does not name the command %q", path)
			}
		}
		for _, f := range n.Flags {
			if f.Hidden || f.Name == "help" {
				continue
			}
			flags++
			if !strings.Contains(text, "--"+f.Name) {
				t.Errorf("docs/cli.md does not name the flag --%s (of %s)", f.Name, n.Path())
			}
		}
		for _, child := range n.Children {
			walk(child)
		}
	}
	walk(parser.Model.Node)
	// The org commands parse their own flags (passthrough).
	orgParser, err := kong.New(&orgCLI{}, kong.Name(Name+" org"))
	if err != nil {
		t.Fatal(err)
	}
	walk(orgParser.Model.Node)
	if commands < 9 || flags < 20 {
		t.Errorf("walked only %d commands and %d flags: is the model walk still right?", commands, flags)
	}
}
