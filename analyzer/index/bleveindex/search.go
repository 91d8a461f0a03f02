package bleveindex

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/numeric"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"yuqing/analyzer/index"
)

// Facet sizes.
const (
	sentimentTop = 10
	categoryTop  = 20
	regionTop    = 20
	keywordTop   = 20
	// maxBuckets bounds the over-time series; a wider given range is clamped
	// to the first and last matching post.
	maxBuckets = 2000
)

// Intervals of the over-time aggregation.
const (
	intervalHour  = "hour"
	intervalDay   = "day"
	intervalMonth = "month"
)

// Search runs a query. An empty Q matches every post and sorts by
// published_at, newest first; a Q sorts by relevance. Aggregations count all
// matches.
//
// Q is cut into words as the index cuts text (gojieba, lowercased) and every
// word must match (AND). A word matches a post that has it as a token, or,
// as a fallback for compounds that the post's own segmentation split
// differently (人民代表大会 indexed, 代表大会 asked), that has every
// search-mode word inside it. A Q with no word at all (only spaces or
// punctuation) is treated as empty.
func (ix *Index) Search(ctx context.Context, q index.Query) (index.Result, error) {
	q = q.Normalize()
	if err := ctx.Err(); err != nil {
		return index.Result{}, fmt.Errorf("bleveindex: search: %w", err)
	}
	if err := ix.acquire(); err != nil {
		return index.Result{}, err
	}
	defer ix.release()

	bq, scored := ix.buildQuery(q)

	// The interval comes from the asked range, or from the matches' own span.
	lo, hi := q.From, q.To // hi is exclusive when given
	hiInclusive := false
	if lo.IsZero() || hi.IsZero() {
		min, max, ok, err := ix.span(ctx, bq)
		if err != nil {
			return index.Result{}, err
		}
		if !ok {
			return ix.run(ctx, q, bq, scored, "", nil)
		}
		if lo.IsZero() {
			lo = min
		}
		if hi.IsZero() {
			hi, hiInclusive = max, true
		}
	}
	interval := chooseInterval(hi.Sub(lo))
	starts := bucketStarts(lo, hi, hiInclusive, interval)
	if len(starts) > maxBuckets {
		min, max, ok, err := ix.span(ctx, bq)
		if err != nil {
			return index.Result{}, err
		}
		if !ok {
			return ix.run(ctx, q, bq, scored, interval, nil)
		}
		if min.After(lo) {
			lo = min
		}
		if !hi.After(max) || !hiInclusive {
			hi, hiInclusive = max, true
		}
		starts = bucketStarts(lo, hi, hiInclusive, interval)
		if len(starts) > maxBuckets {
			starts = starts[len(starts)-maxBuckets:]
		}
	}
	return ix.run(ctx, q, bq, scored, interval, starts)
}

// run executes the main search with its facets and fills the result.
func (ix *Index) run(ctx context.Context, q index.Query, bq query.Query, scored bool, interval string, starts []time.Time) (index.Result, error) {
	req := bleve.NewSearchRequestOptions(bq, q.Size, q.Offset, false)
	req.Fields = []string{fSourceDoc}
	if scored {
		req.SortBy([]string{"-_score", "-" + fPublished, "_id"})
	} else {
		req.Score = "none"
		req.SortByCustom(search.SortOrder{
			&search.SortField{Field: fPublished, Type: search.SortFieldAsDate, Desc: true, Missing: search.SortFieldMissingLast},
			&search.SortDocID{},
		})
	}
	req.AddFacet(fSentiment, bleve.NewFacetRequest(fSentiment, sentimentTop))
	req.AddFacet(fCategory, bleve.NewFacetRequest(fCategory, categoryTop))
	req.AddFacet(fRegion, bleve.NewFacetRequest(fRegion, regionTop))
	req.AddFacet(fKeywords, bleve.NewFacetRequest(fKeywords, keywordTop))
	timeField := ""
	if len(starts) > 0 {
		timeField = map[string]string{intervalHour: fHour, intervalDay: fDay, intervalMonth: fMonth}[interval]
		req.AddFacet("over_time", bleve.NewFacetRequest(timeField, len(starts)))
	}
	res, err := ix.bi.SearchInContext(ctx, req)
	if err != nil {
		return index.Result{}, fmt.Errorf("bleveindex: search %q in %s: %w", q.Q, ix.dir, err)
	}
	out := index.Result{Total: int64(res.Total), Hits: make([]index.Hit, 0, len(res.Hits))}
	for _, h := range res.Hits {
		src, _ := h.Fields[fSourceDoc].(string)
		if src == "" {
			return index.Result{}, fmt.Errorf("bleveindex: search: hit %s has no stored document", h.ID)
		}
		var hit index.Hit
		if err := json.Unmarshal([]byte(src), &hit.IndexedPost); err != nil {
			return index.Result{}, fmt.Errorf("bleveindex: search: decode hit %s: %w", h.ID, err)
		}
		hit.Score = h.Score
		out.Hits = append(out.Hits, hit)
	}
	out.Aggs.BySentiment = termCounts(res.Facets[fSentiment])
	out.Aggs.ByCategory = termCounts(res.Facets[fCategory])
	out.Aggs.ByRegion = termCounts(res.Facets[fRegion])
	out.Aggs.TopKeywords = termCounts(res.Facets[fKeywords])
	out.Aggs.Interval = interval
	if len(starts) > 0 {
		counts := map[string]int64{}
		for _, tc := range termCounts(res.Facets["over_time"]) {
			counts[tc.Term] = tc.Count
		}
		key := map[string]func(time.Time) string{intervalHour: hourKey, intervalDay: dayKey, intervalMonth: monthKey}[interval]
		out.Aggs.OverTime = make([]index.TimeBucket, len(starts))
		for i, s := range starts {
			out.Aggs.OverTime[i] = index.TimeBucket{Start: s, Count: counts[key(s)]}
		}
	}
	return out, nil
}

// buildQuery gives the Bleve query and whether it is scored by relevance.
func (ix *Index) buildQuery(q index.Query) (query.Query, bool) {
	var parts []query.Query
	text := ix.textQuery(q.Q)
	if text != nil {
		parts = append(parts, text)
	}
	for _, f := range []struct{ field, value string }{
		{fSentiment, q.Sentiment}, {fCategory, q.Category}, {fRegion, q.Region},
		{fUnit, q.Unit}, {fEventID, q.EventID},
	} {
		if f.value != "" {
			tq := bleve.NewTermQuery(f.value)
			tq.SetField(f.field)
			parts = append(parts, tq)
		}
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		incl, excl := true, false
		dq := bleve.NewDateRangeInclusiveQuery(q.From, q.To, &incl, &excl)
		dq.SetField(fPublished)
		parts = append(parts, dq)
	}
	switch len(parts) {
	case 0:
		return bleve.NewMatchAllQuery(), false
	case 1:
		return parts[0], text != nil
	}
	return bleve.NewConjunctionQuery(parts...), text != nil
}

// textQuery gives the AND of the query's words, or nil if it has none.
func (ix *Index) textQuery(s string) query.Query {
	groups := queryGroups(ix.seg, s)
	if len(groups) == 0 {
		return nil
	}
	term := func(t string) query.Query {
		tq := bleve.NewTermQuery(t)
		tq.SetField(fContent)
		return tq
	}
	var must []query.Query
	for _, g := range groups {
		if len(g) == 1 {
			must = append(must, term(g[0]))
			continue
		}
		// g holds the search-mode words, the whole word last when it is one.
		whole := g[len(g)-1]
		var subs []query.Query
		for _, t := range g[:len(g)-1] {
			subs = append(subs, term(t))
		}
		must = append(must, bleve.NewDisjunctionQuery(term(whole), bleve.NewConjunctionQuery(subs...)))
	}
	if len(must) == 1 {
		return must[0]
	}
	return bleve.NewConjunctionQuery(must...)
}

// span finds the earliest and latest published_at among the matches.
func (ix *Index) span(ctx context.Context, bq query.Query) (min, max time.Time, ok bool, err error) {
	edge := func(desc bool) (time.Time, bool, error) {
		req := bleve.NewSearchRequestOptions(bq, 1, 0, false)
		req.Score = "none"
		req.SortByCustom(search.SortOrder{&search.SortField{Field: fPublished, Type: search.SortFieldAsDate, Desc: desc, Missing: search.SortFieldMissingLast}})
		res, err := ix.bi.SearchInContext(ctx, req)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("bleveindex: search time span in %s: %w", ix.dir, err)
		}
		if len(res.Hits) == 0 || len(res.Hits[0].Sort) == 0 {
			return time.Time{}, false, nil
		}
		pc := numeric.PrefixCoded(res.Hits[0].Sort[0])
		if shift, err := pc.Shift(); err != nil || shift != 0 {
			return time.Time{}, false, nil // the post has no published_at
		}
		ns, err := pc.Int64()
		if err != nil {
			return time.Time{}, false, nil
		}
		return time.Unix(0, ns).In(cst), true, nil
	}
	if min, ok, err = edge(false); err != nil || !ok {
		return min, max, ok, err
	}
	max, ok, err = edge(true)
	return min, max, ok, err
}

// chooseInterval picks the over-time interval for a span of time.
func chooseInterval(span time.Duration) string {
	switch {
	case span <= 72*time.Hour:
		return intervalHour
	case span <= 180*24*time.Hour:
		return intervalDay
	}
	return intervalMonth
}

// truncate gives the start, in China time, of the interval holding t.
func truncate(t time.Time, interval string) time.Time {
	t = t.In(cst)
	switch interval {
	case intervalHour:
		return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, cst)
	case intervalDay:
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, cst)
	}
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, cst)
}

func next(t time.Time, interval string) time.Time {
	switch interval {
	case intervalHour:
		return t.Add(time.Hour)
	case intervalDay:
		return t.AddDate(0, 0, 1)
	}
	return t.AddDate(0, 1, 0)
}

// bucketStarts lists the bucket starts from lo's bucket to hi's (hi itself
// excluded unless inclusive), stopping a little past maxBuckets.
func bucketStarts(lo, hi time.Time, hiInclusive bool, interval string) []time.Time {
	last := hi
	if !hiInclusive {
		last = hi.Add(-time.Nanosecond)
	}
	if last.Before(lo) {
		return nil
	}
	end := truncate(last, interval)
	var out []time.Time
	for t := truncate(lo, interval); !t.After(end); t = next(t, interval) {
		out = append(out, t)
		if len(out) > maxBuckets*64 {
			break
		}
	}
	return out
}

// termCounts turns a Bleve terms facet into counts, most frequent first.
func termCounts(f *search.FacetResult) []index.TermCount {
	if f == nil || f.Terms == nil {
		return []index.TermCount{}
	}
	out := make([]index.TermCount, 0, f.Terms.Len())
	for _, t := range f.Terms.Terms() {
		out = append(out, index.TermCount{Term: t.Term, Count: int64(t.Count)})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Term < out[j].Term
	})
	return out
}
