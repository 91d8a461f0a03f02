package places

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"
)

//go:embed divisions.tsv.gz
var divisionsGz []byte

// internal levels, in the order of precedence (a province before a city…)
const (
	lvProvince uint8 = iota
	lvCity
	lvCounty
	lvTown
)

var levelOf = [...]Level{LevelProvince, LevelCity, LevelCounty, LevelTown}

// div flags
const (
	fMunicipal uint8 = 1 << iota // in a municipality: City is Province
	fDirect                      // a county governed by its province: County is City
)

// div is one division, compact: its Place is built on demand from slices
// of the table's strings, without allocating.
type div struct {
	name    uint32 // offset in table.names of the full name (浙江省宁波市鄞州区)
	code    uint32 // offset in table.codes
	parent  int32  // -1 for a province
	end     int32  // one past the last row of its subtree (rows are in tree order)
	nameN   uint16 // bytes of the full name
	ownN    uint16 // bytes of its own name (鄞州区), the end of the full name
	provN   uint8  // bytes of the province part
	cityN   uint8  // bytes of the city part after it (0 for a province or a municipality's county)
	countyN uint8  // bytes of the county part after that
	codeN   uint8
	level   uint8
	flags   uint8
}

// cand flags: how a name names a division
const (
	cShort   uint8 = 1 << iota // a short form (鄞州 for 鄞州区) or an alias
	cWeak                      // a short form that is also an ordinary word
	cGeneric                   // a generic name (城区): never alone in text
	cTiny                      // a one-character stem (和县, 张镇): never in a character scan
)

type cand struct {
	div   int32
	flags uint8
}

// entry is what one name in the lexicon stands for.
type entry struct {
	lo, hi uint32 // its candidates, table.cands[lo:hi], in table order
}

// lexicon values: bit 0 says the key is a proper prefix of a longer name;
// the rest is the entry's index plus one, or 0 for a prefix only.
const lexPrefix = 1

type table struct {
	names    string // full names, concatenated
	codes    string
	divs     []div
	byCode   []int32 // divs with a code, by code
	lex      map[string]uint32
	entries  []entry
	cands    []cand
	maxRunes int
	// pairs marks (a hash of) the first two characters of every name, so
	// that most tokens are passed over without a look-up in the large
	// lexicon; it is small enough to stay in the processor's cache
	pairs                       [pairBits / 64]uint64
	provinces, cities, counties []int32
}

var loadTable = sync.OnceValues(func() (*table, error) { return parseTable(divisionsGz) })

// tbl gives the embedded table; it panics if the embedded file is broken,
// which the tests rule out.
func tbl() *table {
	t, err := loadTable()
	if err != nil {
		panic(err)
	}
	return t
}

// row is a line of the table being read.
type row struct {
	code, name, parent, level, short string
}

func parseTable(gz []byte) (*table, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("places: divisions table: %w", err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("places: divisions table: %w", err)
	}
	return buildTable(raw)
}

// buildTable reads the uncompressed table (see internal/gendiv).
func buildTable(raw []byte) (*table, error) {
	text := string(raw) // read in place; only what is kept is copied
	n := strings.Count(text, "\n")
	t := &table{divs: make([]div, 0, n)}
	names := make([]byte, 0, 2*len(raw))
	codes := make([]byte, 0, 9*n)
	type key struct {
		name string
		c    cand
	}
	keys := make([]key, 0, n+n/8)
	var stack []int32 // the open ancestors of the row being read
	line := 0
	for rest := text; rest != ""; {
		var s string
		s, rest, _ = strings.Cut(rest, "\n")
		line++
		if s == "" || s[0] == '#' {
			continue
		}
		var r row
		var ok [4]bool
		r.code, s, ok[0] = strings.Cut(s, "\t")
		r.name, s, ok[1] = strings.Cut(s, "\t")
		r.parent, s, ok[2] = strings.Cut(s, "\t")
		r.level, r.short, ok[3] = strings.Cut(s, "\t")
		if ok != [4]bool{true, true, true, true} || strings.Contains(r.short, "\t") || r.name == "" {
			return nil, fmt.Errorf("places: divisions table line %d: want 5 fields", line)
		}
		i := int32(len(t.divs))
		d := div{parent: -1, ownN: uint16(len(r.name)), codeN: uint8(len(r.code))}
		switch r.level {
		case "province":
			d.level = lvProvince
		case "city":
			d.level = lvCity
		case "county":
			d.level = lvCounty
		case "town":
			d.level = lvTown
		default:
			return nil, fmt.Errorf("places: divisions table line %d: level %q", line, r.level)
		}
		nameOff := len(names)
		if r.parent == "" {
			if d.level != lvProvince {
				return nil, fmt.Errorf("places: divisions table line %d: %s has no parent", line, r.name)
			}
			for _, j := range stack {
				t.divs[j].end = i
			}
			stack = stack[:0]
			d.provN = uint8(len(r.name))
			if strings.HasSuffix(r.name, "市") {
				d.flags |= fMunicipal
			}
		} else {
			// rows come in tree order: the parent is one of the rows
			// still open
			for len(stack) > 0 && string(codes[t.divs[stack[len(stack)-1]].code:][:t.divs[stack[len(stack)-1]].codeN]) != r.parent {
				t.divs[stack[len(stack)-1]].end = i
				stack = stack[:len(stack)-1]
			}
			if len(stack) == 0 {
				return nil, fmt.Errorf("places: divisions table line %d: parent %s of %s is not an open row before it", line, r.parent, r.name)
			}
			pi := stack[len(stack)-1]
			p := &t.divs[pi]
			if d.level <= p.level {
				return nil, fmt.Errorf("places: divisions table line %d: %s is not below %s", line, r.name, r.parent)
			}
			d.parent = pi
			names = append(names, names[p.name:p.name+uint32(p.nameN)]...)
			d.provN, d.cityN, d.countyN, d.flags = p.provN, p.cityN, p.countyN, p.flags
			own := uint8(len(r.name))
			switch {
			case d.level == lvCity:
				d.cityN = own
			case d.level == lvCounty && p.level == lvProvince && p.flags&fMunicipal == 0:
				d.cityN, d.flags = own, d.flags|fDirect
			case d.level == lvCounty:
				d.countyN = own
			}
		}
		names = append(names, r.name...)
		d.name, d.nameN = uint32(nameOff), uint16(len(names)-nameOff)
		d.code = uint32(len(codes))
		codes = append(codes, r.code...)
		d.end = i + 1
		t.divs = append(t.divs, d)
		stack = append(stack, i)
		for f := range strings.SplitSeq(r.short, ",") {
			if f != "" {
				keys = append(keys, key{strings.Clone(f), cand{div: i, flags: cShort}})
			}
		}
	}
	for _, j := range stack {
		t.divs[j].end = int32(len(t.divs))
	}
	t.names, t.codes = string(names), string(codes)

	for i := range t.divs {
		d := &t.divs[i]
		if d.codeN > 0 {
			t.byCode = append(t.byCode, int32(i))
		}
		switch {
		case d.level == lvProvince:
			t.provinces = append(t.provinces, int32(i))
		case d.level == lvCity || d.flags&fDirect != 0 && d.level == lvCounty:
			t.cities = append(t.cities, int32(i))
			if d.level == lvCounty {
				t.counties = append(t.counties, int32(i))
			}
		case d.level == lvCounty:
			t.counties = append(t.counties, int32(i))
		}
	}
	slices.SortFunc(t.byCode, func(a, b int32) int { return strings.Compare(t.code(a), t.code(b)) })
	for k := 1; k < len(t.byCode); k++ {
		if c := t.code(t.byCode[k]); c == t.code(t.byCode[k-1]) {
			return nil, fmt.Errorf("places: divisions table: code %s twice", c)
		}
	}

	// the lexicon: every division's own name, its short forms, the aliases
	generic := setOf(strings.Join(genericNames, " "))
	weak := setOf(strings.Join(weakForms, " "))
	strong := setOf(strings.Join(strongForms, " "))
	for k := range keys { // the short forms, read above
		form, ordinary := strings.CutPrefix(keys[k].name, "~")
		keys[k].name = form
		if (ordinary && !strong[form] || weak[form]) && t.divs[keys[k].c.div].level != lvProvince {
			keys[k].c.flags |= cWeak
		}
	}
	for i := range t.divs {
		d := &t.divs[i]
		own := t.own(int32(i))
		c := cand{div: int32(i)}
		if generic[own] && d.level == lvCounty || d.level == lvTown && genericTown(own) {
			c.flags |= cGeneric
		}
		if utf8.RuneCountInString(own) <= 2 && d.level >= lvCounty {
			c.flags |= cTiny
		}
		keys = append(keys, key{own, c})
	}
	for name, code := range aliases {
		i, ok := t.lookup(code)
		if !ok {
			return nil, fmt.Errorf("places: alias %s: no division %s", name, code)
		}
		keys = append(keys, key{name, cand{div: i, flags: cShort}})
	}
	slices.SortFunc(keys, func(a, b key) int {
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		return int(a.c.div - b.c.div)
	})
	t.lex = make(map[string]uint32, 2*len(keys))
	t.cands = make([]cand, 0, len(keys))
	for k := 0; k < len(keys); {
		name := keys[k].name
		lo := uint32(len(t.cands))
		for ; k < len(keys) && keys[k].name == name; k++ {
			t.cands = append(t.cands, keys[k].c)
		}
		t.entries = append(t.entries, entry{lo, uint32(len(t.cands))})
		t.lex[name] |= uint32(len(t.entries)) << 1
		for j := range name {
			if j > 0 {
				t.lex[name[:j]] |= lexPrefix
			}
		}
		r1, size := char(name)
		r2, _ := char(name[size:])
		h := pairHash(r1, r2)
		t.pairs[h/64] |= 1 << (h % 64)
		t.maxRunes = max(t.maxRunes, utf8.RuneCountInString(name))
	}
	return t, nil
}

func (t *table) code(i int32) string {
	d := &t.divs[i]
	return t.codes[d.code : d.code+uint32(d.codeN)]
}

func (t *table) full(i int32) string {
	d := &t.divs[i]
	return t.names[d.name : d.name+uint32(d.nameN)]
}

// own gives a division's own name: 鄞州区 of 浙江省宁波市鄞州区.
func (t *table) own(i int32) string {
	d := &t.divs[i]
	end := d.name + uint32(d.nameN)
	return t.names[end-uint32(d.ownN) : end]
}

// place builds the Place of a division (no allocation: every string is a
// slice of the table's).
func (t *table) place(i int32) Place {
	d := &t.divs[i]
	name := t.full(i)
	p := Place{Name: name, Code: t.code(i), Level: levelOf[d.level]}
	off := int(d.provN)
	p.Province = name[:off]
	switch {
	case d.flags&fMunicipal != 0:
		p.City = p.Province
	case d.cityN > 0:
		p.City = name[off : off+int(d.cityN)]
		off += int(d.cityN)
	}
	switch {
	case d.flags&fDirect != 0:
		p.County = p.City
	case d.countyN > 0:
		p.County = name[off : off+int(d.countyN)]
		off += int(d.countyN)
	}
	if d.level == lvTown {
		p.Town = name[off:]
	}
	return p
}

// lookup finds a division by code.
func (t *table) lookup(code string) (int32, bool) {
	i, ok := slices.BinarySearchFunc(t.byCode, code, func(j int32, code string) int { return strings.Compare(t.code(j), code) })
	if !ok {
		return -1, false
	}
	return t.byCode[i], true
}

// indexOf finds the division of a Place given out by this package.
func (t *table) indexOf(p Place) (int32, bool) {
	if p.Code != "" {
		i, ok := t.lookup(p.Code)
		return i, ok && t.full(i) == p.Name
	}
	if p.Name == "" {
		return -1, false
	}
	// a codeless division (Taiwan's cities): under its province, by name
	pi, ok := t.indexOf(Place{Name: p.Province, Code: t.provinceCode(p.Province)})
	if !ok {
		return -1, false
	}
	for j := pi + 1; j < t.divs[pi].end; j = t.divs[j].end {
		if t.full(j) == p.Name {
			return j, true
		}
	}
	return -1, false
}

func (t *table) provinceCode(name string) string {
	for _, i := range t.provinces {
		if t.full(i) == name {
			return t.code(i)
		}
	}
	return ""
}

// contains reports whether division a contains division b (a ≠ b).
func (t *table) contains(a, b int32) bool { return a < b && b < t.divs[a].end }

// pairBits is the size of the pairs filter: 2^19 bits (64 KiB) for some
// 40,000 distinct first pairs gives about 7% false hits.
const pairBits = 1 << 19

func pairHash(r1, r2 rune) uint32 {
	return (uint32(r1)*0x9E3779B1 ^ uint32(r2)*0x85EBCA77) >> (32 - 19)
}

// char decodes the first character of s like utf8.DecodeRuneInString, with
// a fast path for the three-byte characters of Chinese text.
func char(s string) (rune, int) {
	if len(s) >= 3 && s[0]&0xF0 == 0xE0 && s[1]&0xC0 == 0x80 && s[2]&0xC0 == 0x80 {
		r := rune(s[0]&0x0F)<<12 | rune(s[1]&0x3F)<<6 | rune(s[2]&0x3F)
		if r >= 0x800 && (r < 0xD800 || r > 0xDFFF) {
			return r, 3
		}
	}
	return utf8.DecodeRuneInString(s)
}

// mayStart reports whether a name may begin with the characters r1, r2.
func (t *table) mayStart(r1, r2 rune) bool {
	h := pairHash(r1, r2)
	return t.pairs[h/64]&(1<<(h%64)) != 0
}

// get looks a key up: its entry (or -1) and whether longer names start with it.
func (t *table) get(key string) (e int32, prefix bool) {
	v := t.lex[key]
	return int32(v>>1) - 1, v&lexPrefix != 0
}

func (t *table) candsOf(e int32) []cand {
	en := t.entries[e]
	return t.cands[en.lo:en.hi]
}

// OwnNames gives every division's own full name (浙江省, 宁波市, 鄞州区,
// 钟公庙街道) once, for the segmenter's dictionary: a name cut whole makes
// a cleaner keyword.
func OwnNames() []string {
	t := tbl()
	seen := make(map[string]struct{}, len(t.divs))
	out := make([]string, 0, len(t.divs))
	for i := range t.divs {
		full := t.full(int32(i))
		own := full[len(full)-int(t.divs[i].ownN):]
		if _, ok := seen[own]; ok || own == "" {
			continue
		}
		seen[own] = struct{}{}
		out = append(out, own)
	}
	return out
}
