// Package lambdazip writes a Lambda deployment zip that is byte-for-byte reproducible:
// one entry, a fixed timestamp, and Unix mode 0755 so the runtime can execute bootstrap.
package lambdazip

import (
	"archive/zip"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"time"
)

// Epoch is the timestamp of every entry (zip cannot store earlier than 1980).
var Epoch = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)

// Write stores data as an executable entry named name and returns the archive's sha256.
func Write(w io.Writer, name string, data []byte) (string, error) {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	hdr := &zip.FileHeader{Name: name, Method: zip.Deflate, Modified: Epoch}
	hdr.SetMode(0o755)
	// Without extended timestamps the archive depends on nothing but name and data.
	hdr.Extra = nil
	fw, err := zw.CreateHeader(hdr)
	if err != nil {
		return "", fmt.Errorf("zip %s: %w", name, err)
	}
	if _, err := fw.Write(data); err != nil {
		return "", fmt.Errorf("zip %s: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return "", fmt.Errorf("zip %s: %w", name, err)
	}
	sum := sha256.Sum256(buf.Bytes())
	if _, err := w.Write(buf.Bytes()); err != nil {
		return "", fmt.Errorf("write zip: %w", err)
	}
	return hex.EncodeToString(sum[:]), nil
}
