package analyzer

import (
	"runtime"
	"syscall"

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

// rusageThread is Linux's RUSAGE_THREAD.
const rusageThread = 1

// threadCPU is the CPU time the calling OS thread has used.
func threadCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(rusageThread, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkAnalyzeVsCut gives the analyzer's speed as a ratio to raw gojieba
// Cut of the same texts, measured in one run: batches of 500 posts
// alternate between the two on one locked OS thread, timed in that thread's
// CPU time, so that other processes on a busy machine do not tilt the
// ratio. go test ./analyzer -run XXX -bench AnalyzeVsCut -benchtime 20000x
func BenchmarkAnalyzeVsCut(b *testing.B) {
	texts := benchTexts(b, 5000)
	a := analyzer(b)
	j := a.Segmenter().Jieba()
	posts := make([]domain.Post, len(texts))
	for i, s := range texts {
		posts[i] = domain.Post{Text: s, Author: domain.Author{Location: "北京 朝阳区"}}
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const batch = 500
	var cutCPU, anCPU time.Duration
	b.ResetTimer()
	for done := 0; done < b.N; done += batch {
		n := min(batch, b.N-done)
		t0 := threadCPU()
		for i := done; i < done+n; i++ {
			j.Cut(texts[i%len(texts)], true)
		}
		t1 := threadCPU()
		for i := done; i < done+n; i++ {
			a.Analyze(&posts[i%len(posts)])
		}
		t2 := threadCPU()
		cutCPU += t1 - t0
		anCPU += t2 - t1
	}
	b.ReportMetric(float64(b.N)/anCPU.Seconds(), "analyze-posts/cpu-s")
	b.ReportMetric(float64(b.N)/cutCPU.Seconds(), "cut-posts/cpu-s")
	b.ReportMetric(cutCPU.Seconds()/anCPU.Seconds(), "ratio")
}
