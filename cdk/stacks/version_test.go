package stacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sysdig-aws-connect/internal/version"
)

// TestTemplatesNameTheRelease: every committed template says which release it is, in
// its Description (the console shows it) and in its Metadata (tools read it).
func TestTemplatesNameTheRelease(t *testing.T) {
	for _, tmpl := range PublishedTemplates {
		raw, err := os.ReadFile(filepath.Join("..", "..", tmpl.Path))
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Description string
			Metadata    map[string]any
		}
		if err := json.Unmarshal(raw, &doc); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(doc.Description, "sysdig-aws-connect "+version.Version()+" ") && !strings.HasPrefix(doc.Description, "sysdig-aws-connect "+version.Version()+":") {
			t.Errorf("%s: Description %q does not start with the release %s (run make templates)", tmpl.Path, doc.Description, version.Version())
		}
		if got := doc.Metadata[VersionMetadataKey]; got != version.Version() {
			t.Errorf("%s: Metadata.%s = %v, want %s (run make templates)", tmpl.Path, VersionMetadataKey, got, version.Version())
		}
	}
}
