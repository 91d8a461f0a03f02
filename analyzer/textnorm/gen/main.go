//go:build ignore

// Command gen writes opencc_table.go, the traditional → simplified tables of
// package textnorm, from the dictionaries of OpenCC as shipped in the npm
// package opencc at the version pinned below. Run it from analyzer/textnorm
// with `go generate` (needs npm and the registry), or offline from a tarball
// fetched before:
//
//	go run gen/main.go -tgz opencc-1.4.2.tgz
//
// The tarball's sha512 must be the pinned one.
//
// From data/dictionary/TSCharacters.txt every mapping k → v (OpenCC's first
// candidate, v ≠ k) is kept unless v lies outside the BMP (a rare inferred
// form that fonts and the segmenter's dictionary lack). A kept mapping is
// ambiguous — applied only to text that is evidently traditional — when k is
// itself a character of ordinary simplified text, which the data tell in four
// ways: k is in GB 2312 (the basic set of simplified characters), k is among
// its own candidates (OpenCC keeps it unchanged in some words), k is the
// simplified form of another character, or k is a key of STCharacters.txt.
// Every other mapping is unambiguous: k never occurs in simplified text.
//
// TSPhrases.txt is kept where a phrase converts differently from character by
// character folding (乾坤 stays 乾坤, 上鍊 becomes 上链); phrases, too, are
// applied only to evidently traditional text. CJK_Compatibility_Ideographs.txt
// (OpenCC's normalization pre-pass) is kept whole.
package main

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"flag"
	"fmt"
	"go/format"
	"io"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/encoding/simplifiedchinese"
)

// pinned is the opencc npm version the tables come from, and integrity its
// tarball's digest as the registry gives it (npm view opencc@1.4.2 dist.integrity).
const (
	pinned    = "1.4.2"
	integrity = "sha512-fAo8GJy0XhFyw9zIsEHmEVKL+qK8qbw0hcCjqKN5cn2UA7FPOU6b13xpqpSUf8mLNLhBMmIVZu6J+fEjJ2KcyQ=="
)

func main() {
	tgz := flag.String("tgz", "", "the npm tarball of opencc@"+pinned+" (default: fetch it with npm pack)")
	out := flag.String("o", "opencc_table.go", "Go file to write")
	flag.Parse()
	log.SetFlags(0)
	files, err := fetch(*tgz)
	if err != nil {
		log.Fatal("gen: ", err)
	}
	var pkg struct{ Name, Version string }
	if err := json.Unmarshal(files["package.json"], &pkg); err != nil {
		log.Fatal("gen: package.json: ", err)
	}
	if pkg.Name != "opencc" || pkg.Version != pinned {
		log.Fatalf("gen: the tarball is %s@%s, want opencc@%s", pkg.Name, pkg.Version, pinned)
	}
	dict := func(name string) []entry { return load(name, files["data/dictionary/"+name]) }
	ts := dict("TSCharacters.txt")
	st := dict("STCharacters.txt")
	phrases := dict("TSPhrases.txt")
	compat := dict("CJK_Compatibility_Ideographs.txt")
	gb := gb2312()

	// simplified forms: first candidates of other keys
	firstOf := map[rune]bool{}
	for _, e := range ts {
		firstOf[e.val[0][0]] = true
	}
	stKey := map[rune]bool{}
	for _, e := range st {
		stKey[e.key[0]] = true
	}

	fold := map[rune]rune{}
	var plain, ambig []pair
	var skippedSupp, identity int
	why := map[string]int{}
	for _, e := range ts {
		if len(e.key) != 1 {
			log.Fatalf("gen: TSCharacters key %q is not one character", string(e.key))
		}
		k, v := e.key[0], e.val[0]
		if len(v) != 1 {
			log.Fatalf("gen: TSCharacters value %q is not one character", string(v))
		}
		if v[0] == k {
			identity++
			continue
		}
		if v[0] > 0xFFFF {
			skippedSupp++
			continue
		}
		fold[k] = v[0]
		self := false
		for _, c := range e.val[1:] {
			self = self || c[0] == k
		}
		var reasons []string
		if gb[k] {
			reasons = append(reasons, "gb2312")
		}
		if self {
			reasons = append(reasons, "own-candidate")
		}
		if firstOf[k] {
			reasons = append(reasons, "simplified-of-other")
		}
		if stKey[k] {
			reasons = append(reasons, "st-key")
		}
		if len(reasons) > 0 {
			for _, r := range reasons {
				why[r]++
			}
			ambig = append(ambig, pair{k, v[0]})
		} else {
			plain = append(plain, pair{k, v[0]})
		}
	}

	isAmbig := map[rune]bool{}
	for _, p := range ambig {
		isAmbig[p.k] = true
	}

	// phrases that convert differently from character folding
	var ph []phrase
	var droppedSupp int
	for _, e := range phrases {
		v := e.val[0]
		if len(v) != len(e.key) {
			log.Fatalf("gen: TSPhrases %q → %q changes length", string(e.key), string(v))
		}
		// a phrase never keeps a character that is never simplified (不可貲計
		// → 不可赀計 in OpenCC): folding again would change it
		for i, c := range v {
			if f, ok := fold[c]; ok && !isAmbig[c] {
				v[i] = f
			}
		}
		same, supp := true, false
		for i, c := range e.key {
			f, ok := fold[c]
			if !ok {
				f = c
			}
			same = same && f == v[i]
			supp = supp || v[i] > 0xFFFF
		}
		if same {
			continue
		}
		if supp {
			droppedSupp++
			continue
		}
		ph = append(ph, phrase{string(e.key), string(v)})
	}

	var cp []pair
	for _, e := range compat {
		if len(e.key) != 1 || len(e.val[0]) != 1 {
			log.Fatalf("gen: compatibility entry %q → %q is not one character each", string(e.key), string(e.val[0]))
		}
		cp = append(cp, pair{e.key[0], e.val[0][0]})
	}

	for _, s := range [][]pair{plain, ambig, cp} {
		slices.SortFunc(s, func(a, b pair) int { return int(a.k - b.k) })
	}
	slices.SortFunc(ph, func(a, b phrase) int { return strings.Compare(a.k, b.k) })

	var w strings.Builder
	fmt.Fprintf(&w, "// Code generated by gen/main.go from OpenCC %s (npm opencc@%s, Apache-2.0); DO NOT EDIT.\n\n", pinned, pinned)
	fmt.Fprintf(&w, "package textnorm\n\n")
	fmt.Fprintf(&w, "// OpenCCVersion is the version of OpenCC's dictionaries the folding tables come from.\n")
	fmt.Fprintf(&w, "const OpenCCVersion = %q\n\n", pinned)
	fmt.Fprintf(&w, "// tsPlain: %d traditional → simplified pairs (key rune, value rune) whose key\n", len(plain))
	fmt.Fprintf(&w, "// never occurs in simplified text; folded everywhere.\n")
	writePairs(&w, "tsPlain", plain)
	fmt.Fprintf(&w, "// tsAmbiguous: %d pairs whose key is also a simplified character (%s);\n", len(ambig), reasonList(why))
	fmt.Fprintf(&w, "// folded only in evidently traditional text.\n")
	writePairs(&w, "tsAmbiguous", ambig)
	fmt.Fprintf(&w, "// compatIdeographs: %d CJK compatibility ideographs → unified ideographs.\n", len(cp))
	writePairs(&w, "compatIdeographs", cp)
	fmt.Fprintf(&w, "// tsPhrases: %d phrases, \"key\\tvalue\\n\", that convert otherwise than\n", len(ph))
	fmt.Fprintf(&w, "// character by character; applied only in evidently traditional text.\n")
	fmt.Fprintf(&w, "const tsPhrases = \"\" +\n")
	for i, p := range ph {
		sep := " +"
		if i == len(ph)-1 {
			sep = ""
		}
		fmt.Fprintf(&w, "\t%s%s\n", strconv.Quote(p.k+"\t"+p.v+"\n"), sep)
	}
	fmt.Fprintf(&w, "\n")
	src, err := format.Source([]byte(w.String()))
	if err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, src, 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("gen: %s: %d plain, %d ambiguous (%s), %d identity, %d skipped (value outside the BMP), %d phrases (%d skipped), %d compatibility ideographs",
		*out, len(plain), len(ambig), reasonList(why), identity, skippedSupp, len(ph), droppedSupp, len(cp))
}

type pair struct{ k, v rune }

type phrase struct{ k, v string }

type entry struct {
	key []rune
	val [][]rune
}

// fetch reads the tarball (npm pack's when path is empty), checks its
// digest and gives its files by path, without the leading package/.
func fetch(path string) (map[string][]byte, error) {
	if path == "" {
		dir, err := os.MkdirTemp("", "opencc")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		cmd := exec.Command("npm", "pack", "--silent", "opencc@"+pinned)
		cmd.Dir = dir
		cmd.Stderr = os.Stderr
		name, err := cmd.Output()
		if err != nil {
			return nil, fmt.Errorf("npm pack: %w", err)
		}
		path = filepath.Join(dir, strings.TrimSpace(string(name)))
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	sum := sha512.Sum512(raw)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != integrity {
		return nil, fmt.Errorf("%s: digest %s, want %s", path, got, integrity)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		name := strings.TrimPrefix(h.Name, "package/")
		if name != "package.json" && !strings.HasPrefix(name, "data/dictionary/") {
			continue
		}
		if files[name], err = io.ReadAll(tr); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
}

// load reads an OpenCC text dictionary: "key\tvalue value…" lines, # comments.
func load(path string, data []byte) []entry {
	if data == nil {
		log.Fatalf("gen: the tarball lacks data/dictionary/%s", path)
	}
	var out []entry
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		k, v, ok := strings.Cut(line, "\t")
		if !ok || !utf8.ValidString(line) {
			log.Fatalf("gen: %s:%d: malformed line %q", path, n, line)
		}
		e := entry{key: []rune(k)}
		for _, c := range strings.Fields(v) {
			e.val = append(e.val, []rune(c))
		}
		if len(e.val) == 0 {
			log.Fatalf("gen: %s:%d: no value", path, n)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		log.Fatal(err)
	}
	return out
}

// gb2312 gives the 6,763 hanzi of GB 2312 (rows 16–87), decoded through GBK,
// which keeps GB 2312's codes.
func gb2312() map[rune]bool {
	dec := simplifiedchinese.GBK.NewDecoder()
	set := map[rune]bool{}
	for hi := 0xB0; hi <= 0xF7; hi++ {
		for lo := 0xA1; lo <= 0xFE; lo++ {
			s, err := dec.Bytes([]byte{byte(hi), byte(lo)})
			if err != nil {
				continue
			}
			if r, _ := utf8.DecodeRune(s); unicode.Is(unicode.Han, r) {
				set[r] = true
			}
		}
	}
	if len(set) != 6763 {
		log.Fatalf("gen: GB 2312 has %d hanzi, want 6763", len(set))
	}
	return set
}

func writePairs(w *strings.Builder, name string, ps []pair) {
	fmt.Fprintf(w, "const %s = \"\" +\n", name)
	for i := 0; i < len(ps); i += 32 {
		var b strings.Builder
		for _, p := range ps[i:min(i+32, len(ps))] {
			b.WriteRune(p.k)
			b.WriteRune(p.v)
		}
		sep := " +"
		if i+32 >= len(ps) {
			sep = ""
		}
		fmt.Fprintf(w, "\t%s%s\n", strconv.Quote(b.String()), sep)
	}
	fmt.Fprintf(w, "\n")
}

func reasonList(why map[string]int) string {
	var parts []string
	for _, k := range []string{"gb2312", "own-candidate", "simplified-of-other", "st-key"} {
		parts = append(parts, fmt.Sprintf("%s %d", k, why[k]))
	}
	return strings.Join(parts, ", ")
}
