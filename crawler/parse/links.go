package parse

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"path"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/PuerkitoBio/goquery"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"

	"yuqing/crawler/extract"
)

// LinkSpec says how to find article links and the next page on an HTML list
// page.
type LinkSpec struct {
	Links string `yaml:"links"` // CSS selector of article <a> elements; empty: automatic discovery
	Next  string `yaml:"next"`  // CSS selector of the next-page <a>; empty: automatic ("下一页", "下页", "后页", "Next", "›", "»", rel=next)
}

// Links reads an HTML list page (any encoding, via extract.Decode; broken
// HTML tolerated) and returns absolute article URLs in page order without
// duplicates (fragments dropped, at most MaxItems), and the next list page's
// absolute URL ("" if none). base is the page's own absolute http(s) URL; a
// <base href> in the page is honoured for resolving.
//
// With spec.Links, every element the selector matches gives its href (or, if
// it is not an <a>, the href of the first <a> inside it): the selector is
// trusted, so no site or headline filter applies. An invalid selector matches
// nothing. Without it, links are discovered: http(s) links on the same
// registrable site as base (same host, or sharing the last two labels, or
// the last three under .com.cn, .gov.cn, .org.cn, .net.cn, .edu.cn and a few
// like suffixes) whose anchor text (or title attribute) is a headline of 6+
// runes and not navigation (首页, 更多, 下一页, 登录, 关于我们, 网站地图,
// 返回顶部, Home, More …), outside <nav>, <header>, <footer> and elements
// whose id or class names nav, menu, footer, header, breadcrumb or crumb
// (unless inside an <article>, where WordPress-like themes put the headline
// in a header; if that leaves nothing, links inside them are used). When at
// least three of the links, or at least half, have article-like paths (a run
// of 4+ digits such as 2024/05/01, 20240501 or an id, or a name ending
// .htm, .html or .shtml other than index/default/list), only those are kept.
//
// The next page comes from spec.Next when set, else from rel="next", then a
// link reading 下一页/下页/后页/Next, then a link whose class or id says
// "next", then a bare › » > →. A next link equal to base (fragment aside) is
// never returned.
//
// Errors only for an empty body or a base that is not an absolute http(s) URL.
func Links(body []byte, base string, spec LinkSpec) (articles []string, next string, err error) {
	page := normURL(parseBase(base))
	if page == nil {
		return nil, "", fmt.Errorf("parse: links: base %q is not an absolute http(s) URL (基础网址无效)", base)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, "", fmt.Errorf("parse: links: %w", ErrEmpty)
	}
	text, _ := extract.Decode(body)
	doc, err := html.Parse(strings.NewReader(text))
	if err != nil {
		// Nesting beyond the parser's 512 open elements: keep only the
		// links and try again.
		doc, err = html.Parse(strings.NewReader(flattenLinks(text)))
		if err != nil {
			return nil, "", fmt.Errorf("parse: links: unreadable HTML (无法解析 HTML): %w", err)
		}
	}
	self := page.String()
	res := page
	if b := findBase(doc); b != "" {
		if u := resolve(page, b); u != nil {
			res = u
		}
	}
	if strings.TrimSpace(spec.Links) != "" {
		articles = selectLinks(doc, spec.Links, res, self)
	} else {
		d := discoverer{res: res, site: siteKey(page.Hostname()), self: self, seen: map[string]bool{}, seenX: map[string]bool{}}
		d.walk(doc, false, false)
		articles = d.result()
	}
	if strings.TrimSpace(spec.Next) != "" {
		next = selectNext(doc, spec.Next, res, self)
	} else {
		next = findNext(doc, res, self)
	}
	return articles, next, nil
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key && a.Namespace == "" {
			return true
		}
	}
	return false
}

// findBase returns the href of the first <base>.
func findBase(n *html.Node) string {
	if n.Type == html.ElementNode && n.DataAtom == atom.Base && hasAttr(n, "href") {
		return attr(n, "href")
	}
	if n.Type == html.ElementNode && n.DataAtom == atom.Body {
		return ""
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if b := findBase(c); b != "" {
			return b
		}
	}
	return ""
}

// flattenLinks keeps only a, base and link tags and the text of a page.
func flattenLinks(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b strings.Builder
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return b.String()
		case html.TextToken:
			b.WriteString(html.EscapeString(string(z.Text())))
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch atom.Lookup(name) {
			case atom.A, atom.Base, atom.Link:
				b.Write(z.Raw())
			case atom.Script, atom.Style:
				// the tokenizer hands their contents over as one text
				// token: skip it
				if tt == html.StartTagToken {
					z.Next()
				}
			default:
				b.WriteByte(' ')
			}
		}
	}
}

// hrefOf is the href of n if it is a link, else of the first link inside.
func hrefOf(n *html.Node) (string, bool) {
	if n.Type == html.ElementNode && (n.DataAtom == atom.A || n.DataAtom == atom.Area || n.DataAtom == atom.Link) && hasAttr(n, "href") {
		return attr(n, "href"), true
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		if h, ok := hrefOf(c); ok {
			return h, true
		}
	}
	return "", false
}

func selectLinks(doc *html.Node, sel string, res *url.URL, self string) []string {
	var out []string
	seen := map[string]bool{}
	for _, n := range goquery.NewDocumentFromNode(doc).Find(sel).Nodes {
		if len(out) == MaxItems {
			break
		}
		h, ok := hrefOf(n)
		if !ok {
			continue
		}
		if u := absURL(res, h); u != "" && u != self && !seen[u] {
			seen[u] = true
			out = append(out, u)
		}
	}
	return out
}

func selectNext(doc *html.Node, sel string, res *url.URL, self string) string {
	for _, n := range goquery.NewDocumentFromNode(doc).Find(sel).Nodes {
		if h, ok := hrefOf(n); ok {
			if u := absURL(res, h); u != "" && u != self {
				return u
			}
		}
	}
	return ""
}

// discoverer finds article links without a selector.
type discoverer struct {
	res         *url.URL
	site, self  string
	main, excl  []linkCand // outside and inside navigation areas
	seen, seenX map[string]bool
}

type linkCand struct {
	url     string
	article bool
}

func (d *discoverer) walk(n *html.Node, excl, art bool) {
	if n.Type == html.ElementNode {
		switch n.DataAtom {
		case atom.Script, atom.Style, atom.Template, atom.Noscript, atom.Select, atom.Textarea:
			return
		case atom.A:
			d.anchor(n, excl)
			return
		case atom.Article:
			art = true
		case atom.Nav, atom.Header, atom.Footer:
			if !art {
				excl = true
			}
		case atom.Html, atom.Body, atom.Main:
		default:
			if !excl && !art && navArea(n) {
				excl = true
			}
		}
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		d.walk(c, excl, art)
	}
}

func (d *discoverer) anchor(n *html.Node, excl bool) {
	if !hasAttr(n, "href") {
		return
	}
	if len(d.main) >= 4*MaxItems || len(d.excl) >= 4*MaxItems {
		return
	}
	u := resolve(d.res, attr(n, "href"))
	if u == nil {
		return
	}
	s := u.String()
	if len(s) > MaxURLBytes || s == d.self || siteKey(u.Hostname()) != d.site {
		return
	}
	if !isHeadline(nodeText(n, 400)) && !isHeadline(attr(n, "title")) {
		return
	}
	c := linkCand{url: s, article: articleLike(u)}
	if excl {
		if !d.seenX[s] {
			d.seenX[s] = true
			d.excl = append(d.excl, c)
		}
		return
	}
	if !d.seen[s] {
		d.seen[s] = true
		d.main = append(d.main, c)
	}
}

func (d *discoverer) result() []string {
	list := d.main
	if len(list) == 0 {
		list = d.excl
	}
	n := 0
	for _, c := range list {
		if c.article {
			n++
		}
	}
	keepAll := n == 0 || n < 3 && 2*n < len(list)
	var out []string
	for _, c := range list {
		if len(out) == MaxItems {
			break
		}
		if keepAll || c.article {
			out = append(out, c.url)
		}
	}
	return out
}

// navArea reports an element whose id or class names a navigation area.
func navArea(n *html.Node) bool {
	s := strings.ToLower(attr(n, "class") + " " + attr(n, "id"))
	if strings.TrimSpace(s) == "" {
		return false
	}
	for _, w := range []string{"menu", "footer", "header", "breadcrumb", "crumb"} {
		if strings.Contains(s, w) {
			return true
		}
	}
	if !strings.Contains(s, "nav") {
		return false
	}
	// "nav" is short: "subnav", "nav-top", "mainNav", "navigation", "navbar"
	// are navigation, "unavailable" is not.
	for _, tok := range strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) {
		if strings.HasPrefix(tok, "nav") || strings.HasSuffix(tok, "nav") || strings.Contains(tok, "navi") || strings.Contains(tok, "navbar") {
			return true
		}
	}
	return false
}

// nodeText is the collapsed text under n, read up to about max bytes.
func nodeText(n *html.Node, max int) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		for c := n.FirstChild; c != nil && b.Len() < max; c = c.NextSibling {
			switch c.Type {
			case html.TextNode:
				b.WriteString(c.Data)
				b.WriteByte(' ')
			case html.ElementNode:
				if c.DataAtom != atom.Script && c.DataAtom != atom.Style {
					walk(c)
				}
			}
		}
	}
	walk(n)
	return collapse(b.String(), false)
}

// navWords are link texts of navigation, not of articles (lower case).
var navWords = []string{
	"首页", "主页", "更多", "下一页", "上一页", "下页", "上页", "尾页", "末页", "登录", "登陆", "注册",
	"关于我们", "联系我们", "网站地图", "返回顶部", "回到顶部", "设为首页", "加入收藏", "收藏本站",
	"版权声明", "免责声明", "隐私政策", "用户协议", "意见反馈", "广告服务", "加入我们", "网站导航",
	"阅读全文", "查看全文", "查看详情", "点击查看", "返回列表", "下一篇", "上一篇", "订阅", "客户端",
	"home", "more", "next", "previous", "prev", "login", "log in", "sign in", "sign up", "register",
	"about us", "contact", "sitemap", "site map", "back to top", "privacy", "terms of", "read more",
}

// isHeadline reports anchor text that reads like a headline: 6+ runes, some
// letters, and not navigation ("更多国内新闻 >>" is navigation, "更多企业入驻
// 雄安新区" a headline).
func isHeadline(t string) bool {
	t = collapse(t, false)
	if utf8.RuneCountInString(t) < 6 {
		return false
	}
	low := strings.ToLower(t)
	nav := false
	for _, w := range navWords {
		if strings.Contains(low, w) {
			low = strings.ReplaceAll(low, w, " ")
			nav = true
		}
	}
	letters, alnum := 0, 0
	for _, r := range low {
		switch {
		case unicode.IsLetter(r):
			letters++
			alnum++
		case unicode.IsDigit(r):
			alnum++
		}
	}
	if letters == 0 || alnum < 4 {
		return false
	}
	return !nav || alnum >= 5
}

var digitsRe = regexp.MustCompile(`[0-9]{4,}`)

// articleLike reports a path that looks like one article's: a run of 4+
// digits (a date or an id), or a page name ending .htm, .html or .shtml.
func articleLike(u *url.URL) bool {
	if digitsRe.MatchString(u.Path) || digitsRe.MatchString(u.RawQuery) {
		return true
	}
	p := strings.ToLower(u.Path)
	switch path.Ext(p) {
	case ".htm", ".html", ".shtml", ".shtm", ".xhtml":
		name := strings.TrimSuffix(path.Base(p), path.Ext(p))
		switch name {
		case "index", "default", "list", "more", "home":
			return false
		}
		return true
	}
	return false
}

// threeLabel are suffixes under which a site is named by three labels.
var threeLabel = []string{
	".com.cn", ".gov.cn", ".org.cn", ".net.cn", ".edu.cn", ".ac.cn", ".mil.cn",
	".com.hk", ".org.hk", ".gov.hk", ".edu.hk", ".net.hk", ".com.tw", ".org.tw", ".gov.tw", ".edu.tw",
	".net.tw", ".com.mo", ".gov.mo", ".co.uk", ".org.uk", ".gov.uk", ".ac.uk", ".co.jp", ".com.sg", ".com.au",
}

// siteKey is the registrable part of a host: its last two labels, or three
// under the suffixes above; IP addresses stand for themselves.
func siteKey(host string) string {
	h := strings.TrimSuffix(strings.ToLower(host), ".")
	if net.ParseIP(h) != nil {
		return h
	}
	n := 2
	for _, s := range threeLabel {
		if strings.HasSuffix(h, s) {
			n = 3
			break
		}
	}
	labels := strings.Split(h, ".")
	if len(labels) <= n {
		return h
	}
	return strings.Join(labels[len(labels)-n:], ".")
}

// findNext finds the next list page without a selector.
func findNext(doc *html.Node, res *url.URL, self string) string {
	var tiers [4][]string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Script, atom.Style, atom.Template:
				return
			case atom.Link, atom.A, atom.Area:
				if hasAttr(n, "href") {
					if t := nextTier(n); t >= 0 {
						tiers[t] = append(tiers[t], attr(n, "href"))
					}
				}
				if n.DataAtom != atom.A {
					return
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	for _, hrefs := range tiers {
		for _, h := range hrefs {
			if u := absURL(res, h); u != "" && u != self {
				return u
			}
		}
	}
	return ""
}

var (
	strongNext = map[string]bool{
		"下一页": true, "下页": true, "后页": true, "下一頁": true, "下頁": true, "後頁": true,
		"next": true, "nextpage": true, "下一页面": true, "翻下页": true,
	}
	weakNext   = map[string]bool{"›": true, "»": true, ">": true, "→": true, "＞": true}
	nextTrim   = "<>›»«‹[]【】()（）「」《》.。·-–—_|:：→←＞＜ \t\r\n\u00a0\u3000"
	nextOthers = []string{"post", "article", "story", "news", "item", "comment", "reply", "photo", "pic", "img", "slide", "video", "下一篇", "下一张", "上一", "prev"}
)

// nextTier ranks a link as the next page: 0 rel=next, 1 its text says so,
// 2 its class or id (or its parent's) says so, 3 a bare arrow; -1 not.
func nextTier(n *html.Node) int {
	for _, r := range strings.Fields(strings.ToLower(attr(n, "rel"))) {
		if r == "next" {
			return 0
		}
	}
	if n.DataAtom == atom.Link {
		return -1
	}
	t := collapse(nodeText(n, 100), false)
	if t == "" {
		t = collapse(attr(n, "title")+" "+attr(n, "aria-label"), false)
	}
	if utf8.RuneCountInString(t) > 12 {
		return -1
	}
	key := strings.ToLower(strings.Join(strings.Fields(strings.Trim(t, nextTrim)), ""))
	if strongNext[key] {
		return 1
	}
	low := strings.ToLower(t)
	for _, w := range nextOthers {
		if strings.Contains(low, w) {
			return -1
		}
	}
	ci := strings.ToLower(attr(n, "class") + " " + attr(n, "id"))
	if p := n.Parent; p != nil && (p.DataAtom == atom.Li || p.DataAtom == atom.Span) {
		ci += " " + strings.ToLower(attr(p, "class")+" "+attr(p, "id"))
	}
	if strings.Contains(ci, "next") {
		for _, w := range nextOthers {
			if strings.Contains(ci, w) {
				return -1
			}
		}
		return 2
	}
	if weakNext[strings.TrimSpace(t)] {
		return 3
	}
	return -1
}
