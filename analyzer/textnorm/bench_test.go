package textnorm

import (
	"testing"
	"time"

	"yuqing/analyzer/segment"
)

// benchTexts are real posts and reposts of the CED dev set.
func benchTexts(b *testing.B) []string {
	texts := weiboTexts(b, 20000)
	n := 0
	for _, s := range texts {
		n += len(s)
	}
	b.SetBytes(int64(n / len(texts)))
	b.ReportAllocs()
	return texts
}

// BenchmarkNormalize: one op is one post.
func BenchmarkNormalize(b *testing.B) {
	texts := benchTexts(b)
	i := 0
	for b.Loop() {
		_ = Normalize(texts[i%len(texts)])
		i++
	}
}

// BenchmarkNormalizeTo reuses one Text, as a worker would.
func BenchmarkNormalizeTo(b *testing.B) {
	texts := benchTexts(b)
	var t Text
	i := 0
	for b.Loop() {
		NormalizeTo(&t, texts[i%len(texts)])
		i++
	}
}

// BenchmarkFold on the same posts.
func BenchmarkFold(b *testing.B) {
	texts := benchTexts(b)
	i := 0
	for b.Loop() {
		_ = Fold(texts[i%len(texts)])
		i++
	}
}

// BenchmarkCut is gojieba's Cut of the same posts, for the ratio.
func BenchmarkCut(b *testing.B) {
	seg, err := segment.Default()
	if err != nil {
		b.Skip(err)
	}
	texts := benchTexts(b)
	i := 0
	for b.Loop() {
		_ = seg.Cut(texts[i%len(texts)])
		i++
	}
}

// BenchmarkNormalizeVsCut times Normalize and gojieba's Cut of the same
// posts in alternating batches, so that a loaded machine slows both alike:
// norm/cut is Normalize's time over Cut's, and cutOwn/cut is the time of
// cutting the cleaned Own over cutting the raw text.
func BenchmarkNormalizeVsCut(b *testing.B) {
	seg, err := segment.Default()
	if err != nil {
		b.Skip(err)
	}
	texts := benchTexts(b)
	var t Text
	var norm, cut, cutOwn time.Duration
	const batch = 200
	i := 0
	for b.Loop() {
		lo := i % len(texts)
		hi := min(lo+batch, len(texts))
		t0 := time.Now()
		for _, s := range texts[lo:hi] {
			NormalizeTo(&t, s)
		}
		t1 := time.Now()
		for _, s := range texts[lo:hi] {
			_ = seg.Cut(s)
		}
		t2 := time.Now()
		for _, s := range texts[lo:hi] {
			NormalizeTo(&t, s)
			_ = seg.Cut(t.Own)
		}
		t3 := time.Now()
		norm += t1.Sub(t0)
		cut += t2.Sub(t1)
		cutOwn += t3.Sub(t2) - t1.Sub(t0)
		i += hi - lo
	}
	b.ReportMetric(float64(norm)/float64(i), "norm-ns/post")
	b.ReportMetric(float64(cut)/float64(i), "cut-ns/post")
	b.ReportMetric(float64(norm)/float64(cut), "norm/cut")
	b.ReportMetric(float64(cutOwn)/float64(cut), "cutOwn/cut")
}
