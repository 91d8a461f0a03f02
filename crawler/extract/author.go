package extract

import (
	"regexp"
	"strings"
	"unicode/utf8"
)

var (
	authorRe = regexp.MustCompile(`(?:作者|记者|撰文|撰稿)\s*[:：]\s*([^\s:：|，,；;()（）【】\[\]]{1,30})`)
	sourceRe = regexp.MustCompile(`(?:来源于|来源|稿源|信息来源|文章来源|来自)\s*[:：|]\s*([^\s:：|，,；;()（）【】\[\]]{1,30})`)
	editorRe = regexp.MustCompile(`(?:责任编辑|责编|编辑)\s*[:：]\s*([^\s:：|，,；;()（）【】\[\]]{1,20})`)
)

// cleanName trims a name read after a label: no trailing date, digits or
// punctuation, and nothing that looks like a placeholder or an address.
func cleanName(s string) string {
	s = strings.TrimSpace(s)
	if loc := dateRe.FindStringIndex(s); loc != nil {
		s = s[:loc[0]]
	}
	s = strings.TrimRight(s, "0123456789-/.:：、 ")
	s = strings.Trim(s, "“”\"'‘’《》·")
	switch s {
	case "未知", "佚名", "不详", "匿名", "本站", "admin":
		return ""
	}
	if s == "" || strings.ContainsAny(s, "@<>{}=") || strings.HasPrefix(strings.ToLower(s), "name") ||
		utf8.RuneCountInString(s) > 30 || strings.Contains(s, "http") {
		return ""
	}
	return s
}

// author prefers a named author (meta or "作者："), then the source
// ("来源："), then the responsible editor ("责任编辑："), looking near the
// title first and then over the whole page.
func (d *docInfo) author(title string) string {
	for _, k := range []string{"author", "article:author", "dc.creator", "byl", "source", "mediaid"} {
		if v := cleanName(plain(d.metas[k])); v != "" {
			return v
		}
	}
	start := d.titleLine(title)
	window := d.lines
	if start >= 0 {
		window = d.lines[start:min(len(d.lines), start+15)]
	} else if len(window) > 200 {
		window = window[:200]
	}
	for _, re := range []*regexp.Regexp{authorRe, sourceRe} {
		for _, l := range window {
			if m := re.FindStringSubmatch(l); m != nil {
				if v := cleanName(m[1]); v != "" {
					return v
				}
			}
		}
	}
	for _, re := range []*regexp.Regexp{sourceRe, editorRe} {
		for _, l := range d.lines {
			if utf8.RuneCountInString(l) > 80 {
				continue
			}
			if m := re.FindStringSubmatch(l); m != nil {
				if v := cleanName(m[1]); v != "" {
					return v
				}
			}
		}
	}
	return ""
}
