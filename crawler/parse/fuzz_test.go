package parse

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets run their seeds as part of go test; run them for real
// with go test -fuzz=FuzzFeed ./crawler/parse and so on.

func FuzzFeed(f *testing.F) {
	for _, s := range []string{rssLyingUTF8, atomRelative, rdfFeed, rssCDATA, rssItems(2), "", "<rss><channel><item><title>x"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, err := Feed(body, "https://www.example.cn/rss/")
		if err != nil && len(items) > 0 {
			t.Fatal("items with an error")
		}
		checkPlain(t, items)
		checkURLs(t, items)
	})
}

func FuzzSitemap(f *testing.F) {
	for _, s := range []string{urlset, newsSitemap, sitemapIndex, "https://a.cn/1\nhttps://a.cn/2", "\x1f\x8b\x08"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		items, maps, err := Sitemap(body, "https://www.example.cn/")
		if err != nil && len(items)+len(maps) > 0 {
			t.Fatal("entries with an error")
		}
		if len(maps) > MaxItems {
			t.Fatalf("%d sitemaps", len(maps))
		}
		checkPlain(t, items)
		checkURLs(t, items)
	})
}

func FuzzJSON(f *testing.F) {
	f.Add([]byte(weiboLike), "data.list", "text_raw", "data.next_cursor")
	f.Add([]byte(`[{"a":1}]`), "", "a", "")
	f.Add([]byte(`cb({"x":"[1,2]"})`), "x", "", "x.0")
	f.Fuzz(func(t *testing.T, body []byte, items, field, cursor string) {
		spec := JSONSpec{Items: items, Cursor: cursor, Fields: map[string]string{"title": field, "text": field, "url": field, "id": field, "published_at": field}}
		got, next, err := JSON(body, spec)
		if err != nil && len(got) > 0 {
			t.Fatal("items with an error")
		}
		if len(next) > maxCursorBytes {
			t.Fatalf("cursor of %d bytes", len(next))
		}
		checkPlain(t, got)
	})
}

func FuzzLinks(f *testing.F) {
	f.Add([]byte(listPage(3)), "", "")
	f.Add([]byte(`<a href="/2024/0501/1.html">一条新闻的标题在这里</a><a href="x">下一页</a>`), "a", "a")
	f.Add([]byte(strings.Repeat("<div>", 600)+`<a href="/1234.html">深层嵌套的新闻标题</a>`), "", "")
	f.Fuzz(func(t *testing.T, body []byte, links, next string) {
		base := "https://www.example.cn/news/list.html"
		articles, nx, err := Links(body, base, LinkSpec{Links: links, Next: next})
		if err != nil {
			return
		}
		if len(articles) > MaxItems {
			t.Fatalf("%d links", len(articles))
		}
		seen := map[string]bool{}
		for _, a := range append(articles, nx) {
			if a == "" {
				continue
			}
			if !strings.HasPrefix(a, "http://") && !strings.HasPrefix(a, "https://") || strings.Contains(a, "#") || len(a) > MaxURLBytes {
				t.Fatalf("bad URL %q", a)
			}
			if seen[a] && a != nx {
				t.Fatalf("duplicate %q", a)
			}
			seen[a] = true
		}
		if nx == base {
			t.Fatal("next is the page itself")
		}
	})
}

func FuzzTime(f *testing.F) {
	for _, s := range []string{"2024-05-01 10:20", "Wed, 01 May 2024 09:30:00 +0800", "1714530000123", "2017年6月27日 下午3:08", "Sun Jan 13 14:58:24 +0800 2013"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tm, ok := Time(s); ok && (tm.Year() < 1970 || tm.Year() > 2100) {
			t.Fatalf("Time(%q) = %v", s, tm)
		}
	})
}

func FuzzStripHTML(f *testing.F) {
	for _, s := range []string{"<p>a</p>", "&amp;lt;b&amp;gt;", "<script>x", "a < b", "<<<>>>&&&;"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := StripHTML(s)
		if !utf8.ValidString(out) {
			t.Fatalf("StripHTML(%q) not UTF-8", s)
		}
		if out != strings.TrimSpace(out) || strings.Contains(out, "  ") || strings.Contains(out, "\n\n") {
			t.Fatalf("StripHTML(%q) = %q: white space not collapsed", s, out)
		}
	})
}

func checkURLs(t *testing.T, items []Item) {
	t.Helper()
	for _, it := range items {
		if it.URL != "" && !strings.HasPrefix(it.URL, "http://") && !strings.HasPrefix(it.URL, "https://") {
			t.Fatalf("URL %q", it.URL)
		}
	}
}
