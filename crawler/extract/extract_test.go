package extract

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
	"golang.org/x/net/html"
	"golang.org/x/net/html/atom"
	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/encoding/traditionalchinese"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const pagesDir = "../../../shared/data/pages"

type golden struct {
	File, Title, Time, Author, Source, Editor, First, Last string
}

func loadGolden(t testing.TB) []golden {
	t.Helper()
	if _, err := os.Stat(pagesDir); err != nil {
		t.Skip("extract: ../shared/data absent, skipping the real-page measures")
	}
	raw, err := os.ReadFile("testdata/golden.json")
	if err != nil {
		t.Fatalf("read golden: %v", err)
	}
	var g struct{ Pages []golden }
	if err := json.Unmarshal(raw, &g); err != nil {
		t.Fatalf("parse golden: %v", err)
	}
	if len(g.Pages) != 28 {
		t.Fatalf("golden has %d pages, want 28", len(g.Pages))
	}
	return g.Pages
}

// squash removes all white space so that comparisons ignore layout.
func squash(s string) string {
	return strings.Join(strings.FieldsFunc(s, isSpace), "")
}

// scores holds one extractor's measures over the golden pages.
type scores struct {
	title, time, author, authorStrict, recall, precision float64
	precisionN                                           int
}

func measure(g []golden, get func(golden) Article) (sc scores, misses []string) {
	for _, p := range g {
		a := get(p)
		if squash(a.Title) == squash(p.Title) {
			sc.title++
		} else {
			misses = append(misses, p.File+" title: "+a.Title)
		}
		if timeOK(p.Time, a.PublishedAt) {
			sc.time++
		} else {
			misses = append(misses, p.File+" time: "+a.PublishedAt.In(China).Format("2006-01-02 15:04")+" want "+p.Time)
		}
		if authorOK(golden{Author: p.Author, Source: p.Source}, a.Author) {
			sc.authorStrict++
		}
		if authorOK(p, a.Author) {
			sc.author++
		} else {
			misses = append(misses, p.File+" author: "+a.Author)
		}
		text := squash(a.Text)
		first, last := squash(p.First), squash(p.Last)
		i := strings.Index(text, first)
		j := strings.LastIndex(text, last)
		if i >= 0 {
			sc.recall += 0.5
		}
		if j >= 0 {
			sc.recall += 0.5
		}
		if i >= 0 && j >= i {
			sc.precision += float64(len(text[i:j+len(last)])) / float64(len(text))
			sc.precisionN++
		}
		if i < 0 || j < 0 {
			misses = append(misses, p.File+" body: first/last not found")
		}
	}
	n := float64(len(g))
	sc.title /= n
	sc.time /= n
	sc.author /= n
	sc.authorStrict /= n
	sc.recall /= n
	if sc.precisionN > 0 {
		sc.precision /= float64(sc.precisionN)
	}
	return sc, misses
}

func timeOK(want string, got time.Time) bool {
	if want == "" {
		return got.IsZero()
	}
	if got.IsZero() {
		return false
	}
	layout := "2006-01-02 15:04"
	if len(want) == len("2006-01-02") {
		layout = "2006-01-02"
	}
	return got.In(China).Format(layout) == want
}

func authorOK(p golden, got string) bool {
	if p.Author == "" && p.Source == "" && p.Editor == "" {
		return got == ""
	}
	if got == "" {
		return false
	}
	for _, w := range []string{p.Author, p.Source, p.Editor} {
		if w != "" && (strings.Contains(w, got) || strings.Contains(got, w)) {
			return true
		}
	}
	return false
}

// baseline is the naive extractor: <title> and the text of every <p>.
func baseline(raw []byte) Article {
	doc, err := html.Parse(bytes.NewReader(raw))
	if err != nil {
		return Article{}
	}
	var a Article
	var ps []string
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.DataAtom {
			case atom.Title:
				if a.Title == "" {
					a.Title = cleanSpace(textOf(n))
				}
			case atom.P:
				if s := cleanSpace(textOf(n)); s != "" {
					ps = append(ps, s)
				}
				return
			case atom.Script, atom.Style:
				return
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	a.Text = strings.Join(ps, "\n")
	return a
}

func TestGoldenPages(t *testing.T) {
	g := loadGolden(t)
	now := time.Date(2020, 12, 1, 12, 0, 0, 0, China)
	ours, misses := measure(g, func(p golden) Article {
		raw, err := os.ReadFile(filepath.Join(pagesDir, p.File))
		if err != nil {
			t.Fatalf("read %s: %v", p.File, err)
		}
		a, err := PageAt(raw, p.File, now)
		if err != nil {
			t.Errorf("%s: %v", p.File, err)
		}
		if strings.ContainsAny(a.Text, "<>") && strings.Contains(a.Text, "</") {
			t.Errorf("%s: text holds markup", p.File)
		}
		return a
	})
	base, _ := measure(g, func(p golden) Article {
		raw, _ := os.ReadFile(filepath.Join(pagesDir, p.File))
		return baseline(raw)
	})
	for _, m := range misses {
		t.Log("miss:", m)
	}
	for _, r := range []struct {
		name string
		s    scores
	}{{"extract", ours}, {"baseline", base}} {
		t.Logf("%-9s title=%.3f time=%.3f author(author|source|editor)=%.3f author(author|source)=%.3f body_recall=%.3f body_precision=%.3f (precision over %d pages where both sentences were found)",
			r.name, r.s.title, r.s.time, r.s.author, r.s.authorStrict, r.s.recall, r.s.precision, r.s.precisionN)
	}
	floors := scores{title: 0.95, time: 0.9, author: 0.9, authorStrict: 0.75, recall: 0.95, precision: 0.9}
	if ours.title < floors.title || ours.time < floors.time || ours.author < floors.author || ours.authorStrict < floors.authorStrict ||
		ours.recall < floors.recall || ours.precision < floors.precision {
		t.Errorf("measures below floors: got %+v, floors %+v", ours, floors)
	}
	if ours.title <= base.title || ours.recall+ours.precision <= base.recall+base.precision {
		t.Errorf("extractor does not beat the baseline: %+v vs %+v", ours, base)
	}
}

const samplePage = `<html><head><meta charset="%s"><title>市政府召开新闻发布会通报汛情 - 某某新闻网</title></head>
<body><div class="nav"><a href="/">首页</a><a href="/n">新闻</a><a href="/g">政务</a></div>
<h1>市政府召开新闻发布会通报汛情</h1><div class="info">发布时间：2021年7月21日 10:30　来源：市政府新闻办</div>
<div class="content"><p>7月20日，全市普降暴雨，部分地区出现内涝，市防汛指挥部立即启动应急响应。</p>
<p>截至21日上午，全市已转移安置群众一万两千余人，没有人员伤亡，抢险工作正在有序进行。</p>
<p>市政府提醒市民，暴雨期间尽量减少外出，注意出行安全，遇险请拨打一一零求助。</p></div>
<div class="footer">版权所有 某某新闻网</div></body></html>`

func page(charset string) []byte {
	return []byte(strings.Replace(samplePage, "%s", charset, 1))
}

func checkSample(t *testing.T, a Article) {
	t.Helper()
	if a.Title != "市政府召开新闻发布会通报汛情" {
		t.Errorf("title = %q", a.Title)
	}
	want := time.Date(2021, 7, 21, 10, 30, 0, 0, China)
	if !a.PublishedAt.Equal(want) {
		t.Errorf("published = %v, want %v", a.PublishedAt, want)
	}
	if a.Author != "市政府新闻办" {
		t.Errorf("author = %q", a.Author)
	}
	if !strings.HasPrefix(a.Text, "7月20日，全市普降暴雨") || !strings.HasSuffix(a.Text, "遇险请拨打一一零求助。") {
		t.Errorf("text = %q", a.Text)
	}
	if strings.Contains(a.Text, "首页") || strings.Contains(a.Text, "版权所有") {
		t.Errorf("text holds navigation or footer: %q", a.Text)
	}
	if strings.Count(a.Text, "\n") != 2 {
		t.Errorf("want 3 paragraphs, got %q", a.Text)
	}
}

func TestEncodings(t *testing.T) {
	gbk, err := simplifiedchinese.GBK.NewEncoder().Bytes(page("gbk"))
	if err != nil {
		t.Fatal(err)
	}
	gbkLying, _ := simplifiedchinese.GBK.NewEncoder().Bytes(page("utf-8"))
	gbkNoDecl, _ := simplifiedchinese.GB18030.NewEncoder().Bytes(page(""))
	big5Src := `<html><head><meta charset="big5"><title>市政府召開新聞發布會</title></head><body><h1>市政府召開新聞發布會</h1>
<div><p>七月二十日，全市普降暴雨，部分地區出現內澇，市防汛指揮部立即啟動應急響應。</p><p>市政府提醒市民注意出行安全。</p></div></body></html>`
	big5, err := traditionalchinese.Big5.NewEncoder().Bytes([]byte(big5Src))
	if err != nil {
		t.Fatal(err)
	}
	bom := append([]byte{0xEF, 0xBB, 0xBF}, page("utf-8")...)
	tests := []struct {
		name, wantEnc string
		raw           []byte
		sample        bool
	}{
		{"utf-8", "utf-8", page("utf-8"), true},
		{"utf-8 declared gb2312 (bytes win)", "utf-8", page("gb2312"), true},
		{"utf-8 with BOM", "utf-8", bom, true},
		{"gbk declared", "gbk", gbk, true},
		{"gbk declared utf-8 (lying)", "gb18030", gbkLying, true},
		{"gb18030 undeclared", "gb18030", gbkNoDecl, true},
		{"big5 declared", "big5", big5, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := PageAt(tc.raw, "test://"+tc.name, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			if a.Encoding != tc.wantEnc {
				t.Errorf("encoding = %q, want %q", a.Encoding, tc.wantEnc)
			}
			if strings.ContainsRune(a.Title+a.Text, '\uFFFD') {
				t.Errorf("replacement characters in output: %q", a.Title)
			}
			if tc.sample {
				checkSample(t, a)
			} else if !strings.Contains(a.Text, "全市普降暴雨") {
				t.Errorf("text = %q", a.Text)
			}
		})
	}
}

func TestHostile(t *testing.T) {
	big := bytes.Repeat([]byte("<div><p>噪音文字，没有意义的填充内容。<a href='#'>链接</a>"), 5<<20/80)
	tests := []struct {
		name string
		raw  []byte
		ok   func(Article) bool
	}{
		{"unclosed tags", []byte(`<html><body><div><h1>标题在此处<p>第一段正文内容，说明了事情的来龙去脉。<p>第二段正文内容，还在继续讲述<div><span>没有闭合`),
			func(a Article) bool { return strings.Contains(a.Text, "第一段正文内容") }},
		{"script injection in title", []byte(`<html><head><title>&lt;script&gt;alert(1)&lt;/script&gt;真实标题</title>
<meta property="og:title" content="<script>alert(2)</script>真实标题"></head><body><script>document.write("<p>注入的段落，不应出现。</p>")</script>
<div><p>正文第一段，内容足够长，以便被识别为正文块，并且带有标点符号。</p><p>正文第二段<img src=x onerror=alert(3)>，继续说明情况。</p></div></body></html>`),
			func(a Article) bool {
				return !strings.Contains(a.Text, "<") && !strings.Contains(a.Text, "注入") && !strings.Contains(a.Title, "<script")
			}},
		{"5 MB page", big, func(a Article) bool { return !strings.Contains(a.Text, "<") }},
		{"binary garbage", bytes.Repeat([]byte{0xff, 0xfe, 0x00, 0x81, 0x30}, 1000), func(Article) bool { return true }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := PageAt(tc.raw, "test://hostile", time.Now())
			if err != nil && !errors.Is(err, ErrEmpty) {
				t.Fatalf("unexpected error: %v", err)
			}
			if !tc.ok(a) {
				t.Errorf("bad output: title=%q text=%.200q", a.Title, a.Text)
			}
		})
	}
}

func TestEmptyInput(t *testing.T) {
	for _, raw := range [][]byte{nil, {}, []byte("  \n\t ")} {
		_, err := Page(raw, "file:///empty.html")
		if !errors.Is(err, ErrEmpty) {
			t.Errorf("Page(%q) error = %v, want ErrEmpty", raw, err)
		}
		if err != nil && !strings.Contains(err.Error(), "empty.html") {
			t.Errorf("error %q does not name the page", err)
		}
	}
}

func TestTimePatterns(t *testing.T) {
	now := time.Date(2024, 3, 10, 15, 40, 0, 0, China)
	cst := func(y, mo, d, h, mi int) time.Time { return time.Date(y, time.Month(mo), d, h, mi, 0, 0, China) }
	tests := []struct {
		line string
		want time.Time
	}{
		{"2017-08-11 09:30:15", cst(2017, 8, 11, 9, 30)},
		{"2017-08-11", cst(2017, 8, 11, 0, 0)},
		{"2017/08/11 09:30", cst(2017, 8, 11, 9, 30)},
		{"2017年6月27日 11:08", cst(2017, 6, 27, 11, 8)},
		{"发布时间：2019-03-01 08:00 浏览次数：12", cst(2019, 3, 1, 8, 0)},
		{"来源：人民网 2019-03-01", cst(2019, 3, 1, 0, 0)},
		{"3小时前", cst(2024, 3, 10, 12, 40)},
		{"昨天 10:20", cst(2024, 3, 9, 10, 20)},
		{"前天 08:05", cst(2024, 3, 8, 8, 5)},
		{"25分钟前", cst(2024, 3, 10, 15, 15)},
	}
	for _, tc := range tests {
		raw := []byte("<html><head><title>测试标题</title></head><body><h1>测试标题</h1><div>" + tc.line +
			"</div><div><p>正文内容足够长，这是一段用于测试的文字，带有标点符号。</p></div></body></html>")
		a, err := PageAt(raw, "test://time", now)
		if err != nil {
			t.Fatal(err)
		}
		if !a.PublishedAt.Truncate(time.Minute).Equal(tc.want) {
			t.Errorf("%q: got %v, want %v", tc.line, a.PublishedAt, tc.want)
		}
	}
	// A zone the page gives is kept.
	raw := []byte(`<html><head><meta property="article:published_time" content="2019-11-25T10:57:38Z"><title>t</title></head><body><p>正文内容，足够长的一段话，用于测试。</p></body></html>`)
	a, _ := PageAt(raw, "test://zone", now)
	if !a.PublishedAt.Equal(time.Date(2019, 11, 25, 18, 57, 38, 0, China)) {
		t.Errorf("zoned time = %v", a.PublishedAt)
	}
}

func TestJSON(t *testing.T) {
	b, _ := json.Marshal(Article{Title: "t", Text: "x"})
	if strings.Contains(string(b), "published_at") {
		t.Errorf("zero time not omitted: %s", b)
	}
	b, _ = json.Marshal(Article{PublishedAt: time.Date(2020, 1, 2, 3, 4, 0, 0, China)})
	if !strings.Contains(string(b), `"published_at":"2020-01-02T03:04:00+08:00"`) {
		t.Errorf("time not RFC 3339 in China time: %s", b)
	}
}

func BenchmarkPages(b *testing.B) {
	files, _ := filepath.Glob(filepath.Join(pagesDir, "*", "*.html"))
	if len(files) == 0 {
		b.Skip("extract: ../shared/data absent")
	}
	var raws [][]byte
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		raws = append(raws, raw)
	}
	b.ResetTimer()
	n := 0
	for i := 0; i < b.N; i++ {
		for _, raw := range raws {
			if _, err := Page(raw, "bench"); err != nil {
				b.Fatal(err)
			}
			n++
		}
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "pages/s")
}
