package crawler

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// savedPages reads the saved news pages of ../shared/data/pages (real
// Chinese sites in UTF-8, GBK and GB2312), or skips.
func savedPages(b *testing.B) [][]byte {
	root := filepath.Join("..", "..", "shared", "data", "pages")
	var files []string
	_ = filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(p, ".html") {
			files = append(files, p)
		}
		return nil
	})
	if len(files) == 0 {
		b.Skip("../shared/data/pages not found")
	}
	sort.Strings(files)
	out := make([][]byte, len(files))
	for i, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = raw
	}
	return out
}

// pagesSite serves n article URLs cycling over the saved pages, behind list
// pages of 50 links each. Repeats of a page are recognised as duplicates
// by their content hash after extraction, so every page still goes the
// whole way (fetch, decode, extract, hash, state lookup).
func pagesSite(b *testing.B, pages [][]byte, n int) *site {
	s := newSite(b)
	s.setPage("/a/", page{fn: func(w http.ResponseWriter, r *http.Request) {
		var i int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/a/"), "%d.html", &i)
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write(pages[i%len(pages)])
	}})
	s.setPage("/list/", page{fn: func(w http.ResponseWriter, r *http.Request) {
		var p int
		fmt.Sscanf(strings.TrimPrefix(r.URL.Path, "/list/"), "%d.html", &p)
		var sb strings.Builder
		sb.WriteString(`<html><head><meta charset="utf-8"></head><body><ul>`)
		for i := p * 50; i < min(n, (p+1)*50); i++ {
			fmt.Fprintf(&sb, `<li><a href="/a/%d.html">第%d篇保存的新闻网页标题</a></li>`, i, i)
		}
		fmt.Fprintf(&sb, `</ul><a href="/list/%d.html">下一页</a></body></html>`, p+1)
		_, _ = w.Write([]byte(sb.String()))
	}})
	return s
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkCrawlSavedPages measures the whole path of an HTML source over
// the saved pages served locally: list pages, fetch (colly, politeness
// rules on, no delay), decode, extract, canonicalise, SimHash and dedup
// against the durable state, and emit. "fetch-only" gets the same pages
// with the same fetcher and nothing else, for the ratio. pages/cpu-s is the
// figure per core (server and crawler share the process, so it is a lower
// bound).
func BenchmarkCrawlSavedPages(b *testing.B) {
	pages := savedPages(b)
	var bytes int
	for _, p := range pages {
		bytes += len(p)
	}
	b.Run("full", func(b *testing.B) {
		s := pagesSite(b, pages, b.N)
		out := &collect{}
		c := newCrawler(b, openState(b, b.TempDir()), out, FetchOptions{})
		sc := src("保存的网页", TypeHTML, s.url("/list/0.html"))
		sc.MaxItems, sc.MaxPages = b.N, b.N/50+2
		sc.List.Links = "ul a"
		b.SetBytes(int64(bytes / len(pages)))
		cpu0 := cpuTime()
		b.ResetTimer()
		res := c.RunOnce(context.Background(), sc)
		b.StopTimer()
		if res.New+res.Seen < b.N*9/10 && b.N > 10 {
			b.Fatalf("new %d of %d (%v)", res.New, b.N, res.Errors[:min(3, len(res.Errors))])
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
		b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "pages/cpu-s")
	})
	b.Run("fetch-only", func(b *testing.B) {
		s := pagesSite(b, pages, b.N)
		c := newCrawler(b, openState(b, b.TempDir()), &collect{}, FetchOptions{})
		b.SetBytes(int64(bytes / len(pages)))
		cpu0 := cpuTime()
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			if _, err := c.Fetcher.Get(context.Background(), Request{URL: s.url(fmt.Sprintf("/a/%d.html", i))}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pages/s")
		b.ReportMetric(float64(b.N)/(cpuTime()-cpu0).Seconds(), "pages/cpu-s")
	})
}
