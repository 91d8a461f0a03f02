package bleveindex

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"

	"yuqing/analyzer/index"
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

	if q.NoAggs {
		res, _, err := ix.run(ctx, q, bq, scored, nil)
		return res, err
	}
	if !q.From.IsZero() && !q.To.IsZero() {
		// The asked range gives the interval: one search.
		g := grainOf(index.ChooseInterval(q.To.Sub(q.From)))
		starts := index.BucketStarts(q.From, q.To, false, g.name)
		res, facets, err := ix.run(ctx, q, bq, scored, map[string]int{g.field: allTerms})
		if err != nil {
			return index.Result{}, err
		}
		res.Aggs.Interval = g.name
		res.Aggs.OverTime = buckets(starts, g, facets[g.field])
		return res, nil
	}

	// Otherwise the span of the matches counts: count them per day and per
	// month in the same search, and decide from the first and last day.
	res, facets, err := ix.run(ctx, q, bq, scored, map[string]int{fDay: allTerms, fMonth: allTerms})
	if err != nil {
		return index.Result{}, err
	}
	days := facets[fDay]
	if len(days) == 0 {
		return res, nil // no match has a time
	}
	firstDay, err1 := parseKey(grainOf(index.IntervalDay), days[0].Term)
	lastDay, err2 := parseKey(grainOf(index.IntervalDay), days[len(days)-1].Term)
	if err1 != nil || err2 != nil {
		return index.Result{}, fmt.Errorf("bleveindex: search: day buckets %q..%q", days[0].Term, days[len(days)-1].Term)
	}
	// The matches run from somewhere in firstDay to somewhere in lastDay.
	loMin, loMax := firstDay, firstDay.AddDate(0, 0, 1)
	if !q.From.IsZero() {
		loMin, loMax = q.From, q.From
	}
	hiMin, hiMax := lastDay, lastDay.AddDate(0, 0, 1)
	if !q.To.IsZero() {
		hiMin, hiMax = q.To, q.To
	}
	interval := ""
	if a, b := index.ChooseInterval(hiMin.Sub(loMax)), index.ChooseInterval(hiMax.Sub(loMin)); a == b {
		interval = a
	} else {
		// Near a threshold the days are not enough: find the exact span.
		min, max, ok, err := ix.span(ctx, bq)
		if err != nil {
			return index.Result{}, err
		}
		if !ok {
			return res, nil
		}
		lo, hi := min, max
		if !q.From.IsZero() {
			lo = q.From
		}
		if !q.To.IsZero() {
			hi = q.To
		}
		interval = index.ChooseInterval(hi.Sub(lo))
	}
	g := grainOf(interval)
	counts := facets[g.field]
	if interval == index.IntervalHour {
		// Hours are counted only now, on matches that span a few days.
		req := bleve.NewSearchRequestOptions(bq, 0, 0, false)
		req.Score = "none"
		req.AddFacet(fHour, bleve.NewFacetRequest(fHour, allTerms))
		hr, err := ix.bi.SearchInContext(ctx, req)
		if err != nil {
			return index.Result{}, fmt.Errorf("bleveindex: search hours %q in %s: %w", q.Q, ix.dir, err)
		}
		counts = keyCounts(hr.Facets[fHour])
	}
	if len(counts) == 0 {
		return res, nil
	}
	lo, err1 := parseKey(g, counts[0].Term)
	hi, err2 := parseKey(g, counts[len(counts)-1].Term)
	if err1 != nil || err2 != nil {
		return index.Result{}, fmt.Errorf("bleveindex: search: %s buckets %q..%q", interval, counts[0].Term, counts[len(counts)-1].Term)
	}
	hiInclusive := true
	if !q.From.IsZero() {
		lo = q.From
	}
	if !q.To.IsZero() {
		hi, hiInclusive = q.To, false
	}
	res.Aggs.Interval = interval
	res.Aggs.OverTime = buckets(index.BucketStarts(lo, hi, hiInclusive, interval), g, counts)
	return res, nil
}

// allTerms is the facet size that keeps every term.
const allTerms = 1 << 30

// grain is one bucket size of the over-time aggregation.
type grain struct {
	name, field, layout string
	key                 func(time.Time) string
}

var grains = map[string]grain{
	index.IntervalHour:  {index.IntervalHour, fHour, "2006010215", hourKey},
	index.IntervalDay:   {index.IntervalDay, fDay, "20060102", dayKey},
	index.IntervalMonth: {index.IntervalMonth, fMonth, "200601", monthKey},
}

func grainOf(interval string) grain { return grains[interval] }

func parseKey(g grain, k string) (time.Time, error) {
	return time.ParseInLocation(g.layout, k, cst)
}

// buckets gives the series at the starts, with the counts of the bucket keys.
func buckets(starts []time.Time, g grain, counts []index.TermCount) []index.TimeBucket {
	m := make(map[string]int64, len(counts))
	for _, tc := range counts {
		m[tc.Term] = tc.Count
	}
	out := make([]index.TimeBucket, len(starts))
	for i, s := range starts {
		out[i] = index.TimeBucket{Start: s, Count: m[g.key(s)]}
	}
	return out
}

// run executes the main search with the term facets and the extra time
// facets asked (field → size), giving those in key order.
func (ix *Index) run(ctx context.Context, q index.Query, bq query.Query, scored bool, timeFacets map[string]int) (index.Result, map[string][]index.TermCount, error) {
	req := bleve.NewSearchRequestOptions(bq, q.Size, q.Offset, false)
	req.Fields = []string{fSourceDoc}
	if scored {
		req.SortByCustom(search.SortOrder{
			&search.SortScore{Desc: true},
			&search.SortField{Field: fSortTime, Desc: true, Missing: search.SortFieldMissingLast},
		})
	} else {
		req.Score = "none"
		req.SortByCustom(search.SortOrder{
			&search.SortField{Field: fSortTime, Desc: true, Missing: search.SortFieldMissingLast},
		})
	}
	if !q.NoAggs {
		req.AddFacet(fSentiment, bleve.NewFacetRequest(fSentiment, index.SentimentTop))
		req.AddFacet(fCategory, bleve.NewFacetRequest(fCategory, index.CategoryTop))
		// The region field also has the facet terms: all terms, split below
		// (Bleve counts and sorts every term of a facet whatever its size).
		req.AddFacet(fRegion, bleve.NewFacetRequest(fRegion, allTerms))
		req.AddFacet(fKeywords, bleve.NewFacetRequest(fKeywords, index.KeywordTop))
	}
	for f, size := range timeFacets {
		req.AddFacet(f, bleve.NewFacetRequest(f, max(size, 1)))
	}
	res, err := ix.bi.SearchInContext(ctx, req)
	if err != nil {
		return index.Result{}, nil, fmt.Errorf("bleveindex: search %q in %s: %w", q.Q, ix.dir, err)
	}
	out := index.Result{Total: int64(res.Total), Hits: make([]index.Hit, 0, len(res.Hits))}
	for _, h := range res.Hits {
		src, _ := h.Fields[fSourceDoc].(string)
		if src == "" {
			return index.Result{}, nil, fmt.Errorf("bleveindex: search: hit %s has no stored document", h.ID)
		}
		var hit index.Hit
		if err := json.Unmarshal([]byte(src), &hit.IndexedPost); err != nil {
			return index.Result{}, nil, fmt.Errorf("bleveindex: search: decode hit %s: %w", h.ID, err)
		}
		hit.Score = h.Score
		out.Hits = append(out.Hits, hit)
	}
	if q.NoAggs {
		return out, nil, nil
	}
	out.Aggs.BySentiment = termCounts(res.Facets[fSentiment])
	out.Aggs.ByCategory = termCounts(res.Facets[fCategory])
	out.Aggs.TopKeywords = termCounts(res.Facets[fKeywords])
	out.Aggs.ByRegion, out.Aggs.ByPlace, out.Aggs.ByUnit, out.Aggs.ByRisk = ix.regionCounts(res.Facets[fRegion])
	times := make(map[string][]index.TermCount, len(timeFacets))
	for f := range timeFacets {
		times[f] = keyCounts(res.Facets[f])
	}
	return out, times, nil
}

// regionCounts splits the region field's counts into the top regions, the
// top places and units (named from their codes) and the risk bands.
func (ix *Index) regionCounts(f *search.FacetResult) (regions, places, units []index.TermCount, risk []index.RiskCount) {
	regions, places, units, risk = []index.TermCount{}, []index.TermCount{}, []index.TermCount{}, index.NewRiskCounts()
	if f == nil || f.Terms == nil {
		return regions, places, units, risk
	}
	for _, t := range f.Terms.Terms() {
		term, marked := strings.CutPrefix(t.Term, facetMark)
		switch {
		case !marked:
			regions = append(regions, index.TermCount{Term: term, Count: int64(t.Count)})
		case strings.HasPrefix(term, kindRisk):
			k, err := strconv.Atoi(term[len(kindRisk):])
			if err == nil && k >= 0 && k <= 100 {
				risk[index.BandOf(float64(k)/100)].Count += int64(t.Count)
			}
		case strings.HasPrefix(term, kindPlace):
			if name, ok := ix.codes.name(term); ok {
				places = append(places, index.TermCount{Term: name, Count: int64(t.Count)})
			}
		case strings.HasPrefix(term, kindUnit):
			if name, ok := ix.codes.name(term); ok {
				units = append(units, index.TermCount{Term: name, Count: int64(t.Count)})
			}
		}
	}
	return top(regions, index.RegionTop), top(places, index.PlaceTop), top(units, index.UnitTop), risk
}

// top sorts counts as termCounts does and keeps the first n.
func top(tcs []index.TermCount, n int) []index.TermCount {
	sort.Slice(tcs, func(i, j int) bool {
		if tcs[i].Count != tcs[j].Count {
			return tcs[i].Count > tcs[j].Count
		}
		return tcs[i].Term < tcs[j].Term
	})
	if len(tcs) > n {
		tcs = tcs[:n]
	}
	return tcs
}

// keyCounts gives a time facet's counts in key (time) order.
func keyCounts(f *search.FacetResult) []index.TermCount {
	out := termCounts(f)
	sort.Slice(out, func(i, j int) bool { return out[i].Term < out[j].Term })
	return out
}

// buildQuery gives the Bleve query and whether it is scored by relevance.
func (ix *Index) buildQuery(q index.Query) (query.Query, bool) {
	var parts []query.Query
	text := ix.textQuery(fContent, q.Q)
	if text != nil {
		parts = append(parts, text)
	}
	for _, f := range []struct{ field, value string }{
		{fSentiment, q.Sentiment}, {fCategory, q.Category}, {fRegion, q.Region},
		{fUnit, q.Unit}, {fEventID, q.EventID}, {fKeywords, q.Keyword},
	} {
		if f.value != "" {
			tq := bleve.NewTermQuery(f.value)
			tq.SetField(f.field)
			parts = append(parts, tq)
		}
	}
	if q.Author != "" {
		tq := bleve.NewTermQuery(preAuthor + q.Author)
		tq.SetField(fFilters)
		parts = append(parts, tq)
	}
	if q.Place != "" {
		parts = append(parts, ix.placeQuery(q.Place))
	}
	if q.MinRisk > 0 {
		parts = append(parts, minRiskQuery(q.MinRisk))
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		parts = append(parts, timeRangeQuery(q.From, q.To))
	}
	switch len(parts) {
	case 0:
		return bleve.NewMatchAllQuery(), false
	case 1:
		return parts[0], text != nil
	}
	return bleve.NewConjunctionQuery(parts...), text != nil
}

// textQuery gives the AND of the query's words in a text field, or nil if
// it has none.
func (ix *Index) textQuery(field, s string) query.Query {
	groups := index.QueryGroups(ix.seg, s)
	if len(groups) == 0 {
		return nil
	}
	term := func(t string) query.Query {
		tq := bleve.NewTermQuery(t)
		tq.SetField(field)
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
		req.SortByCustom(search.SortOrder{&search.SortField{Field: fSortTime, Desc: desc, Missing: search.SortFieldMissingLast}})
		res, err := ix.bi.SearchInContext(ctx, req)
		if err != nil {
			return time.Time{}, false, fmt.Errorf("bleveindex: search time span in %s: %w", ix.dir, err)
		}
		if len(res.Hits) == 0 || len(res.Hits[0].Sort) == 0 {
			return time.Time{}, false, nil
		}
		t, err := parseSortKey(res.Hits[0].Sort[0])
		if err != nil {
			return time.Time{}, false, nil // the post has no published_at
		}
		return t, true, nil
	}
	if min, ok, err = edge(false); err != nil || !ok {
		return min, max, ok, err
	}
	max, ok, err = edge(true)
	return min, max, ok, err
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

// placeQuery matches the posts that name a place the name finds: one of
// their codes among the facet terms.
func (ix *Index) placeQuery(name string) query.Query {
	codes := ix.codes.placeCodes(name)
	if len(codes) == 0 {
		return bleve.NewMatchNoneQuery()
	}
	terms := make([]query.Query, len(codes))
	for i, c := range codes {
		tq := bleve.NewTermQuery(facetMark + c)
		tq.SetField(fRegion)
		terms[i] = tq
	}
	if len(terms) == 1 {
		return terms[0]
	}
	return bleve.NewDisjunctionQuery(terms...)
}

// minRiskQuery matches the posts whose risk (clamped to [0, 1]) is at least
// min > 0: those in the whole hundredths from c, the first k with k/100 >=
// min, by a term range over the facet terms of c to 100 hundredths (at
// most 101 terms), and those in
// [min, c/100), inside one hundredth, by a range of the exact risk keys.
func minRiskQuery(min float64) query.Query {
	if min > 1 || math.IsNaN(min) {
		return bleve.NewMatchNoneQuery()
	}
	c := riskPct(min)
	if float64(c)/100 < min {
		c++
	}
	incl, excl := true, false
	whole := bleve.NewTermRangeInclusiveQuery(riskTerm(c), riskTerm(100), &incl, &incl)
	whole.SetField(fRegion)
	if float64(c)/100 == min {
		return whole
	}
	part := bleve.NewTermRangeInclusiveQuery(preRiskKey+riskKey(min), preRiskKey+riskKey(float64(c)/100), &incl, &excl)
	part.SetField(fFilters)
	return bleve.NewDisjunctionQuery(whole, part)
}

// timeRangeQuery matches the posts published in [from, to); a zero bound is
// open. There is no numeric published_at field (its sixteen prefix-coded
// terms per post cost a third of the indexing time): the range is cut into
// whole months, days and hours, matched by their bucket keys, and the partial
// hours at its ends, matched by a range of the exact sort key t_ns (which
// enumerates only the posts of those hours).
func timeRangeQuery(from, to time.Time) query.Query {
	if !from.IsZero() && !to.IsZero() && !from.Before(to) {
		return bleve.NewMatchNoneQuery()
	}
	var parts []query.Query
	add := func(field, min, max string) {
		if min != "" && max != "" && min >= max {
			return
		}
		incl, excl := true, false
		rq := bleve.NewTermRangeInclusiveQuery(min, max, &incl, &excl)
		rq.SetField(field)
		parts = append(parts, rq)
	}
	// bounds of the whole units at each grain, from fine to coarse; "" is open.
	type edge struct {
		t    time.Time
		open bool
	}
	lo, hi := edge{from, from.IsZero()}, edge{to, to.IsZero()}
	ceil := func(e edge, interval string) edge {
		if e.open {
			return e
		}
		t := index.Truncate(e.t, interval)
		if t.Before(e.t) {
			t = index.NextBucket(t, interval)
		}
		return edge{t, false}
	}
	floor := func(e edge, interval string) edge {
		if e.open {
			return e
		}
		return edge{index.Truncate(e.t, interval), false}
	}
	key := func(e edge, f func(time.Time) string) string {
		if e.open {
			return ""
		}
		return f(e.t)
	}
	// before reports whether a < b, open bounds being infinite.
	before := func(a, b edge) bool { return a.open || b.open || a.t.Before(b.t) }

	type level struct {
		interval, field string
		key             func(time.Time) string
	}
	levels := []level{
		{"", fSortTime, sortKey},
		{index.IntervalHour, fHour, hourKey},
		{index.IntervalDay, fDay, dayKey},
		{index.IntervalMonth, fMonth, monthKey},
	}
	for i, l := range levels {
		if i == len(levels)-1 {
			add(l.field, key(lo, l.key), key(hi, l.key))
			break
		}
		up := levels[i+1]
		clo, fhi := ceil(lo, up.interval), floor(hi, up.interval)
		if !before(clo, fhi) {
			// No whole unit of the next grain inside: this grain covers it all.
			add(l.field, key(lo, l.key), key(hi, l.key))
			break
		}
		if !lo.open && lo.t.Before(clo.t) {
			add(l.field, key(lo, l.key), key(clo, l.key))
		}
		if !hi.open && fhi.t.Before(hi.t) {
			add(l.field, key(fhi, l.key), key(hi, l.key))
		}
		lo, hi = clo, fhi
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return bleve.NewDisjunctionQuery(parts...)
}
