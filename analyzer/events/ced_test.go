package events

import (
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"yuqing/analyzer"
	"yuqing/domain"
	"yuqing/ingest/dataset"
)

// cedPath is the CED development set, relative to this package.
var cedPath = filepath.Join("..", "..", "..", "shared", "data", "weibo", "ced_dev.jsonl.gz")

var ced struct {
	once   sync.Once
	stream []domain.IndexedPost
	err    error
}

// cedStream gives the CED posts, analysed, in (time, id) order.
func cedStream(tb testing.TB) []domain.IndexedPost {
	tb.Helper()
	if _, err := os.Stat(cedPath); err != nil {
		tb.Skip("CED dev set: ../shared/data absent")
	}
	ced.once.Do(func() {
		start := time.Now()
		// the same reader `yuqing replay` uses; note it also sets root_id,
		// which the grouping does not rely on here
		posts, err := dataset.ReadFile(cedPath, func(e error) { tb.Logf("CED: skipped %v", e) })
		if err != nil {
			ced.err = err
			return
		}
		an, err := analyzer.New()
		if err != nil {
			ced.err = err
			return
		}
		out := make([]domain.IndexedPost, len(posts))
		var wg sync.WaitGroup
		workers := runtime.GOMAXPROCS(0)
		for w := 0; w < workers; w++ {
			wg.Add(1)
			go func(w int) {
				defer wg.Done()
				for i := w; i < len(posts); i += workers {
					out[i] = domain.IndexedPost{Post: posts[i], Analysis: an.Analyze(&posts[i])}
				}
			}(w)
		}
		wg.Wait()
		sortStream(out)
		ced.stream = out
		tb.Logf("CED: %d posts loaded and analysed in %s", len(out), time.Since(start).Round(time.Millisecond))
	})
	if ced.err != nil {
		tb.Fatalf("CED dev set: %v", ced.err)
	}
	return ced.stream
}

// TestGradeDistribution replays the whole CED dev set through Plan/Commit in
// timestamp order (cedReplay, shared with TestCEDEventQuality) and prints
// the grades it gives.
func TestGradeDistribution(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 763k posts")
	}
	stream := cedStream(t)
	run := cedReplay(t)
	all, elapsed := run.events, run.elapsed

	counts := map[domain.Grade]int{}
	var heats []float64
	var posts int64
	withRoot, orphan := 0, 0
	for _, e := range all {
		counts[e.Grade]++
		heats = append(heats, e.Heat)
		posts += e.Posts
		if EventID(e.RootPostID) == e.ID {
			withRoot++
		} else {
			orphan++
		}
	}
	n := float64(len(all))
	t.Logf("CED replay: %d posts → %d events (%d with their root, %d without) in %s (%.0f posts/s, batches of 1,000)",
		posts, len(all), withRoot, orphan, elapsed.Round(time.Millisecond), float64(len(stream))/elapsed.Seconds())
	for _, gr := range []domain.Grade{domain.GradeI, domain.GradeII, domain.GradeIII, domain.GradeIV, domain.GradeNone} {
		name := gr.String()
		if name == "" {
			name = "—"
		}
		t.Logf("  grade %-2s %-4s %5d  %5.2f%%", name, gr.Zh(), counts[gr], 100*float64(counts[gr])/n)
	}
	sort.Float64s(heats)
	q := func(p float64) float64 { return heats[int(p*float64(len(heats)-1))] }
	t.Logf("  heat: min %.1f  p10 %.1f  p50 %.1f  p90 %.1f  p99 %.1f  max %.1f", q(0), q(0.1), q(0.5), q(0.9), q(0.99), q(1))
	for i, e := range all[:min(8, len(all))] {
		t.Logf("  #%d %s %s级 heat %.1f %q: %s", i+1, e.ID, e.Grade, e.Heat, e.Title, strings.Join(e.Reasons, "；"))
	}

	if posts != int64(len(uniqueIDs(stream))) {
		t.Errorf("events count %d posts, the stream has %d distinct", posts, len(uniqueIDs(stream)))
	}
	share := func(gs ...domain.Grade) float64 {
		c := 0
		for _, g := range gs {
			c += counts[g]
		}
		return float64(c) / n
	}
	if s := share(domain.GradeNone, domain.GradeIV); s < 0.85 {
		t.Errorf("only %.1f%% of events below grading or at IV, want most (≥ 85%%)", 100*s)
	}
	if s := share(domain.GradeIII); s < 0.01 || s > 0.10 {
		t.Errorf("%.2f%% of events at III, want a few percent (1–10%%)", 100*s)
	}
	if s := share(domain.GradeII); s >= 0.01 {
		t.Errorf("%.2f%% of events at II, want well under 1%%", 100*s)
	}
	if s := share(domain.GradeI); s > share(domain.GradeII) || s > 0.003 {
		t.Errorf("%.2f%% of events at I, want rare (no more than II's %.2f%%)", 100*s, 100*share(domain.GradeII))
	}
}

func uniqueIDs(ds []domain.IndexedPost) map[string]struct{} {
	m := make(map[string]struct{}, len(ds))
	for _, d := range ds {
		m[d.ID] = struct{}{}
	}
	return m
}

// BenchmarkPlanCommit measures Plan+Commit of batches of 1,000 CED posts
// (reposts mostly), in timestamp order, against sqlitestore.
func BenchmarkPlanCommit(b *testing.B) {
	stream := cedStream(b)
	ctx := context.Background()
	var g *Grouper
	pos := len(stream)
	var done int
	b.ResetTimer()
	start := time.Now()
	var paused time.Duration
	for i := 0; i < b.N; i++ {
		if pos >= len(stream) {
			b.StopTimer()
			p0 := time.Now()
			g = New(openStore(b), Config{})
			pos = 0
			paused += time.Since(p0)
			b.StartTimer()
		}
		batch := append([]domain.IndexedPost(nil), stream[pos:min(pos+1000, len(stream))]...)
		pos += len(batch)
		p, err := g.Plan(ctx, batch)
		if err != nil {
			b.Fatal(err)
		}
		if err := g.Commit(ctx, p); err != nil {
			b.Fatal(err)
		}
		done += len(batch)
	}
	b.ReportMetric(float64(done)/(time.Since(start)-paused).Seconds(), "posts/s")
}

// The brief's order-independence on real data: a slice of CED in batches
// of 1, 97 and 1,000, and shuffled, gives the same events.
func TestCEDDeterminism(t *testing.T) {
	if testing.Short() {
		t.Skip("long")
	}
	stream := cedStream(t)
	// 6,000 posts from the middle of the stream: many cascades, some of
	// whose earlier posts are outside the slice
	mid := len(stream) / 2
	part := stream[mid : mid+6000]
	want, wantAssign := replay(t, part, 1, nil)
	for _, batch := range []int{97, 1000} {
		got, gotAssign := replay(t, part, batch, rngFor(int64(batch)))
		if len(got) != len(want) || len(gotAssign) != len(wantAssign) {
			t.Fatalf("batch %d: %d events and %d posts, batch 1: %d and %d", batch, len(got), len(gotAssign), len(want), len(wantAssign))
		}
		for id, w := range want {
			if got[id] != w {
				t.Errorf("batch %d shuffled: event %s\n got %+v\nwant %+v", batch, id, got[id], w)
			}
		}
	}
	t.Logf("%d CED posts → %d events, identical with batches of 1 and 97/1,000 shuffled", len(part), len(want))
}

func rngFor(seed int64) *rand.Rand { return rand.New(rand.NewSource(seed)) }
