package esindex

import (
	"context"
	"os"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

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
		b.Skip("esindex benchmarks: ../shared/data absent")
	}
	if corpusErr != nil {
		b.Fatal(corpusErr)
	}
	if len(corpus) < n {
		b.Fatalf("corpus has %d posts, need %d", len(corpus), n)
	}
	return corpus[:n]
}

// BenchmarkIndex measures indexing in batches of 2,000 real Weibo posts,
// each batch one Index call (bulk, fsynced translog, then searchable), with
// the two ways of making posts searchable. One op is one batch.
func BenchmarkIndex(b *testing.B) {
	for _, mode := range []string{RefreshExplicit, RefreshWaitFor} {
		b.Run("refresh="+mode, func(b *testing.B) {
			const batchSize = 2000
			docs := loadCorpus(b, 20_000)
			ix := openES(b, WithRefresh(mode))
			ctx := context.Background()
			batch := make([]domain.IndexedPost, batchSize)
			b.ResetTimer()
			start, cpu0 := time.Now(), cpuTime()
			for i := 0; i < b.N; i++ {
				for j := range batch {
					k := (i*batchSize + j) % len(docs)
					batch[j] = docs[k]
					batch[j].ID = docs[k].ID + "#" + strconv.Itoa(i)
				}
				if err := ix.Index(ctx, batch); err != nil {
					b.Fatal(err)
				}
			}
			reportIndexing(b, b.N*batchSize, time.Since(start), cpuTime()-cpu0)
		})
	}
}

// BenchmarkIndexPipeline mirrors the analyzer pipeline: 3 goroutines each
// index batches of 2,000 real Weibo posts at the same time (explicit
// refresh). One op is one batch.
func BenchmarkIndexPipeline(b *testing.B) {
	const batchSize, workers = 2000, 3
	docs := loadCorpus(b, 20_000)
	ix := openES(b)
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
					batch[j].ID = docs[k].ID + "#" + strconv.Itoa(i)
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

var (
	bigOnce sync.Once
	bigIx   *Index
	bigErr  error
)

func cleanupBench() {
	if bigIx != nil {
		bigIx.Close()
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if os.Getenv("ESINDEX_BENCH_KEEP") == "" {
			bigIx.Drop(ctx)
		}
	}
}

// bigIndex builds, once per process, an index of 100,000 Weibo posts.
// ESINDEX_BENCH_KEEP=1 keeps it (prefix yqbench-100k) between runs.
func bigIndex(b *testing.B) *Index {
	addrs := addresses(b)
	docs := loadCorpus(b, 100_000)
	bigOnce.Do(func() {
		prefix := randomPrefix(b, "bench")
		if os.Getenv("ESINDEX_BENCH_KEEP") != "" {
			prefix = "yqbench-100k"
		}
		ctx := context.Background()
		if bigIx, bigErr = Open(ctx, addrs, WithPrefix(prefix)); bigErr != nil {
			return
		}
		if n, err := bigIx.Count(ctx); err == nil && n >= int64(len(docs)) {
			return
		}
		start := time.Now()
		for i := 0; i < len(docs); i += 2000 {
			if bigErr = bigIx.Index(ctx, docs[i:min(i+2000, len(docs))]); bigErr != nil {
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
// posts and reports the latency percentiles (the same queries as
// bleveindex's BenchmarkSearch).
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
