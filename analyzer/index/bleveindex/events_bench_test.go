package bleveindex

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"yuqing/analyzer/index"
	"yuqing/domain"
)

// benchEvents makes n events from the CED posts, as the events grouper
// would: the post's first words as title, its keywords as keywords and
// name, grades and places spread over the usual values.
func benchEvents(b *testing.B, n int) []domain.Event {
	docs := loadCorpus(b, n)
	places := []string{"浙江省宁波市", "江苏省南京市", "湖北省武汉市", "北京市", "广东省深圳市"}
	out := make([]domain.Event, n)
	for i, d := range docs {
		title := []rune(d.Text)
		if len(title) > 30 {
			title = title[:30]
		}
		var kws []string
		for _, k := range d.Analysis.Keywords {
			kws = append(kws, k.Word)
		}
		name := ""
		for j, k := range kws {
			if j == 3 {
				break
			}
			if j > 0 {
				name += "·"
			}
			name += k
		}
		out[i] = domain.Event{
			ID: "ev-" + d.ID, RootPostID: d.ID, Name: name, Title: string(title), Keywords: kws,
			FirstAt: d.PublishedAt, LastAt: d.PublishedAt.Add(time.Duration(i%48) * time.Hour),
			Posts: int64(1 + i%500), Heat: float64(i%100) + 0.5, Grade: domain.Grade(i % 5),
			Category: d.Analysis.Category, Region: d.Region, Unit: d.Analysis.Unit,
			Places: []string{places[i%len(places)]}, Version: 1,
			Reasons: []string{"声量", "增长", "负面占比"},
		}
	}
	return out
}

// BenchmarkIndexEvents measures indexing events in batches of 200 states
// of events already in the index (each a newer version: the index reads
// the indexed version of each first), as the pipeline does after a batch.
func BenchmarkIndexEvents(b *testing.B) {
	evs := benchEvents(b, 10_000)
	ix, err := Open(filepath.Join(b.TempDir(), "idx"))
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	for i := 0; i < len(evs); i += 1000 {
		if err := ix.IndexEvents(ctx, evs[i:min(i+1000, len(evs))]); err != nil {
			b.Fatal(err)
		}
	}
	batch := make([]domain.Event, 200)
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for i := 0; i < b.N; i++ {
		for j := range batch {
			k := (i*len(batch) + j) % len(evs)
			batch[j] = evs[k]
			batch[j].Version = int64(2 + (i*len(batch)+j)/len(evs))
			batch[j].Posts++
		}
		if err := ix.IndexEvents(ctx, batch); err != nil {
			b.Fatal(err)
		}
	}
	reportIndexing(b, b.N*len(batch), time.Since(start), cpuTime()-cpu0)
}

// BenchmarkSearchEvents measures event searches over 20,000 events: a
// word with every aggregation, a word with a filter, and the hottest 20.
func BenchmarkSearchEvents(b *testing.B) {
	evs := benchEvents(b, 20_000)
	ix, err := Open(filepath.Join(b.TempDir(), "idx"))
	if err != nil {
		b.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	for i := 0; i < len(evs); i += 2000 {
		if err := ix.IndexEvents(ctx, evs[i:i+2000]); err != nil {
			b.Fatal(err)
		}
	}
	for _, tc := range []struct {
		name string
		q    index.EventQuery
	}{
		{"word", index.EventQuery{Q: "警察"}},
		{"word+filter", index.EventQuery{Q: "警察", MinGrade: domain.GradeIII, MinHeat: 20}},
		{"hottest", index.EventQuery{}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var total int64
			for i := 0; i < b.N; i++ {
				res, err := ix.SearchEvents(ctx, tc.q)
				if err != nil {
					b.Fatal(err)
				}
				total = res.Total
			}
			b.ReportMetric(float64(total), "matches")
		})
	}
}
