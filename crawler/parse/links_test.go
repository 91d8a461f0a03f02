package parse

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

const listBase = "https://www.jcdaily.com.cn/news/guonei/index_2.html"

var listWant = []string{
	"https://www.jcdaily.com.cn/2024/0502/c1001-40218765.html",
	"https://www.jcdaily.com.cn/2024/0502/c1001-40218766.html",
	"https://www.jcdaily.com.cn/2024/0501/c1001-40218701.html",
	"https://news.jcdaily.com.cn/2024/0501/c1002-40218690.html",
	"https://society.jcdaily.com.cn/2024/0501/c1003-40218655.html",
	"https://www.jcdaily.com.cn/2024/0501/c1001-40218632.html",
	"https://www.jcdaily.com.cn/2024/0501/c1001-40218601.html",
	"https://www.jcdaily.com.cn/2024/0430/c1001-40218555.html",
	"https://www.jcdaily.com.cn/2024/0430/c1001-40218512.html",
	"https://www.jcdaily.com.cn/2024/0430/c1001-40218498.html",
}

const listNext = "https://www.jcdaily.com.cn/news/guonei/index_3.html"

func readList(t testing.TB) string {
	t.Helper()
	b, err := os.ReadFile("testdata/list.html")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLinks(t *testing.T) {
	list := readList(t)
	gbkList := strings.ReplaceAll(strings.Replace(list, `<meta charset="utf-8">`, `<meta charset="gbk">`, 1), "©", "")

	tests := []struct {
		name     string
		body     []byte
		base     string
		spec     LinkSpec
		articles []string
		next     string
	}{
		{"news list page, automatic", []byte(list), listBase, LinkSpec{}, listWant, listNext},
		{"news list page, selectors", []byte(list), listBase, LinkSpec{Links: "ul.news-list li a", Next: "div.pagenav a.next-page"}, listWant, listNext},
		{"selector of list items, not links", []byte(list), listBase, LinkSpec{Links: "ul.news-list > li"}, listWant, listNext},
		{"GBK page", gbk(t, gbkList), listBase, LinkSpec{}, listWant, listNext},
		{"GBK page declared UTF-8", gbk(t, strings.ReplaceAll(list, "©", "")), listBase, LinkSpec{}, listWant, listNext},
		{"base with fragment", []byte(list), listBase + "#top", LinkSpec{}, listWant, listNext},
		{"relative links and duplicates", []byte(`<ul>
			<li><a href="2024/05/01/1001.html">城区12条公交线路今起调整</a></li>
			<li><a href="./2024/05/01/1001.html#comment">城区12条公交线路今起调整（评论）</a></li>
			<li><a href="../2024/05/01/1002.html">市民投诉小区噪音扰民 街道回应</a></li>
			<li><a href="/2024/05/01/1003.html">第三条新闻标题在这里</a></li>
			<li><a href="?id=20240501">查询参数里的文章编号</a></li>
			<li><a href="  /2024/05/01/1003.html  ">第三条新闻标题在这里</a></li>
			<li><a href="/2024/05/01/10&#10;04.html">换行拆开的链接地址</a></li>
			</ul>`), "https://www.example.cn/news/list.html", LinkSpec{}, []string{
			"https://www.example.cn/news/2024/05/01/1001.html",
			"https://www.example.cn/2024/05/01/1002.html",
			"https://www.example.cn/2024/05/01/1003.html",
			"https://www.example.cn/news/list.html?id=20240501",
			"https://www.example.cn/2024/05/01/1004.html",
		}, ""},
		{"broken HTML", []byte(`<html><body><div class=list><ul>
			<li><a href=/2024/0501/1001.html>城区12条公交线路今起调整
			<li><a href='/2024/0501/1002.html'>市民投诉小区噪音扰民 街道回应
			<li><a href="/2024/0501/1003.html">第三条新闻的标题在这里<span>未闭合
			</ul><p><a href="/2024/0501/1004.html">段落里的第四条新闻标题
			<div class="page"><a href="list_2.html">下一页`), "https://www.example.cn/news/list.html", LinkSpec{}, []string{
			"https://www.example.cn/2024/0501/1001.html", "https://www.example.cn/2024/0501/1002.html",
			"https://www.example.cn/2024/0501/1003.html", "https://www.example.cn/2024/0501/1004.html",
		}, "https://www.example.cn/news/list_2.html"},
		{"next points to itself", []byte(`<ul><li><a href="/a/2024/1.html">最后一页上的一条新闻标题</a></li></ul>
			<div class="pages"><a href="list_8.html">上一页</a><a href="list_9.html">下一页</a><a href="#">»</a><a href="list_9.html#top">Next</a></div>`),
			"https://www.example.cn/news/list_9.html", LinkSpec{}, []string{"https://www.example.cn/a/2024/1.html"}, ""},
		{"next selector points to itself", []byte(`<a class="nx" href="list_9.html">下一页</a>`),
			"https://www.example.cn/news/list_9.html", LinkSpec{Next: "a.nx"}, nil, ""},
		{"rel=next in head", []byte(`<html><head><link rel="next" href="?page=3"></head><body><a href="?page=1">下一页</a></body></html>`),
			"https://www.example.cn/news/?page=2", LinkSpec{}, nil, "https://www.example.cn/news/?page=3"},
		{"English next", []byte(`<a href="/p/1">« Prev</a> <a href="/p/3" class="page-link">Next ›</a>`),
			"https://www.example.com/p/2", LinkSpec{}, nil, "https://www.example.com/p/3"},
		{"bare arrow next", []byte(`<div class="pager"><a href="/p/1">‹</a><a href="/p/1">1</a><a href="/p/3">3</a><a href="/p/3">›</a></div>`),
			"https://www.example.com/p/2", LinkSpec{}, nil, "https://www.example.com/p/3"},
		{"next by class", []byte(`<div class="pager"><a href="/p/1">1</a><a href="/p/3" class="nextpage"><img src="next.png"></a><a class="next-post" href="/post/9">下一篇：某某</a></div>`),
			"https://www.example.com/p/2", LinkSpec{}, nil, "https://www.example.com/p/3"},
		{"next article is not the next page", []byte(`<div class="next"><a href="/2024/0501/1005.html">下一篇：另一篇文章的标题</a></div>`),
			"https://www.example.cn/2024/0501/1004.html", LinkSpec{}, []string{"https://www.example.cn/2024/0501/1005.html"}, ""},
		{"headline in an article header", []byte(`<nav class="site-nav"><a href="/category/news/">全部新闻分类频道页面</a></nav>
			<main><article><header class="entry-header"><h2 class="entry-title"><a href="https://blog.example.cn/2024/05/01/spring-flood/">春汛来临，沿江城市做好防汛准备</a></h2></header></article>
			<article><header class="entry-header"><h2 class="entry-title"><a href="https://blog.example.cn/2024/04/30/bridge/">长江大桥夜间封闭施工的通告</a></h2></header></article></main>`),
			"https://blog.example.cn/", LinkSpec{}, []string{"https://blog.example.cn/2024/05/01/spring-flood/", "https://blog.example.cn/2024/04/30/bridge/"}, ""},
		{"everything inside a menu wrapper", []byte(`<div class="menu-wrap"><ul><li><a href="/2024/0501/1.html">整页都包在菜单容器里的新闻一</a></li>
			<li><a href="/2024/0501/2.html">整页都包在菜单容器里的新闻二</a></li></ul></div>`),
			"https://www.example.cn/", LinkSpec{}, []string{"https://www.example.cn/2024/0501/1.html", "https://www.example.cn/2024/0501/2.html"}, ""},
		{"base href", []byte(`<html><head><base href="https://static.example.cn/news/"></head><body><a href="2024/0501/1.html">基础地址下的相对链接新闻</a></body></html>`),
			"https://www.example.cn/list.html", LinkSpec{}, []string{"https://static.example.cn/news/2024/0501/1.html"}, ""},
		{"navigation words", []byte(`<a href="/more/2024/">更多国内新闻&gt;&gt;</a><a href="/2024/0501/9.html">更多企业入驻光谷科创大走廊</a>
			<a href="/about/2024.html">关于我们 | 联系我们</a><a href="/app/1234.html">下载客户端</a><a href="/2024/0501/8.html">2024-05-01</a>`),
			"https://www.example.cn/", LinkSpec{}, []string{"https://www.example.cn/2024/0501/9.html"}, ""},
		{"without article-like paths all headlines stay", []byte(`<a href="/news/spring-flood">春汛来临沿江城市做好防汛准备</a><a href="/news/bridge-closure">长江大桥夜间封闭施工的通告</a>`),
			"https://www.example.cn/news/", LinkSpec{}, []string{"https://www.example.cn/news/spring-flood", "https://www.example.cn/news/bridge-closure"}, ""},
		{"invalid selector", []byte(list), listBase, LinkSpec{Links: "ul[[", Next: "a:nth-child("}, nil, ""},
		{"no links", []byte(`<html><body><p>暂无内容</p></body></html>`), listBase, LinkSpec{}, nil, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			articles, next, err := Links(tc.body, tc.base, tc.spec)
			if err != nil {
				t.Fatalf("Links: %v", err)
			}
			if !slices.Equal(articles, tc.articles) {
				t.Errorf("articles:\n got %q\nwant %q", articles, tc.articles)
			}
			if next != tc.next {
				t.Errorf("next = %q, want %q", next, tc.next)
			}
		})
	}
}

func TestLinksErrors(t *testing.T) {
	tests := []struct {
		name, body, base string
		is               error
	}{
		{"empty body", "", listBase, ErrEmpty},
		{"blank body", "\n  \n", listBase, ErrEmpty},
		{"relative base", "<a href='/a'>x</a>", "/news/", nil},
		{"no base", "<a href='/a'>x</a>", "", nil},
		{"ftp base", "<a href='/a'>x</a>", "ftp://example.cn/", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := Links([]byte(tc.body), tc.base, LinkSpec{})
			if err == nil {
				t.Fatal("no error")
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
		})
	}
}

func TestLinksDeepNesting(t *testing.T) {
	body := strings.Repeat("<div>", 5000) + `<a href="/2024/0501/1.html">深层嵌套里的一条新闻标题</a>` + strings.Repeat("</div>", 5000) +
		`<a href="list_2.html">下一页</a><script>var s = "<a href='/2024/0501/x.html'>脚本里的链接标题</a>";</script>`
	articles, next, err := Links([]byte(body), "https://www.example.cn/news/list.html", LinkSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(articles, []string{"https://www.example.cn/2024/0501/1.html"}) || next != "https://www.example.cn/news/list_2.html" {
		t.Errorf("Links = %q, %q", articles, next)
	}
}

func TestLinksCap(t *testing.T) {
	articles, _, err := Links([]byte(listPage(MaxItems+100)), "https://www.example.cn/news/", LinkSpec{})
	if err != nil {
		t.Fatal(err)
	}
	if len(articles) != MaxItems {
		t.Errorf("%d links, want %d", len(articles), MaxItems)
	}
}

// Links on the saved real pages (article pages with related-news lists)
// must not fail, and must only return same-site http(s) links.
func TestLinksSavedPages(t *testing.T) {
	const dir = "../../../shared/data/pages"
	files, _ := os.ReadDir(dir)
	if len(files) == 0 {
		t.Skip("parse: ../shared/data/pages absent, skipping the real pages")
	}
	for _, site := range files {
		pages, _ := os.ReadDir(dir + "/" + site.Name())
		for _, p := range pages {
			body, err := os.ReadFile(dir + "/" + site.Name() + "/" + p.Name())
			if err != nil {
				t.Fatal(err)
			}
			base := "https://www." + site.Name() + ".com/" + p.Name()
			articles, _, err := Links(body, base, LinkSpec{})
			if err != nil {
				t.Errorf("%s/%s: %v", site.Name(), p.Name(), err)
			}
			for _, a := range articles {
				if !strings.HasPrefix(a, "http") || !strings.Contains(a, site.Name()+".com/") {
					t.Errorf("%s/%s: off-site link %s", site.Name(), p.Name(), a)
				}
			}
		}
	}
}

// listPage is a list page with n article links, chrome around them.
func listPage(n int) string {
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"><title>要闻_示例新闻网</title></head><body>
<div id="header"><a href="/">首页</a><a href="/login">登录</a></div>
<ul class="nav"><li><a href="/news/">新闻</a></li><li><a href="/finance/">财经</a></li><li><a href="/special/">专题报道全部汇总频道</a></li></ul>
<div class="list"><ul>`)
	for i := range n {
		fmt.Fprintf(&b, `<li><span class="t">2024-05-%02d</span><a href="/news/2024/05/%02d/%06d.html" target="_blank" title="第%d条：全市重点项目建设稳步推进">第%d条：全市重点项目建设稳步推进</a></li>`+"\n",
			i%28+1, i%28+1, i, i, i)
	}
	b.WriteString(`</ul></div><div class="page"><a href="/news/index_1.html">上一页</a><a href="/news/index_3.html">下一页</a></div>
<div class="footer"><a href="/about/">关于我们</a><a href="/about/license-2024.html">互联网新闻信息服务许可证编号</a></div></body></html>`)
	return b.String()
}

func BenchmarkLinks(b *testing.B) {
	body := []byte(listPage(100))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		articles, next, err := Links(body, "https://www.example.cn/news/index_2.html", LinkSpec{})
		if err != nil || len(articles) != 100 || next == "" {
			b.Fatalf("Links = %d links, %q, %v", len(articles), next, err)
		}
	}
}
