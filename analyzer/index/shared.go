package index

import (
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/yanyiwu/gojieba"

	"yuqing/analyzer/segment"
)

// What every backend does the same way, so that they give the same answers:
// which words of a text are terms, how a query is cut, and the over-time
// buckets in China time.

// Over-time intervals.
const (
	IntervalHour  = "hour"
	IntervalDay   = "day"
	IntervalMonth = "month"
)

// MaxBuckets bounds the over-time buckets of one search (the latest are kept).
const MaxBuckets = 2000

// ChinaTime is the zone of the over-time buckets (UTC+8, no tzdata needed).
var ChinaTime = time.FixedZone("CST", 8*3600)

// IsWord reports whether s has a rune that is not a space, punctuation,
// symbol or control: whether it is indexed as a term.
func IsWord(s string) bool {
	for _, r := range s {
		if r == utf8.RuneError {
			continue
		}
		if !unicode.IsSpace(r) && !unicode.IsPunct(r) && !unicode.IsSymbol(r) && !unicode.IsControl(r) {
			return true
		}
	}
	return false
}

// QueryGroups cuts a query as the backends index text: one group per word
// of the precise segmentation, each with the search-mode words inside it
// (lowercased). A post matches when, for every group, it has all of that
// group's terms. A word with nothing indexable is skipped.
func QueryGroups(seg *segment.Segmenter, q string) [][]string {
	var groups [][]string
	for _, w := range seg.Cut(q) {
		if !IsWord(w) {
			continue
		}
		var terms []string
		seen := map[string]bool{}
		for _, sw := range seg.Tokenize(w, gojieba.SearchMode, true) {
			if !IsWord(sw.Str) {
				continue
			}
			term := strings.ToLower(sw.Str)
			if !seen[term] {
				seen[term] = true
				terms = append(terms, term)
			}
		}
		if len(terms) > 0 {
			groups = append(groups, terms)
		}
	}
	return groups
}

// ChooseInterval picks the over-time interval for a span of time: hours up
// to 3 days, days up to 180 days, else months.
func ChooseInterval(span time.Duration) string {
	switch {
	case span <= 72*time.Hour:
		return IntervalHour
	case span <= 180*24*time.Hour:
		return IntervalDay
	}
	return IntervalMonth
}

// Truncate gives the start, in China time, of the interval holding t.
func Truncate(t time.Time, interval string) time.Time {
	t = t.In(ChinaTime)
	switch interval {
	case IntervalHour:
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, ChinaTime)
	case IntervalDay:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, ChinaTime)
	}
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, ChinaTime)
}

// NextBucket gives the start of the interval after the one starting at t.
func NextBucket(t time.Time, interval string) time.Time {
	switch interval {
	case IntervalHour:
		return t.Add(time.Hour)
	case IntervalDay:
		return t.AddDate(0, 0, 1)
	}
	return t.AddDate(0, 1, 0)
}

// BucketStarts lists the bucket starts from lo's bucket to hi's (hi itself
// excluded unless hiInclusive), keeping the latest MaxBuckets.
func BucketStarts(lo, hi time.Time, hiInclusive bool, interval string) []time.Time {
	last := hi
	if !hiInclusive {
		last = hi.Add(-time.Nanosecond)
	}
	if last.Before(lo) {
		return nil
	}
	end := Truncate(last, interval)
	var out []time.Time
	for t := Truncate(lo, interval); !t.After(end); t = NextBucket(t, interval) {
		out = append(out, t)
	}
	if len(out) > MaxBuckets {
		out = out[len(out)-MaxBuckets:]
	}
	return out
}

// ClampRisk gives the risk that filters and risk bands see: Analysis.Risk
// within [0, 1] (a NaN is 0). The stored post keeps its own value.
func ClampRisk(r float64) float64 {
	switch {
	case r > 1:
		return 1
	case r > 0:
		return r
	}
	return 0 // also -0 and NaN
}

// BandOf gives the index in RiskBands of a risk taken within [0, 1].
func BandOf(r float64) int {
	r = ClampRisk(r)
	for i := len(RiskBands) - 1; i > 0; i-- {
		if r >= RiskBands[i].From {
			return i
		}
	}
	return 0
}

// Division suffixes that end a province-level name, and the municipalities,
// whose name is their province's.
var (
	provinceEnds   = []string{"特别行政区", "自治区", "省"}
	municipalities = []string{"北京市", "天津市", "上海市", "重庆市"}
	// levelEnds end the name of a division below a province. A level ends
	// at the first of them after its first rune (so 市中区 is one level,
	// not 市 and 中区).
	levelEnds = []string{"自治州", "自治县", "自治旗", "地区", "街道", "苏木", "市", "盟", "区", "县", "旗", "镇", "乡"}
)

// PlaceLevels cuts a place's full name, as the analyzer writes it (the full
// names of its levels run together: 浙江省宁波市鄞州区), into its levels
// (浙江省, 宁波市, 鄞州区), by the suffixes of Chinese divisions. A name
// that does not start with a province (海外, or one not understood) is one
// level.
func PlaceLevels(name string) []string {
	end := 0
	for _, m := range municipalities {
		if strings.HasPrefix(name, m) {
			end = len(m)
			break
		}
	}
	if end == 0 {
		end = -1
		for _, s := range provinceEnds {
			if i := strings.Index(name, s); i > 0 && (end < 0 || i+len(s) < end) {
				end = i + len(s)
			}
		}
	}
	if end <= 0 {
		return []string{name}
	}
	levels := []string{name[:end]}
	for rest := name[end:]; rest != ""; {
		cut := len(rest)
		// a level has at least one rune before its suffix
		_, first := utf8.DecodeRuneInString(rest)
		for _, s := range levelEnds {
			if i := strings.Index(rest[first:], s); i >= 0 && first+i+len(s) < cut {
				cut = first + i + len(s)
			}
		}
		levels = append(levels, rest[:cut])
		rest = rest[cut:]
	}
	return levels
}

// PlaceTerms gives the terms by which a post naming that place is found
// with Query.Place: every run of consecutive levels of the name
// (PlaceLevels), so 浙江省宁波市鄞州区 is found by itself, by the enclosing
// divisions 浙江省 and 浙江省宁波市, by each level's own name 宁波市 and
// 鄞州区, and by 宁波市鄞州区. A short form (宁波) is not a term.
func PlaceTerms(name string) []string {
	if name == "" {
		return nil
	}
	levels := PlaceLevels(name)
	if len(levels) == 1 {
		return levels
	}
	out := make([]string, 0, len(levels)*(len(levels)+1)/2)
	for i := range levels {
		run := ""
		for _, l := range levels[i:] {
			run += l
			out = append(out, run)
		}
	}
	return out
}
