package parse

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"yuqing/crawler/extract"
)

// Time reads a publication date as feeds, sitemaps and JSON APIs write it:
//
//   - RFC 1123/1123Z/822/850, ANSIC and Ruby forms, with or without the
//     weekday (which is not checked), with a numeric zone, GMT+8, or a zone
//     abbreviation (CST is China Standard Time here, as on Chinese sites);
//   - RFC 3339 / ISO 8601 ("2024-05-01T10:20:00+08:00", "…Z", fractions);
//   - "2006-01-02 15:04[:05]", "2006/01/02 …", "2006.01.02", "2006年1月2日 15:04",
//     "2006年1月2日 下午3:04", "15时04分", date-only forms (midnight);
//   - Unix seconds, milliseconds, microseconds or nanoseconds as digits
//     ("1714530000", "1714530000123", "1714530000.5"), and compact
//     "20060102" / "20060102150405".
//
// Where the text gives no zone, China time (extract.China, UTC+8) is assumed.
// Years outside 1970–2100 (1990–2100 for Unix timestamps), impossible dates
// such as "0000-00-00" or 2 月 30 日, and anything else give ok == false.
// A date inside a longer string ("发布时间：2024-05-01 10:20") is found.
func Time(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 256 {
		s = strings.ToValidUTF8(s[:256], "")
	}
	if s == "" {
		return time.Time{}, false
	}
	if numericRe.MatchString(s) {
		return unixTime(s)
	}
	s = strings.ReplaceAll(s, "：", ":")
	s = strings.Join(strings.Fields(s), " ")
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return checkYear(t, 1970)
	}
	s = normZone(s)
	if hasASCIILetter(s) {
		if t, ok := englishTime(s); ok {
			return t, true
		}
	}
	return numericDate(s)
}

var (
	numericRe   = regexp.MustCompile(`^[0-9]{8,19}(?:\.[0-9]{1,9})?$`)
	gmtRe       = regexp.MustCompile(`(?i)\b(?:GMT|UTC)\s*([+-])\s*([0-9]{1,2})(?::?([0-9]{2}))?$`)
	offsetRe    = regexp.MustCompile(`^[+-][0-9]{2}:?[0-9]{2}$`)
	zoneWordRe  = regexp.MustCompile(`^[A-Za-z]{1,5}$`)
	weekdayRe   = regexp.MustCompile(`(?i)^(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s*`)
	dateTimeRe  = regexp.MustCompile(`([0-9]{4})\s*[-/.年]\s*([0-9]{1,2})\s*[-/.月]\s*([0-9]{1,2})\s*日?` + `(?:(?:\s*T\s*|\s*)(上午|下午|晚上|凌晨|中午|早上)?\s*([0-9]{1,2})\s*[:时点]\s*([0-9]{1,2})(?:\s*[:分]\s*([0-9]{1,2})\s*秒?)?(?:[.,][0-9]{1,9})?(?:\s*(Z|[+-][0-9]{2}:?[0-9]{2})\b)?)?`)
	zoneOffsets = map[string]int{
		"UT": 0, "UTC": 0, "GMT": 0, "Z": 0, "WET": 0,
		"CST": 8, "BJT": 8, "HKT": 8, "SGT": 8, "AWST": 8, "PHT": 8, "MYT": 8,
		"JST": 9, "KST": 9,
		"EST": -5, "EDT": -4, "CDT": -5, "MST": -7, "MDT": -6, "PST": -8, "PDT": -7,
		"CET": 1, "CEST": 2, "BST": 1, "EET": 2, "EEST": 3, "MSK": 3,
		"IST": 5, // India (+05:30), adjusted below
	}
)

// normZone rewrites the zone at the end of s as a numeric offset ("+0800"),
// or removes it when unknown, so that China time is assumed.
func normZone(s string) string {
	if strings.HasSuffix(s, ")") { // "(CST)", "(中国标准时间)"
		if i := strings.LastIndexByte(s, '('); i > 0 {
			s = strings.TrimSpace(s[:i])
		}
	}
	if up := strings.ToUpper(s); strings.Contains(up, "GMT") || strings.Contains(up, "UTC") {
		if m := gmtRe.FindStringSubmatchIndex(s); m != nil { // "GMT+8", "UTC+08:00"
			h, _ := strconv.Atoi(s[m[4]:m[5]])
			mi := 0
			if m[6] >= 0 {
				mi, _ = strconv.Atoi(s[m[6]:m[7]])
			}
			if h <= 14 && mi < 60 {
				return strings.TrimSpace(s[:m[0]]) + fmt.Sprintf(" %s%02d%02d", s[m[2]:m[3]], h, mi)
			}
			return strings.TrimSpace(s[:m[0]])
		}
	}
	f := strings.Fields(s)
	if len(f) < 2 {
		return s
	}
	last := f[len(f)-1]
	if offsetRe.MatchString(last) {
		f[len(f)-1] = strings.Replace(last, ":", "", 1)
		return strings.Join(f, " ")
	}
	if !zoneWordRe.MatchString(last) {
		return s
	}
	up := strings.ToUpper(last)
	if up == "AM" || up == "PM" {
		return s
	}
	f = f[:len(f)-1]
	h, known := zoneOffsets[up]
	if !known || offsetRe.MatchString(f[len(f)-1]) {
		return strings.Join(f, " ")
	}
	off := fmt.Sprintf("%+03d00", h)
	if up == "IST" {
		off = "+0530"
	}
	return strings.Join(f, " ") + " " + off
}

var (
	zonedLayouts = []string{
		"2 Jan 2006 15:04:05 -0700", "2 Jan 2006 15:04 -0700", "2 Jan 06 15:04:05 -0700", "2 Jan 06 15:04 -0700",
		"2-Jan-06 15:04:05 -0700", "2-Jan-2006 15:04:05 -0700", "Jan 2 2006 15:04:05 -0700",
		"Jan 2 15:04:05 -0700 2006", "2 January 2006 15:04:05 -0700", "January 2 2006 15:04:05 -0700",
		"Jan 2 2006 3:04:05 PM -0700", "Jan 2 2006 3:04 PM -0700",
	}
	localLayouts = []string{
		"2 Jan 2006 15:04:05", "2 Jan 2006 15:04", "2 Jan 2006", "2 Jan 06 15:04:05", "2 Jan 06 15:04",
		"2-Jan-06 15:04:05", "2-Jan-2006 15:04:05", "Jan 2 15:04:05 2006", "Jan 2 2006 15:04:05",
		"Jan 2 2006 15:04", "Jan 2 2006 3:04:05 PM", "Jan 2 2006 3:04 PM", "Jan 2 2006",
		"January 2 2006 15:04:05", "January 2 2006 15:04", "January 2 2006", "2 January 2006 15:04:05",
		"2 January 2006 15:04", "2 January 2006",
	}
)

// englishTime reads dates with English month names.
func englishTime(s string) (time.Time, bool) {
	s = weekdayRe.ReplaceAllString(s, "")
	s = strings.Join(strings.Fields(strings.ReplaceAll(s, ",", " ")), " ")
	for _, l := range zonedLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return checkYear(t, 1970)
		}
	}
	for _, l := range localLayouts {
		if t, err := time.ParseInLocation(l, s, extract.China); err == nil {
			return checkYear(t, 1970)
		}
	}
	return time.Time{}, false
}

// numericDate finds a numeric or Chinese date ("2024-05-01 10:20",
// "2024年5月1日 下午3:20", "2024/05/01T10:20:00+08:00") anywhere in s.
func numericDate(s string) (time.Time, bool) {
	m := dateTimeRe.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, false
	}
	num := func(i int) int {
		v, err := strconv.Atoi(m[i])
		if err != nil {
			return 0
		}
		return v
	}
	y, mo, d := num(1), num(2), num(3)
	h, mi, sec := 0, 0, 0
	if m[5] != "" {
		h, mi, sec = num(5), num(6), num(7)
		switch m[4] {
		case "下午", "晚上":
			if h < 12 {
				h += 12
			}
		case "中午":
			if h < 11 {
				h += 12
			}
		case "上午", "凌晨", "早上":
			if h == 12 {
				h = 0
			}
		}
		if sec == 60 {
			sec = 59
		}
		if h > 23 || mi > 59 || sec > 59 {
			return time.Time{}, false
		}
	}
	loc := extract.China
	if z := m[8]; z != "" {
		if z == "Z" {
			loc = time.UTC
		} else {
			z = strings.Replace(z, ":", "", 1)
			zh, _ := strconv.Atoi(z[1:3])
			zm, _ := strconv.Atoi(z[3:5])
			if zh <= 14 && zm < 60 {
				off := zh*3600 + zm*60
				if z[0] == '-' {
					off = -off
				}
				loc = time.FixedZone("", off)
			}
		}
	}
	return makeDate(y, mo, d, h, mi, sec, loc)
}

// makeDate builds a time, refusing impossible dates rather than normalising
// them (time.Date turns 2 月 30 日 into 3 月 2 日).
func makeDate(y, mo, d, h, mi, sec int, loc *time.Location) (time.Time, bool) {
	if mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, h, mi, sec, 0, loc)
	if t.Day() != d || int(t.Month()) != mo {
		return time.Time{}, false
	}
	return checkYear(t, 1970)
}

// unixTime reads a run of digits: a compact date, or a Unix timestamp whose
// unit follows from its length.
func unixTime(s string) (time.Time, bool) {
	ip, frac, _ := strings.Cut(s, ".")
	n := len(ip)
	if frac == "" && (n == 8 || n == 14) {
		a := func(i, j int) int { v, _ := strconv.Atoi(ip[i:j]); return v }
		h, mi, sec := 0, 0, 0
		if n == 14 {
			h, mi, sec = a(8, 10), a(10, 12), a(12, 14)
		}
		if h <= 23 && mi <= 59 && sec <= 59 {
			if t, ok := makeDate(a(0, 4), a(4, 6), a(6, 8), h, mi, sec, extract.China); ok {
				return t, true
			}
		}
	}
	v, err := strconv.ParseInt(ip, 10, 64)
	if err != nil {
		return time.Time{}, false
	}
	var t time.Time
	switch {
	case n >= 9 && n <= 11:
		ns := int64(0)
		if frac != "" {
			f := (frac + "000000000")[:9]
			ns, _ = strconv.ParseInt(f, 10, 64)
		}
		t = time.Unix(v, ns)
	case n == 12 || n == 13:
		t = time.UnixMilli(v)
	case n == 15 || n == 16:
		t = time.UnixMicro(v)
	case n >= 17:
		t = time.Unix(0, v)
	default:
		return time.Time{}, false
	}
	return checkYear(t.In(extract.China), 1990)
}

func checkYear(t time.Time, min int) (time.Time, bool) {
	if y := t.Year(); y < min || y > 2100 {
		return time.Time{}, false
	}
	return t, true
}

func hasASCIILetter(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if c >= 'a' && c <= 'z' {
			return true
		}
	}
	return false
}
