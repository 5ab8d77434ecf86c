package cfnsim

import (
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
)

// LoadTemplateURL reads the template a StackSet (or a nested stack) names by TemplateURL
// from dir. Local runs have no S3: the deployer's StackSet points at the member template
// that `make publish-org` uploads beside the code, and the committed file of the same
// name (templates/<last path segment>) holds the same bytes.
func LoadTemplateURL(rawURL, dir string) (*Template, error) {
	u, err := url.Parse(rawURL)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("TemplateURL %q is not an https URL", rawURL)
	}
	name := path.Base(u.Path)
	if name == "." || name == "/" || path.Ext(name) != ".json" {
		return nil, fmt.Errorf("TemplateURL %q names no .json template", rawURL)
	}
	b, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, fmt.Errorf("TemplateURL %q: the local copy: %w", rawURL, err)
	}
	return ParseTemplate(b)
}
