package parse

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/goleak"
	"golang.org/x/text/encoding/simplifiedchinese"

	"yuqing/crawler/extract"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cst is a time in China.
func cst(y, mo, d, h, mi, s int) time.Time {
	return time.Date(y, time.Month(mo), d, h, mi, s, 0, extract.China)
}

func gbk(t testing.TB, s string) []byte {
	t.Helper()
	b, err := simplifiedchinese.GBK.NewEncoder().Bytes([]byte(s))
	if err != nil {
		t.Fatalf("encode GBK: %v", err)
	}
	if utf8.Valid(b) {
		t.Fatalf("GBK fixture is still valid UTF-8")
	}
	return b
}

func gz(t testing.TB, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	if _, err := w.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// diffItem describes how got differs from want ("" when it does not).
func diffItem(got, want Item) string {
	var d []string
	f := func(name, g, w string) {
		if g != w {
			d = append(d, fmt.Sprintf("%s = %q, want %q", name, g, w))
		}
	}
	f("ID", got.ID, want.ID)
	f("URL", got.URL, want.URL)
	f("Title", got.Title, want.Title)
	f("Text", got.Text, want.Text)
	f("Author", got.Author, want.Author)
	f("Region", got.Region, want.Region)
	if !got.PublishedAt.Equal(want.PublishedAt) {
		d = append(d, fmt.Sprintf("PublishedAt = %v, want %v", got.PublishedAt, want.PublishedAt))
	}
	return strings.Join(d, "; ")
}

func checkItems(t *testing.T, got, want []Item) {
	t.Helper()
	if len(got) != len(want) {
		for i, it := range got {
			t.Logf("got[%d] = %+v", i, it)
		}
		t.Fatalf("got %d items, want %d", len(got), len(want))
	}
	for i := range want {
		if d := diffItem(got[i], want[i]); d != "" {
			t.Errorf("item %d: %s", i, d)
		}
	}
	checkPlain(t, got)
}

// checkPlain asserts the promises every parser makes about its items.
func checkPlain(t testing.TB, items []Item) {
	t.Helper()
	if len(items) > MaxItems {
		t.Errorf("%d items, more than MaxItems", len(items))
	}
	for i, it := range items {
		for name, s := range map[string]string{"Title": it.Title, "Text": it.Text, "Author": it.Author, "Region": it.Region} {
			if tagRe.MatchString(s) && strings.Contains(s, ">") {
				t.Errorf("item %d: %s holds markup: %q", i, name, s)
			}
			if !utf8.ValidString(s) {
				t.Errorf("item %d: %s is not UTF-8", i, name)
			}
			if strings.Contains(s, "  ") || strings.TrimSpace(s) != s {
				t.Errorf("item %d: %s has uncollapsed white space: %q", i, name, s)
			}
		}
		if strings.ContainsAny(it.Title, "\n\r\t") {
			t.Errorf("item %d: Title has line breaks: %q", i, it.Title)
		}
		if utf8.RuneCountInString(it.Title) > MaxTitleRunes {
			t.Errorf("item %d: Title has %d runes", i, utf8.RuneCountInString(it.Title))
		}
		if utf8.RuneCountInString(it.Text) > MaxTextRunes {
			t.Errorf("item %d: Text has %d runes", i, utf8.RuneCountInString(it.Text))
		}
		if strings.Contains(strings.ToLower(it.Text), "<script") || strings.Contains(it.Text, "alert(") {
			t.Errorf("item %d: script leaked into Text: %q", i, it.Text)
		}
	}
}

func TestStripHTML(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"plain", "  长江中游\t出现\n\n今年首次洪峰  ", "长江中游 出现\n今年首次洪峰"},
		{"tags and entities", "<p>记者&nbsp;从<b>长江委</b>获悉&amp;了解</p><p>第二段&#x4E00;&#20108;</p>", "记者 从长江委获悉&了解\n第二段一二"},
		{"script style comment", `前<script>alert("x<p>")</script><style>p{}</style><!-- 注释 -->后`, "前后"},
		{"unclosed script", `正文<script>document.write("<a>")`, "正文"},
		{"escaped html", "&lt;p&gt;段落一&lt;/p&gt;&lt;script&gt;evil()&lt;/script&gt;", "段落一"},
		{"double escaped", "&amp;lt;b&amp;gt;要闻&amp;lt;/b&amp;gt;&amp;quot;两会&amp;quot;", `要闻"两会"`},
		{"br and li", "一<br>二<br/>三<ul><li>甲</li><li>乙</li></ul>", "一\n二\n三\n甲\n乙"},
		{"table cells", "<table><tr><td>地区</td><td>人数</td></tr></table>", "地区 人数"},
		{"broken", `<div class="x"<p>未闭合<b>粗体`, "未闭合粗体"},
		{"zero width and controls", "新\u200b闻\x08标题\u3000内容\ufeff", "新闻标题 内容"},
		{"less than sign", "价格 a < b 且 c > d", "价格 a < b 且 c > d"},
		{"invalid utf8", "标题\xff\xfe结束", "标题\uFFFD结束"},
		{"empty", "   ", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := StripHTML(tc.in); got != tc.want {
				t.Errorf("StripHTML(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestCleanLineCaps(t *testing.T) {
	long := strings.Repeat("长", 800)
	if got := cleanLine("<h1>"+long+"</h1>", MaxTitleRunes); utf8.RuneCountInString(got) != MaxTitleRunes {
		t.Errorf("title capped to %d runes, want %d", utf8.RuneCountInString(got), MaxTitleRunes)
	}
	if got := cleanLine("第一行<br>第二行", 50); got != "第一行 第二行" {
		t.Errorf("cleanLine = %q", got)
	}
}

func TestSiteKey(t *testing.T) {
	tests := []struct {
		a, b string
		same bool
	}{
		{"www.jcdaily.com.cn", "news.jcdaily.com.cn", true},
		{"www.jcdaily.com.cn", "www.other.com.cn", false},
		{"www.xinhuanet.com", "news.xinhuanet.com", true},
		{"www.xinhuanet.com", "xinhuanet.com", true},
		{"WWW.Example.COM.", "example.com", true},
		{"www.hubei.gov.cn", "fgw.hubei.gov.cn", true},
		{"www.hubei.gov.cn", "www.hunan.gov.cn", false},
		{"a.pku.edu.cn", "b.pku.edu.cn", true},
		{"192.168.1.10", "192.168.1.11", false},
		{"192.168.1.10", "192.168.1.10", true},
		{"localhost", "localhost", true},
	}
	for _, tc := range tests {
		if got := siteKey(tc.a) == siteKey(tc.b); got != tc.same {
			t.Errorf("same site %s, %s = %v, want %v", tc.a, tc.b, got, tc.same)
		}
	}
}
