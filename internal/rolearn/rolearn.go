// Package rolearn reads IAM role ARNs, strictly: the one parser every part of the product
// (the registrar's properties, the Sysdig client, the CLI, the emulator) uses, so that
// what one part accepts another cannot read differently.
package rolearn

import (
	"fmt"
	"regexp"
	"strings"
)

// ARN is a parsed IAM role ARN.
type ARN struct {
	Partition string
	AccountID string
	Path      string // "/" or "/a/b/"
	Name      string
}

// String is the ARN as IAM writes it.
func (a ARN) String() string {
	return "arn:" + a.Partition + ":iam::" + a.AccountID + ":role" + a.Path + a.Name
}

// HasPath reports whether the role has a path other than "/".
func (a ARN) HasPath() bool { return a.Path != "/" }

// pattern: arn:<partition>:iam::<12 digits>:role/ then an optional path of segments and
// the name, both of IAM's name characters. IAM itself allows any printable ASCII in a
// path, ":" included; accepting that would let a path hold another ARN
// (…:role/arn:aws:iam::<other account>:role/x), which a careless reader takes for the
// other account's role. No real role path needs more than the name characters.
var pattern = regexp.MustCompile(`^arn:(aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-iso-e|aws-iso-f|aws-eusc):iam::([0-9]{12}):role(/(?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$`)

const (
	maxPathBytes = 512  // IAM's limit for a path
	maxARNBytes  = 2048 // IAM's limit for an ARN
)

// Parse reads an IAM role ARN: arn:<partition>:iam::<12-digit account id>:role/[path/]name,
// the path "/" or "/x/…/", path segments and name made of letters, digits and + = , . @ _ -
// (the name 1 to 64 of them). Nothing else is accepted: no white space around it, no
// "…:rolex", no ARN inside the path.
func Parse(s string) (ARN, error) {
	m := pattern.FindStringSubmatch(s)
	if m == nil || len(s) > maxARNBytes || len(m[3]) > maxPathBytes {
		return ARN{}, fmt.Errorf("%q is not an IAM role ARN: expected arn:aws:iam::<12-digit account id>:role/<name> or role/<path>/<name>, the path and name made of letters, digits and + = , . @ _ -", shorten(s, 160))
	}
	return ARN{Partition: m[1], AccountID: m[2], Path: m[3], Name: m[4]}, nil
}

// shorten keeps messages short and on one line.
func shorten(s string, n int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
