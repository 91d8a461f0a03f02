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
