// Package places finds Chinese places in text and normalises location fields
// with an embedded gazetteer of China's 34 provincial-level divisions and
// their prefecture-level cities, full names and short forms (宁波 →
// 浙江省宁波市, 湖北 → 湖北省). It is read-only after init and safe for
// concurrent use.
package places

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Place is a province-level division, or a city within one. For a
// municipality (北京市…) Province and City are the same.
type Place struct {
	Name     string `json:"name"`     // 浙江省宁波市, 湖北省, 北京市, 海外
	Province string `json:"province"` // 浙江省
	City     string `json:"city"`     // 宁波市, or "" for a whole province
}

// Overseas is what Normalize gives for a location abroad.
var Overseas = Place{Name: "海外"}

var (
	textNames  = map[string]Place{} // names matched in running text
	fieldNames = map[string]Place{} // names understood in a location field (adds ambiguous short forms)
	prefixes   = map[string]bool{}  // every prefix, at a rune boundary, of a text name
	maxRunes   int
	provinces  []Place
	cities     []Place
	// firstRunes marks the first rune (below U+10000) of every text name, so
	// most tokens are passed over without a map look-up.
	firstRunes [0x10000 / 64]uint64
	// citiesOf lists each province's cities in gazetteer order, with their
	// short forms, for cityIn.
	citiesOf = map[string][]cityForm{}
)

type cityForm struct {
	Place
	short string // trimSuffix(City)
}

func init() {
	for _, line := range strings.Split(gazetteer, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		head, rest, _ := strings.Cut(line, ":")
		full, shorts, _ := strings.Cut(head, "|")
		prov := Place{Name: full, Province: full}
		municipality := strings.HasSuffix(full, "市")
		if municipality {
			prov.City = full
		}
		provinces = append(provinces, prov)
		add(full, prov, false)
		for _, s := range strings.Split(shorts, ",") {
			add(s, prov, false)
		}
		for _, c := range strings.Fields(rest) {
			ambiguous := strings.HasPrefix(c, "~")
			c = strings.TrimPrefix(c, "~")
			cname, short, hasShort := strings.Cut(c, "/")
			city := Place{Name: full + cname, Province: full, City: cname}
			cities = append(cities, city)
			citiesOf[full] = append(citiesOf[full], cityForm{city, trimSuffix(cname)})
			add(cname, city, false)
			var forms []string
			if hasShort {
				forms = strings.Split(short, ",")
			} else {
				forms = []string{trimSuffix(cname)}
			}
			for _, f := range forms {
				if f != cname {
					add(f, city, ambiguous)
				}
			}
		}
	}
}

func trimSuffix(name string) string {
	for _, suf := range []string{"地区", "市", "盟"} {
		if s, ok := strings.CutSuffix(name, suf); ok && utf8.RuneCountInString(s) >= 2 {
			return s
		}
	}
	return name
}

func add(name string, p Place, fieldOnly bool) {
	if name == "" {
		return
	}
	if _, ok := fieldNames[name]; !ok {
		fieldNames[name] = p
	}
	if fieldOnly {
		return
	}
	if _, ok := textNames[name]; ok {
		return // the first (the province, or the earlier city) wins
	}
	textNames[name] = p
	if r, _ := utf8.DecodeRuneInString(name); r < 0x10000 {
		firstRunes[r/64] |= 1 << (r % 64)
	}
	maxRunes = max(maxRunes, utf8.RuneCountInString(name))
	for i := range name {
		if i > 0 {
			prefixes[name[:i]] = true
		}
	}
	prefixes[name] = true
}

// Provinces lists the 34 provincial-level divisions.
func Provinces() []Place { return append([]Place(nil), provinces...) }

// Cities lists the prefecture-level cities (and the county-level cities
// governed directly by a province) in the gazetteer.
func Cities() []Place { return append([]Place(nil), cities...) }

// Find gives the places named in a segmented text, in order of first mention,
// each once. Names are matched on whole tokens or runs of adjacent tokens
// (宁波 / 宁波市 / 宁波 + 市). A province is left out when a city in it is
// also named. When tokens is nil, text is scanned character by character.
func Find(tokens []string, text string) []Place {
	if tokens == nil {
		return dedupe(scanText(text))
	}
	return AppendFind(nil, tokens)
}

// AppendFind appends the places named in a segmented text to dst, as Find
// does; it allocates nothing when dst has room.
func AppendFind(dst []Place, tokens []string) []Place {
	n := len(dst)
	dst = scanTokens(dst, tokens)
	if len(dst) == n {
		return dst
	}
	return append(dst[:n], dedupe(dst[n:])...)
}

// mayStart reports whether a text name can begin where s begins (its first
// rune is the first rune of some name).
func mayStart(s string) bool {
	if s == "" {
		return false
	}
	r, _ := utf8.DecodeRuneInString(s)
	return r >= 0x10000 || firstRunes[r/64]&(1<<(r%64)) != 0
}

func scanTokens(found []Place, tokens []string) []Place {
	var buf [64]byte
	for i := 0; i < len(tokens); i++ {
		t := tokens[i]
		if !mayStart(t) || !prefixes[t] {
			continue
		}
		best, bestEnd := Place{}, -1
		if p, ok := textNames[t]; ok {
			best, bestEnd = p, i
		}
		n := copy(buf[:], t)
		for j := i + 1; j < len(tokens) && n+len(tokens[j]) <= len(buf); j++ {
			n += copy(buf[n:], tokens[j])
			key := buf[:n]
			if !prefixes[string(key)] {
				break
			}
			if p, ok := textNames[string(key)]; ok {
				best, bestEnd = p, j
			}
		}
		if bestEnd >= 0 {
			found = append(found, best)
			i = bestEnd
		}
	}
	return found
}

func scanText(text string) []Place {
	var found []Place
	for i := 0; i < len(text); {
		if !mayStart(text[i:]) {
			_, size := utf8.DecodeRuneInString(text[i:])
			i += size
			continue
		}
		best, bestLen := Place{}, 0
		j := i
		for k := 0; k < maxRunes && j < len(text); k++ {
			_, size := utf8.DecodeRuneInString(text[j:])
			j += size
			if !prefixes[text[i:j]] {
				break
			}
			if p, ok := textNames[text[i:j]]; ok {
				best, bestLen = p, j-i
			}
		}
		if bestLen > 0 {
			found = append(found, best)
			i += bestLen
			continue
		}
		_, size := utf8.DecodeRuneInString(text[i:])
		i += size
	}
	return found
}

// dedupe keeps the first mention of each place, and drops a province when
// one of its cities is named too. It works in place.
func dedupe(found []Place) []Place {
	if len(found) == 0 {
		return nil
	}
	out := found[:0]
	for _, p := range found {
		dup := false
		for _, q := range out {
			if q.Name == p.Name {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, p)
		}
	}
	// drop a province when one of its cities is named too; compacting in
	// place is safe because only provinces are dropped, so every city of
	// out is still somewhere in out while the loop reads it
	kept := out[:0]
	for i := range out {
		p := out[i]
		if p.City == "" {
			covered := false
			for _, q := range out {
				if q.City != "" && q.Province == p.Province {
					covered = true
					break
				}
			}
			if covered {
				continue
			}
		}
		kept = append(kept, p)
	}
	return kept
}

// Normalize reads a region or author location such as "上海", "浙江 宁波",
// "浙江省宁波市", "北京 朝阳区" or "海外 美国" and gives the place it names,
// as precisely as the gazetteer allows. Locations abroad give Overseas; empty
// or unknown ones ("其他") give false.
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
	if f := fields[0]; f == "海外" || f == "国外" || f == "境外" {
		return Overseas, true
	}
	var prov Place
	haveProv := false
	for _, f := range fields {
		if haveProv && prov.City == "" {
			if c, ok := cityIn(prov.Province, f); ok {
				return c, true
			}
		}
		p, ok := fieldNames[f]
		if !ok {
			// a field such as 浙江宁波 or 浙江省宁波市: scan it
			if ps := Find(nil, f); len(ps) > 0 {
				p, ok = mostPrecise(ps, prov, haveProv), true
			}
		}
		if !ok || (haveProv && p.Province != prov.Province) {
			continue
		}
		if !haveProv || p.City != "" {
			prov, haveProv = p, true
		}
		if p.City != "" && p.City != p.Province {
			return p, true
		}
	}
	return prov, haveProv
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

func mostPrecise(ps []Place, prov Place, haveProv bool) Place {
	for _, p := range ps {
		if p.City != "" && (!haveProv || p.Province == prov.Province) {
			return p
		}
	}
	return ps[0]
}

// cityIn finds a city of province whose full name or short form is name.
func cityIn(province, name string) (Place, bool) {
	long := utf8.RuneCountInString(name) >= 2
	for _, c := range citiesOf[province] {
		if c.City == name || c.short == name || (long && strings.HasPrefix(c.City, name)) {
			return c.Place, true
		}
	}
	return Place{}, false
}
