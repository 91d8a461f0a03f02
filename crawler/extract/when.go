package extract

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Meta names carrying the publication time, best first.
var timeMetas = []string{
	"article:published_time", "og:article:published_time", "article:published", "published_time",
	"og:release_date", "datepublished", "pubdate", "publishdate", "publish_date", "publishtime",
	"publish-date", "firstpublishedtime", "og:time", "apub:time", "weibo: article:create_at",
	"sailthru.date", "dc.date.issued", "dc.date", "date", "article:modified_time",
}

var (
	dateRe = regexp.MustCompile(`(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?` +
		`(?:[\sT-]*(\d{1,2})\s*[:：时]\s*(\d{1,2})(?:\s*[:：分]\s*(\d{1,2}))?(?:\.\d+)?\s*(Z|[+-]\d{2}:?\d{2})?)?`)
	labelRe = regexp.MustCompile(`(?:发布时间|发表时间|发布日期|发文日期|成文日期|时间|日期|更新时间)\s*[:：]`)
	agoRe   = regexp.MustCompile(`(\d+)\s*(秒|分钟|小时|天)前`)
	dayRe   = regexp.MustCompile(`(今天|昨天|前天)\s*(\d{1,2})[:：](\d{2})`)
)

// parseTime reads the first date in s; ok is false when there is none or it
// is out of range.
func parseTime(s string) (time.Time, bool) {
	m := dateRe.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	num := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
	y, mo, dd := num(1), num(2), num(3)
	if y < 1990 || y > 2100 || mo < 1 || mo > 12 || dd < 1 || dd > 31 {
		return time.Time{}, false
	}
	hh, mi, ss := 0, 0, 0
	if m[4] != "" {
		hh, mi, ss = num(4), num(5), num(6)
		if hh > 23 || mi > 59 || ss > 59 {
			hh, mi, ss = 0, 0, 0
		}
	}
	loc := China
	if z := m[7]; z != "" {
		if z == "Z" {
			loc = time.UTC
		} else {
			z = strings.ReplaceAll(z, ":", "")
			h, _ := strconv.Atoi(z[1:3])
			mm, _ := strconv.Atoi(z[3:5])
			off := h*3600 + mm*60
			if z[0] == '-' {
				off = -off
			}
			loc = time.FixedZone("", off)
		}
	}
	return time.Date(y, time.Month(mo), dd, hh, mi, ss, 0, loc), true
}

// relative reads "3小时前", "昨天 10:20" and the like against now (China time).
func relative(s string, now time.Time) (time.Time, bool) {
	now = now.In(China)
	if m := dayRe.FindStringSubmatch(s); m != nil {
		back := map[string]int{"今天": 0, "昨天": 1, "前天": 2}[m[1]]
		h, _ := strconv.Atoi(m[2])
		mi, _ := strconv.Atoi(m[3])
		d := now.AddDate(0, 0, -back)
		return time.Date(d.Year(), d.Month(), d.Day(), h, mi, 0, 0, China), true
	}
	if m := agoRe.FindStringSubmatch(s); m != nil {
		n, _ := strconv.Atoi(m[1])
		unit := map[string]time.Duration{"秒": time.Second, "分钟": time.Minute, "小时": time.Hour, "天": 24 * time.Hour}[m[2]]
		return now.Add(-time.Duration(n) * unit).Truncate(time.Minute), true
	}
	if strings.Contains(s, "刚刚") {
		return now.Truncate(time.Minute), true
	}
	return time.Time{}, false
}

// titleLine is the index of the line holding the title, or -1.
func (d *docInfo) titleLine(title string) int {
	if title == "" {
		return -1
	}
	for i, l := range d.lines {
		if l == title {
			return i
		}
	}
	for i, l := range d.lines {
		if strings.Contains(l, title) && len(l) < 2*len(title)+20 {
			return i
		}
	}
	return -1
}

// published finds the publication time: meta tags, <time>, then dates in
// the text just after the title (labelled ones first), then the whole page.
func (d *docInfo) published(title string, now time.Time) time.Time {
	start := d.titleLine(title)
	// The time a page shows under its title wins over its metadata when both
	// name the same day: sites often stamp meta tags with an update time.
	var shown time.Time
	if start >= 0 {
		for _, l := range d.lines[start:min(len(d.lines), start+8)] {
			if m := dateRe.FindStringSubmatch(l); m != nil && m[4] != "" {
				shown, _ = parseTime(l)
				break
			}
		}
	}
	for _, k := range timeMetas {
		if v, ok := d.metas[k]; ok {
			if t, ok := parseTime(v); ok {
				if !shown.IsZero() && sameDay(shown, t) {
					return shown
				}
				return t
			}
		}
	}
	for _, v := range d.times {
		if t, ok := parseTime(v); ok {
			if !shown.IsZero() && sameDay(shown, t) {
				return shown
			}
			return t
		}
	}
	window := d.lines
	if start >= 0 {
		end := min(len(d.lines), start+15)
		window = d.lines[start:end]
	} else if len(window) > 200 {
		window = window[:200]
	}
	// Labelled dates near the title, then any date near the title.
	for _, l := range window {
		if loc := labelRe.FindStringIndex(l); loc != nil {
			if t, ok := parseTime(l[loc[1]:]); ok {
				return t
			}
		}
	}
	for _, l := range window {
		if t, ok := parseTime(l); ok {
			return t
		}
	}
	for _, l := range window {
		if t, ok := relative(l, now); ok {
			return t
		}
	}
	for _, l := range d.lines {
		if loc := labelRe.FindStringIndex(l); loc != nil {
			if t, ok := parseTime(l[loc[1]:]); ok {
				return t
			}
		}
	}
	return time.Time{}
}

func sameDay(a, b time.Time) bool {
	a, b = a.In(China), b.In(China)
	return a.Year() == b.Year() && a.YearDay() == b.YearDay()
}
