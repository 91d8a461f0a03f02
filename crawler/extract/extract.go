// Package extract finds the article in a saved news or government web page
// without per-site rules: it decodes the page whatever its encoding (UTF-8,
// GBK, GB2312, GB18030, Big5, trusting the bytes over the declared charset),
// then reads the title, publication time, author or source and the body text
// using meta tags, common Chinese page patterns and a text-density score in the
// manner of GeneralNewsExtractor. It backs `yuqing extract` (DESIGN.md §4).
package extract

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
)

// Article is what Page finds in one page. Text is plain text, paragraphs
// joined by "\n"; it never holds HTML.
type Article struct {
	Title       string    `json:"title"`
	PublishedAt time.Time `json:"published_at,omitzero"`
	Author      string    `json:"author"`
	Text        string    `json:"text"`
	Encoding    string    `json:"encoding"`
}

// ErrEmpty is returned for input with no bytes or no readable content.
var ErrEmpty = errors.New("页面为空：没有可解析的内容")

// China is the zone assumed where a page gives none (UTC+8, no DST).
var China = time.FixedZone("CST", 8*3600)

// Page extracts the article from raw page bytes; pageURL is used in errors.
// Relative times such as "3小时前" are read against the current time.
func Page(raw []byte, pageURL string) (Article, error) {
	return PageAt(raw, pageURL, time.Now())
}

// PageAt is Page with relative times ("3小时前", "昨天 10:20") read against now.
func PageAt(raw []byte, pageURL string, now time.Time) (Article, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return Article{}, fmt.Errorf("提取 %q: %w", pageURL, ErrEmpty)
	}
	text, enc := Decode(raw)
	doc, err := html.Parse(strings.NewReader(text))
	if err != nil {
		// Pathological nesting (the parser stops at 512 open elements):
		// flatten the markup to paragraphs and try once more.
		doc, err = html.Parse(strings.NewReader(flatten(text)))
		if err != nil {
			return Article{Encoding: enc}, fmt.Errorf("提取 %q: 解析 HTML 失败: %w", pageURL, err)
		}
	}
	d := newDocInfo(doc)
	a := Article{Encoding: enc}
	a.Title = d.title()
	body := d.body()
	a.Text = body
	a.PublishedAt = d.published(a.Title, now)
	a.Author = d.author(a.Title)
	if a.Title == "" && a.Text == "" {
		return a, fmt.Errorf("提取 %q: %w", pageURL, ErrEmpty)
	}
	return a, nil
}

// docInfo is what one walk over the tree collects.
type docInfo struct {
	root     *html.Node
	metas    map[string]string // lower-cased name/property/itemprop -> content (first wins)
	rawTitle string
	heads    []string // h1 texts, then h2 texts with "title" in class/id
	times    []string // <time datetime> values and itemprop=datePublished
	lines    []string // visible text lines in document order
}

func newDocInfo(root *html.Node) *docInfo {
	d := &docInfo{root: root, metas: map[string]string{}}
	var h2 []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Meta:
				content := strings.TrimSpace(attr(n, "content"))
				for _, k := range []string{"name", "property", "itemprop", "http-equiv"} {
					if v := strings.ToLower(strings.TrimSpace(attr(n, k))); v != "" && content != "" {
						if _, ok := d.metas[v]; !ok {
							d.metas[v] = content
						}
					}
				}
			case atom.Title:
				if d.rawTitle == "" {
					d.rawTitle = cleanSpace(textOf(n))
				}
			case atom.H1:
				if t := cleanSpace(textOf(n)); t != "" {
					d.heads = append(d.heads, t)
				}
			case atom.H2, atom.H3:
				if strings.Contains(strings.ToLower(attr(n, "class")+attr(n, "id")), "title") {
					if t := cleanSpace(textOf(n)); t != "" {
						h2 = append(h2, t)
					}
				}
			case atom.Time:
				if v := attr(n, "datetime"); v != "" {
					d.times = append(d.times, v)
				}
			}
			if strings.EqualFold(attr(n, "itemprop"), "datePublished") {
				if v := attr(n, "content"); v != "" {
					d.times = append(d.times, v)
				} else if v := attr(n, "datetime"); v != "" {
					d.times = append(d.times, v)
				} else {
					d.times = append(d.times, textOf(n))
				}
			}
			if skipTag(n) && n.DataAtom != atom.Head {
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	d.heads = append(d.heads, h2...)
	d.lines = visibleLines(root)
	return d
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

// skipTag reports elements whose text is never article text.
func skipTag(n *html.Node) bool {
	switch n.DataAtom {
	case atom.Script, atom.Style, atom.Noscript, atom.Template, atom.Iframe, atom.Svg,
		atom.Select, atom.Option, atom.Button, atom.Textarea, atom.Head, atom.Object, atom.Embed, atom.Canvas:
		return true
	}
	return n.Type == html.CommentNode
}

// textOf is the text of n's descendants, skipping script and the like.
func textOf(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			b.WriteString(n.Data)
			return
		case html.ElementNode:
			if skipTag(n) && n.DataAtom != atom.Title && n.DataAtom != atom.Head {
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return b.String()
}

// cleanSpace folds runs of white space (including U+3000 and NBSP) to one space.
func cleanSpace(s string) string {
	return strings.Join(strings.FieldsFunc(s, isSpace), " ")
}

func isSpace(r rune) bool {
	switch r {
	case ' ', '\t', '\n', '\r', '\f', '\v', 0xA0, 0x3000, 0x200B, 0xFEFF:
		return true
	}
	return false
}

// visibleLines flattens the document into lines of visible text, breaking at
// block elements and <br>.
func visibleLines(root *html.Node) []string {
	var lines []string
	var cur strings.Builder
	flush := func() {
		if s := cleanSpace(cur.String()); s != "" {
			lines = append(lines, s)
		}
		cur.Reset()
	}
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			cur.WriteString(n.Data)
			return
		case html.ElementNode:
			if skipTag(n) {
				return
			}
			if n.DataAtom == atom.Br {
				flush()
				return
			}
		}
		block := n.Type == html.ElementNode && isBlock(n)
		if block {
			flush()
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
		if block {
			flush()
		}
	}
	walk(root)
	flush()
	return lines
}

func isBlock(n *html.Node) bool {
	switch n.DataAtom {
	case atom.P, atom.Div, atom.Section, atom.Article, atom.Main, atom.Li, atom.Ul, atom.Ol,
		atom.Table, atom.Tr, atom.Td, atom.Th, atom.Tbody, atom.H1, atom.H2, atom.H3, atom.H4,
		atom.H5, atom.H6, atom.Blockquote, atom.Pre, atom.Header, atom.Footer, atom.Nav,
		atom.Aside, atom.Dl, atom.Dt, atom.Dd, atom.Figure, atom.Figcaption, atom.Form,
		atom.Center, atom.Hr, atom.Body, atom.Html, atom.Address, atom.Caption:
		return true
	}
	return false
}

var (
	dropBlockRe = regexp.MustCompile(`(?is)<(script|style|noscript|template)\b.*?</(script|style|noscript|template)\s*>`)
	otherTagRe  = regexp.MustCompile(`(?i)</?(?:[a-z][a-z0-9]*)\b[^>]*>`)
	keepTagRe   = regexp.MustCompile(`(?i)^</?(?:p|br|title|h1|meta|time|head|body|html)\b`)
)

// flatten keeps only the tags the extractor reads (p, br, title, h1, meta,
// time) and turns every other one into a paragraph break, so that no
// nesting is left for the parser to choke on.
func flatten(s string) string {
	s = dropBlockRe.ReplaceAllString(s, " ")
	return otherTagRe.ReplaceAllStringFunc(s, func(tag string) string {
		if keepTagRe.MatchString(tag) {
			return tag
		}
		return "<p>"
	})
}
