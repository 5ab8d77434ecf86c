package lambdazip

import (
	"archive/zip"
	"bytes"
	"io"
	"testing"
)

func TestWriteIsReproducibleAndExecutable(t *testing.T) {
	data := bytes.Repeat([]byte("ELF binary "), 1000)
	var a, b bytes.Buffer
	sumA, err := Write(&a, "bootstrap", data)
	if err != nil {
		t.Fatal(err)
	}
	sumB, err := Write(&b, "bootstrap", data)
	if err != nil {
		t.Fatal(err)
	}
	if sumA != sumB || !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Fatalf("two zips of the same input differ: %s vs %s", sumA, sumB)
	}
	zr, err := zip.NewReader(bytes.NewReader(a.Bytes()), int64(a.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(zr.File) != 1 {
		t.Fatalf("want one entry, got %d", len(zr.File))
	}
	f := zr.File[0]
	if f.Name != "bootstrap" || f.Mode().Perm() != 0o755 || !f.Modified.Equal(Epoch) {
		t.Fatalf("entry %s mode %v modified %v; want bootstrap 0755 %v", f.Name, f.Mode(), f.Modified, Epoch)
	}
	rc, err := f.Open()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	if !bytes.Equal(got, data) {
		t.Fatal("content differs after a round trip")
	}
	var c bytes.Buffer
	sumC, _ := Write(&c, "bootstrap", append(data, '!'))
	if sumC == sumA {
		t.Fatal("different content gave the same sha256")
	}
}
