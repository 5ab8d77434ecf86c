// Command lambdazip packs the bootstrap binary into a reproducible Lambda zip and prints
// its sha256.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"sysdig-aws-connect/internal/lambdazip"
)

func main() {
	in := flag.String("in", "dist/lambda/bootstrap", "the bootstrap binary")
	out := flag.String("out", "dist/function.zip", "the zip to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "lambdazip:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	data, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("read %s (run make build first): %w", in, err)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	f, err := os.Create(out)
	if err != nil {
		return err
	}
	sum, err := lambdazip.Write(f, "bootstrap", data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	fmt.Printf("%s  %s\n", sum, out)
	return nil
}
