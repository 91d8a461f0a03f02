package crawler

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/text/encoding/simplifiedchinese"

	"yuqing/crawler/dedup"
	"yuqing/domain"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// site is a local news site for the tests: fixed pages by path, counted hits.
type site struct {
	t     testing.TB
	mu    sync.Mutex
	pages map[string]page
	hits  map[string]int
	srv   *httptest.Server
}

type page struct {
	ctype  string
	body   []byte
	status int
	header map[string]string
	fn     http.HandlerFunc // overrides the rest
}

func newSite(t testing.TB) *site {
	s := &site{t: t, pages: map[string]page{}, hits: map[string]int{}}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.RequestURI()
		s.mu.Lock()
		s.hits[key]++
		p, ok := s.pages[key]
		if !ok {
			p, ok = s.pages[r.URL.Path]
		}
		if !ok { // a folder's handler serves what is under it
			if i := strings.LastIndex(r.URL.Path, "/"); i > 0 {
				p, ok = s.pages[r.URL.Path[:i+1]]
			}
		}
		s.mu.Unlock()
		switch {
		case !ok:
			http.NotFound(w, r)
		case p.fn != nil:
			p.fn(w, r)
		default:
			for k, v := range p.header {
				w.Header().Set(k, v)
			}
			if p.ctype != "" {
				w.Header().Set("Content-Type", p.ctype)
			}
			if p.status != 0 {
				w.WriteHeader(p.status)
			}
			_, _ = w.Write(p.body)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

func (s *site) set(path, ctype string, body []byte) { s.setPage(path, page{ctype: ctype, body: body}) }
func (s *site) setPage(path string, p page) {
	s.mu.Lock()
	s.pages[path] = p
	s.mu.Unlock()
}
func (s *site) html(path, body string) { s.set(path, "text/html; charset=utf-8", []byte(body)) }
func (s *site) url(path string) string { return s.srv.URL + path }
func (s *site) hit(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// articleHTML is a news page with furniture around the article.
func articleHTML(title, when, body string) string {
	var paras strings.Builder
	for _, p := range strings.Split(body, "\n") {
		paras.WriteString("<p>" + p + "</p>\n")
	}
	return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>` + title + `_地方新闻网</title></head><body>
<div class="nav"><a href="/">首页</a><a href="/news/">新闻</a><a href="/gov/">政务</a></div>
<div class="article"><h1>` + title + `</h1><div class="info">发布时间：` + when + ` 来源：地方新闻网</div>
<div class="content">` + paras.String() + `</div></div>
<div class="share">分享到：微博 微信</div><div class="footer">版权所有 地方新闻网 备案号 浙ICP备00000000号</div></body></html>`
}

var bodies = []string{
	"宁波市江北区某小区居民反映，连续三天自来水出现浑浊发黄现象，部分居民出现腹泻症状。\n区水务部门已派出工作人员对小区二次供水设施进行检测，并为居民临时送上桶装水。\n截至记者发稿时，检测结果尚未公布，居民希望有关部门尽快查明原因并公开说明。",
	"杭州市西湖区一所小学门口的道路改造工程已持续两个月，接送孩子的家长反映交通拥堵严重。\n施工方表示，工程因地下管线迁改延误，预计下月底完工，期间将增派交通协管员疏导。\n教育部门提醒家长错峰接送，并在学校周边设置临时停车点。",
	"温州市一家食品加工厂被曝使用过期原料生产月饼，市场监管部门已连夜查封涉事厂房。\n执法人员现场查扣成品和原料共计三吨，相关产品已下架召回。\n市场监管局表示，将依法从严查处，并向社会公布调查处理结果。",
	"绍兴市柯桥区突降暴雨，部分路段积水超过半米，多辆汽车在低洼处熄火。\n应急管理部门启动防汛四级应急响应，组织抢险队伍排水并转移低洼地带群众。\n气象部门预计未来两天仍有强降雨，提醒市民减少外出。",
}

func newCrawler(t testing.TB, st *State, sink Sink, opt FetchOptions) *Crawler {
	t.Helper()
	if opt.AllowPrivate == nil {
		opt.AllowPrivate = []string{"127.0.0.1/8"}
	}
	opt.Backoff = 10 * time.Millisecond
	f, err := NewFetcher(opt, HostLimit{Glob: "*", Parallelism: 4})
	if err != nil {
		t.Fatal(err)
	}
	return &Crawler{Fetcher: f, State: st, Sink: sink}
}

func openState(t testing.TB, dir string) *State {
	t.Helper()
	st, err := OpenState(filepath.Join(dir, "crawler.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// collect is a Sink that keeps what it is given.
type collect struct {
	mu    sync.Mutex
	posts []domain.Post
	fail  error
}

func (c *collect) Emit(_ context.Context, posts []domain.Post) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.posts = append(c.posts, posts...)
	return nil
}

func src(name, typ, u string) *Source {
	s := &Source{Name: name, Type: typ, URL: u, Region: "浙江省"}
	s.Limits = Limits{}.or(builtinLimits)
	s.Delay = ptr(time.Duration(0))
	s.MaxAge = 100 * 365 * 24 * time.Hour // the fixtures are dated 2024
	return s
}

// listSite serves a two-page list of the four articles.
func listSite(t testing.TB) *site {
	s := newSite(t)
	list := func(from, to int, next string) string {
		var b strings.Builder
		b.WriteString(`<html><head><meta charset="utf-8"><title>新闻列表</title></head><body><div class="nav"><a href="/">首页</a><a href="/about.html">关于我们</a></div><ul class="list">`)
		for i := from; i < to; i++ {
			fmt.Fprintf(&b, `<li><a href="/news/2024/05/0%d/art%d.html?utm_source=list#top">%s</a><span>2024-05-0%d</span></li>`, i+1, i, strings.Split(bodies[i], "，")[0], i+1)
		}
		b.WriteString(`</ul>`)
		if next != "" {
			b.WriteString(`<div class="page"><a href="` + next + `">下一页</a></div>`)
		}
		b.WriteString(`<div class="footer"><a href="/sitemap.html">网站地图</a></div></body></html>`)
		return b.String()
	}
	s.html("/news/", list(0, 2, "/news/index_2.html"))
	s.html("/news/index_2.html", list(2, 4, ""))
	for i, body := range bodies {
		title := strings.Split(body, "，")[0]
		s.html(fmt.Sprintf("/news/2024/05/0%d/art%d.html", i+1, i), articleHTML(title, fmt.Sprintf("2024-05-0%d 10:3%d", i+1, i), body))
	}
	return s
}

func TestListToArticles(t *testing.T) {
	s := listSite(t)
	out := &collect{}
	c := newCrawler(t, openState(t, t.TempDir()), out, FetchOptions{})
	res := c.RunOnce(context.Background(), src("本地新闻", TypeHTML, s.url("/news/")))
	if res.Failed || res.New != 4 || len(out.posts) != 4 {
		t.Fatalf("new = %d, posts = %d, errors %v", res.New, len(out.posts), res.Errors)
	}
	for i, p := range out.posts {
		if !strings.Contains(p.Text, strings.Split(bodies[i], "\n")[1]) {
			t.Errorf("post %d text = %q", i, p.Text)
		}
		if strings.Contains(p.Text, "版权所有") || strings.Contains(p.Text, "分享到") {
			t.Errorf("post %d kept page furniture: %q", i, p.Text)
		}
		if strings.Contains(p.URL, "#") || !strings.HasPrefix(p.URL, s.url("/news/2024/")) {
			t.Errorf("post %d url: %s", i, p.URL)
		}
		if canon, _ := dedup.Canonical(p.URL); p.ID != (&domain.Post{URL: canon}).DeriveID() {
			t.Errorf("post %d: id not derived from the canonical URL", i)
		}
		want := time.Date(2024, 5, i+1, 10, 30+i, 0, 0, china)
		if !p.PublishedAt.Equal(want) {
			t.Errorf("post %d published %s, want %s", i, p.PublishedAt, want)
		}
		if p.Source != "本地新闻" || p.Region != "浙江省" || p.ID == "" || p.Title == "" {
			t.Errorf("post %d = %+v", i, p)
		}
	}
}

func TestRestartDoesNotReEmitOrRefetch(t *testing.T) {
	s := listSite(t)
	dir := t.TempDir()
	st, err := OpenState(filepath.Join(dir, "crawler.db"))
	if err != nil {
		t.Fatal(err)
	}
	out := &collect{}
	res := newCrawler(t, st, out, FetchOptions{}).RunOnce(context.Background(), src("本地新闻", TypeHTML, s.url("/news/")))
	if res.New != 4 {
		t.Fatalf("first run new = %d (%v)", res.New, res.Errors)
	}
	st.Close()
	// a new process: new state handle, new crawler
	out2 := &collect{}
	res = newCrawler(t, openState(t, dir), out2, FetchOptions{}).RunOnce(context.Background(), src("本地新闻", TypeHTML, s.url("/news/")))
	if res.New != 0 || len(out2.posts) != 0 || res.Seen != 2 {
		t.Fatalf("after restart new = %d, seen = %d, posts %d, errors %v", res.New, res.Seen, len(out2.posts), res.Errors)
	}
	if n := s.hit("/news/2024/05/01/art0.html?utm_source=list"); n != 1 {
		t.Errorf("article fetched %d times, want 1", n)
	}
	if n := s.hit("/news/index_2.html"); n != 1 {
		t.Errorf("page 2 fetched %d times: a fully seen first page should stop the paging", n)
	}
}

func TestSinkFailureEmitsAgainNextRun(t *testing.T) {
	s := listSite(t)
	st := openState(t, t.TempDir())
	out := &collect{fail: errors.New("bus down")}
	c := newCrawler(t, st, out, FetchOptions{})
	res := c.RunOnce(context.Background(), src("本地新闻", TypeHTML, s.url("/news/")))
	if !res.Failed || res.New != 0 {
		t.Fatalf("failed=%v new=%d", res.Failed, res.New)
	}
	out.fail = nil
	res = c.RunOnce(context.Background(), src("本地新闻", TypeHTML, s.url("/news/")))
	if res.New != 4 {
		t.Fatalf("after the sink recovered new = %d (%v): nothing may be lost", res.New, res.Errors)
	}
}

func TestConditionalListRequests(t *testing.T) {
	s := listSite(t)
	var conditional atomic.Int32
	s.setPage("/feed.xml", page{fn: func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Content-Type", "application/rss+xml")
		fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>t</title>
<item><title>小区自来水浑浊</title><link>%s</link><description>简讯</description></item></channel></rss>`, s.url("/news/2024/05/01/art0.html"))
	}})
	c := newCrawler(t, openState(t, t.TempDir()), &collect{}, FetchOptions{})
	feed := src("订阅", TypeFeed, s.url("/feed.xml"))
	if res := c.RunOnce(context.Background(), feed); res.New != 1 {
		t.Fatalf("first run new = %d (%v)", res.New, res.Errors)
	}
	res := c.RunOnce(context.Background(), feed)
	if res.NotModified != 1 || conditional.Load() != 1 || res.Failed {
		t.Fatalf("second run: not modified %d, conditional %d, failed %v", res.NotModified, conditional.Load(), res.Failed)
	}
}

func TestFeedFetchesFullArticles(t *testing.T) {
	s := listSite(t)
	var items strings.Builder
	for i := range bodies {
		fmt.Fprintf(&items, `<item><title><![CDATA[%s]]></title><link>%s</link><description><![CDATA[<p>摘要<script>alert(1)</script></p>]]></description><pubDate>Wed, 0%d May 2024 02:00:00 GMT</pubDate></item>`,
			strings.Split(bodies[i], "，")[0], s.url(fmt.Sprintf("/news/2024/05/0%d/art%d.html", i+1, i)), i+1)
	}
	s.set("/rss.xml", "application/rss+xml", []byte(`<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>本地新闻</title>`+items.String()+`</channel></rss>`))
	out := &collect{}
	c := newCrawler(t, openState(t, t.TempDir()), out, FetchOptions{})
	res := c.RunOnce(context.Background(), src("订阅", TypeFeed, s.url("/rss.xml")))
	if res.New != 4 {
		t.Fatalf("new = %d (%v)", res.New, res.Errors)
	}
	for i, p := range out.posts {
		if !strings.Contains(p.Text, strings.Split(bodies[i], "\n")[2]) || strings.Contains(p.Text, "alert") {
			t.Errorf("post %d text = %q", i, p.Text)
		}
		if want := time.Date(2024, 5, i+1, 2, 0, 0, 0, time.UTC); !p.PublishedAt.Equal(want) {
			t.Errorf("post %d: the feed's time should win: %s", i, p.PublishedAt)
		}
	}
}

func TestJSONPagingWithCursor(t *testing.T) {
	s := newSite(t)
	s.setPage("/api/posts", page{fn: func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer licensed" {
			http.Error(w, "unauthorised", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Query().Get("cursor") {
		case "":
			fmt.Fprint(w, `{"data":{"list":[{"mid":1001,"content":"宁波某小区自来水发黄，居民担心健康问题","ts":1714500000000,"user":{"name":"甬城网友"}},{"mid":1002,"content":"第二条：学校门口道路改造拥堵","ts":1714500060000,"user":{"name":"杭州家长"}}],"next":"c2"}}`)
		case "c2":
			fmt.Fprint(w, `{"data":{"list":[{"mid":1003,"content":"第三条：月饼使用过期原料","ts":1714500120000,"user":{"name":"温州市民"}}],"next":null}}`)
		default:
			http.Error(w, "bad cursor", 400)
		}
	}})
	sc := src("授权接口", TypeJSON, s.url("/api/posts"))
	sc.Headers = map[string]string{"Authorization": "Bearer licensed"}
	sc.JSON.Items, sc.JSON.Cursor, sc.JSON.CursorParam = "data.list", "data.next", "cursor"
	sc.JSON.Fields = map[string]string{"id": "mid", "text": "content", "published_at": "ts", "author": "user.name"}
	out := &collect{}
	c := newCrawler(t, openState(t, t.TempDir()), out, FetchOptions{})
	res := c.RunOnce(context.Background(), sc)
	if res.New != 3 || res.Pages != 2 {
		t.Fatalf("new = %d pages = %d (%v)", res.New, res.Pages, res.Errors)
	}
	if p := out.posts[0]; p.Author.Name != "甬城网友" || !p.PublishedAt.Equal(time.UnixMilli(1714500000000)) || p.ID == "" {
		t.Errorf("first post = %+v", p)
	}
	res = c.RunOnce(context.Background(), sc)
	if res.New != 0 || res.Pages != 1 {
		t.Errorf("second run new = %d pages = %d: a wholly seen page should stop the paging", res.New, res.Pages)
	}
}

func TestEncodings(t *testing.T) {
	s := newSite(t)
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(strings.Replace(articleHTML("温州查封过期原料月饼厂", "2024-05-03 09:00", bodies[2]), `charset="utf-8"`, `charset="gbk"`, 1)))
	if err != nil {
		t.Fatal(err)
	}
	s.set("/gbk.html", "text/html; charset=GBK", gbk)
	// declares gb2312 in the header and the page, but the bytes are UTF-8
	lying := strings.Replace(articleHTML("绍兴暴雨多路段积水", "2024-05-04 18:00", bodies[3]), `charset="utf-8"`, `charset="gb2312"`, 1)
	s.set("/lying.html", "text/html; charset=gb2312", []byte(lying))
	// no declaration at all, GB18030 bytes
	gb, _ := simplifiedchinese.GB18030.NewEncoder().Bytes([]byte(strings.Replace(articleHTML("宁波小区自来水浑浊", "2024-05-01 10:30", bodies[0]), `<meta charset="utf-8">`, "", 1)))
	s.set("/nodecl.html", "text/html", gb)
	s.html("/list.html", `<html><body><ul><li><a href="/gbk.html">温州查封过期原料月饼厂房</a></li><li><a href="/lying.html">绍兴暴雨多路段积水严重</a></li><li><a href="/nodecl.html">宁波小区自来水浑浊发黄</a></li></ul></body></html>`)
	out := &collect{}
	sc := src("编码", TypeHTML, s.url("/list.html"))
	sc.List.Links = "ul a"
	res := newCrawler(t, openState(t, t.TempDir()), out, FetchOptions{}).RunOnce(context.Background(), sc)
	if res.New != 3 {
		t.Fatalf("new = %d (%v)", res.New, res.Errors)
	}
	want := map[string]string{"/gbk.html": "执法人员现场查扣", "/lying.html": "应急管理部门启动防汛", "/nodecl.html": "区水务部门已派出"}
	for _, p := range out.posts {
		for path, w := range want {
			if strings.HasSuffix(p.URL, path) && !strings.Contains(p.Text, w) {
				t.Errorf("%s decoded wrongly: %q", path, p.Text)
			}
		}
	}
}

func TestRobotsTxt(t *testing.T) {
	s := listSite(t)
	s.set("/robots.txt", "text/plain", []byte("User-agent: *\nDisallow: /news/2024/05/02/\n"))
	out := &collect{}
	res := newCrawler(t, openState(t, t.TempDir()), out, FetchOptions{}).RunOnce(context.Background(), src("本地新闻", TypeHTML, s.url("/news/")))
	if res.New != 3 {
		t.Fatalf("new = %d, want 3 (one article disallowed) (%v)", res.New, res.Errors)
	}
	if s.hit("/news/2024/05/02/art1.html") != 0 {
		t.Error("a page disallowed by robots.txt was fetched")
	}
	if !strings.Contains(strings.Join(res.Errors, "\n"), "robots.txt") {
		t.Errorf("errors do not name robots.txt: %v", res.Errors)
	}
}

func TestRetryAfterOn429(t *testing.T) {
	s := listSite(t)
	var calls atomic.Int32
	var first, second time.Time
	s.setPage("/busy.html", page{fn: func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			first = time.Now()
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		second = time.Now()
		fmt.Fprint(w, articleHTML("稍后再来", "2024-05-05 08:00", bodies[1]))
	}})
	c := newCrawler(t, openState(t, t.TempDir()), &collect{}, FetchOptions{})
	p, err := c.Fetcher.Get(context.Background(), Request{URL: s.url("/busy.html")})
	if err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 2 || second.Sub(first) < 900*time.Millisecond || !strings.Contains(string(p.Body), "稍后再来") {
		t.Fatalf("calls %d, waited %s", calls.Load(), second.Sub(first))
	}
	// a Retry-After longer than we wait in one run gives up at once, saying why
	s.setPage("/later.html", page{status: http.StatusServiceUnavailable, header: map[string]string{"Retry-After": "3600"}})
	_, err = c.Fetcher.Get(context.Background(), Request{URL: s.url("/later.html")})
	var se *StatusError
	if !errors.As(err, &se) || se.RetryAfter != time.Hour || s.hit("/later.html") != 1 {
		t.Fatalf("err = %v, hits %d", err, s.hit("/later.html"))
	}
}

func TestSlowServerTimesOut(t *testing.T) {
	s := listSite(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	s.setPage("/slow.html", page{fn: func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}})
	c := newCrawler(t, openState(t, t.TempDir()), &collect{}, FetchOptions{Retries: -1})
	start := time.Now()
	_, err := c.Fetcher.Get(context.Background(), Request{URL: s.url("/slow.html"), Timeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "超时") || time.Since(start) > 5*time.Second {
		t.Fatalf("err = %v after %s", err, time.Since(start))
	}
}

func TestRedirectLoop(t *testing.T) {
	s := newSite(t)
	s.setPage("/a", page{status: http.StatusFound, header: map[string]string{"Location": "/b"}})
	s.setPage("/b", page{status: http.StatusFound, header: map[string]string{"Location": "/a"}})
	c := newCrawler(t, openState(t, t.TempDir()), &collect{}, FetchOptions{})
	_, err := c.Fetcher.Get(context.Background(), Request{URL: s.url("/a")})
	if !errors.Is(err, ErrTooManyRedirs) {
		t.Fatalf("err = %v", err)
	}
	if n := s.hit("/a") + s.hit("/b"); n > 8 {
		t.Errorf("%d requests for a redirect loop", n)
	}
}

func TestEndlessPaginationTrap(t *testing.T) {
	s := newSite(t)
	var n atomic.Int32
	s.setPage("/list", page{fn: func(w http.ResponseWriter, r *http.Request) {
		k := n.Add(1)
		fmt.Fprintf(w, `<html><body><ul><li><a href="/art/%d.html">第%d页的一篇新闻标题文章</a></li></ul><a href="/list?page=%d">下一页</a></body></html>`, k, k, k+1)
	}})
	s.setPage("/art/", page{fn: func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, articleHTML("陷阱中的文章"+r.URL.Path, "2024-05-01 10:00", bodies[0]+r.URL.Path))
	}})
	sc := src("陷阱", TypeHTML, s.url("/list"))
	sc.MaxPages = 4
	res := newCrawler(t, openState(t, t.TempDir()), &collect{}, FetchOptions{}).RunOnce(context.Background(), sc)
	if n.Load() != 4 || res.Pages != 4 {
		t.Fatalf("list pages fetched %d (res %d), want the limit 4", n.Load(), res.Pages)
	}
}

func TestHugePageIsRefusedOthersKept(t *testing.T) {
	s := listSite(t)
	s.setPage("/huge.html", page{fn: func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		chunk := []byte(strings.Repeat("<p>巨大的页面</p>", 1000))
		for written := 0; written < 50<<20; written += len(chunk) {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}})
	s.html("/list.html", `<html><body><ul><li><a href="/huge.html">一个五十兆字节的巨大页面</a></li><li><a href="/news/2024/05/01/art0.html">宁波市江北区某小区居民反映</a></li></ul></body></html>`)
	sc := src("巨页", TypeHTML, s.url("/list.html"))
	sc.List.Links = "ul a"
	sc.MaxBytes = 1 << 20
	res := newCrawler(t, openState(t, t.TempDir()), &collect{}, FetchOptions{}).RunOnce(context.Background(), sc)
	if res.New != 1 || !strings.Contains(strings.Join(res.Errors, "\n"), "大小上限") {
		t.Fatalf("new = %d, errors %v", res.New, res.Errors)
	}
}

func TestBrokenHTML(t *testing.T) {
	s := newSite(t)
	s.html("/list.html", `<html><body><ul><li><a href="/broken.html">残缺页面里的新闻标题<li><a href="/nested.html">层层嵌套页面的新闻标题`)
	s.html("/broken.html", `<html><head><title>残缺页面_新闻网</title><body><div><h1>残缺页面<p>`+strings.ReplaceAll(bodies[0], "\n", "<p>")+`<div><span>未闭合`)
	s.html("/nested.html", "<html><body>"+strings.Repeat("<div>", 5000)+"<h1>层层嵌套</h1><p>"+bodies[1]+"</p>")
	sc := src("残缺", TypeHTML, s.url("/list.html"))
	sc.List.Links = "a"
	out := &collect{}
	res := newCrawler(t, openState(t, t.TempDir()), out, FetchOptions{}).RunOnce(context.Background(), sc)
	if res.New != 2 {
		t.Fatalf("new = %d (%v)", res.New, res.Errors)
	}
	if !strings.Contains(out.posts[0].Text, "区水务部门") || !strings.Contains(out.posts[1].Text, "施工方表示") {
		t.Errorf("texts: %q / %q", out.posts[0].Text, out.posts[1].Text)
	}
}

func TestSyndicatedCopiesAreOneStory(t *testing.T) {
	a, b := newSite(t), newSite(t)
	body := bodies[0] + "\n" + bodies[2]
	a.html("/list.html", `<html><body><ul><li><a href="/a1.html">宁波小区自来水浑浊发黄</a></li></ul></body></html>`)
	a.html("/a1.html", articleHTML("宁波小区自来水浑浊发黄 居民盼查明原因", "2024-05-01 10:30", body))
	b.html("/list.html", `<html><body><ul><li><a href="/b1.html">转载：宁波小区自来水浑浊</a></li><li><a href="/b2.html">绍兴暴雨多路段积水严重</a></li></ul></body></html>`)
	b.html("/b1.html", strings.Replace(articleHTML("宁波一小区自来水发黄", "2024-05-01 11:02", "（转自地方新闻网）\n"+body+"\n责任编辑：王五"), "地方新闻网", "另一家门户", -1))
	b.html("/b2.html", articleHTML("绍兴暴雨多路段积水", "2024-05-04 18:00", bodies[3]))
	out := &collect{}
	c := newCrawler(t, openState(t, t.TempDir()), out, FetchOptions{})
	sa, sb := src("甲网", TypeHTML, a.url("/list.html")), src("乙网", TypeHTML, b.url("/list.html"))
	sa.List.Links, sb.List.Links = "ul a", "ul a"
	if res := c.RunOnce(context.Background(), sa); res.New != 1 {
		t.Fatalf("site A new = %d (%v)", res.New, res.Errors)
	}
	res := c.RunOnce(context.Background(), sb)
	if res.New != 2 || res.Syndicated != 1 {
		t.Fatalf("site B new = %d syndicated = %d (%v)", res.New, res.Syndicated, res.Errors)
	}
	orig, copyOf, other := out.posts[0], out.posts[1], out.posts[2]
	if copyOf.ParentID != orig.ID || copyOf.RootID != orig.ID {
		t.Errorf("the syndicated copy should hang under %s, got parent %q", orig.ID, copyOf.ParentID)
	}
	if other.ParentID != "" {
		t.Errorf("a different story was joined to %s", other.ParentID)
	}
}

func TestPrivateAddressesRefusedUnlessAllowed(t *testing.T) {
	s := listSite(t)
	c := newCrawler(t, openState(t, t.TempDir()), &collect{}, FetchOptions{AllowPrivate: []string{}})
	_, err := c.Fetcher.Get(context.Background(), Request{URL: s.url("/news/")})
	if !errors.Is(err, ErrPrivateAddress) {
		t.Fatalf("err = %v", err)
	}
	if s.hit("/news/") != 0 {
		t.Error("the private address was reached")
	}
	// a host allowed by name may not redirect the crawler to one that is not
	s.setPage("/go", page{status: http.StatusFound, header: map[string]string{"Location": s.url("/news/")}})
	c2 := newCrawler(t, openState(t, t.TempDir()), &collect{}, FetchOptions{AllowPrivate: []string{"localhost"}})
	_, err = c2.Fetcher.Get(context.Background(), Request{URL: strings.Replace(s.url("/go"), "127.0.0.1", "localhost", 1)})
	if !errors.Is(err, ErrPrivateAddress) || s.hit("/go") != 1 || s.hit("/news/") != 0 {
		t.Fatalf("redirect to a private address: err = %v, hits /go %d /news/ %d", err, s.hit("/go"), s.hit("/news/"))
	}
}

func TestPortalColumnsBecomeRecords(t *testing.T) {
	s := newSite(t)
	s.html("/zcjd/", `<html><body><ul class="list"><li><a href="/zcjd/2024/art1.html">关于调整城乡居民医保缴费标准的政策解读</a></li></ul></body></html>`)
	s.html("/xxgk/", `<html><body><ul class="list"><li><a href="/xxgk/2024/art2.html">关于2024年城乡居民医保缴费标准的通知</a></li></ul></body></html>`)
	s.html("/zcjd/2024/art1.html", articleHTML("关于调整城乡居民医保缴费标准的政策解读", "2024-05-06 09:00", "一、调整背景\n根据国家和省有关规定，结合本市实际，调整城乡居民基本医疗保险个人缴费标准。\n二、主要内容\n个人缴费标准每人每年提高三十元。"))
	s.html("/xxgk/2024/art2.html", articleHTML("关于2024年城乡居民医保缴费标准的通知", "2024-05-05 09:00", "各区县（市）医疗保障局：\n现将2024年城乡居民基本医疗保险个人缴费标准通知如下。\n本通知自发布之日起施行。"))
	sc := src("宁波市政府门户", TypePortal, "")
	sc.URL = ""
	sc.Unit = "nb-gov"
	sc.Columns = []Column{{Name: "政策解读", URL: s.url("/zcjd/"), Kind: ColumnInterpretation}, {Name: "信息公开", URL: s.url("/xxgk/"), Kind: ColumnDisclosure}}
	out := &collect{}
	res := newCrawler(t, openState(t, t.TempDir()), out, FetchOptions{}).RunOnce(context.Background(), sc)
	if res.New != 2 {
		t.Fatalf("new = %d (%v)", res.New, res.Errors)
	}
	kinds := map[string]string{}
	for _, p := range out.posts {
		if p.Record == nil || p.Record.UnitID != "nb-gov" {
			t.Fatalf("post %s carries no record: %+v", p.URL, p.Record)
		}
		kinds[p.Title] = p.Record.Kind
	}
	if kinds["关于调整城乡居民医保缴费标准的政策解读"] != domain.RecordInterpretation || kinds["关于2024年城乡居民医保缴费标准的通知"] != domain.RecordDisclosure {
		t.Errorf("kinds = %v", kinds)
	}
}

func TestSelectorsOverrideExtraction(t *testing.T) {
	s := newSite(t)
	s.html("/list.html", `<html><body><div class="items"><a class="t" href="/p/1.html">x</a></div><a class="more" href="/list2.html">更早</a></body></html>`)
	s.html("/list2.html", `<html><body><div class="items"><a class="t" href="/p/2.html">y</a></div></body></html>`)
	page := func(title, when, body string) string {
		return `<html><head><title>站点名称</title></head><body><div id="hd">站点名称 首页 新闻</div>
<span class="headline">` + title + `</span><em class="pub" data-x="1">` + when + `</em><i class="by">记者 李四</i>
<section class="txt"><p>` + strings.ReplaceAll(body, "\n", "</p><p>") + `</p><script>var x = "不要";</script></section>
<div class="related"><p>相关阅读：另一条很长很长的新闻标题，与本文无关，但是文字很多很多很多很多很多很多很多很多很多很多。</p></div></body></html>`
	}
	s.html("/p/1.html", page("选择器指定的标题一", "2024年5月7日 08:15", bodies[0]))
	s.html("/p/2.html", page("选择器指定的标题二", "2024-05-06 07:00", bodies[1]))
	sc := src("选择器", TypeHTML, s.url("/list.html"))
	sc.List.Links, sc.List.Next = "div.items a.t", "a.more"
	sc.Article = Selectors{Title: ".headline", Time: ".pub", Author: ".by", Body: "section.txt"}
	out := &collect{}
	res := newCrawler(t, openState(t, t.TempDir()), out, FetchOptions{}).RunOnce(context.Background(), sc)
	if res.New != 2 {
		t.Fatalf("new = %d (%v)", res.New, res.Errors)
	}
	p := out.posts[0]
	if p.Title != "选择器指定的标题一" || p.Author.Name != "记者 李四" || !p.PublishedAt.Equal(time.Date(2024, 5, 7, 8, 15, 0, 0, china)) {
		t.Errorf("post = %q %q %s", p.Title, p.Author.Name, p.PublishedAt)
	}
	if !strings.HasPrefix(p.Text, "宁波市江北区") || strings.Contains(p.Text, "相关阅读") || strings.Contains(p.Text, "不要") {
		t.Errorf("text = %q", p.Text)
	}
}

func TestJSONPageNumbers(t *testing.T) {
	s := newSite(t)
	s.setPage("/api", page{fn: func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Query().Get("p")
		switch p {
		case "1", "2":
			fmt.Fprintf(w, `[{"id":"%s-a","title":"第%s页第一条新闻","link":"/n/%s-a"},{"id":"%s-b","title":"第%s页第二条新闻","link":"/n/%s-b"}]`, p, p, p, p, p, p)
		default:
			fmt.Fprint(w, `[]`)
		}
	}})
	sc := src("分页接口", TypeJSON, s.url("/api"))
	sc.JSON.PageParam = "p"
	sc.JSON.Fields = map[string]string{"id": "id", "title": "title", "url": "link"}
	sc.FetchArticles = "never"
	out := &collect{}
	res := newCrawler(t, openState(t, t.TempDir()), out, FetchOptions{}).RunOnce(context.Background(), sc)
	if res.New != 4 || res.Pages != 3 {
		t.Fatalf("new = %d, pages = %d (%v)", res.New, res.Pages, res.Errors)
	}
	if out.posts[0].URL != s.url("/n/1-a") || out.posts[0].Text != "第1页第一条新闻" {
		t.Errorf("relative link or title-only text: %+v", out.posts[0])
	}
}

func TestValidatorsKeptOnlyAfterEmitting(t *testing.T) {
	s := listSite(t)
	s.setPage("/feed.xml", page{fn: func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("If-None-Match") == `"v1"` {
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		fmt.Fprintf(w, `<rss version="2.0"><channel><item><title>小区自来水浑浊</title><link>%s</link></item></channel></rss>`, s.url("/news/2024/05/01/art0.html"))
	}})
	out := &collect{fail: errors.New("bus down")}
	c := newCrawler(t, openState(t, t.TempDir()), out, FetchOptions{})
	feed := src("订阅", TypeFeed, s.url("/feed.xml"))
	if res := c.RunOnce(context.Background(), feed); !res.Failed {
		t.Fatal("the sink failure should fail the run")
	}
	out.fail = nil
	if res := c.RunOnce(context.Background(), feed); res.New != 1 || res.NotModified != 0 {
		t.Fatalf("after the sink recovered: new %d, not modified %d: a 304 hid the item", res.New, res.NotModified)
	}
	if res := c.RunOnce(context.Background(), feed); res.NotModified != 1 {
		t.Fatalf("third run: not modified %d", res.NotModified)
	}
}

func TestSitemapIndexChildrenFollowedEveryRun(t *testing.T) {
	s := listSite(t)
	var n atomic.Int32
	n.Store(1)
	s.setPage("/sitemap.xml", page{header: map[string]string{"ETag": `"idx"`}, ctype: "application/xml",
		body: []byte(`<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><sitemap><loc>` + s.url("/news-sitemap.xml") + `</loc></sitemap></sitemapindex>`)})
	s.setPage("/news-sitemap.xml", page{fn: func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
		for i := 0; i < int(n.Load()); i++ {
			fmt.Fprintf(w, `<url><loc>%s</loc></url>`, s.url(fmt.Sprintf("/news/2024/05/0%d/art%d.html", i+1, i)))
		}
		fmt.Fprint(w, `</urlset>`)
	}})
	c := newCrawler(t, openState(t, t.TempDir()), &collect{}, FetchOptions{})
	sm := src("站点地图", TypeSitemap, s.url("/sitemap.xml"))
	if res := c.RunOnce(context.Background(), sm); res.New != 1 {
		t.Fatalf("first run new = %d (%v)", res.New, res.Errors)
	}
	n.Store(3)
	if res := c.RunOnce(context.Background(), sm); res.New != 2 {
		t.Fatalf("second run new = %d (%v): the child sitemap changed under an unchanged index", res.New, res.Errors)
	}
}

func TestConcurrentSourcesMakeOneOriginal(t *testing.T) {
	body := bodies[0] + "\n" + bodies[2]
	var sites []*site
	for i := 0; i < 4; i++ {
		s := newSite(t)
		s.html("/list.html", `<html><body><ul><li><a href="/a.html">宁波小区自来水浑浊发黄</a></li></ul></body></html>`)
		s.setPage("/a.html", page{fn: func(w http.ResponseWriter, r *http.Request) {
			time.Sleep(20 * time.Millisecond) // all four are in flight together
			fmt.Fprint(w, articleHTML(fmt.Sprintf("第%d家转载：宁波小区自来水浑浊", i), "2024-05-01 10:30", body))
		}})
		sites = append(sites, s)
	}
	out := &collect{}
	c := newCrawler(t, openState(t, t.TempDir()), out, FetchOptions{})
	var wg sync.WaitGroup
	for i, s := range sites {
		sc := src(fmt.Sprintf("网站%d", i), TypeHTML, s.url("/list.html"))
		sc.List.Links = "ul a"
		wg.Add(1)
		go func() { defer wg.Done(); c.RunOnce(context.Background(), sc) }()
	}
	wg.Wait()
	originals := 0
	for _, p := range out.posts {
		if p.ParentID == "" {
			originals++
		}
	}
	if len(out.posts) != 4 || originals != 1 {
		t.Fatalf("posts %d, originals %d: one story, four sources", len(out.posts), originals)
	}
}

func TestAttachmentsAndGoneArticlesAreSkippedOnce(t *testing.T) {
	s := listSite(t)
	s.set("/files/notice.pdf", "application/pdf", []byte("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj"))
	s.html("/list.html", `<html><body><ul><li><a href="/files/notice.pdf">关于征求意见的通知附件下载</a></li><li><a href="/gone.html">已经删除的一条新闻稿件</a></li><li><a href="/news/2024/05/01/art0.html">宁波小区自来水浑浊发黄</a></li></ul></body></html>`)
	sc := src("附件", TypeHTML, s.url("/list.html"))
	sc.List.Links = "ul a"
	c := newCrawler(t, openState(t, t.TempDir()), &collect{}, FetchOptions{})
	res := c.RunOnce(context.Background(), sc)
	if res.New != 1 || res.Skipped != 2 {
		t.Fatalf("new %d skipped %d (%v)", res.New, res.Skipped, res.Errors)
	}
	c.RunOnce(context.Background(), sc)
	if s.hit("/files/notice.pdf") != 1 || s.hit("/gone.html") != 1 {
		t.Errorf("skipped pages fetched again: pdf %d, gone %d", s.hit("/files/notice.pdf"), s.hit("/gone.html"))
	}
}

func TestGzipBombAndEmptyAnswers(t *testing.T) {
	s := newSite(t)
	var zipped strings.Builder
	zw := gzip.NewWriter(&zipped)
	_, _ = zw.Write(make([]byte, 20<<20)) // 20 MiB of zeros: about 20 KB compressed
	_ = zw.Close()
	s.set("/sitemap.xml.gz", "application/x-gzip", []byte(zipped.String()))
	var empty atomic.Int32
	s.setPage("/empty", page{fn: func(w http.ResponseWriter, r *http.Request) { empty.Add(1); w.WriteHeader(http.StatusNoContent) }})
	c := newCrawler(t, openState(t, t.TempDir()), &collect{}, FetchOptions{})
	_, err := c.Fetcher.Get(context.Background(), Request{URL: s.url("/sitemap.xml.gz"), MaxBytes: 1 << 20})
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("gzip bomb: err = %v", err)
	}
	// an answer without content is an answer: asked once, never retried
	_, err = c.Fetcher.Get(context.Background(), Request{URL: s.url("/empty")})
	if empty.Load() != 1 {
		t.Fatalf("204 asked %d times: %v", empty.Load(), err)
	}
}
