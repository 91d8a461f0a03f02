package bleveindex

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/blevesearch/bleve/v2/registry"

	"yuqing/analyzer/index"
	"yuqing/analyzer/index/indextest"
	"yuqing/domain"
)

var (
	corpusOnce sync.Once
	corpus     []domain.IndexedPost
	corpusErr  error
)

// loadCorpus gives up to n realistic posts made from the CED Weibo cascades:
// the real text, time, author and cascade, with analysis fields filled the
// way the analyzer would (keywords from the segmentation; sentiment, category
// and region spread over the usual values).
func loadCorpus(b *testing.B, n int) []domain.IndexedPost {
	b.Helper()
	corpusOnce.Do(func() { corpus, corpusErr = indextest.Corpus(110_000) })
	if os.IsNotExist(corpusErr) {
		b.Skip("bleveindex benchmarks: ../shared/data absent")
	}
	if corpusErr != nil {
		b.Fatal(corpusErr)
	}
	if len(corpus) < n {
		b.Fatalf("corpus has %d posts, need %d", len(corpus), n)
	}
	return corpus[:n]
}

// BenchmarkIndex measures indexing in batches of 1,000 real Weibo posts.
func BenchmarkIndex(b *testing.B) {
	docs := loadCorpus(b, 20_000)
	ix, err := Open(filepath.Join(b.TempDir(), "idx"))
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	batch := make([]domain.IndexedPost, 1000)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		for j := range batch {
			k := (i*len(batch) + j) % len(docs)
			batch[j] = docs[k]
			batch[j].ID = fmt.Sprintf("%s#%d", docs[k].ID, i)
		}
		if err := ix.Index(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	reportIndexing(b, b.N*len(batch), time.Since(start), cpuTime()-cpu0)
}

// cpuTime gives the CPU time (user and system) the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// reportIndexing reports docs/s and the CPU time per 1,000 docs, which the
// other work on a shared machine disturbs less than the wall time.
func reportIndexing(b *testing.B, docs int, wall, cpu time.Duration) {
	b.ReportMetric(float64(docs)/wall.Seconds(), "docs/s")
	b.ReportMetric(float64(cpu.Milliseconds())*1000/float64(docs), "cpu-ms/kdoc")
}

var (
	bigOnce sync.Once
	bigIx   *Index
	bigDir  string
	bigErr  error
)

func cleanupBench() {
	if bigIx != nil {
		bigIx.Close()
	}
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
}

// bigIndex builds, once per process, an index of 100,000 Weibo posts.
func bigIndex(b *testing.B) *Index {
	docs := loadCorpus(b, 100_000)
	bigOnce.Do(func() {
		// BLEVEINDEX_BENCH_DIR keeps the built index between runs, for profiling.
		if keep := os.Getenv("BLEVEINDEX_BENCH_DIR"); keep != "" {
			if bigIx, bigErr = Open(keep); bigErr != nil {
				return
			}
			if n, err := bigIx.Count(context.Background()); err == nil && n >= int64(len(docs))*99/100 {
				return
			}
		} else if bigDir, bigErr = os.MkdirTemp("", "bleveindex-bench-"); bigErr != nil {
			return
		} else if bigIx, bigErr = Open(filepath.Join(bigDir, "idx")); bigErr != nil {
			return
		}
		start := time.Now()
		for i := 0; i < len(docs); i += 1000 {
			if bigErr = bigIx.Index(context.Background(), docs[i:min(i+1000, len(docs))]); bigErr != nil {
				return
			}
		}
		b.Logf("built an index of %d posts in %v (%.0f docs/s)", len(docs), time.Since(start).Round(time.Millisecond), float64(len(docs))/time.Since(start).Seconds())
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigIx
}

// BenchmarkSearch measures one search with all aggregations over 100,000
// posts and reports the latency percentiles.
func BenchmarkSearch(b *testing.B) {
	words := []string{"医院", "政府", "谣言", "地震", "孩子", "警察", "北京", "转发", "中国 政府", "食品 安全", "微博", "记者"}
	places := []string{"浙江省", "北京市", "广州市", "江苏省南京市", "朝阳区", "湖北省"}
	from := time.Date(2012, 9, 1, 0, 0, 0, 0, cst)
	for _, bc := range []struct {
		name string
		q    func(i int) index.Query
	}{
		{"keyword", func(i int) index.Query { return index.Query{Q: words[i%len(words)]} }},
		{"keyword+30d", func(i int) index.Query {
			return index.Query{Q: words[i%len(words)], From: from, To: from.AddDate(0, 0, 30)}
		}},
		{"keyword+filter", func(i int) index.Query {
			return index.Query{Q: words[i%len(words)], Sentiment: domain.Negative, Region: "浙江"}
		}},
		{"keyword+analysis", func(i int) index.Query {
			return index.Query{Q: words[i%len(words)], Place: places[i%len(places)], MinRisk: 0.05 + float64(i%10)/20}
		}},
		{"all", func(i int) index.Query { return index.Query{} }},
		{"all+minrisk", func(i int) index.Query { return index.Query{MinRisk: 0.005 + float64(i%100)/100} }},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ix := bigIndex(b)
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			var hits int64
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				t0 := time.Now()
				res, err := ix.Search(ctx, bc.q(i))
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				hits += res.Total
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			pct := func(p float64) float64 {
				return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(0.50), "p50-ms")
			b.ReportMetric(pct(0.95), "p95-ms")
			b.ReportMetric(float64(hits)/float64(b.N), "matches/op")
		})
	}
}

// BenchmarkIndexPipeline mirrors the analyzer pipeline: 3 goroutines each
// index batches of 2,000 real Weibo posts into one index at the same time.
// One op is one batch.
// The sub-benchmark with 1 goroutine shows what the concurrency gives.
func BenchmarkIndexPipeline(b *testing.B) {
	for _, workers := range []int{3, 1} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) { benchPipeline(b, workers) })
	}
}

func benchPipeline(b *testing.B, workers int) {
	const batchSize = 2000
	docs := loadCorpus(b, 100_000)
	ix, err := Open(filepath.Join(b.TempDir(), "idx"))
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := make([]domain.IndexedPost, batchSize)
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				for j := range batch {
					k := (i*batchSize + j) % len(docs)
					batch[j] = docs[k]
					batch[j].ID = docs[k].ID + "#" + strconv.Itoa(i*batchSize/len(docs))
				}
				if err := ix.Index(ctx, batch); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	reportIndexing(b, b.N*batchSize, elapsed, cpu)
}

// BenchmarkTokenizer measures the content analyzer on real Weibo texts.
func BenchmarkTokenizer(b *testing.B) {
	docs := loadCorpus(b, 1000)
	an, err := registry.NewCache().AnalyzerNamed(AnalyzerName)
	if err != nil {
		b.Fatal(err)
	}
	texts := make([][]byte, len(docs))
	for i, d := range docs {
		texts[i] = []byte(d.Text)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		an.Analyze(append([]byte(nil), texts[i%len(texts)]...))
	}
}
