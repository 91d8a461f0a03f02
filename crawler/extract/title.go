package extract

import (
	"html"
	"regexp"
	"strings"
	"unicode/utf8"
)

var titleSepRe = regexp.MustCompile(`\s*(?:_|\||｜|--|——|-|–|—)\s*`)

// siteTitle strips a site suffix such as " - 网易新闻", "_凤凰网资讯_凤凰网" or
// "-EDN 电子技术设计" from a <title>: trailing segments are cut while they
// are shorter than what is left.
func siteTitle(t string) string {
	t = strings.TrimSpace(t)
	for {
		locs := titleSepRe.FindAllStringIndex(t, -1)
		if len(locs) == 0 {
			return t
		}
		last := locs[len(locs)-1]
		head, tail := strings.TrimSpace(t[:last[0]]), strings.TrimSpace(t[last[1]:])
		if utf8.RuneCountInString(tail) >= utf8.RuneCountInString(head) || utf8.RuneCountInString(head) < 4 {
			return t
		}
		t = head
	}
}

// title prefers the <h1> (or og:title) that best matches <title>, else the
// cleaned <title>. The result is plain text: entities are already decoded by
// the parser and any markup left in a meta value is removed.
func (d *docInfo) title() string {
	raw := d.rawTitle
	og := plain(d.metas["og:title"])
	if og == "" {
		og = plain(d.metas["twitter:title"])
	}
	cands := append([]string{}, d.heads...)
	if og != "" {
		cands = append(cands, og)
	}
	best, bestScore := "", 0.0
	for _, c := range cands {
		if c == "" || utf8.RuneCountInString(c) > 200 {
			continue
		}
		s := overlap(c, raw)
		if s > bestScore+1e-9 {
			best, bestScore = c, s
		}
	}
	if bestScore >= 0.6 {
		return best
	}
	if raw != "" {
		// A line of the page that is most of the <title> is the headline
		// shown to readers, without the site's suffix.
		clean := siteTitle(raw)
		n := utf8.RuneCountInString(clean)
		shown := ""
		for i, l := range d.lines {
			ln := utf8.RuneCountInString(l)
			at := strings.Index(clean, l)
			if ln < 5 || ln*10 < n*6 || ln <= utf8.RuneCountInString(shown) || at < 0 {
				continue
			}
			// A headline broken over lines is not a shorter headline.
			rest := strings.TrimSpace(clean[at+len(l):])
			if rest != "" && i+1 < len(d.lines) && (strings.HasPrefix(rest, d.lines[i+1]) || strings.HasPrefix(d.lines[i+1], rest)) {
				continue
			}
			shown = l
		}
		if shown != "" {
			return shown
		}
		return clean
	}
	if og != "" {
		return og
	}
	for _, h := range d.heads {
		if utf8.RuneCountInString(h) >= 4 {
			return h
		}
	}
	return ""
}

// overlap is how much of candidate c appears in t: 1 if c is a substring,
// else the share of c's runes found in t, times a small penalty for length.
func overlap(c, t string) float64 {
	if t == "" {
		return 0
	}
	n := utf8.RuneCountInString(c)
	if strings.Contains(t, c) {
		return 1 + float64(n)/1000 // longer exact match wins
	}
	in := 0
	for _, r := range c {
		if strings.ContainsRune(t, r) {
			in++
		}
	}
	return float64(in) / float64(n)
}

var tagRe = regexp.MustCompile(`<[^>]*>`)

// plain removes markup and entities from an attribute value.
func plain(s string) string {
	s = html.UnescapeString(s)
	s = tagRe.ReplaceAllString(s, "")
	s = strings.ReplaceAll(s, "<", "")
	s = strings.ReplaceAll(s, ">", "")
	return cleanSpace(s)
}
