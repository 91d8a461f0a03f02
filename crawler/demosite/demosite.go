// Package demosite is a small local news site embedded in the binary, so that
// the crawler can be shown working on an intranet with no internet access:
// HTML list and article pages with pagination, an old GBK-encoded site, RSS
// and Atom feeds, a sitemap, a token-protected JSON API of social posts, a
// government portal with its columns, and robots.txt. Every article is
// fictional (临江市 does not exist) and is dated relative to a clock, so the
// demo always looks fresh.
package demosite

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"yuqing/domain"
)

// china is the site's time zone (UTC+8, no daylight saving).
var china = domain.China

// step is the time between two consecutive articles of a section.
const step = 37 * time.Minute

// Page sizes.
const (
	newsPerPage = 10
	feedItems   = 15
	postsPerAPI = 8
)

// Section names.
const (
	secNews = "news"
	secGBK  = "gbk"
	secGov  = "gov"
)

// entry is an article placed on the site: its section and its slot, the
// index in its section's newest-first list.
type entry struct {
	*article
	section string
	slot    int
}

var (
	newsEntries, gbkEntries, govEntries []*entry
	entryByID                           = map[string]*entry{}
)

func init() {
	place := func(section string, list []*article) []*entry {
		out := make([]*entry, len(list))
		for i, a := range list {
			if entryByID[a.id] != nil {
				panic("demosite: duplicate article id " + a.id)
			}
			out[i] = &entry{article: a, section: section, slot: i}
			entryByID[a.id] = out[i]
		}
		return out
	}
	newsEntries = place(secNews, newsArticles)
	gbkEntries = place(secGBK, gbkArticles)
	govEntries = place(secGov, govArticles)
	for _, e := range newsEntries {
		if e.copyOf == "" {
			continue
		}
		orig := entryByID[e.copyOf]
		if orig == nil || orig.copyOf != "" || orig.slot <= e.slot {
			panic("demosite: bad syndicated copy " + e.id)
		}
		e.title += orig.title
		e.paras = append(append([]string(nil), orig.paras...),
			fmt.Sprintf("（来源：%s）责任编辑：%s", orig.source, e.editor))
	}
}

// Handler serves the demo site. now is used for the times of the newest
// articles (so that the demo always looks fresh): article i of each section
// (news, the GBK site, the government portal) was published now − i×37
// minutes, China time (UTC+8), truncated to the minute. A nil now means
// time.Now.
//
// Routes: / (home); /news/, /news/index_2.html, /news/index_3.html (10 per
// page); /news/YYYY/MM/DD/<id>.html; /gbk/ and /gbk/YYYY/MM/DD/<id>.html
// (GBK bytes); /rss.xml, /atom.xml (newest 15 news articles); /sitemap.xml
// (every article); /api/posts?cursor=X (JSON, needs "Authorization: Bearer
// demo-token"); /posts/<mid>.html (a post's own page); /gov/ and its columns
// /gov/zcjd/, /gov/xxgk/, /gov/xwfb/ with pages
// /gov/<column>/YYYYMM/tYYYYMMDD_<id>.html; /robots.txt; /private/secret.html
// (disallowed by robots.txt). An article asked for under an old date is
// redirected to its current address. Pages, feeds and the sitemap carry
// ETag and Last-Modified and answer conditional requests with 304; only GET
// and HEAD are allowed; anything else is 404.
func Handler(now func() time.Time) http.Handler {
	if now == nil {
		now = time.Now
	}
	return &site{now: now}
}

type site struct{ now func() time.Time }

// view is one request's picture of the site: the clock and the address the
// client used (for absolute URLs in feeds).
type view struct {
	base   time.Time // newest article's time
	origin string    // scheme://host
}

func (v *view) time(e *entry) time.Time {
	return v.base.Add(-time.Duration(e.slot) * step)
}

// path is the article's current address.
func (v *view) path(e *entry) string {
	t := v.time(e)
	switch e.section {
	case secGov:
		return "/gov/" + e.column + "/" + t.Format("200601") + "/t" + t.Format("20060102") + "_" + e.id + ".html"
	default:
		return "/" + e.section + "/" + t.Format("2006/01/02") + "/" + e.id + ".html"
	}
}

func (v *view) url(path string) string { return v.origin + path }

var (
	articleRE  = regexp.MustCompile(`^/(news|gbk)/\d{4}/\d{2}/\d{2}/(\d+)\.html$`)
	govRE      = regexp.MustCompile(`^/gov/(zcjd|xxgk|xwfb)/\d{6}/t\d{8}_(\d+)\.html$`)
	newsPageRE = regexp.MustCompile(`^/news/index_(\d+)\.html$`)
	postRE     = regexp.MustCompile(`^/posts/(\d+)\.html$`)
)

// dirs are the folders that redirect from their name without the slash.
var dirs = map[string]bool{"/news": true, "/gbk": true, "/gov": true, "/gov/zcjd": true, "/gov/xxgk": true, "/gov/xwfb": true}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	host := r.Host
	if host == "" {
		host = "localhost"
	}
	v := &view{base: s.now().In(china).Truncate(time.Minute), origin: scheme + "://" + host}
	p := r.URL.Path
	switch p {
	case "/", "/index.html":
		serveHTML(w, r, v.home(), v.base)
		return
	case "/news/", "/news/index.html":
		v.newsList(w, r, 1)
		return
	case "/gbk/", "/gbk/index.html":
		v.gbkList(w, r)
		return
	case "/gov/", "/gov/index.html":
		serveHTML(w, r, v.govHome(), v.base)
		return
	case "/gov/zcjd/", "/gov/xxgk/", "/gov/xwfb/":
		v.govColumn(w, r, strings.Split(p, "/")[2])
		return
	case "/rss.xml":
		v.rss(w, r)
		return
	case "/atom.xml":
		v.atom(w, r)
		return
	case "/sitemap.xml":
		v.sitemap(w, r)
		return
	case "/robots.txt":
		serve(w, r, "text/plain; charset=utf-8", []byte(v.robots()), v.base)
		return
	case "/private/secret.html":
		serveHTML(w, r, secretPage(), v.base)
		return
	case "/api/posts":
		v.posts(w, r)
		return
	}
	if dirs[p] {
		http.Redirect(w, r, p+"/", http.StatusMovedPermanently)
		return
	}
	if m := newsPageRE.FindStringSubmatch(p); m != nil {
		n, err := strconv.Atoi(m[1])
		if err == nil && n >= 2 && n <= newsPages() && m[1] == strconv.Itoa(n) {
			v.newsList(w, r, n)
			return
		}
	}
	if m := articleRE.FindStringSubmatch(p); m != nil {
		if e := entryByID[m[2]]; e != nil && e.section == m[1] {
			v.article(w, r, e)
			return
		}
	}
	if m := govRE.FindStringSubmatch(p); m != nil {
		if e := entryByID[m[2]]; e != nil && e.section == secGov && e.column == m[1] {
			v.article(w, r, e)
			return
		}
	}
	if m := postRE.FindStringSubmatch(p); m != nil {
		if i := postIndex(m[1]); i >= 0 {
			serveHTML(w, r, v.postPage(i), v.postTime(i))
			return
		}
	}
	if strings.HasPrefix(p, "/api/") {
		jsonError(w, http.StatusNotFound, "接口不存在")
		return
	}
	notFound(w)
}

// article serves an article page, or redirects an old address to the
// current one.
func (v *view) article(w http.ResponseWriter, r *http.Request, e *entry) {
	if want := v.path(e); r.URL.Path != want {
		http.Redirect(w, r, want, http.StatusMovedPermanently)
		return
	}
	page := v.articlePage(e)
	if e.section == secGBK {
		serveGBK(w, r, page, v.time(e))
		return
	}
	serveHTML(w, r, page, v.time(e))
}

func newsPages() int { return (len(newsEntries) + newsPerPage - 1) / newsPerPage }

// newsPageURL is the address of page n (from 1) of /news/.
func newsPageURL(n int) string {
	if n == 1 {
		return "/news/"
	}
	return "/news/index_" + strconv.Itoa(n) + ".html"
}

// serve writes body with an ETag (a hash of the body) and Last-Modified
// mod; http.ServeContent answers If-None-Match, If-Modified-Since, HEAD and
// ranges.
func serve(w http.ResponseWriter, r *http.Request, ctype string, body []byte, mod time.Time) {
	sum := sha256.Sum256(body)
	h := w.Header()
	h.Set("Content-Type", ctype)
	h.Set("ETag", `"`+hex.EncodeToString(sum[:12])+`"`)
	h.Set("Cache-Control", "no-cache")
	http.ServeContent(w, r, "", mod, bytes.NewReader(body))
}

func serveHTML(w http.ResponseWriter, r *http.Request, page string, mod time.Time) {
	serve(w, r, "text/html; charset=utf-8", []byte(page), mod)
}

func serveGBK(w http.ResponseWriter, r *http.Request, page string, mod time.Time) {
	body, err := toGBK(page)
	if err != nil {
		http.Error(w, "GBK: "+err.Error(), http.StatusInternalServerError)
		return
	}
	serve(w, r, "text/html; charset=GBK", body, mod)
}

func notFound(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusNotFound)
	fmt.Fprint(w, `<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>404 页面不存在</title></head>
<body><h1>404</h1><p>您访问的页面不存在或已被删除。</p><p><a href="/">返回首页</a></p></body></html>
`)
}

// summary is the start of the article's first paragraph, at most n runes.
func summary(e *entry, n int) string {
	s := e.paras[0]
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

// firstSentence is the first sentence of the body, with a closing quote
// that follows its full stop.
func firstSentence(e *entry) string {
	r := []rune(e.paras[0])
	for i, c := range r {
		if c == '。' || c == '！' || c == '？' {
			if i+1 < len(r) && r[i+1] == '”' {
				i++
			}
			return string(r[:i+1])
		}
	}
	return string(r)
}

const timeLayout = "2006-01-02 15:04"
