package gendiv

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden.tsv")

func fixture(t *testing.T) (map[string][]byte, []byte) {
	t.Helper()
	files := map[string][]byte{}
	for _, f := range Files {
		b, err := os.ReadFile(filepath.Join("testdata", "dist", f))
		if err != nil {
			t.Fatal(err)
		}
		files[f] = b
	}
	dict, err := os.ReadFile(filepath.Join("testdata", "dict.txt"))
	if err != nil {
		t.Fatal(err)
	}
	return files, dict
}

// TestGolden regenerates the table from a tiny copy of the package's files
// into a temporary folder and compares it with testdata/golden.tsv,
// reviewed by hand.
func TestGolden(t *testing.T) {
	files, dict := fixture(t)
	table, err := Generate(files, dict)
	if err != nil {
		t.Fatal(err)
	}
	z, err := Gzip(table)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "divisions.tsv.gz")
	if err := os.WriteFile(out, z, 0o644); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden.tsv")
	if *update {
		if err := os.WriteFile(golden, table, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(table, want) {
		t.Fatalf("generated table differs from %s (go test -update to rewrite it, then review the diff):\n%s", golden, table)
	}
	// and again: the output does not depend on map order
	again, err := Generate(files, dict)
	if err != nil || !bytes.Equal(again, table) {
		t.Fatalf("a second run gives another table (%v)", err)
	}
}

func TestRows(t *testing.T) {
	files, _ := fixture(t)
	divs, err := Divisions(files)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]Division{}
	for _, d := range divs {
		byName[d.Name] = d
	}
	for _, tt := range []struct {
		name, code, parent, level string
	}{
		{"北京市", "110000", "", Province},
		{"朝阳区", "220104", "220100", County},   // the later one; Beijing's hangs from the province
		{"仙桃市", "429004", "420000", County},   // 省直辖县级行政区划 is no division
		{"石碣镇", "441900101", "441900", Town},  // 东莞市 listed as its own county
		{"梨洲街道", "330281001", "330281", Town}, // 办事处 cut
		{"泗门镇", "330281101", "330281", Town},  // the bracket cut
		{"台北市", "", "710000", City},           // no GB/T 2260 code
		{"香港特别行政区", "810000", "", Province},
	} {
		d, ok := byName[tt.name]
		if !ok {
			t.Errorf("%s missing", tt.name)
			continue
		}
		if d.Code != tt.code || d.Parent != tt.parent || d.Level != tt.level {
			t.Errorf("%s: %+v, want code %s parent %s level %s", tt.name, d, tt.code, tt.parent, tt.level)
		}
	}
	for _, gone := range []string{"市辖区", "省直辖县级行政区划", "宁波国家高新技术产业开发区", "梅墟街道", "四明山林场", "余姚办事处", "中西区"} {
		if _, ok := byName[gone]; ok {
			t.Errorf("%s should be left out", gone)
		}
	}
}

func TestShortForms(t *testing.T) {
	for _, tt := range []struct {
		name, level string
		want        []string
	}{
		{"浙江省", Province, []string{"浙江"}},
		{"北京市", Province, []string{"北京"}},
		{"广西壮族自治区", Province, []string{"广西"}},
		{"内蒙古自治区", Province, []string{"内蒙古"}},
		{"香港特别行政区", Province, []string{"香港"}},
		{"宁波市", City, []string{"宁波"}},
		{"大兴安岭地区", City, []string{"大兴安岭"}},
		{"锡林郭勒盟", City, []string{"锡林郭勒"}},
		{"延边朝鲜族自治州", City, []string{"延边"}},
		{"恩施土家族苗族自治州", City, []string{"恩施"}},
		{"博尔塔拉蒙古自治州", City, []string{"博尔塔拉"}},
		{"鄞州区", County, []string{"鄞州"}},
		{"余姚市", County, []string{"余姚"}},
		{"土默特左旗", County, []string{"土默特左"}},
		{"浦东新区", County, []string{"浦东"}},
		{"神农架林区", County, []string{"神农架"}},
		{"碑林区", County, []string{"碑林"}},
		{"长阳土家族自治县", County, []string{"长阳"}},
		{"积石山保安族东乡族撒拉族自治县", County, []string{"积石山"}},
		{"三都水族自治县", County, []string{"三都"}},
		{"和县", County, nil},
		{"东乡族自治县", County, nil},
		{"石碣镇", Town, nil},
	} {
		if got := ShortForms(tt.name, tt.level); !slices.Equal(got, tt.want) {
			t.Errorf("ShortForms(%s) = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestOrdinary(t *testing.T) {
	words := map[string]Word{
		"余姚": {140, "nr"}, "温泉": {680, "nr"}, "门头沟": {14, "n"}, "义乌": {92, "nz"}, "互助": {557, "v"},
	}
	for s, want := range map[string]bool{
		"余姚": false, "义乌": false, "鄞州": false, // names only
		"温泉": true, "互助": true, "门头沟": true, // words (or tagged so)
		"江南": true, "河西": true, "东城": true, // generic characters
	} {
		if got := Ordinary(s, words); got != want {
			t.Errorf("Ordinary(%s) = %v, want %v", s, got, want)
		}
	}
}

func TestHeader(t *testing.T) {
	files, dict := fixture(t)
	table, err := Generate(files, dict)
	if err != nil {
		t.Fatal(err)
	}
	first, _, _ := strings.Cut(string(table), "\n")
	if first != Header() || !strings.Contains(first, Version) || !strings.Contains(first, Integrity) {
		t.Fatalf("first line %q", first)
	}
}
