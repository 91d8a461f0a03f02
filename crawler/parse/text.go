package parse

import (
	"errors"
	"net/url"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Caps on what one call returns. Inputs are attacker-controlled, so every
// list and string handed back is bounded.
const (
	MaxItems      = 1000    // items (or links, or nested sitemaps) per call
	MaxTitleRunes = 500     // Item.Title
	MaxTextRunes  = 100_000 // Item.Text
	MaxURLBytes   = 4096    // longer URLs are dropped, not cut

	maxAuthorRunes = 100
	maxRegionRunes = 100
	maxIDBytes     = 1024
	maxFieldBytes  = 4 << 20 // raw bytes gathered for one field before stripping
)

var (
	// ErrEmpty is returned (wrapped) for an empty or blank body.
	ErrEmpty = errors.New("parse: empty body (内容为空)")
	// ErrFormat is returned (wrapped) when the body is not the kind of
	// document asked for: an HTML page where a feed was expected, say.
	ErrFormat = errors.New("parse: unrecognised format (无法识别的格式)")
)

// StripHTML turns an HTML fragment into plain text: tags are removed (the
// contents of script, style, iframe, noscript and template with them),
// entities are unescaped, runs of white space become one space and block
// elements (p, div, br, li, h1…) become line breaks, so paragraphs come back
// joined by "\n" with no blank lines. Text that was escaped twice
// ("&amp;lt;p&amp;gt;", common in feeds) is unescaped and stripped again.
// Literal text such as "a < b" or "<图>" is kept.
// It does not cap the length.
func StripHTML(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	for range 8 {
		if !looksMarked(s) {
			break
		}
		t := stripOnce(s)
		if t == s {
			break
		}
		s = t
	}
	if tagRe.MatchString(s) {
		// escaped more often than anyone means: drop what still reads as a tag
		s = leftTagRe.ReplaceAllString(s, " ")
	}
	return collapse(s, true)
}

var (
	tagRe     = regexp.MustCompile(`<[A-Za-z!/?]`)
	leftTagRe = regexp.MustCompile(`<[A-Za-z!/?][^<>]*>`)
	entityRe  = regexp.MustCompile(`&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});?`)
)

// looksMarked reports whether s may hold tags or entities.
func looksMarked(s string) bool {
	if !strings.ContainsAny(s, "<&") {
		return false
	}
	return tagRe.MatchString(s) || entityRe.MatchString(s)
}

// skipped elements lose their contents as well as their tags.
var skipped = map[atom.Atom]bool{
	atom.Script: true, atom.Style: true, atom.Iframe: true, atom.Noscript: true,
	atom.Noembed: true, atom.Noframes: true, atom.Template: true, atom.Title: true,
}

// breaks are elements that end a line of text.
var breaks = map[atom.Atom]bool{
	atom.P: true, atom.Div: true, atom.Br: true, atom.Li: true, atom.Ul: true, atom.Ol: true,
	atom.H1: true, atom.H2: true, atom.H3: true, atom.H4: true, atom.H5: true, atom.H6: true,
	atom.Tr: true, atom.Table: true, atom.Section: true, atom.Article: true, atom.Blockquote: true,
	atom.Pre: true, atom.Hr: true, atom.Dd: true, atom.Dt: true, atom.Dl: true, atom.Header: true,
	atom.Footer: true, atom.Figure: true, atom.Figcaption: true, atom.Address: true, atom.Body: true,
	atom.Caption: true, atom.Main: true, atom.Aside: true, atom.Nav: true, atom.Form: true,
}

// stripOnce runs s through the HTML tokenizer once, keeping text.
func stripOnce(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	b.Grow(len(s))
	skip := 0 // depth inside skipped elements
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			if skip == 0 {
				b.Write(z.Text())
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, _ := z.TagName()
			a := atom.Lookup(name)
			if skipped[a] {
				switch {
				case tt == html.StartTagToken:
					skip++
				case tt == html.EndTagToken && skip > 0:
					skip--
				}
				continue
			}
			if breaks[a] {
				b.WriteByte('\n')
			} else if a == atom.Td || a == atom.Th || a == atom.Img {
				b.WriteByte(' ')
			}
		}
	}
}

// zeroWidth reports invisible runes dropped from text.
func zeroWidth(r rune) bool {
	return r == '\u200b' || r == '\ufeff' || r == '\u200c' || r == '\u200d' || r == '\u2060' || r == '\u00ad'
}

// collapse turns runs of white space into one space and drops control
// characters. With lines, line breaks survive (one per run, none at the
// ends); without, the result is one line.
func collapse(s string, lines bool) string {
	var b strings.Builder
	b.Grow(len(s))
	pendSpace, pendLine := false, false
	for _, r := range s {
		switch {
		case r == '\n' || r == '\r' || r == '\u2028' || r == '\u2029':
			if lines {
				pendLine = true
			} else {
				pendSpace = true
			}
		case unicode.IsSpace(r):
			pendSpace = true
		case zeroWidth(r) || unicode.IsControl(r) || r == '\uFFFE' || r == '\uFFFF':
			// dropped
		default:
			if b.Len() > 0 {
				if pendLine {
					b.WriteByte('\n')
				} else if pendSpace {
					b.WriteByte(' ')
				}
			}
			pendSpace, pendLine = false, false
			b.WriteRune(r)
		}
	}
	return b.String()
}

// truncRunes cuts s to at most n runes.
func truncRunes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return strings.TrimSpace(s[:pos])
		}
		i++
	}
	return s
}

// cleanLine is a title, author or other one-line field: HTML stripped, one
// line, at most n runes.
func cleanLine(s string, n int) string {
	return truncRunes(collapse(StripHTML(s), false), n)
}

// cleanText is a body field: HTML stripped, paragraphs kept, capped.
func cleanText(s string) string {
	return truncRunes(StripHTML(s), MaxTextRunes)
}

// cleanID is an identifier: no HTML processing, one line, capped in bytes.
func cleanID(s string) string {
	s = collapse(s, false)
	if len(s) > maxIDBytes {
		s = strings.ToValidUTF8(s[:maxIDBytes], "")
	}
	return s
}

// trimURL removes what browsers ignore in an href: surrounding white space
// and tabs or line breaks anywhere.
func trimURL(s string) string {
	s = strings.TrimSpace(s)
	if strings.ContainsAny(s, "\t\n\r") {
		s = strings.Map(func(r rune) rune {
			if r == '\t' || r == '\n' || r == '\r' {
				return -1
			}
			return r
		}, s)
	}
	return s
}

// parseBase reads a base URL; nil when s is not an absolute URL.
func parseBase(s string) *url.URL {
	u, err := url.Parse(trimURL(s))
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil
	}
	return u
}

// absURL resolves ref against base (which may be nil) and returns the
// absolute http(s) URL without its fragment, host lower-cased, or "" when ref
// is empty, unparsable, relative without a base, of another scheme, or
// longer than MaxURLBytes.
func absURL(base *url.URL, ref string) string {
	u := resolve(base, ref)
	if u == nil {
		return ""
	}
	s := u.String()
	if len(s) > MaxURLBytes {
		return ""
	}
	return s
}

func resolve(base *url.URL, ref string) *url.URL {
	ref = trimURL(ref)
	if ref == "" || len(ref) > MaxURLBytes || !utf8.ValidString(ref) {
		return nil
	}
	u, err := url.Parse(ref)
	if err != nil {
		return nil
	}
	if base != nil {
		u = base.ResolveReference(u)
	}
	return normURL(u)
}

// normURL keeps http(s) URLs with a host, dropping the fragment and user
// info and lower-casing scheme and host; nil otherwise.
func normURL(u *url.URL) *url.URL {
	if u == nil {
		return nil
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" || u.Host == "" || u.Opaque != "" {
		return nil
	}
	v := *u
	v.Scheme = scheme
	v.Host = strings.TrimSuffix(strings.ToLower(u.Host), ".")
	if v.Host == "" || strings.ContainsAny(v.Host, " <>\"'\\") {
		return nil
	}
	v.User = nil
	v.Fragment, v.RawFragment = "", ""
	if v.Path == "" && v.RawPath == "" {
		v.Path = "/"
	}
	return &v
}
