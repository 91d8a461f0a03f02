package demosite

import (
	"encoding/json"
	"encoding/xml"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/goleak"
	"golang.org/x/text/encoding/simplifiedchinese"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixed is 2024-05-01 10:30:45 China time.
var fixed = time.Date(2024, 5, 1, 2, 30, 45, 0, time.UTC)

func clock(t time.Time) func() time.Time { return func() time.Time { return t } }

type resp struct {
	code int
	hdr  http.Header
	body []byte
}

func (r resp) text() string { return string(r.body) }

// get asks h for target (a path, or a full URL for another host); hdr are
// header name/value pairs.
func get(t *testing.T, h http.Handler, target string, hdr ...string) resp {
	t.Helper()
	return do(t, h, http.MethodGet, target, hdr...)
}

func do(t *testing.T, h http.Handler, method, target string, hdr ...string) resp {
	t.Helper()
	if strings.HasPrefix(target, "/") {
		target = "http://127.0.0.1:8090" + target
	}
	req := httptest.NewRequest(method, target, nil)
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i] == "Host" {
			req.Host = hdr[i+1]
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, req)
	res := w.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, body}
}

func mustOK(t *testing.T, r resp, target, ctype string) {
	t.Helper()
	if r.code != http.StatusOK {
		t.Fatalf("%s: status %d, want 200", target, r.code)
	}
	if got := r.hdr.Get("Content-Type"); got != ctype {
		t.Fatalf("%s: Content-Type %q, want %q", target, got, ctype)
	}
}

var (
	listRE    = regexp.MustCompile(`(?s)<ul class="news-list">(.*?)</ul>`)
	hrefRE    = regexp.MustCompile(`<a href="([^"]+)"`)
	nextRE    = regexp.MustCompile(`<a href="([^"]+)" class="next">下一页</a>`)
	h1RE      = regexp.MustCompile(`<h1>(.*?)</h1>`)
	contentRE = regexp.MustCompile(`(?s)<div class="article-content">(.*?)</div>`)
	paraRE    = regexp.MustCompile(`<p>(.*?)</p>`)
	infoRE    = regexp.MustCompile(`发布时间：(\d{4}-\d{2}-\d{2} \d{2}:\d{2})</span> <span class="source">来源：([^<]+)</span> <span class="author">作者：([^<]+)</span>`)
	govInfoRE = regexp.MustCompile(`发布时间：(\d{4}-\d{2}-\d{2} \d{2}:\d{2})</span> <span class="source">发布机构：([^<]+)</span>`)
)

// listLinks are the article links of a list page's main list.
func listLinks(t *testing.T, page string) []string {
	t.Helper()
	m := listRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no news-list in page")
	}
	var out []string
	for _, l := range hrefRE.FindAllStringSubmatch(m[1], -1) {
		out = append(out, html.UnescapeString(l[1]))
	}
	return out
}

type parsed struct{ title, when, source, author, body string }

func parseArticle(t *testing.T, page string, gov bool) parsed {
	t.Helper()
	var p parsed
	m := h1RE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no <h1>")
	}
	p.title = html.UnescapeString(m[1])
	if gov {
		m = govInfoRE.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("%s: no 发布时间/发布机构 line", p.title)
		}
		p.when, p.source = m[1], html.UnescapeString(m[2])
	} else {
		m = infoRE.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("%s: no 发布时间/来源/作者 line", p.title)
		}
		p.when, p.source, p.author = m[1], html.UnescapeString(m[2]), html.UnescapeString(m[3])
	}
	c := contentRE.FindStringSubmatch(page)
	if c == nil {
		t.Fatalf("%s: no article-content", p.title)
	}
	var paras []string
	for _, q := range paraRE.FindAllStringSubmatch(c[1], -1) {
		paras = append(paras, html.UnescapeString(q[1]))
	}
	p.body = strings.Join(paras, "\n")
	return p
}

func TestContent(t *testing.T) {
	if len(newsEntries) != 24 || len(gbkEntries) != 3 || len(govEntries) != 11 {
		t.Fatalf("counts: news %d gbk %d gov %d", len(newsEntries), len(gbkEntries), len(govEntries))
	}
	copies := 0
	all := strings.Builder{}
	for _, list := range [][]*entry{newsEntries, gbkEntries, govEntries} {
		for i, e := range list {
			if e.slot != i || e.title == "" || e.source == "" {
				t.Errorf("%s: slot %d, title %q, source %q", e.id, e.slot, e.title, e.source)
			}
			n := utf8.RuneCountInString(strings.Join(e.paras, ""))
			if n < 150 || n > 600 {
				t.Errorf("%s: body of %d runes, want 150–600", e.id, n)
			}
			if e.copyOf != "" {
				copies++
			}
			all.WriteString(e.title + strings.Join(e.paras, ""))
		}
	}
	if copies != 3 {
		t.Errorf("%d syndicated copies, want 3", copies)
	}
	for _, w := range []string{"浙江省宁波市", "江苏省苏州市", "安徽省阜阳市", "临江市", "江北区", "西湖街道",
		"辟谣", "谣言", "自来水", "浑浊", "过期原料", "暴雨", "积水", "物业", "医保", "拖欠", "工资", "异味", "学校"} {
		if !strings.Contains(all.String(), w) {
			t.Errorf("no article mentions %q", w)
		}
	}
	for _, e := range gbkEntries {
		if _, err := toGBK(e.title + strings.Join(e.paras, "")); err != nil {
			t.Errorf("%s: not encodable in GBK: %v", e.id, err)
		}
	}
}

func TestRoutes(t *testing.T) {
	h := Handler(clock(fixed))
	const htmlType = "text/html; charset=utf-8"
	for _, c := range []struct {
		path, ctype string
		links       int // links in the main list, -1 to skip
	}{
		{"/", htmlType, 5},
		{"/index.html", htmlType, 5},
		{"/news/", htmlType, 10},
		{"/news/index.html", htmlType, 10},
		{"/news/index_2.html", htmlType, 10},
		{"/news/index_3.html", htmlType, 4},
		{"/gbk/", "text/html; charset=GBK", -1},
		{"/gov/", htmlType, -1},
		{"/gov/zcjd/", htmlType, 4},
		{"/gov/xxgk/", htmlType, 4},
		{"/gov/xwfb/", htmlType, 3},
		{"/rss.xml", "application/rss+xml; charset=utf-8", -1},
		{"/atom.xml", "application/atom+xml; charset=utf-8", -1},
		{"/sitemap.xml", "application/xml; charset=utf-8", -1},
		{"/robots.txt", "text/plain; charset=utf-8", -1},
		{"/private/secret.html", htmlType, -1},
		{"/news/2024/05/01/10024.html", htmlType, -1},
		{"/news/2024/04/30/10001.html", htmlType, -1},
		{"/gbk/2024/05/01/20001.html", "text/html; charset=GBK", -1},
		{"/gov/xwfb/202405/t20240501_30011.html", htmlType, -1},
		{"/posts/498731210024.html", htmlType, -1},
	} {
		r := get(t, h, c.path)
		mustOK(t, r, c.path, c.ctype)
		if strings.HasPrefix(c.ctype, "text/html") && !strings.Contains(c.ctype, "GBK") &&
			!strings.Contains(r.text(), `<meta charset="utf-8">`) {
			t.Errorf("%s: no <meta charset=\"utf-8\">", c.path)
		}
		if c.links >= 0 {
			if n := len(listLinks(t, r.text())); n != c.links {
				t.Errorf("%s: %d list links, want %d", c.path, n, c.links)
			}
		}
	}
	home := get(t, h, "/").text()
	for _, l := range []string{`href="/news/"`, `href="/gbk/"`, `href="/gov/"`, `href="/rss.xml"`, `href="/atom.xml"`, `href="/sitemap.xml"`} {
		if !strings.Contains(home, l) {
			t.Errorf("home page lacks %s", l)
		}
	}
	gov := get(t, h, "/gov/").text()
	for _, l := range []string{`href="/gov/zcjd/"`, `href="/gov/xxgk/"`, `href="/gov/xwfb/"`} {
		if !strings.Contains(gov, l) {
			t.Errorf("/gov/ lacks %s", l)
		}
	}
	if n := len(regexp.MustCompile(`<a href="/gov/(zcjd|xxgk|xwfb)/\d{6}/t\d{8}_\d+\.html"`).FindAllString(gov, -1)); n != 11 {
		t.Errorf("/gov/ links to %d portal pages, want 11", n)
	}
}

func TestNotFound(t *testing.T) {
	h := Handler(clock(fixed))
	for _, p := range []string{
		"/nothing", "/news/index_1.html", "/news/index_4.html", "/news/index_02.html",
		"/news/2024/05/01/99999.html", "/news/2024/05/01/20001.html", "/gbk/2024/05/01/10024.html",
		"/gov/zcjd/202405/t20240501_30011.html", "/gov/zcjd/202405/t20240501_10024.html", "/gov/abc/",
		"/private/", "/news/2024/05/01/10024.htm", "/posts/1.html", "/feed", "/api/other",
	} {
		if r := get(t, h, p); r.code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, r.code)
		}
	}
	for _, p := range []string{"/news", "/gov", "/gov/zcjd", "/gbk"} {
		r := get(t, h, p)
		if r.code != http.StatusMovedPermanently || r.hdr.Get("Location") != p+"/" {
			t.Errorf("%s: %d to %q, want 301 to %s/", p, r.code, r.hdr.Get("Location"), p)
		}
	}
	if r := do(t, h, http.MethodPost, "/news/"); r.code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", r.code)
	}
	if r := do(t, h, http.MethodHead, "/news/"); r.code != http.StatusOK || len(r.body) != 0 {
		t.Errorf("HEAD: status %d, %d bytes", r.code, len(r.body))
	}
}

func TestNewsPagination(t *testing.T) {
	h := Handler(clock(fixed))
	seen := map[string]int{}
	var order []string
	pages := 0
	for next := "/news/"; next != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		r := get(t, h, next)
		mustOK(t, r, next, "text/html; charset=utf-8")
		page := r.text()
		for _, l := range listLinks(t, page) {
			seen[l]++
			order = append(order, l)
		}
		for _, f := range []string{`<nav class="nav">`, `<footer class="footer">`, "<h3>热门</h3>", `class="hot-list"`} {
			if !strings.Contains(page, f) {
				t.Errorf("%s lacks %s", next, f)
			}
		}
		next = ""
		if m := nextRE.FindStringSubmatch(page); m != nil {
			next = m[1]
		}
	}
	if pages != 3 {
		t.Errorf("%d list pages, want 3", pages)
	}
	if len(seen) != 24 || len(order) != 24 {
		t.Fatalf("%d links, %d distinct, want 24 exactly once", len(order), len(seen))
	}
	var prev time.Time
	for i, l := range order {
		r := get(t, h, l)
		mustOK(t, r, l, "text/html; charset=utf-8")
		e := newsEntries[i]
		p := parseArticle(t, r.text(), false)
		if p.title != e.title || p.source != e.source || p.author != e.author || p.body != strings.Join(e.paras, "\n") {
			t.Errorf("%s: got %+v, want article %s", l, p, e.id)
		}
		when, err := time.ParseInLocation(timeLayout, p.when, china)
		if err != nil {
			t.Fatal(err)
		}
		if i > 0 && prev.Sub(when) != 37*time.Minute {
			t.Errorf("%s: published %v, previous %v; want 37 minutes apart, newest first", l, when, prev)
		}
		prev = when
		if !strings.HasSuffix(l, "/"+e.id+".html") || !strings.HasPrefix(l, "/news/"+when.Format("2006/01/02")+"/") {
			t.Errorf("link %s for %s published %v", l, e.id, when)
		}
		for _, f := range []string{"分享到", "相关阅读", "网友评论", "发表评论", "备案号：", `<meta charset="utf-8">`} {
			if !strings.Contains(r.text(), f) {
				t.Errorf("%s lacks %s", l, f)
			}
		}
	}
}

func TestSyndicatedPairs(t *testing.T) {
	h := Handler(clock(fixed))
	v := &view{base: fixed.In(china).Truncate(time.Minute), origin: "http://127.0.0.1:8090"}
	pairs := map[string]string{"10022": "10015", "10017": "10008", "10011": "10003"}
	prefixes := map[string]string{"10022": "转载｜", "10017": "关注：", "10011": "【转载】"}
	for cp, orig := range pairs {
		c, o := entryByID[cp], entryByID[orig]
		if c.copyOf != orig || c.column != "转载" {
			t.Fatalf("%s: copyOf %q column %q", cp, c.copyOf, c.column)
		}
		pc := parseArticle(t, get(t, h, v.path(c)).text(), false)
		po := parseArticle(t, get(t, h, v.path(o)).text(), false)
		if pc.title != prefixes[cp]+po.title {
			t.Errorf("%s title %q, original %q", cp, pc.title, po.title)
		}
		footer := "（来源：临江日报）责任编辑："
		if !strings.HasPrefix(pc.body, po.body+"\n"+footer) || strings.Contains(po.body, footer) {
			t.Errorf("%s body is not the original's plus the footer:\n%s", cp, pc.body)
		}
		if !strings.Contains(get(t, h, v.path(c)).text(), "<span>转载</span>") {
			t.Errorf("%s: breadcrumb does not show the 转载 column", cp)
		}
	}
	n := 0
	for _, e := range newsEntries {
		if e.copyOf != "" {
			n++
			if pairs[e.id] == "" {
				t.Errorf("unexpected copy %s", e.id)
			}
		}
	}
	if n != len(pairs) {
		t.Errorf("%d copies", n)
	}
}

func decodeGBK(t *testing.T, b []byte) string {
	t.Helper()
	s, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(s)
}

func TestGBK(t *testing.T) {
	h := Handler(clock(fixed))
	r := get(t, h, "/gbk/")
	mustOK(t, r, "/gbk/", "text/html; charset=GBK")
	if utf8.Valid(r.body) {
		t.Fatal("/gbk/ is valid UTF-8")
	}
	list := decodeGBK(t, r.body)
	if !strings.Contains(list, `<meta charset="gbk">`) {
		t.Error("/gbk/ lacks <meta charset=\"gbk\">")
	}
	links := listLinks(t, list)
	if len(links) != 3 {
		t.Fatalf("/gbk/ lists %d articles, want 3", len(links))
	}
	for i, l := range links {
		r := get(t, h, l)
		mustOK(t, r, l, "text/html; charset=GBK")
		if utf8.Valid(r.body) {
			t.Errorf("%s is valid UTF-8", l)
		}
		if strings.Contains(string(r.body), gbkEntries[i].title) {
			t.Errorf("%s: UTF-8 title found in GBK bytes", l)
		}
		page := decodeGBK(t, r.body)
		p := parseArticle(t, page, false)
		if p.title != gbkEntries[i].title || p.body != strings.Join(gbkEntries[i].paras, "\n") {
			t.Errorf("%s: title %q body %q", l, p.title, p.body)
		}
		if !strings.Contains(page, `<meta charset="gbk">`) {
			t.Errorf("%s lacks <meta charset=\"gbk\">", l)
		}
	}
}

func TestGov(t *testing.T) {
	h := Handler(clock(fixed))
	want := map[string]int{"zcjd": 4, "xxgk": 4, "xwfb": 3}
	total := 0
	for col, n := range want {
		path := "/gov/" + col + "/"
		links := listLinks(t, get(t, h, path).text())
		if len(links) != n {
			t.Errorf("%s: %d items, want %d", path, len(links), n)
		}
		for _, l := range links {
			total++
			if !strings.HasPrefix(l, path) {
				t.Errorf("%s links to %s", path, l)
			}
			r := get(t, h, l)
			mustOK(t, r, l, "text/html; charset=utf-8")
			p := parseArticle(t, r.text(), true)
			if !strings.HasPrefix(p.source, "临江市人民政府") || p.title == "" || utf8.RuneCountInString(p.body) < 150 {
				t.Errorf("%s: %+v", l, p)
			}
			if !strings.Contains(r.text(), "网站标识码") || !strings.Contains(r.text(), "相关阅读") {
				t.Errorf("%s lacks the portal's furniture", l)
			}
		}
	}
	if total != 11 {
		t.Errorf("%d portal pages, want 11", total)
	}
	v := &view{base: fixed.In(china).Truncate(time.Minute)}
	if p := parseArticle(t, get(t, h, v.path(entryByID["30010"])).text(), true); p.source != "临江市人民政府办公室" {
		t.Errorf("30010 发布机构 %q", p.source)
	}
}

type rssXML struct {
	XMLName xml.Name `xml:"rss"`
	Version string   `xml:"version,attr"`
	Channel struct {
		Title string `xml:"title"`
		Items []struct {
			Title       string `xml:"title"`
			Link        string `xml:"link"`
			Description string `xml:"description"`
			PubDate     string `xml:"pubDate"`
		} `xml:"item"`
	} `xml:"channel"`
}

type atomXML struct {
	XMLName xml.Name `xml:"http://www.w3.org/2005/Atom feed"`
	Entries []struct {
		Title string `xml:"title"`
		Link  struct {
			Href string `xml:"href,attr"`
		} `xml:"link"`
		Updated string `xml:"updated"`
		Summary string `xml:"summary"`
	} `xml:"entry"`
}

type sitemapXML struct {
	XMLName xml.Name `xml:"http://www.sitemaps.org/schemas/sitemap/0.9 urlset"`
	URLs    []struct {
		Loc     string `xml:"loc"`
		LastMod string `xml:"lastmod"`
	} `xml:"url"`
}

func TestFeeds(t *testing.T) {
	h := Handler(clock(fixed))
	v := &view{base: fixed.In(china).Truncate(time.Minute), origin: "http://127.0.0.1:8090"}

	var rss rssXML
	if err := xml.Unmarshal(get(t, h, "/rss.xml").body, &rss); err != nil {
		t.Fatal(err)
	}
	if rss.Version != "2.0" || len(rss.Channel.Items) != 15 {
		t.Fatalf("RSS %s with %d items", rss.Version, len(rss.Channel.Items))
	}
	for i, it := range rss.Channel.Items {
		e := newsEntries[i]
		when, err := time.Parse(time.RFC1123Z, it.PubDate)
		if err != nil || !when.Equal(v.time(e)) || !strings.HasSuffix(it.PubDate, "+0800") {
			t.Errorf("RSS item %d pubDate %q: %v", i, it.PubDate, err)
		}
		if it.Title != e.title || it.Link != v.url(v.path(e)) || it.Description == "" || utf8.RuneCountInString(it.Description) > 81 {
			t.Errorf("RSS item %d: %+v", i, it)
		}
		if r := get(t, h, it.Link); r.code != http.StatusOK {
			t.Errorf("RSS link %s: %d", it.Link, r.code)
		}
	}

	var atom atomXML
	if err := xml.Unmarshal(get(t, h, "/atom.xml").body, &atom); err != nil {
		t.Fatal(err)
	}
	if len(atom.Entries) != 15 {
		t.Fatalf("Atom has %d entries", len(atom.Entries))
	}
	for i, en := range atom.Entries {
		e := newsEntries[i]
		when, err := time.Parse(time.RFC3339, en.Updated)
		if err != nil || !when.Equal(v.time(e)) || en.Title != e.title || en.Link.Href != v.url(v.path(e)) || en.Summary == "" {
			t.Errorf("Atom entry %d: %+v (%v)", i, en, err)
		}
	}

	var sm sitemapXML
	if err := xml.Unmarshal(get(t, h, "/sitemap.xml").body, &sm); err != nil {
		t.Fatal(err)
	}
	if len(sm.URLs) != 24+3+11 {
		t.Fatalf("sitemap has %d URLs, want 38", len(sm.URLs))
	}
	locs := map[string]bool{}
	for _, u := range sm.URLs {
		if _, err := time.Parse(time.RFC3339, u.LastMod); err != nil {
			t.Errorf("sitemap lastmod %q: %v", u.LastMod, err)
		}
		if locs[u.Loc] {
			t.Errorf("sitemap repeats %s", u.Loc)
		}
		locs[u.Loc] = true
		if r := get(t, h, u.Loc); r.code != http.StatusOK {
			t.Errorf("sitemap URL %s: %d", u.Loc, r.code)
		}
	}
}

// TestEscaping feeds a hostile Host header through the pages that print it.
func TestEscaping(t *testing.T) {
	h := Handler(clock(fixed))
	host := `a&b<"c>`
	for _, p := range []string{"/rss.xml", "/atom.xml", "/sitemap.xml"} {
		r := get(t, h, p, "Host", host)
		var anyDoc struct {
			XMLName xml.Name
		}
		if err := xml.Unmarshal(r.body, &anyDoc); err != nil {
			t.Errorf("%s with host %q: %v", p, host, err)
		}
		if strings.Contains(r.text(), host) {
			t.Errorf("%s prints the host unescaped", p)
		}
	}
	v := &view{base: fixed.In(china).Truncate(time.Minute)}
	r := get(t, h, v.path(newsEntries[0]), "Host", host)
	if strings.Contains(r.text(), host) || !strings.Contains(r.text(), html.EscapeString(host)) {
		t.Error("article page does not escape the host in its canonical link")
	}
	// Titles with quotes survive the round trip through attributes.
	if !strings.Contains(get(t, h, "/news/").text(), `title="网传“临江大桥出现裂缝即将封闭”系谣言`) {
		t.Error("title attribute missing")
	}
}

type apiResp struct {
	Data struct {
		List []struct {
			Mid       string `json:"mid"`
			Content   string `json:"content"`
			CreatedAt int64  `json:"created_at"`
			User      struct {
				Name     string `json:"name"`
				Location string `json:"location"`
			} `json:"user"`
			URL string `json:"url"`
		} `json:"list"`
		Next *string `json:"next"`
	} `json:"data"`
}

func TestAPI(t *testing.T) {
	h := Handler(clock(fixed))
	for _, auth := range []string{"", "Bearer wrong", "demo-token", "Basic demo-token"} {
		r := get(t, h, "/api/posts", "Authorization", auth)
		var e struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if r.code != http.StatusUnauthorized || r.hdr.Get("Content-Type") != "application/json; charset=utf-8" ||
			json.Unmarshal(r.body, &e) != nil || e.Error.Code != 401 || e.Error.Message == "" {
			t.Errorf("Authorization %q: %d %s", auth, r.code, r.body)
		}
	}
	if r := get(t, h, "/api/posts?cursor=bogus", "Authorization", "Bearer demo-token"); r.code != http.StatusBadRequest {
		t.Errorf("bad cursor: %d", r.code)
	}

	var mids []string
	seen := map[string]bool{}
	cursor, pages := "", 0
	var last int64
	for {
		target := "/api/posts"
		if cursor != "" {
			target += "?cursor=" + url.QueryEscape(cursor)
		}
		r := get(t, h, target, "Authorization", "Bearer demo-token")
		mustOK(t, r, target, "application/json; charset=utf-8")
		var page apiResp
		if err := json.Unmarshal(r.body, &page); err != nil {
			t.Fatal(err)
		}
		pages++
		if page.Data.Next != nil && len(page.Data.List) != 8 {
			t.Errorf("page %d has %d items, want 8", pages, len(page.Data.List))
		}
		for _, p := range page.Data.List {
			if seen[p.Mid] || p.Content == "" || p.User.Name == "" || p.User.Location == "" {
				t.Errorf("post %+v", p)
			}
			if last != 0 && p.CreatedAt >= last {
				t.Errorf("post %s at %d not older than %d", p.Mid, p.CreatedAt, last)
			}
			last = p.CreatedAt
			seen[p.Mid] = true
			mids = append(mids, p.Mid)
			if r := get(t, h, p.URL); r.code != http.StatusOK || !strings.Contains(r.text(), html.EscapeString(p.Content)) {
				t.Errorf("post page %s: %d", p.URL, r.code)
			}
		}
		if page.Data.Next == nil {
			if !strings.Contains(r.text(), `"next":null`) {
				t.Errorf("last page: %s", r.body)
			}
			break
		}
		if _, err := strconv.Atoi(*page.Data.Next); err == nil || *page.Data.Next == "" {
			t.Errorf("cursor %q is not opaque", *page.Data.Next)
		}
		cursor = *page.Data.Next
		if pages > 10 {
			t.Fatal("API paging does not end")
		}
	}
	if pages != 3 || len(mids) != 24 {
		t.Errorf("%d pages, %d posts; want 3 and 24", pages, len(mids))
	}
	first := newsEntries[0]
	var page apiResp
	json.Unmarshal(get(t, h, "/api/posts", "Authorization", "Bearer demo-token").body, &page)
	p := page.Data.List[0]
	if !strings.HasPrefix(p.Content, "今天上午，不少江北区西湖街道居民在网上反映") || !strings.HasSuffix(p.Content, remarks[0]) {
		t.Errorf("first post %q not derived from %s", p.Content, first.id)
	}
	if want := fixed.Truncate(time.Minute).Add(-9 * time.Minute).UnixMilli(); p.CreatedAt != want {
		t.Errorf("created_at %d, want %d", p.CreatedAt, want)
	}
}

func TestConditional(t *testing.T) {
	h := Handler(clock(fixed))
	v := &view{base: fixed.In(china).Truncate(time.Minute)}
	for _, p := range []string{"/", "/news/", "/news/index_2.html", "/news/index_3.html", "/gbk/", "/gov/", "/gov/zcjd/",
		"/gov/xxgk/", "/gov/xwfb/", "/rss.xml", "/atom.xml", "/sitemap.xml", "/robots.txt", v.path(newsEntries[3])} {
		r := get(t, h, p)
		etag, lm := r.hdr.Get("ETag"), r.hdr.Get("Last-Modified")
		if etag == "" || lm == "" {
			t.Errorf("%s: ETag %q Last-Modified %q", p, etag, lm)
			continue
		}
		mod, err := http.ParseTime(lm)
		if err != nil {
			t.Fatal(err)
		}
		if r := get(t, h, p, "If-None-Match", etag); r.code != http.StatusNotModified || len(r.body) != 0 {
			t.Errorf("%s If-None-Match: %d", p, r.code)
		}
		if r := get(t, h, p, "If-None-Match", `"other"`); r.code != http.StatusOK {
			t.Errorf("%s If-None-Match other: %d", p, r.code)
		}
		if r := get(t, h, p, "If-Modified-Since", lm); r.code != http.StatusNotModified {
			t.Errorf("%s If-Modified-Since: %d", p, r.code)
		}
		if r := get(t, h, p, "If-Modified-Since", mod.Add(-time.Minute).Format(http.TimeFormat)); r.code != http.StatusOK {
			t.Errorf("%s If-Modified-Since earlier: %d", p, r.code)
		}
	}
	// Last-Modified is the newest article's time.
	for p, want := range map[string]time.Time{
		"/news/":             v.time(newsEntries[0]),
		"/news/index_2.html": v.time(newsEntries[10]),
		"/rss.xml":           v.base,
		"/sitemap.xml":       v.base,
		"/gov/zcjd/":         v.time(entryByID["30010"]),
	} {
		if got, _ := http.ParseTime(get(t, h, p).hdr.Get("Last-Modified")); !got.Equal(want) {
			t.Errorf("%s Last-Modified %v, want %v", p, got, want)
		}
	}
	// A new article time means a new ETag.
	later := Handler(clock(fixed.Add(time.Hour)))
	if get(t, h, "/rss.xml").hdr.Get("ETag") == get(t, later, "/rss.xml").hdr.Get("ETag") {
		t.Error("ETag does not change with the content")
	}
}

func TestRobots(t *testing.T) {
	h := Handler(clock(fixed))
	r := get(t, h, "/robots.txt")
	want := "User-agent: *\nDisallow: /private/\n\nSitemap: http://127.0.0.1:8090/sitemap.xml\n"
	if r.text() != want {
		t.Errorf("robots.txt:\n%s", r.body)
	}
	if r := get(t, h, "/private/secret.html"); r.code != http.StatusOK || !strings.Contains(r.text(), "内部资料") {
		t.Errorf("/private/secret.html: %d", r.code)
	}
}

func TestTimesMoveWithNow(t *testing.T) {
	// 23:50:30 China time on 1 May, then a day and 20 minutes later.
	t1 := time.Date(2024, 5, 1, 23, 50, 30, 0, china)
	t2 := t1.Add(24*time.Hour + 20*time.Minute)
	h1, h2 := Handler(clock(t1)), Handler(clock(t2))

	l1 := listLinks(t, get(t, h1, "/news/").text())[0]
	l2 := listLinks(t, get(t, h2, "/news/").text())[0]
	if l1 != "/news/2024/05/01/10024.html" || l2 != "/news/2024/05/03/10024.html" {
		t.Fatalf("newest article at %s, then %s", l1, l2)
	}
	p1 := parseArticle(t, get(t, h1, l1).text(), false)
	p2 := parseArticle(t, get(t, h2, l2).text(), false)
	if p1.when != "2024-05-01 23:50" || p2.when != "2024-05-03 00:10" {
		t.Errorf("times %s and %s", p1.when, p2.when)
	}
	// Article 2 (74 minutes older) is on the previous day for the first clock.
	if l := listLinks(t, get(t, h1, "/news/").text())[2]; l != "/news/2024/05/01/10022.html" {
		t.Errorf("third article at %s", l)
	}
	if l := listLinks(t, get(t, h1, "/news/index_3.html").text())[3]; l != "/news/2024/05/01/10001.html" {
		// 23 × 37 min = 14 h 11 min before 23:50
		t.Errorf("oldest article at %s", l)
	}
	// An old address redirects to the current one.
	r := get(t, h2, l1)
	if r.code != http.StatusMovedPermanently || r.hdr.Get("Location") != l2 {
		t.Errorf("old address: %d to %q", r.code, r.hdr.Get("Location"))
	}
	// UTC clocks are shown in China time.
	h3 := Handler(clock(time.Date(2024, 5, 1, 16, 5, 59, 0, time.UTC)))
	if p := parseArticle(t, get(t, h3, "/news/2024/05/02/10024.html").text(), false); p.when != "2024-05-02 00:05" {
		t.Errorf("UTC clock shown as %s", p.when)
	}
	var rss1, rss2 rssXML
	xml.Unmarshal(get(t, h1, "/rss.xml").body, &rss1)
	xml.Unmarshal(get(t, h2, "/rss.xml").body, &rss2)
	if rss1.Channel.Items[0].PubDate != "Wed, 01 May 2024 23:50:00 +0800" || rss2.Channel.Items[0].PubDate != "Fri, 03 May 2024 00:10:00 +0800" {
		t.Errorf("RSS pubDates %s, %s", rss1.Channel.Items[0].PubDate, rss2.Channel.Items[0].PubDate)
	}
	// A nil clock is the wall clock.
	if r := get(t, Handler(nil), "/news/"); r.code != http.StatusOK {
		t.Errorf("nil clock: %d", r.code)
	}
}

// TestServer runs the site on a real listener, as `yuqing demo-site` will.
func TestServer(t *testing.T) {
	srv := httptest.NewServer(Handler(clock(fixed)))
	defer srv.Close()
	client := srv.Client()
	defer client.CloseIdleConnections()

	res, err := client.Get(srv.URL + "/rss.xml")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var rss rssXML
	if err := xml.Unmarshal(body, &rss); err != nil || len(rss.Channel.Items) != 15 {
		t.Fatalf("RSS over HTTP: %v, %d items", err, len(rss.Channel.Items))
	}
	if !strings.HasPrefix(rss.Channel.Items[0].Link, srv.URL+"/news/") {
		t.Errorf("feed link %s is not on %s", rss.Channel.Items[0].Link, srv.URL)
	}
	req, _ := http.NewRequest(http.MethodGet, rss.Channel.Items[0].Link, nil)
	req.Header.Set("If-None-Match", "")
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Errorf("article over HTTP: %d", res.StatusCode)
	}
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/news/", nil)
	req.Header.Set("If-Modified-Since", fixed.Add(time.Hour).Format(http.TimeFormat))
	res, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("conditional over HTTP: %d", res.StatusCode)
	}
}
