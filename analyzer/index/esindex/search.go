package esindex

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"time"

	"yuqing/analyzer/index"
)

// Shard sizes of the aggregations (their sizes are index.KeywordTop…).
const (
	// keywordShardSize is how many keywords each shard reports, so that the
	// top 20 over several monthly indices are counted exactly in practice.
	keywordShardSize = 500
	// placeShardSize, unitShardSize: the same for places and units.
	placeShardSize = 500
	unitShardSize  = 500
)

// Search runs a query. An empty Q matches every post and sorts by
// published_at, newest first; a Q sorts by relevance (BM25, then newest
// first). Aggregations count all matches.
//
// Q is cut into words as the index cuts text (gojieba, lowercased) and every
// word must match (AND). A word matches a post that has it as a token, or,
// as a fallback for compounds that the post's own segmentation split
// differently (人民代表大会 indexed, 代表大会 asked), that has every
// search-mode word inside it. A Q with no word at all is treated as empty.
//
// The over-time interval follows bleveindex: the span is To−From when both
// are given, else the span from From (or the earliest match) to To (or the
// latest match), found first by a min/max aggregation; up to 72 hours gives
// hours, up to 180 days days, beyond that months, in China time.
func (ix *Index) Search(ctx context.Context, q index.Query) (index.Result, error) {
	q = q.Normalize()
	if err := ctx.Err(); err != nil {
		return index.Result{}, fmt.Errorf("esindex: search: %w", err)
	}
	if q.Offset+q.Size > maxResultWindow {
		return index.Result{}, fmt.Errorf("esindex: search: offset %d + size %d is beyond %d", q.Offset, q.Size, maxResultWindow)
	}
	if err := ix.acquire(); err != nil {
		return index.Result{}, err
	}
	defer ix.release()
	eq, scored := ix.buildQuery(q)

	var (
		interval  string
		starts    []time.Time
		histogram bool
	)
	switch {
	case q.NoAggs: // hits and total only
	case !q.From.IsZero() && !q.To.IsZero():
		// The asked range gives the interval: one search.
		interval = index.ChooseInterval(q.To.Sub(q.From))
		starts = index.BucketStarts(q.From, q.To, false, interval)
		histogram = true
	default:
		// Otherwise the span of the matches counts: find it first.
		lo, hi, ok, err := ix.span(ctx, q, eq)
		if err != nil {
			return index.Result{}, err
		}
		if ok {
			hiInclusive := true
			if !q.From.IsZero() {
				lo = q.From
			}
			if !q.To.IsZero() {
				hi, hiInclusive = q.To, false
			}
			interval = index.ChooseInterval(hi.Sub(lo))
			starts = index.BucketStarts(lo, hi, hiInclusive, interval)
			histogram = true
		}
	}

	aggs := map[string]any{
		fSentiment: terms(fSentiment, index.SentimentTop, 0),
		fCategory:  terms(fCategory, index.CategoryTop, 0),
		fRegion:    terms(fRegion, index.RegionTop, 0),
		fKeywords:  terms(fKeywords, index.KeywordTop, keywordShardSize),
		fPlaces:    terms(fPlaces, index.PlaceTop, placeShardSize),
		fUnit:      terms(fUnit, index.UnitTop, unitShardSize),
		fRisk:      riskRanges(),
	}
	if histogram && len(starts) > 0 {
		aggs["over_time"] = map[string]any{"date_histogram": map[string]any{
			"field":             fPublished,
			"calendar_interval": interval,
			"time_zone":         "+08:00",
			"min_doc_count":     0,
			"extended_bounds":   map[string]any{"min": esTime(starts[0]), "max": esTime(starts[len(starts)-1])},
		}}
	}
	req := map[string]any{
		"query":            eq,
		"size":             q.Size,
		"from":             q.Offset,
		"track_total_hits": true,
		"_source":          []string{fDoc},
	}
	if !q.NoAggs {
		req["aggs"] = aggs
	}
	if scored {
		req["sort"] = []any{map[string]any{"_score": "desc"}, map[string]any{fPublished: map[string]any{"order": "desc", "missing": "_last"}}}
	} else {
		req["sort"] = []any{map[string]any{fPublished: map[string]any{"order": "desc", "missing": "_last"}}}
	}
	body, err := json.Marshal(req)
	if err != nil {
		return index.Result{}, fmt.Errorf("esindex: search %q: %w", q.Q, err)
	}
	var r searchResponse
	if err := ix.search(ctx, ix.prefix, body, &r); err != nil {
		return index.Result{}, fmt.Errorf("esindex: search %q: %w", q.Q, err)
	}
	out := index.Result{Total: r.Hits.Total.Value, Hits: make([]index.Hit, 0, len(r.Hits.Hits))}
	for _, h := range r.Hits.Hits {
		var hit index.Hit
		if len(h.Source.Doc) == 0 {
			return index.Result{}, fmt.Errorf("esindex: search %q: hit %s has no stored document", q.Q, h.ID)
		}
		if err := json.Unmarshal(h.Source.Doc, &hit.IndexedPost); err != nil {
			return index.Result{}, fmt.Errorf("esindex: search %q: decode hit %s: %w", q.Q, h.ID, err)
		}
		if h.Score != nil {
			hit.Score = *h.Score
		}
		out.Hits = append(out.Hits, hit)
	}
	if q.NoAggs {
		return out, nil
	}
	out.Aggs.BySentiment = termCounts(r.Aggregations[fSentiment])
	out.Aggs.ByCategory = termCounts(r.Aggregations[fCategory])
	out.Aggs.ByRegion = termCounts(r.Aggregations[fRegion])
	out.Aggs.TopKeywords = termCounts(r.Aggregations[fKeywords])
	out.Aggs.ByPlace = termCounts(r.Aggregations[fPlaces])
	out.Aggs.ByUnit = termCounts(r.Aggregations[fUnit])
	out.Aggs.ByRisk = make([]index.RiskCount, 0, len(index.RiskBands))
	byBand := make(map[string]int64, len(index.RiskBands))
	for _, b := range r.Aggregations[fRisk].Buckets {
		var key string
		if err := json.Unmarshal(b.Key, &key); err == nil {
			byBand[key] = b.DocCount
		}
	}
	for _, b := range index.RiskBands {
		b.Count = byBand[b.Band]
		out.Aggs.ByRisk = append(out.Aggs.ByRisk, b)
	}
	if histogram {
		counts := make(map[int64]int64, len(r.Aggregations["over_time"].Buckets))
		for _, b := range r.Aggregations["over_time"].Buckets {
			var ms int64
			if err := json.Unmarshal(b.Key, &ms); err != nil {
				return index.Result{}, fmt.Errorf("esindex: search %q: over_time key %s: %w", q.Q, b.Key, err)
			}
			counts[ms] = b.DocCount
		}
		out.Aggs.Interval = interval
		out.Aggs.OverTime = make([]index.TimeBucket, len(starts))
		for i, s := range starts {
			out.Aggs.OverTime[i] = index.TimeBucket{Start: s, Count: counts[s.UnixMilli()]}
		}
	}
	return out, nil
}

func terms(field string, size, shardSize int) map[string]any {
	t := map[string]any{"field": field, "size": size}
	if shardSize > 0 {
		t["shard_size"] = shardSize
	}
	return map[string]any{"terms": t}
}

// riskRanges gives the range aggregation of the risk bands (from inclusive,
// to exclusive; the last band open, as risk is at most 1).
func riskRanges() map[string]any {
	ranges := make([]any, len(index.RiskBands))
	for i, b := range index.RiskBands {
		r := map[string]any{"key": b.Band}
		if i > 0 {
			r["from"] = b.From
		}
		if i < len(index.RiskBands)-1 {
			r["to"] = b.To
		}
		ranges[i] = r
	}
	return map[string]any{"range": map[string]any{"field": fRisk, "ranges": ranges}}
}

// searchResponse is the part of a search response that is read.
type searchResponse struct {
	Hits struct {
		Total struct {
			Value int64 `json:"value"`
		} `json:"total"`
		Hits []struct {
			ID     string   `json:"_id"`
			Score  *float64 `json:"_score"`
			Source struct {
				Doc json.RawMessage `json:"doc"`
			} `json:"_source"`
		} `json:"hits"`
	} `json:"hits"`
	Aggregations map[string]aggResult `json:"aggregations"`
	Shards       struct {
		Failed   int `json:"failed"`
		Failures []struct {
			Index  string `json:"index"`
			Reason struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"reason"`
		} `json:"failures"`
	} `json:"_shards"`
}

// err reports failed shards: partial results are an error, not an answer.
func (r *searchResponse) err() error {
	if r.Shards.Failed == 0 {
		return nil
	}
	reason := "unknown reason"
	if len(r.Shards.Failures) > 0 {
		f := r.Shards.Failures[0]
		reason = f.Index + ": " + f.Reason.Type + ": " + f.Reason.Reason
	}
	return fmt.Errorf("%d shards failed: %s", r.Shards.Failed, reason)
}

type aggResult struct {
	Buckets []struct {
		Key      json.RawMessage `json:"key"`
		DocCount int64           `json:"doc_count"`
	} `json:"buckets"`
	Value         *float64 `json:"value"`
	ValueAsString string   `json:"value_as_string"`
}

// termCounts turns a terms aggregation into counts, most frequent first,
// ties by term (as Elasticsearch orders them, and bleveindex).
func termCounts(a aggResult) []index.TermCount {
	out := make([]index.TermCount, 0, len(a.Buckets))
	for _, b := range a.Buckets {
		var term string
		if err := json.Unmarshal(b.Key, &term); err != nil {
			term = string(b.Key)
		}
		out = append(out, index.TermCount{Term: term, Count: b.DocCount})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Term < out[j].Term
	})
	return out
}

// span finds the earliest and latest published_at among the matches, with
// one min/max aggregation; ok is false when no match has a time.
func (ix *Index) span(ctx context.Context, q index.Query, eq any) (lo, hi time.Time, ok bool, err error) {
	const format = "strict_date_optional_time_nanos"
	body, err := json.Marshal(map[string]any{
		"query":            eq,
		"size":             0,
		"track_total_hits": false,
		"aggs": map[string]any{
			"lo": map[string]any{"min": map[string]any{"field": fPublished, "format": format}},
			"hi": map[string]any{"max": map[string]any{"field": fPublished, "format": format}},
		},
	})
	if err != nil {
		return lo, hi, false, fmt.Errorf("esindex: search %q: time span: %w", q.Q, err)
	}
	var r searchResponse
	if err := ix.search(ctx, ix.prefix, body, &r); err != nil {
		return lo, hi, false, fmt.Errorf("esindex: search %q: time span: %w", q.Q, err)
	}
	a, b := r.Aggregations["lo"], r.Aggregations["hi"]
	if a.Value == nil || b.Value == nil || a.ValueAsString == "" || b.ValueAsString == "" {
		return lo, hi, false, nil
	}
	if lo, err = time.Parse(time.RFC3339Nano, a.ValueAsString); err == nil {
		hi, err = time.Parse(time.RFC3339Nano, b.ValueAsString)
	}
	if err != nil {
		return lo, hi, false, fmt.Errorf("esindex: search %q: time span %q..%q: %w", q.Q, a.ValueAsString, b.ValueAsString, err)
	}
	return lo, hi, true, nil
}

// buildQuery gives the Elasticsearch query and whether it is scored by relevance.
func (ix *Index) buildQuery(q index.Query) (any, bool) {
	var filter []any
	for _, f := range []struct{ field, value string }{
		{fSentiment, q.Sentiment}, {fCategory, q.Category}, {fRegion, q.Region},
		{fUnit, q.Unit}, {fEventID, q.EventID}, {fPlaceTerm, q.Place},
		{fKeywords, q.Keyword}, {fAuthor, q.Author},
	} {
		if f.value != "" {
			filter = append(filter, map[string]any{"term": map[string]any{f.field: f.value}})
		}
	}
	if q.MinRisk > 0 {
		if q.MinRisk > 1 || math.IsNaN(q.MinRisk) {
			return map[string]any{"match_none": map[string]any{}}, false
		}
		filter = append(filter, map[string]any{"range": map[string]any{fRisk: map[string]any{"gte": q.MinRisk}}})
	}
	if !q.From.IsZero() || !q.To.IsZero() {
		if !q.From.IsZero() && !q.To.IsZero() && !q.From.Before(q.To) {
			return map[string]any{"match_none": map[string]any{}}, false
		}
		// Always a lower bound: with none, Elasticsearch 8.19's
		// date_histogram over date_nanos fails ("nanoseconds are
		// [-9223372036854775808] are before the epoch"); date_nanos holds
		// nothing earlier anyway.
		r := map[string]any{"gte": esTime(time.Unix(0, 0))}
		if !q.From.IsZero() {
			r["gte"] = esTime(q.From)
		}
		if !q.To.IsZero() {
			r["lt"] = esTime(q.To)
		}
		filter = append(filter, map[string]any{"range": map[string]any{fPublished: r}})
	}
	text := ix.textQuery(q.Q)
	if text == nil && len(filter) == 0 {
		return map[string]any{"match_all": map[string]any{}}, false
	}
	b := map[string]any{}
	if len(filter) > 0 {
		b["filter"] = filter
	}
	if text != nil {
		b["must"] = text
	}
	return map[string]any{"bool": b}, text != nil
}

// textQuery gives the AND of the query's words, or nil if it has none.
func (ix *Index) textQuery(s string) []any {
	groups := index.QueryGroups(ix.seg, s)
	if len(groups) == 0 {
		return nil
	}
	term := func(t string) any { return map[string]any{"term": map[string]any{fContent: t}} }
	var must []any
	for _, g := range groups {
		if len(g) == 1 {
			must = append(must, term(g[0]))
			continue
		}
		// g holds the search-mode words, the whole word last when it is one.
		whole := g[len(g)-1]
		subs := make([]any, 0, len(g)-1)
		for _, t := range g[:len(g)-1] {
			subs = append(subs, term(t))
		}
		must = append(must, map[string]any{"bool": map[string]any{
			"should":               []any{term(whole), map[string]any{"bool": map[string]any{"must": subs}}},
			"minimum_should_match": 1,
		}})
	}
	return must
}
