package testutil

import "strings"

// SecretPiece returns the first run of 8 consecutive characters of secret found in text
// ("" when there is none): the test that nothing of a token leaked, whole or in part.
func SecretPiece(text, secret string) string {
	r := []rune(secret)
	for i := 0; i+8 <= len(r); i++ {
		if p := string(r[i : i+8]); strings.Contains(text, p) {
			return p
		}
	}
	return ""
}
