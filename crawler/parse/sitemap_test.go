package parse

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

const urlset = `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:image="http://www.google.com/schemas/sitemap-image/1.1">
  <url>
    <loc>https://www.hubei.gov.cn/zwgk/hbyw/202405/t20240501_5180001.shtml</loc>
    <lastmod>2024-05-01T10:20:00+08:00</lastmod>
    <changefreq>daily</changefreq>
    <priority>0.8</priority>
    <image:image><image:loc>https://www.hubei.gov.cn/images/not-a-page.jpg</image:loc><image:title>图片标题</image:title></image:image>
  </url>
  <url>
    <loc> /zwgk/hbyw/202405/t20240430_5179990.shtml </loc>
    <lastmod>2024-04-30</lastmod>
  </url>
  <url><loc>https://www.hubei.gov.cn/zwgk/hbyw/202405/t20240501_5180001.shtml</loc></url>
  <url><loc>ftp://www.hubei.gov.cn/file.zip</loc></url>
  <url><loc>https://www.hubei.gov.cn/zwgk/tzgg/</loc><lastmod>bad date</lastmod></url>
</urlset>`

const newsSitemap = `<?xml version="1.0" encoding="UTF-8"?>
<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">
  <url>
    <loc>https://news.cjn.cn/sywh/202405/t4851300.htm</loc>
    <lastmod>2024-05-02T08:00:00+08:00</lastmod>
    <news:news>
      <news:publication><news:name>长江网</news:name><news:language>zh-cn</news:language></news:publication>
      <news:publication_date>2024-05-01T09:30:00+08:00</news:publication_date>
      <news:title>武汉&amp;鄂州：光谷科创大走廊建设提速 &lt;图&gt;</news:title>
      <news:keywords>光谷, 科创</news:keywords>
    </news:news>
  </url>
  <url>
    <loc>https://news.cjn.cn/sywh/202405/t4851301.htm</loc>
    <news:news>
      <news:publication><news:name>长江网</news:name><news:language>zh-cn</news:language></news:publication>
      <news:publication_date>2024-05-01 11:00</news:publication_date>
      <news:title><![CDATA[<b>汉江</b>流域开展联合执法]]></news:title>
    </news:news>
  </url>
</urlset>`

const sitemapIndex = `<?xml version="1.0" encoding="UTF-8"?>
<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">
  <sitemap><loc>https://www.thepaper.cn/sitemap/news-20240501.xml.gz</loc><lastmod>2024-05-01</lastmod></sitemap>
  <sitemap><loc>/sitemap/news-20240502.xml</loc><lastmod>2024-05-02</lastmod></sitemap>
  <sitemap><loc>/sitemap/news-20240502.xml</loc></sitemap>
</sitemapindex>`

func TestSitemap(t *testing.T) {
	hubei := "https://www.hubei.gov.cn/sitemap.xml"
	urlsetWant := []Item{
		{URL: "https://www.hubei.gov.cn/zwgk/hbyw/202405/t20240501_5180001.shtml", PublishedAt: cst(2024, 5, 1, 10, 20, 0)},
		{URL: "https://www.hubei.gov.cn/zwgk/hbyw/202405/t20240430_5179990.shtml", PublishedAt: cst(2024, 4, 30, 0, 0, 0)},
		{URL: "https://www.hubei.gov.cn/zwgk/tzgg/"},
	}
	trunc := urlset[:strings.Index(urlset, "<lastmod>2024-04-30")]
	tests := []struct {
		name     string
		body     []byte
		base     string
		want     []Item
		sitemaps []string
	}{
		{"urlset", []byte(urlset), hubei, urlsetWant, nil},
		{"gzipped urlset", gz(t, []byte(urlset)), hubei, urlsetWant, nil},
		{"gzipped twice", gz(t, gz(t, []byte(urlset))), hubei, urlsetWant, nil},
		{"GBK urlset", gbk(t, strings.Replace(urlset, "<url><loc>ftp:", "<!-- 中文注释 --><url><loc>ftp:", 1)), hubei, urlsetWant, nil},
		{"news sitemap", []byte(newsSitemap), "", []Item{
			{URL: "https://news.cjn.cn/sywh/202405/t4851300.htm", Title: "武汉&鄂州：光谷科创大走廊建设提速 <图>", PublishedAt: cst(2024, 5, 1, 9, 30, 0)},
			{URL: "https://news.cjn.cn/sywh/202405/t4851301.htm", Title: "汉江流域开展联合执法", PublishedAt: cst(2024, 5, 1, 11, 0, 0)},
		}, nil},
		{"sitemap index", []byte(sitemapIndex), "https://www.thepaper.cn/sitemap.xml", nil, []string{
			"https://www.thepaper.cn/sitemap/news-20240501.xml.gz", "https://www.thepaper.cn/sitemap/news-20240502.xml",
		}},
		{"gzipped sitemap index", gz(t, []byte(sitemapIndex)), "https://www.thepaper.cn/sitemap.xml", nil, []string{
			"https://www.thepaper.cn/sitemap/news-20240501.xml.gz", "https://www.thepaper.cn/sitemap/news-20240502.xml",
		}},
		{"truncated urlset", []byte(trunc), hubei, urlsetWant[:1], nil},
		{"text sitemap", []byte("https://www.gzggw.example.cn/a/1.html\r\n\r\n# comment\nhttps://www.gzggw.example.cn/a/2.html\nnot a url\n"), "", []Item{
			{URL: "https://www.gzggw.example.cn/a/1.html"}, {URL: "https://www.gzggw.example.cn/a/2.html"},
		}, nil},
		{"empty urlset", []byte(`<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"></urlset>`), "", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, maps, err := Sitemap(tc.body, tc.base)
			if err != nil {
				t.Fatalf("Sitemap: %v", err)
			}
			checkItems(t, items, tc.want)
			if !slices.Equal(maps, tc.sitemaps) {
				t.Errorf("sitemaps = %q, want %q", maps, tc.sitemaps)
			}
		})
	}
}

func TestSitemapErrors(t *testing.T) {
	corrupt := gz(t, []byte(urlset))
	corrupt = corrupt[:12]
	tests := []struct {
		name string
		body []byte
		is   error
		has  string
	}{
		{"empty", nil, ErrEmpty, "empty"},
		{"gzip of nothing", gz(t, nil), ErrEmpty, "empty"},
		{"corrupt gzip", corrupt, nil, "gzip"},
		{"a feed", []byte(rssLyingUTF8), ErrFormat, "<rss>"},
		{"an HTML page", []byte("<html><body><p>维护中</p></body></html>"), ErrFormat, "<html>"},
		{"plain text", []byte("维护中，请稍后访问"), ErrFormat, "list of URLs"},
		{"broken before the first url", []byte(`<urlset><url><loc>https://a.cn/1</lo`), nil, "first entry"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			items, maps, err := Sitemap(tc.body, "")
			if err == nil {
				t.Fatalf("Sitemap = %v, %v, nil; want an error", items, maps)
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

// A sitemap longer than MaxItems keeps the newest entries, in document order.
func TestSitemapKeepsNewest(t *testing.T) {
	var b strings.Builder
	b.WriteString(`<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">`)
	const n = 1500
	start := cst(2020, 1, 1, 0, 0, 0)
	for i := range n {
		// odd entries are a day newer than the even ones around them
		day := i
		if i%2 == 1 {
			day += 2000
		}
		fmt.Fprintf(&b, "<url><loc>https://www.example.cn/a/%d.html</loc><lastmod>%s</lastmod></url>", i, start.AddDate(0, 0, day).Format(time.RFC3339))
	}
	b.WriteString(`</urlset>`)
	items, _, err := Sitemap(gz(t, []byte(b.String())), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != MaxItems {
		t.Fatalf("%d items, want %d", len(items), MaxItems)
	}
	// all 750 odd ones, then the 250 newest even ones (indices 1000…1498)
	odd := 0
	for i, it := range items {
		var k int
		fmt.Sscanf(it.URL, "https://www.example.cn/a/%d.html", &k)
		if k%2 == 1 {
			odd++
		} else if k < 1000 {
			t.Errorf("kept old entry %d", k)
		}
		if i > 0 {
			var prev int
			fmt.Sscanf(items[i-1].URL, "https://www.example.cn/a/%d.html", &prev)
			if prev >= k {
				t.Errorf("not in document order: %d after %d", k, prev)
			}
		}
	}
	if odd != n/2 {
		t.Errorf("kept %d of the newer entries, want %d", odd, n/2)
	}
}

func TestSitemapGzipLimit(t *testing.T) {
	// A gzip bomb: blanks inside a urlset compress to little. The limit is
	// lowered to 2 MiB here to keep the test quick under -race; the code
	// path is the one MaxSitemapBytes takes.
	defer func(n int) { sitemapLimit = n }(sitemapLimit)
	sitemapLimit = 2 << 20
	var buf bytes.Buffer
	w, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	w.Write([]byte("<urlset><url><loc>https://www.example.cn/1.html</loc></url>"))
	w.Write(bytes.Repeat([]byte(" "), 3<<20))
	w.Write([]byte("<url><loc>https://www.example.cn/2.html</loc></url></urlset>"))
	w.Close()
	items, _, err := Sitemap(buf.Bytes(), "")
	if err != nil {
		t.Fatal(err)
	}
	if len(items) != 1 || items[0].URL != "https://www.example.cn/1.html" {
		t.Errorf("items = %+v, want only the entry within the limit", items)
	}
	if MaxSitemapBytes != 50<<20 {
		t.Errorf("MaxSitemapBytes = %d, want 50 MiB", MaxSitemapBytes)
	}
}
