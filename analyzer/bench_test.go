package analyzer

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"yuqing/domain"
)

// benchFile is the Weibo data set, from the package folder.
var benchFile = filepath.Join("..", "..", "shared", "data", "weibo", "ced_dev.jsonl.gz")

// benchTexts gives the first n texts of the Weibo data set, each post's text
// then its reposts' and comments' non-empty texts, in file order.
func benchTexts(tb testing.TB, n int) []string {
	tb.Helper()
	f, err := os.Open(benchFile)
	if err != nil {
		tb.Skip("benchmark texts: ../shared/data absent")
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatalf("%s: %v", benchFile, err)
	}
	dec := json.NewDecoder(bufio.NewReaderSize(zr, 1<<20))
	var out []string
	for len(out) < n {
		var rec struct {
			Post struct {
				Text string `json:"text"`
			} `json:"post"`
			Reposts []struct {
				Text string `json:"text"`
			} `json:"reposts"`
		}
		if err := dec.Decode(&rec); err != nil {
			break
		}
		if rec.Post.Text != "" {
			out = append(out, rec.Post.Text)
		}
		for _, r := range rec.Reposts {
			if r.Text != "" && len(out) < n {
				out = append(out, r.Text)
			}
		}
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no texts", benchFile)
	}
	return out
}

func BenchmarkAnalyze(b *testing.B) {
	texts := benchTexts(b, 5000)
	a := analyzer(b)
	posts := make([]domain.Post, len(texts))
	for i, s := range texts {
		posts[i] = domain.Post{Text: s, Author: domain.Author{Location: "北京 朝阳区"}}
	}
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		a.Analyze(&posts[i%len(posts)])
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "posts/s")
}

func BenchmarkRawCut(b *testing.B) {
	texts := benchTexts(b, 5000)
	j := analyzer(b).Segmenter().Jieba()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		j.Cut(texts[i%len(texts)], true)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "posts/s")
}

// rate runs fn (which handles n posts) once and gives posts per second.
func rate(fn func(), n int) float64 {
	start := time.Now()
	fn()
	return float64(n) / time.Since(start).Seconds()
}
