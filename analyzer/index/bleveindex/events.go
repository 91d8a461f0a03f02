package bleveindex

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/query"
	bindex "github.com/blevesearch/bleve_index_api"

	"yuqing/analyzer/index"
	"yuqing/domain"
)

// The events live in a Bleve index of their own, in the folder "events"
// inside the posts' index folder, so that a post search never sees them
// and Count counts posts. Events are far fewer than posts (one for dozens
// or thousands of posts), so they are indexed through the mapping; as for
// the posts, numbers and times are fixed-width keys whose byte order is
// numeric order (Bleve's numeric fields index sixteen terms per value and
// made indexing an event three times as slow):
//
//	ev_content     name, title and keywords (analyzer "zh")
//	ev_grade       "I".."IV", or "-" below grading
//	ev_category, ev_region, ev_unit, ev_places (multi)   counted
//	ev_place_terms index.PlaceTerms of each place (filter only)
//	ev_heat        heatKey; ev_first, ev_last sortKey; ev_id (sort ties)
//	ev_version     the Version, stored only
//	_source        the event without Hourly, as JSON, stored only
//
// An older state of an event (lower Version) never replaces the indexed
// one: IndexEvents reads the indexed version of each event first, under a
// lock, so concurrent calls of one process agree (Bleve is embedded: one
// process owns the folder).
const (
	eventsDir     = "events"
	fevContent    = "ev_content"
	fevGrade      = "ev_grade"
	fevCategory   = "ev_category"
	fevRegion     = "ev_region"
	fevUnit       = "ev_unit"
	fevPlaces     = "ev_places"
	fevPlaceTerms = "ev_place_terms"
	fevHeat       = "ev_heat"
	fevFirst      = "ev_first"
	fevLast       = "ev_last"
	fevID         = "ev_id"
	fevVersion    = "ev_version"
	noGrade       = "-"
)

// Facet size of the events' units and places.
const eventTop = 20

// openEvents opens (or creates) the events index inside the posts' folder.
func (ix *Index) openEvents(runtime map[string]interface{}) error {
	dir := filepath.Join(ix.dir, eventsDir)
	var err error
	if _, statErr := os.Stat(filepath.Join(dir, "index_meta.json")); statErr == nil {
		ix.ev, err = bleve.OpenUsing(dir, runtime)
	} else {
		ix.ev, err = bleve.NewUsing(dir, newEventMapping(), scorch.Name, scorch.Name, runtime)
	}
	if err != nil {
		return fmt.Errorf("events index %s: %w", dir, err)
	}
	return nil
}

func newEventMapping() *mapping.IndexMappingImpl {
	kw := func(docValues bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store, f.IncludeInAll, f.IncludeTermVectors, f.DocValues = false, false, false, docValues
		return f
	}
	content := bleve.NewTextFieldMapping()
	content.Analyzer = AnalyzerName
	content.Store, content.IncludeInAll, content.IncludeTermVectors, content.DocValues = false, false, false, false
	stored := func() *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = keyword.Name
		f.Index, f.Store, f.IncludeInAll, f.IncludeTermVectors, f.DocValues = false, true, false, false, false
		return f
	}

	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt(fevContent, content)
	for _, f := range []string{fevGrade, fevCategory, fevRegion, fevUnit, fevPlaces, fevID, fevHeat, fevFirst, fevLast} {
		doc.AddFieldMappingsAt(f, kw(true))
	}
	doc.AddFieldMappingsAt(fevPlaceTerms, kw(false))
	doc.AddFieldMappingsAt(fevVersion, stored())
	doc.AddFieldMappingsAt(fSourceDoc, stored())
	doc.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())

	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	m.DefaultAnalyzer = AnalyzerName
	m.DefaultField = fevContent
	m.IndexDynamic, m.StoreDynamic, m.DocValuesDynamic = false, false, false
	return m
}

// gradeTerm gives the indexed term of a grade.
func gradeTerm(g domain.Grade) string {
	if s := g.String(); s != "" {
		return s
	}
	return noGrade
}

// eventDoc gives what the mapping indexes of an event.
func eventDoc(ev domain.Event) (map[string]interface{}, error) {
	src, err := json.Marshal(index.EventForIndex(ev))
	if err != nil {
		return nil, fmt.Errorf("bleveindex: encode event %s: %w", ev.ID, err)
	}
	content := strings.Join(append([]string{ev.Name, ev.Title}, ev.Keywords...), "\n")
	var terms []string
	for _, p := range ev.Places {
		terms = append(terms, index.PlaceTerms(p)...)
	}
	d := map[string]interface{}{
		fevContent: content, fevGrade: gradeTerm(ev.Grade), fevHeat: heatKey(ev.Heat), fevID: ev.ID,
		fevVersion: strconv.FormatInt(ev.Version, 10), fSourceDoc: string(src),
	}
	for f, v := range map[string]string{fevCategory: ev.Category, fevRegion: ev.Region, fevUnit: ev.Unit} {
		if v != "" {
			d[f] = v
		}
	}
	if len(ev.Places) > 0 {
		d[fevPlaces], d[fevPlaceTerms] = ev.Places, terms
	}
	for f, t := range map[string]time.Time{fevFirst: ev.FirstAt, fevLast: ev.LastAt} {
		if !t.IsZero() {
			d[f] = sortKey(t)
		}
	}
	return d, nil
}

// IndexEvents adds or replaces events, as one Bleve batch; an event whose
// indexed state is newer (a higher Version) is left as it is.
func (ix *Index) IndexEvents(ctx context.Context, evs []domain.Event) error {
	if len(evs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bleveindex: index events: %w", err)
	}
	if err := ix.acquire(); err != nil {
		return err
	}
	defer ix.release()
	ix.evMu.Lock()
	defer ix.evMu.Unlock()
	newest, err := index.NewestStates(evs)
	if err != nil {
		return fmt.Errorf("bleveindex: index events: %w", err)
	}
	b := ix.ev.NewBatch()
	for _, ev := range newest {
		id := ev.ID
		indexed, ok, err := ix.indexedVersion(id)
		if err != nil {
			return err
		}
		if ok && indexed > ev.Version {
			continue
		}
		d, err := eventDoc(ev)
		if err != nil {
			return err
		}
		if err := b.Index(id, d); err != nil {
			return fmt.Errorf("bleveindex: index event %s: %w", id, err)
		}
	}
	if b.Size() == 0 {
		return nil
	}
	if err := ix.ev.Batch(b); err != nil {
		return fmt.Errorf("bleveindex: batch of %d events in %s: %w", b.Size(), ix.dir, err)
	}
	return nil
}

// indexedVersion gives the Version of the indexed state of an event.
func (ix *Index) indexedVersion(id string) (int64, bool, error) {
	doc, err := ix.ev.Document(id)
	if err != nil {
		return 0, false, fmt.Errorf("bleveindex: read event %s: %w", id, err)
	}
	if doc == nil {
		return 0, false, nil
	}
	var version []byte
	doc.VisitFields(func(f bindex.Field) {
		if f.Name() == fevVersion {
			version = f.Value()
		}
	})
	v, err := strconv.ParseInt(string(version), 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("bleveindex: read event %s: version %q", id, version)
	}
	return v, true, nil
}

// SearchEvents runs an event query; see index.EventQuery.
func (ix *Index) SearchEvents(ctx context.Context, q index.EventQuery) (index.EventResult, error) {
	q = q.Normalize()
	if err := ctx.Err(); err != nil {
		return index.EventResult{}, fmt.Errorf("bleveindex: search events: %w", err)
	}
	if err := ix.acquire(); err != nil {
		return index.EventResult{}, err
	}
	defer ix.release()
	req := bleve.NewSearchRequestOptions(ix.eventQuery(q), q.Size, q.Offset, false)
	req.Score = "none"
	req.Fields = []string{fSourceDoc}
	heat := &search.SortField{Field: fevHeat, Desc: true, Missing: search.SortFieldMissingLast}
	last := &search.SortField{Field: fevLast, Desc: true, Missing: search.SortFieldMissingLast}
	id := &search.SortField{Field: fevID}
	if q.Sort == index.EventsByLast {
		req.SortByCustom(search.SortOrder{last, heat, id})
	} else {
		req.SortByCustom(search.SortOrder{heat, last, id})
	}
	for _, f := range []string{fevGrade, fevCategory, fevRegion, fevUnit, fevPlaces} {
		req.AddFacet(f, bleve.NewFacetRequest(f, allTerms))
	}
	res, err := ix.ev.SearchInContext(ctx, req)
	if err != nil {
		return index.EventResult{}, fmt.Errorf("bleveindex: search events %q in %s: %w", q.Q, ix.dir, err)
	}
	out := index.EventResult{Total: int64(res.Total), Hits: make([]domain.Event, 0, len(res.Hits))}
	for _, h := range res.Hits {
		src, _ := h.Fields[fSourceDoc].(string)
		var ev domain.Event
		if err := json.Unmarshal([]byte(src), &ev); err != nil {
			return index.EventResult{}, fmt.Errorf("bleveindex: search events: decode hit %s: %w", h.ID, err)
		}
		out.Hits = append(out.Hits, ev)
	}
	out.Aggs.ByGrade = index.NewGradeCounts()
	for _, tc := range termCounts(res.Facets[fevGrade]) {
		g := domain.GradeNone
		for _, c := range []domain.Grade{domain.GradeI, domain.GradeII, domain.GradeIII, domain.GradeIV} {
			if tc.Term == c.String() {
				g = c
			}
		}
		out.Aggs.ByGrade[index.GradeSlot(g)].Count += tc.Count
	}
	out.Aggs.ByCategory = top(termCounts(res.Facets[fevCategory]), index.CategoryTop)
	out.Aggs.ByRegion = top(termCounts(res.Facets[fevRegion]), index.RegionTop)
	out.Aggs.ByUnit = top(termCounts(res.Facets[fevUnit]), eventTop)
	out.Aggs.ByPlace = top(termCounts(res.Facets[fevPlaces]), eventTop)
	return out, nil
}

// eventQuery gives the Bleve query of an event search.
func (ix *Index) eventQuery(q index.EventQuery) query.Query {
	var parts []query.Query
	if text := ix.textQuery(fevContent, q.Q); text != nil {
		parts = append(parts, text)
	}
	term := func(field, v string) query.Query {
		tq := bleve.NewTermQuery(v)
		tq.SetField(field)
		return tq
	}
	for _, f := range []struct{ field, value string }{
		{fevCategory, q.Category}, {fevRegion, q.Region}, {fevUnit, q.Unit}, {fevPlaceTerms, q.Place},
	} {
		if f.value != "" {
			parts = append(parts, term(f.field, f.value))
		}
	}
	if q.MinGrade >= domain.GradeI && q.MinGrade <= domain.GradeIV {
		var grades []query.Query
		for g := domain.GradeI; g <= q.MinGrade; g++ {
			grades = append(grades, term(fevGrade, g.String()))
		}
		parts = append(parts, bleve.NewDisjunctionQuery(grades...))
	}
	yes, no := true, false
	keyRange := func(field, min, max string) query.Query {
		rq := bleve.NewTermRangeInclusiveQuery(min, max, &yes, &no)
		rq.SetField(field)
		return rq
	}
	switch h := q.MinHeat; {
	case math.IsNaN(h) || math.IsInf(h, 1):
		parts = append(parts, bleve.NewMatchNoneQuery())
	case h > 0:
		parts = append(parts, keyRange(fevHeat, heatKey(h), ""))
	}
	if !q.From.IsZero() {
		parts = append(parts, keyRange(fevLast, sortKey(q.From), ""))
	}
	if !q.To.IsZero() {
		parts = append(parts, keyRange(fevFirst, "", sortKey(q.To)))
	}
	switch len(parts) {
	case 0:
		return bleve.NewMatchAllQuery()
	case 1:
		return parts[0]
	}
	return bleve.NewConjunctionQuery(parts...)
}

// heatKey gives a fixed-width key of a heat whose byte order is numeric
// order: the bits of the heat taken as at least 0 (a heat is never
// negative; NaN counts as 0).
func heatKey(h float64) string {
	if !(h > 0) {
		h = 0
	}
	return fmt.Sprintf("%016x", math.Float64bits(h))
}
