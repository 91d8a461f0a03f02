package demosite

import (
	"fmt"
	"html"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
)

var esc = html.EscapeString

type link struct{ href, text string }

// style is the look of one of the three sites.
type style struct {
	name    string
	home    string
	charset string
	nav     []link
	footer  []string
}

var (
	newsStyle = style{
		name: siteName, home: "/", charset: "utf-8",
		nav: []link{{"/", "首页"}, {"/news/", "新闻"}, {"/gov/", "政务公开"}, {"/gbk/", "临江晚报"}, {"/rss.xml", "RSS订阅"}},
		footer: []string{
			"临江新闻网 版权所有 未经书面授权禁止转载、摘编、复制或建立镜像",
			"地址：临江市江北区滨江路88号 新闻热线：0000-12345678",
			"备案号：临ICP备12345678号-1 临公网安备00000000000001号",
			"违法和不良信息举报电话：0000-12345679 举报邮箱：jubao@example.invalid",
		},
	}
	govStyle = style{
		name: govName, home: "/gov/", charset: "utf-8",
		nav: []link{{"/gov/", "首页"}, {"/gov/zcjd/", "政策解读"}, {"/gov/xxgk/", "信息公开"}, {"/gov/xwfb/", "新闻发布"}, {"/", "临江新闻网"}},
		footer: []string{
			"主办：临江市人民政府办公室 承办：临江市大数据发展管理局",
			"网站标识码：LJ00000001 备案号：临ICP备00000001号 临公网安备00000000000002号",
			"联系电话：0000-12345 （工作日 8:30-17:00）",
		},
	}
	gbkStyle = style{
		name: gbkName, home: "/gbk/", charset: "gbk",
		nav: []link{{"/gbk/", "首页"}, {"/", "临江新闻网"}},
		footer: []string{
			"临江晚报社 版权所有 地址：临江市江北区滨江路86号",
			"备案号：临ICP备12345679号",
		},
	}
)

func styleOf(e *entry) style {
	switch e.section {
	case secGov:
		return govStyle
	case secGBK:
		return gbkStyle
	}
	return newsStyle
}

// open writes the document head and the page header with its nav bar.
func (st style) open(b *strings.Builder, title, desc, head string) {
	fmt.Fprintf(b, "<!DOCTYPE html>\n<html lang=\"zh-CN\">\n<head>\n<meta charset=\"%s\">\n", st.charset)
	b.WriteString("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n")
	fmt.Fprintf(b, "<title>%s</title>\n", esc(title))
	if desc != "" {
		fmt.Fprintf(b, "<meta name=\"description\" content=\"%s\">\n", esc(desc))
	}
	if st.home == "/" {
		b.WriteString("<link rel=\"alternate\" type=\"application/rss+xml\" title=\"临江新闻网 RSS\" href=\"/rss.xml\">\n")
		b.WriteString("<link rel=\"alternate\" type=\"application/atom+xml\" title=\"临江新闻网 Atom\" href=\"/atom.xml\">\n")
	}
	b.WriteString(head)
	b.WriteString("<style>body{font-family:sans-serif;max-width:1000px;margin:auto}.nav li{display:inline;margin-right:1em}.sidebar{float:right;width:28%}.main{float:left;width:68%}.footer{clear:both;color:#666;font-size:12px}</style>\n")
	b.WriteString("</head>\n<body>\n<header class=\"header\">\n")
	fmt.Fprintf(b, "<div class=\"logo\"><a href=\"%s\">%s</a></div>\n", esc(st.home), esc(st.name))
	b.WriteString("<nav class=\"nav\"><ul>")
	for _, l := range st.nav {
		fmt.Fprintf(b, "<li><a href=\"%s\">%s</a></li>", esc(l.href), esc(l.text))
	}
	b.WriteString("</ul></nav>\n<div class=\"search\"><form action=\"/search\"><input name=\"q\" placeholder=\"站内搜索\"><button>搜索</button></form></div>\n</header>\n")
}

// close writes the footer and ends the document.
func (st style) close(b *strings.Builder) {
	b.WriteString("<footer class=\"footer\">\n")
	for _, l := range st.footer {
		fmt.Fprintf(b, "<p>%s</p>\n", esc(l))
	}
	b.WriteString("<p><a href=\"#top\">返回顶部</a></p>\n</footer>\n</body>\n</html>\n")
}

func crumbs(b *strings.Builder, path []link, last string) {
	b.WriteString("<div class=\"breadcrumb\">当前位置：")
	for _, l := range path {
		fmt.Fprintf(b, "<a href=\"%s\">%s</a> &gt; ", esc(l.href), esc(l.text))
	}
	fmt.Fprintf(b, "<span>%s</span></div>\n", esc(last))
}

// sidebar writes the 热门 list of news articles.
func (v *view) sidebar(b *strings.Builder) {
	b.WriteString("<aside class=\"sidebar\">\n<h3>热门</h3>\n<ol class=\"hot-list\">\n")
	for _, id := range hotIDs {
		e := entryByID[id]
		fmt.Fprintf(b, "<li><a href=\"%s\">%s</a></li>\n", esc(v.path(e)), esc(e.title))
	}
	b.WriteString("</ol>\n<h3>专题</h3>\n<ul class=\"topics\"><li><a href=\"/gov/zcjd/\">政策解读</a></li><li><a href=\"/gov/xwfb/\">新闻发布</a></li></ul>\n</aside>\n")
}

// list writes the <ul class="news-list"> of entries.
func (v *view) list(b *strings.Builder, entries []*entry, dateOnly bool) {
	b.WriteString("<ul class=\"news-list\">\n")
	for _, e := range entries {
		t := v.time(e)
		when := t.Format(timeLayout)
		if dateOnly {
			when = t.Format("2006-01-02")
		}
		fmt.Fprintf(b, "<li><a href=\"%s\" title=\"%s\">%s</a> <span class=\"date\">%s</span>",
			esc(v.path(e)), esc(e.title), esc(e.title), when)
		if !dateOnly {
			fmt.Fprintf(b, "<p class=\"summary\">%s</p>", esc(summary(e, 60)))
		}
		b.WriteString("</li>\n")
	}
	b.WriteString("</ul>\n")
}

func (v *view) home() string {
	var b strings.Builder
	newsStyle.open(&b, siteName+" - 临江本地新闻门户", "临江新闻网：临江本地新闻、民生、政务信息。", "")
	b.WriteString("<div class=\"main\">\n<h2>栏目导航</h2>\n<ul class=\"sections\">\n")
	for _, l := range []link{
		{"/news/", "本地新闻（" + strconv.Itoa(len(newsEntries)) + "篇）"},
		{"/gbk/", "临江晚报旧版（GBK 编码）"},
		{"/gov/", "临江市人民政府门户网站"},
		{"/rss.xml", "RSS 订阅"},
		{"/atom.xml", "Atom 订阅"},
		{"/sitemap.xml", "网站地图"},
	} {
		fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a></li>\n", esc(l.href), esc(l.text))
	}
	b.WriteString("</ul>\n<p class=\"api\">社交动态接口：/api/posts（需要访问令牌）</p>\n<h2>最新新闻</h2>\n")
	v.list(&b, newsEntries[:5], false)
	b.WriteString("</div>\n")
	v.sidebar(&b)
	newsStyle.close(&b)
	return b.String()
}

func (v *view) newsList(w http.ResponseWriter, r *http.Request, n int) {
	from := (n - 1) * newsPerPage
	to := min(from+newsPerPage, len(newsEntries))
	var b strings.Builder
	title := "新闻_" + siteName
	if n > 1 {
		title = fmt.Sprintf("新闻_第%d页_%s", n, siteName)
	}
	newsStyle.open(&b, title, "临江本地新闻列表", "")
	crumbs(&b, []link{{"/", "首页"}}, "新闻")
	b.WriteString("<div class=\"main\">\n")
	v.list(&b, newsEntries[from:to], false)
	b.WriteString("<div class=\"pagination\">")
	if n > 1 {
		fmt.Fprintf(&b, "<a href=\"%s\" class=\"prev\">上一页</a> ", newsPageURL(n-1))
	}
	for i := 1; i <= newsPages(); i++ {
		if i == n {
			fmt.Fprintf(&b, "<span class=\"current\">%d</span> ", i)
		} else {
			fmt.Fprintf(&b, "<a href=\"%s\">%d</a> ", newsPageURL(i), i)
		}
	}
	if n < newsPages() {
		fmt.Fprintf(&b, "<a href=\"%s\" class=\"next\">下一页</a>", newsPageURL(n+1))
	} else {
		b.WriteString("<span class=\"next disabled\">下一页</span>")
	}
	fmt.Fprintf(&b, " <span class=\"total\">共%d条</span></div>\n</div>\n", len(newsEntries))
	v.sidebar(&b)
	newsStyle.close(&b)
	serveHTML(w, r, b.String(), v.time(newsEntries[from]))
}

func (v *view) gbkList(w http.ResponseWriter, r *http.Request) {
	var b strings.Builder
	gbkStyle.open(&b, "本地新闻_"+gbkName, "临江晚报本地新闻", "")
	crumbs(&b, []link{{"/gbk/", "首页"}}, "本地新闻")
	b.WriteString("<div class=\"main\">\n")
	v.list(&b, gbkEntries, false)
	b.WriteString("</div>\n")
	gbkStyle.close(&b)
	serveGBK(w, r, b.String(), v.time(gbkEntries[0]))
}

// column returns the government pages of one column, newest first.
func column(key string) []*entry {
	var out []*entry
	for _, e := range govEntries {
		if e.column == key {
			out = append(out, e)
		}
	}
	return out
}

func columnName(key string) string {
	for _, c := range govColumns {
		if c.key == key {
			return c.name
		}
	}
	return key
}

func (v *view) govHome() string {
	var b strings.Builder
	govStyle.open(&b, govName+"门户网站", "临江市人民政府门户网站", "")
	b.WriteString("<div class=\"main\">\n")
	for _, c := range govColumns {
		fmt.Fprintf(&b, "<div class=\"column\"><h2><a href=\"/gov/%s/\">%s</a></h2>\n", c.key, esc(c.name))
		v.list(&b, column(c.key), true)
		fmt.Fprintf(&b, "<a class=\"more\" href=\"/gov/%s/\">更多</a></div>\n", c.key)
	}
	b.WriteString("</div>\n")
	govStyle.close(&b)
	return b.String()
}

func (v *view) govColumn(w http.ResponseWriter, r *http.Request, key string) {
	items := column(key)
	name := columnName(key)
	var b strings.Builder
	govStyle.open(&b, name+"_"+govName, name, "")
	crumbs(&b, []link{{"/gov/", "首页"}}, name)
	fmt.Fprintf(&b, "<div class=\"main\">\n<h2>%s</h2>\n", esc(name))
	v.list(&b, items, true)
	fmt.Fprintf(&b, "<div class=\"pagination\">共%d条 <span class=\"current\">1</span></div>\n</div>\n", len(items))
	govStyle.close(&b)
	serveHTML(w, r, b.String(), v.time(items[0]))
}

// sectionEntries is the list an entry belongs to.
func sectionEntries(e *entry) []*entry {
	switch e.section {
	case secGov:
		return govEntries
	case secGBK:
		return gbkEntries
	}
	return newsEntries
}

// related is up to four other entries of the same section near e.
func related(e *entry) []*entry {
	all := sectionEntries(e)
	var out []*entry
	for d := 1; len(out) < 4 && d < len(all); d++ {
		for _, i := range []int{e.slot + d, e.slot - d} {
			if i >= 0 && i < len(all) && len(out) < 4 {
				out = append(out, all[i])
			}
		}
	}
	return out
}

func (v *view) articlePage(e *entry) string {
	st := styleOf(e)
	t := v.time(e)
	var head strings.Builder
	fmt.Fprintf(&head, "<link rel=\"canonical\" href=\"%s\">\n", esc(v.url(v.path(e))))
	if e.section == secGov {
		fmt.Fprintf(&head, "<meta name=\"SiteName\" content=\"%s\">\n<meta name=\"ColumnName\" content=\"%s\">\n<meta name=\"ArticleTitle\" content=\"%s\">\n<meta name=\"PubDate\" content=\"%s\">\n",
			esc(govName), esc(columnName(e.column)), esc(e.title), t.Format(timeLayout))
	} else {
		fmt.Fprintf(&head, "<meta property=\"og:title\" content=\"%s\">\n<meta property=\"article:published_time\" content=\"%s\">\n",
			esc(e.title), t.Format(time.RFC3339))
	}

	var b strings.Builder
	st.open(&b, e.title+"_"+st.name, summary(e, 80), head.String())
	switch e.section {
	case secGov:
		crumbs(&b, []link{{"/gov/", "首页"}, {"/gov/" + e.column + "/", columnName(e.column)}}, "正文")
	case secGBK:
		crumbs(&b, []link{{"/gbk/", "首页"}}, e.column)
	default:
		crumbs(&b, []link{{"/", "首页"}, {"/news/", "新闻"}}, e.column)
	}
	b.WriteString("<div class=\"main\">\n")
	if e.section == secGov && e.column == colXXGK {
		fmt.Fprintf(&b, "<table class=\"xxgk-meta\"><tr><td>索引号：</td><td>LJ001-0203-%s</td><td>主题分类：</td><td>综合政务</td></tr>"+
			"<tr><td>发布机构：</td><td>%s</td><td>成文日期：</td><td>%s</td></tr></table>\n",
			esc(e.id), esc(e.source), t.Format("2006-01-02"))
	}
	b.WriteString("<article class=\"article\">\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n<div class=\"info\">", esc(e.title))
	if e.section == secGov {
		fmt.Fprintf(&b, "<span class=\"time\">发布时间：%s</span> <span class=\"source\">发布机构：%s</span> "+
			"<span class=\"font\">字号：<a href=\"javascript:void(0)\">大</a> <a href=\"javascript:void(0)\">中</a> <a href=\"javascript:void(0)\">小</a></span>",
			t.Format(timeLayout), esc(e.source))
	} else {
		fmt.Fprintf(&b, "<span class=\"time\">发布时间：%s</span> <span class=\"source\">来源：%s</span> <span class=\"author\">作者：%s</span>",
			t.Format(timeLayout), esc(e.source), esc(e.author))
	}
	b.WriteString("</div>\n")
	share := "<div class=\"share\">分享到：<a href=\"javascript:void(0)\" class=\"share-wx\">微信</a> " +
		"<a href=\"javascript:void(0)\" class=\"share-wb\">微博</a> <a href=\"javascript:void(0)\" class=\"share-qz\">QQ空间</a></div>\n"
	b.WriteString(share)
	b.WriteString("<div class=\"article-content\">\n")
	for _, p := range e.paras {
		fmt.Fprintf(&b, "<p>%s</p>\n", esc(p))
	}
	b.WriteString("</div>\n")
	if e.section == secGov {
		b.WriteString("<div class=\"tools\"><a href=\"javascript:window.print()\">打印本页</a> <a href=\"javascript:window.close()\">关闭窗口</a></div>\n")
	}
	b.WriteString(share)
	b.WriteString("</article>\n<div class=\"related\">\n<h3>相关阅读</h3>\n<ul>\n")
	for _, o := range related(e) {
		fmt.Fprintf(&b, "<li><a href=\"%s\">%s</a></li>\n", esc(v.path(o)), esc(o.title))
	}
	b.WriteString("</ul>\n</div>\n")
	if e.section != secGov {
		b.WriteString("<div class=\"comments\" id=\"comments\">\n<h3>网友评论</h3>\n")
		for k := range 2 {
			c := comments[(e.slot+k*2)%len(comments)]
			fmt.Fprintf(&b, "<div class=\"comment\"><span class=\"user\">%s</span>：<p>%s</p><span class=\"like\">赞(%d)</span></div>\n",
				esc(c.user), esc(c.text), (e.slot*7+k*3)%20+1)
		}
		b.WriteString("<form class=\"comment-form\"><textarea name=\"c\" placeholder=\"文明上网，理性发言\"></textarea><button type=\"button\">发表评论</button></form>\n</div>\n")
	}
	b.WriteString("</div>\n")
	if e.section == secNews {
		v.sidebar(&b)
	}
	st.close(&b)
	return b.String()
}

func secretPage() string {
	return `<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><meta name="robots" content="noindex, nofollow"><title>内部资料_临江新闻网</title></head>
<body><h1>内部资料 请勿抓取</h1><p>本页面仅供内部使用，robots.txt 已禁止抓取 /private/ 目录。</p></body></html>
`
}

func (v *view) robots() string {
	return "User-agent: *\nDisallow: /private/\n\nSitemap: " + v.url("/sitemap.xml") + "\n"
}

// toGBK encodes a page for the GBK site.
func toGBK(s string) ([]byte, error) {
	return simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
}
