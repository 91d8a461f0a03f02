package parse

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

const rssGB2312 = `<?xml version="1.0" encoding="gb2312"?>
<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel>
<title>江城日报-国内新闻</title>
<link>http://www.jcdaily.com.cn/news/</link>
<description>江城日报网国内新闻频道</description>
<language>zh-cn</language>
<item>
<title>市政府召开常务会议研究部署防汛工作</title>
<link>http://www.jcdaily.com.cn/2017/0811/c1001-29463512.html</link>
<description>8月11日上午，市长主持召开市政府常务会议，研究部署当前防汛抗旱工作。</description>
<pubDate>2017-08-11 10:20:00</pubDate>
<author>zhangwei@jcdaily.com.cn (张伟)</author>
<guid isPermaLink="false">29463512</guid>
</item>
<item>
<title>我市启动“双随机、一公开”监管全覆盖</title>
<link>/2017/0627/c1001-29365510.html</link>
<description>市场监管局：今年起对全市各类市场主体实行“双随机、一公开”监管。</description>
<pubDate>2017年6月27日 11:08</pubDate>
<dc:creator>李娜</dc:creator>
</item>
</channel>
</rss>`

const rssLyingUTF8 = `<?xml version="1.0" encoding="gb2312"?>
<rss version="2.0">
<channel>
<title>长江网</title>
<item>
<title>武汉地铁新线路年内开通</title>
<link>https://news.cjn.cn/sywh/202404/t4851234.htm</link>
<description>记者从武汉地铁集团获悉，新线路年内开通运营。</description>
<pubDate>Tue, 30 Apr 2024 08:00:00 GMT</pubDate>
<guid>https://news.cjn.cn/sywh/202404/t4851234.htm</guid>
</item>
<item>
<title>AT&T 与 中兴&nbsp;签署合作协议&mdash;通讯</title>
<guid>https://news.cjn.cn/sywh/202405/t4851300.htm</guid>
<pubDate>Wed, 01 May 2024 09:30:00 +0800</pubDate>
</item>
</channel>
</rss>`

const atomRelative = `<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
<title>湖北省生态环境厅</title>
<link rel="self" href="/feeds/atom.xml"/>
<updated>2024-04-16T10:00:00Z</updated>
<entry>
<title type="html">&lt;b&gt;省生态环境厅&lt;/b&gt;通报一季度全省空气质量</title>
<link rel="self" href="/feeds/entry/88201.xml"/>
<link rel="alternate" type="text/html" href="/hbt/2024/0415/88201.html"/>
<id>tag:sthjt.hubei.gov.cn,2024:88201</id>
<published>2024-04-15T09:30:00+08:00</published>
<updated>2024-04-16T10:00:00Z</updated>
<author><name>省生态环境厅办公室</name><email>office@sthjt.hubei.gov.cn</email></author>
<summary>一季度全省环境空气质量优良天数比例为85.6%。</summary>
<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml"><p>一季度，全省环境空气质量总体改善。</p><p>优良天数比例为85.6%，同比上升2.1个百分点。</p></div></content>
</entry>
<entry>
<title>关于开展2024年“六五环境日”宣传活动的通知</title>
<link href="2024/0416/88202.html"/>
<id>tag:sthjt.hubei.gov.cn,2024:88202</id>
<updated>2024-04-16T08:00:00+08:00</updated>
<summary type="html">&lt;p&gt;各市、州、直管市生态环境局：&lt;/p&gt;&lt;p&gt;现将有关事项通知如下。&lt;/p&gt;</summary>
</entry>
<entry xml:base="https://www.mee.gov.cn/ywdt/">
<title>生态环境部召开4月例行新闻发布会</title>
<link href="xwfb/202404/t20240425_1071234.shtml"/>
<id>https://www.mee.gov.cn/ywdt/xwfb/202404/t20240425_1071234.shtml</id>
<published>2024-04-25T10:00:00+08:00</published>
</entry>
</feed>`

const rdfFeed = `<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel rdf:about="http://www.xds.example.cn/rss.rdf">
<title>新都市报</title>
<link>http://www.xds.example.cn/</link>
<description>新都市报要闻</description>
<items><rdf:Seq>
<rdf:li rdf:resource="http://www.xds.example.cn/news/2024/05/01/1001.html"/>
<rdf:li rdf:resource="http://www.xds.example.cn/news/2024/05/01/1002.html"/>
</rdf:Seq></items>
</channel>
<item rdf:about="http://www.xds.example.cn/news/2024/05/01/1001.html">
<title>城区12条公交线路今起调整</title>
<link>http://www.xds.example.cn/news/2024/05/01/1001.html</link>
<description>为配合地铁施工，城区12条公交线路自5月1日起临时调整。</description>
<dc:date>2024-05-01T08:00:00+08:00</dc:date>
<dc:creator>王芳</dc:creator>
</item>
<item rdf:about="http://www.xds.example.cn/news/2024/05/01/1002.html">
<title>市民投诉小区噪音扰民 街道回应：已责令整改</title>
<description>有市民反映，某小区夜间施工噪音扰民。</description>
<dc:date>2024-05-01 21:15</dc:date>
</item>
</rdf:RDF>`

const rssCDATA = `<?xml version="1.0" encoding="utf-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/" xmlns:media="http://search.yahoo.com/mrss/">
<channel><title>长江日报</title>
<item>
<title><![CDATA[<em>突发</em>：长江中游出现今年首次洪峰 &amp; 水位上涨]]></title>
<link>https://www.cjrb.example.cn/2024/0601/flood.html</link>
<description><![CDATA[<p>记者从长江委获悉，<script>alert('xss')</script>长江中游出现今年首次洪峰。</p><style>p{color:red}</style><img src="x.jpg" onerror="alert(1)"><p>第二段&nbsp;内容</p>]]></description>
<media:title>不该当作标题的媒体标题</media:title>
<media:description>不该当作正文</media:description>
</item>
<item>
<title>防汛应急响应提升至Ⅲ级</title>
<link>https://www.cjrb.example.cn/2024/0601/level3.html</link>
<description>&lt;p&gt;摘要&lt;/p&gt;&lt;script&gt;evil()&lt;/script&gt;</description>
<content:encoded><![CDATA[<div class="art"><p>全文第一段。</p><script type="text/javascript">alert("x")</script><p>全文第二段。</p></div>]]></content:encoded>
</item>
<item>
<title>未转义的 HTML 描述</title>
<link>https://www.cjrb.example.cn/2024/0601/raw.html</link>
<description><p>原始<b>段落</b></p><script>alert(2)</script><br>第二行</description>
</item>
</channel></rss>`

func rssItems(n int) string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>测试</title>`)
	for i := range n {
		fmt.Fprintf(&b, "<item><title>第%d条新闻标题：全市重点项目建设稳步推进</title><link>https://www.example.cn/2024/05/%05d.html</link>"+
			"<description><![CDATA[<p>据了解，今年以来全市重点项目建设稳步推进，第%d项工程已完成投资。</p>]]></description>"+
			"<pubDate>Wed, 01 May 2024 09:%02d:00 +0800</pubDate><guid>%d</guid></item>\n", i+1, i+1, i+1, i%60, i+1)
	}
	b.WriteString(`</channel></rss>`)
	return b.String()
}

func TestFeed(t *testing.T) {
	truncated := rssItems(3)
	truncated = truncated[:strings.Index(truncated, "第3条")]
	brokenMid := strings.Replace(rssItems(3), "第2条新闻标题", "第2条 a < b 新闻标题", 1)

	tests := []struct {
		name string
		body []byte
		base string
		want []Item
	}{
		{"RSS 2.0 in GBK declared gb2312", gbk(t, rssGB2312), "http://www.jcdaily.com.cn/rss/guonei.xml", []Item{{
			ID: "29463512", URL: "http://www.jcdaily.com.cn/2017/0811/c1001-29463512.html",
			Title: "市政府召开常务会议研究部署防汛工作", Text: "8月11日上午，市长主持召开市政府常务会议，研究部署当前防汛抗旱工作。",
			Author: "张伟", PublishedAt: cst(2017, 8, 11, 10, 20, 0),
		}, {
			URL: "http://www.jcdaily.com.cn/2017/0627/c1001-29365510.html", Title: "我市启动“双随机、一公开”监管全覆盖",
			Text: "市场监管局：今年起对全市各类市场主体实行“双随机、一公开”监管。", Author: "李娜", PublishedAt: cst(2017, 6, 27, 11, 8, 0),
		}}},
		{"UTF-8 bytes declared gb2312", []byte("\ufeff\n  " + rssLyingUTF8), "", []Item{{
			ID: "https://news.cjn.cn/sywh/202404/t4851234.htm", URL: "https://news.cjn.cn/sywh/202404/t4851234.htm",
			Title: "武汉地铁新线路年内开通", Text: "记者从武汉地铁集团获悉，新线路年内开通运营。", PublishedAt: cst(2024, 4, 30, 16, 0, 0),
		}, {
			ID: "https://news.cjn.cn/sywh/202405/t4851300.htm", URL: "https://news.cjn.cn/sywh/202405/t4851300.htm",
			Title: "AT&T 与 中兴 签署合作协议—通讯", PublishedAt: cst(2024, 5, 1, 9, 30, 0),
		}}},
		{"Atom with relative links", []byte(atomRelative), "https://sthjt.hubei.gov.cn/feeds/atom.xml", []Item{{
			ID: "tag:sthjt.hubei.gov.cn,2024:88201", URL: "https://sthjt.hubei.gov.cn/hbt/2024/0415/88201.html",
			Title: "省生态环境厅通报一季度全省空气质量", Text: "一季度，全省环境空气质量总体改善。\n优良天数比例为85.6%，同比上升2.1个百分点。",
			Author: "省生态环境厅办公室", PublishedAt: cst(2024, 4, 15, 9, 30, 0),
		}, {
			ID: "tag:sthjt.hubei.gov.cn,2024:88202", URL: "https://sthjt.hubei.gov.cn/feeds/2024/0416/88202.html",
			Title: "关于开展2024年“六五环境日”宣传活动的通知", Text: "各市、州、直管市生态环境局：\n现将有关事项通知如下。",
			PublishedAt: cst(2024, 4, 16, 8, 0, 0),
		}, {
			ID: "https://www.mee.gov.cn/ywdt/xwfb/202404/t20240425_1071234.shtml", URL: "https://www.mee.gov.cn/ywdt/xwfb/202404/t20240425_1071234.shtml",
			Title: "生态环境部召开4月例行新闻发布会", PublishedAt: cst(2024, 4, 25, 10, 0, 0),
		}}},
		{"RSS 1.0 RDF", []byte(rdfFeed), "", []Item{{
			ID: "http://www.xds.example.cn/news/2024/05/01/1001.html", URL: "http://www.xds.example.cn/news/2024/05/01/1001.html",
			Title: "城区12条公交线路今起调整", Text: "为配合地铁施工，城区12条公交线路自5月1日起临时调整。", Author: "王芳",
			PublishedAt: cst(2024, 5, 1, 8, 0, 0),
		}, {
			ID: "http://www.xds.example.cn/news/2024/05/01/1002.html", URL: "http://www.xds.example.cn/news/2024/05/01/1002.html",
			Title: "市民投诉小区噪音扰民 街道回应：已责令整改", Text: "有市民反映，某小区夜间施工噪音扰民。", PublishedAt: cst(2024, 5, 1, 21, 15, 0),
		}}},
		{"CDATA with HTML and script", []byte(rssCDATA), "", []Item{{
			URL: "https://www.cjrb.example.cn/2024/0601/flood.html", Title: "突发：长江中游出现今年首次洪峰 & 水位上涨",
			Text: "记者从长江委获悉，长江中游出现今年首次洪峰。\n第二段 内容",
		}, {
			URL: "https://www.cjrb.example.cn/2024/0601/level3.html", Title: "防汛应急响应提升至Ⅲ级", Text: "全文第一段。\n全文第二段。",
		}, {
			URL: "https://www.cjrb.example.cn/2024/0601/raw.html", Title: "未转义的 HTML 描述", Text: "原始段落\n第二行",
		}}},
		{"truncated: items before the break", []byte(truncated), "", rssItemsWant(2)},
		{"broken in the middle: items before the break", []byte(brokenMid), "", rssItemsWant(1)},
		{"control characters", []byte("<rss><channel><item><title>标题\x08含\x01控制\ufffe符\uffff</title><link>http://a.cn/1.html</link></item></channel></rss>"), "",
			[]Item{{URL: "http://a.cn/1.html", Title: "标题含控制符"}}},
		{"well-formed but empty", []byte(`<?xml version="1.0"?><rss version="2.0"><channel><title>空</title></channel></rss>`), "", nil},
		{"items without link, title or text are skipped", []byte(`<rss><channel><item><guid isPermaLink="false">1</guid></item><item><title>有标题</title></item></channel></rss>`), "",
			[]Item{{Title: "有标题"}}},
		{"javascript links dropped", []byte(`<rss><channel><item><title>标题</title><link>javascript:alert(1)</link></item></channel></rss>`), "http://a.cn/",
			[]Item{{Title: "标题"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Feed(tc.body, tc.base)
			if err != nil {
				t.Fatalf("Feed: %v", err)
			}
			checkItems(t, got, tc.want)
		})
	}
}

func rssItemsWant(n int) []Item {
	var out []Item
	for i := range n {
		out = append(out, Item{
			ID: fmt.Sprint(i + 1), URL: fmt.Sprintf("https://www.example.cn/2024/05/%05d.html", i+1),
			Title:       fmt.Sprintf("第%d条新闻标题：全市重点项目建设稳步推进", i+1),
			Text:        fmt.Sprintf("据了解，今年以来全市重点项目建设稳步推进，第%d项工程已完成投资。", i+1),
			PublishedAt: cst(2024, 5, 1, 9, i%60, 0),
		})
	}
	return out
}

func TestFeedErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		is   error  // errors.Is target, if any
		has  string // the message contains
	}{
		{"empty", "", ErrEmpty, "empty"},
		{"blank", " \n\t ", ErrEmpty, "内容为空"},
		{"HTML page", "<!DOCTYPE html><html><head><title>404</title></head><body>页面不存在</body></html>", ErrFormat, "<html>"},
		{"plain text", "Service Unavailable", ErrFormat, "no XML element"},
		{"truncated before the first item", `<?xml version="1.0"?><rss><channel><title>江城`, nil, "first entry"},
		{"broken before the first item", `<rss><channel><title>a < b</title><item><title>x</title></item></channel></rss>`, nil, "first entry"},
		{"binary", "\x00\x01\x02\xff\xfe", ErrFormat, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, err := Feed([]byte(tc.body), "")
			if err == nil {
				t.Fatalf("Feed = %d items, nil error; want an error", len(items))
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %v is not %v", err, tc.is)
			}
			if !strings.Contains(err.Error(), tc.has) {
				t.Errorf("error %q does not mention %q", err, tc.has)
			}
		})
	}
}

func TestFeedCaps(t *testing.T) {
	items, err := Feed([]byte(rssItems(MaxItems+50)), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != MaxItems {
		t.Errorf("%d items, want %d", len(items), MaxItems)
	}
	long := strings.Repeat("很长的标题", 300)
	items, err = Feed([]byte("<rss><channel><item><title>"+long+"</title><description>"+strings.Repeat("正文", MaxTextRunes)+"</description></item></channel></rss>"), "")
	if err != nil || len(items) != 1 {
		t.Fatalf("Feed = %v, %v", items, err)
	}
	checkPlain(t, items)
}

func TestFeedDeepNesting(t *testing.T) {
	body := "<rss><channel><item><title>深层嵌套</title><description>" + strings.Repeat("<div>", 20000) + "文字" +
		strings.Repeat("</div>", 20000) + "</description></item></channel></rss>"
	items, err := Feed([]byte(body), "")
	if err != nil || len(items) != 1 || items[0].Text != "文字" {
		t.Fatalf("Feed = %+v, %v", items, err)
	}
}

func BenchmarkFeed(b *testing.B) {
	body := []byte(rssItems(50))
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		items, err := Feed(body, "https://www.example.cn/rss.xml")
		if err != nil || len(items) != 50 {
			b.Fatalf("Feed = %d items, %v", len(items), err)
		}
	}
}

var _ = time.Now
