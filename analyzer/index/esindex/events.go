package esindex

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"yuqing/analyzer/index"
	"yuqing/domain"
)

// eventsTemplate gives the index template of the events index. Its priority
// is above the posts' template, whose pattern <prefix>-* matches the events
// index too: only the highest matching template applies.
func (ix *Index) eventsTemplate() map[string]any {
	return ix.templateOf(ix.EventsIndex(), 201, eventProperties())
}

// eventProperties gives the fields of the events' mappings.
func eventProperties() map[string]any {
	kw := map[string]any{"type": "keyword", "ignore_above": maxTermChars}
	return map[string]any{
		// not scored (events sort by heat or time): no frequencies, no norms
		fContent:  map[string]any{"type": "keyword", "index_options": "docs", "norms": false, "doc_values": false},
		fID:       kw,
		fGrade:    map[string]any{"type": "integer"},
		fCategory: kw, fRegion: kw, fUnit: kw, fPlaces: kw,
		fPlaceTerm: map[string]any{"type": "keyword", "ignore_above": maxTermChars, "doc_values": false},
		fHeat:      map[string]any{"type": "double"},
		fFirstAt:   map[string]any{"type": "date_nanos"},
		fLastAt:    map[string]any{"type": "date_nanos"},
		fVersion:   map[string]any{"type": "long"},
		fDoc:       map[string]any{"type": "object", "enabled": false},
	}
}

// esEvent is the document of an event. Empty values are left out.
type esEvent struct {
	ID         string          `json:"id"`
	Content    []string        `json:"content_tokens,omitempty"`
	Grade      int             `json:"grade"`
	Category   string          `json:"category,omitempty"`
	Region     string          `json:"region,omitempty"`
	Unit       string          `json:"unit,omitempty"`
	Places     []string        `json:"places,omitempty"`
	PlaceTerms []string        `json:"place_terms,omitempty"`
	Heat       float64         `json:"heat"`
	FirstAt    string          `json:"first_at,omitempty"`
	LastAt     string          `json:"last_at,omitempty"`
	Version    int64           `json:"version"`
	Doc        json.RawMessage `json:"doc"`
}

// eventDocument gives the JSON document of an event.
func (ix *Index) eventDocument(ev *domain.Event) ([]byte, error) {
	src, err := json.Marshal(index.EventForIndex(*ev))
	if err != nil {
		return nil, fmt.Errorf("esindex: encode event %s: %w", ev.ID, err)
	}
	text := strings.Join(append([]string{ev.Title}, ev.Keywords...), "\n")
	d := esEvent{
		ID:       ev.ID,
		Content:  contentTokens(ix.seg, ev.Name, text),
		Grade:    index.GradeSlot(ev.Grade) + 1, // I..IV as 1..4, none (or unknown) as 5
		Category: ev.Category, Region: ev.Region, Unit: ev.Unit,
		Heat:    ev.Heat,
		Version: ev.Version,
		Doc:     src,
	}
	d.Places, d.PlaceTerms = placeFields(ev.Places)
	if !ev.FirstAt.IsZero() {
		d.FirstAt = esTime(ev.FirstAt)
	}
	if !ev.LastAt.IsZero() {
		d.LastAt = esTime(ev.LastAt)
	}
	b, err := json.Marshal(&d)
	if err != nil {
		return nil, fmt.Errorf("esindex: encode event %s: %w", ev.ID, err)
	}
	return b, nil
}

// IndexEvents adds or replaces events in the events index. An event's
// Version is its external version (version_type external_gte): Elasticsearch
// keeps the indexed state when the new one's Version is lower, even when two
// analyzers index at once, and answers 409, which is not a failure. Of the
// states of one event in the call, only the newest is sent. It returns nil
// only once every event is durable and searchable, as Index does.
func (ix *Index) IndexEvents(ctx context.Context, evs []domain.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("esindex: index events: %w", err)
	}
	if err := ix.acquire(); err != nil {
		return err
	}
	defer ix.release()
	newest, err := index.NewestStates(evs)
	if err != nil {
		return fmt.Errorf("esindex: index events: %w", err)
	}
	items := make([]bulkItem, len(newest))
	for i := range newest {
		b, err := ix.eventDocument(&newest[i])
		if err != nil {
			return err
		}
		items[i] = bulkItem{index: ix.EventsIndex(), id: newest[i].ID, body: b, version: &newest[i].Version}
	}
	return ix.write(ctx, "index events", "events", items)
}

// SearchEvents runs an event query on the events index. Q is cut and matched
// as Search does, but as a filter: the hits are in q.Sort's order, ties by
// id. Aggregations count all matches.
func (ix *Index) SearchEvents(ctx context.Context, q index.EventQuery) (index.EventResult, error) {
	q = q.Normalize()
	if err := ctx.Err(); err != nil {
		return index.EventResult{}, fmt.Errorf("esindex: search events: %w", err)
	}
	if q.Offset+q.Size > maxResultWindow {
		return index.EventResult{}, fmt.Errorf("esindex: search events: offset %d + size %d is beyond %d", q.Offset, q.Size, maxResultWindow)
	}
	if err := ix.acquire(); err != nil {
		return index.EventResult{}, err
	}
	defer ix.release()
	heat := map[string]any{fHeat: "desc"}
	last := map[string]any{fLastAt: map[string]any{"order": "desc", "missing": "_last"}}
	order := []any{heat, last, map[string]any{fID: "asc"}}
	if q.Sort == index.EventsByLast {
		order[0], order[1] = last, heat
	}
	body, err := json.Marshal(map[string]any{
		"query":            ix.eventQuery(q),
		"size":             q.Size,
		"from":             q.Offset,
		"track_total_hits": true,
		"_source":          []string{fDoc},
		"sort":             order,
		"aggs": map[string]any{
			fGrade:    terms(fGrade, 5, 0),
			fCategory: terms(fCategory, index.CategoryTop, 0),
			fRegion:   terms(fRegion, index.RegionTop, 0),
			fUnit:     terms(fUnit, index.UnitTop, unitShardSize),
			fPlaces:   terms(fPlaces, index.PlaceTop, placeShardSize),
		},
	})
	if err != nil {
		return index.EventResult{}, fmt.Errorf("esindex: search events %q: %w", q.Q, err)
	}
	var r searchResponse
	if err := ix.search(ctx, ix.EventsIndex(), body, &r); err != nil {
		return index.EventResult{}, fmt.Errorf("esindex: search events %q: %w", q.Q, err)
	}
	out := index.EventResult{Total: r.Hits.Total.Value, Hits: make([]domain.Event, 0, len(r.Hits.Hits))}
	for _, h := range r.Hits.Hits {
		var ev domain.Event
		if len(h.Source.Doc) == 0 {
			return index.EventResult{}, fmt.Errorf("esindex: search events %q: hit %s has no stored event", q.Q, h.ID)
		}
		if err := json.Unmarshal(h.Source.Doc, &ev); err != nil {
			return index.EventResult{}, fmt.Errorf("esindex: search events %q: decode hit %s: %w", q.Q, h.ID, err)
		}
		out.Hits = append(out.Hits, ev)
	}
	out.Aggs.ByGrade = index.NewGradeCounts()
	for _, b := range r.Aggregations[fGrade].Buckets {
		var g int
		if err := json.Unmarshal(b.Key, &g); err != nil || g < 1 || g > len(out.Aggs.ByGrade) {
			return index.EventResult{}, fmt.Errorf("esindex: search events %q: grade key %s", q.Q, b.Key)
		}
		out.Aggs.ByGrade[g-1].Count = b.DocCount
	}
	out.Aggs.ByCategory = termCounts(r.Aggregations[fCategory])
	out.Aggs.ByRegion = termCounts(r.Aggregations[fRegion])
	out.Aggs.ByUnit = termCounts(r.Aggregations[fUnit])
	out.Aggs.ByPlace = termCounts(r.Aggregations[fPlaces])
	return out, nil
}

// eventQuery gives the Elasticsearch query of an event query: every part a
// filter.
func (ix *Index) eventQuery(q index.EventQuery) any {
	var filter []any
	for _, f := range []struct{ field, value string }{
		{fCategory, q.Category}, {fRegion, q.Region}, {fUnit, q.Unit}, {fPlaceTerm, q.Place},
	} {
		if f.value != "" {
			filter = append(filter, map[string]any{"term": map[string]any{f.field: f.value}})
		}
	}
	if q.MinGrade != domain.GradeNone {
		// grade holds GradeSlot+1: I..IV are 1..4, below grading 5
		filter = append(filter, map[string]any{"range": map[string]any{fGrade: map[string]any{
			"gte": 1, "lte": min(int(q.MinGrade), 4)}}})
	}
	switch {
	case math.IsNaN(q.MinHeat) || math.IsInf(q.MinHeat, 1):
		return map[string]any{"match_none": map[string]any{}}
	case q.MinHeat != 0 && !math.IsInf(q.MinHeat, -1):
		filter = append(filter, map[string]any{"range": map[string]any{fHeat: map[string]any{"gte": q.MinHeat}}})
	}
	// Active in [From, To): the last post at or after From, the first before
	// To. The bounds are taken within date_nanos' range, which holds every
	// indexed time.
	if !q.From.IsZero() {
		filter = append(filter, map[string]any{"range": map[string]any{fLastAt: map[string]any{"gte": esTime(clampTime(q.From))}}})
	}
	if !q.To.IsZero() {
		filter = append(filter, map[string]any{"range": map[string]any{fFirstAt: map[string]any{"lt": esTime(clampTime(q.To))}}})
	}
	filter = append(filter, ix.textQuery(q.Q)...)
	if len(filter) == 0 {
		return map[string]any{"match_all": map[string]any{}}
	}
	return map[string]any{"bool": map[string]any{"filter": filter}}
}

// clampTime takes t within date_nanos' range.
func clampTime(t time.Time) time.Time {
	switch {
	case t.Before(minTime):
		return minTime
	case t.After(maxTime):
		return maxTime
	}
	return t
}
