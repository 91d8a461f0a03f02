// Package bleveindex is the embedded backend of the Index port: a Bleve v2
// (scorch) index on local disk, with a gojieba tokenizer for Chinese text.
//
// Schema: "content" (title + text, analyzer "zh" = gojieba search-mode
// tokens + lowercase); keyword fields sentiment, category, region, unit,
// event_id, source, keywords (multi-valued), parent_id; "filters", the
// filter-only terms of the analysis and the author, each with a one-letter
// prefix: "a" + the author's name, and "k" + a fixed-width key of the exact
// risk (clamped to [0, 1]) whose byte order is numeric order, for the part
// of a MinRisk range inside one hundredth; the bucket keys
// t_hour, t_day and t_month (China time) that the over-time aggregation
// counts; and t_ns, a fixed-width key of published_at whose byte order is
// time order, for sorting.
//
// The aggregations by place, unit and risk band count "facet terms", which
// the region field carries beside the region, each marked by a leading
// \x01: the short code of each full place name of the analysis and of the
// unit, and "r" + the risk in whole hundredths "000".."100" (which a
// MinRisk filter also matches by a term range); a Place filter matches the
// codes of the places it names (index.PlaceTerms; codes keeps which). Why:
// a search decodes, for every match, a chunk of the doc values of every
// counted field, at a cost that grows with the number of fields and their
// bytes, and that is most of a keyword search's time. On the benchmark's
// 100,000 Weibo posts, the facet terms as names in three fields of their
// own made a keyword search with every aggregation about a third slower,
// as codes in one field of their own about a quarter, in the region field
// about a seventh. The filters and the facet terms are each one field value
// of many terms (splitAnalyzer cuts it at \x1f). A region value starting
// with \x01 is not indexed.
//
// There is no numeric or datetime field: Bleve
// indexes sixteen prefix-coded terms per number, which cost about a third of
// the indexing time, so a published_at range is cut into whole months, days
// and hours (matched by their bucket keys) and the partial hours at its ends
// (a term range over t_ns). Empty values are not indexed. The whole
// IndexedPost is kept as JSON in the stored, unindexed field "_source", so
// Search and Get return full documents. Documents are built directly, not
// through the mapping, which declares the same fields for queries.
//
// Region is the post's own region when it has one, else the first place the
// analyzer found (Analysis.Places[0]); WithRegion replaces that rule, for
// example to map a city to its province.
//
// An index made before the place, author and risk fields (schema version 1,
// or 2 for their interim layout) still opens and answers: the posts indexed then are not found by Place,
// MinRisk or Author and are missing from ByPlace, ByUnit and ByRisk
// (counted in no risk band at all) until they are indexed again. Open logs
// a warning for such an index; new posts get every field.
//
// Events are kept in an index of their own inside the folder: see
// events.go.
//
// Durability: Index returns once Bleve's scorch Batch has returned, and
// scorch's Batch waits for the persister to write and fsync the segment and
// its root bolt file unless the index was opened with "unsafe_batch": true.
// Open always sets it to false.
package bleveindex

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/document"
	"github.com/blevesearch/bleve/v2/index/scorch"
	"github.com/blevesearch/bleve/v2/mapping"
	bindex "github.com/blevesearch/bleve_index_api"

	"yuqing/analyzer/index"
	"yuqing/analyzer/segment"
	"yuqing/domain"
)

// Field names in the Bleve documents.
const (
	fContent   = "content"
	fSentiment = "sentiment"
	fCategory  = "category"
	fRegion    = "region"
	fUnit      = "unit"
	fEventID   = "event_id"
	fSource    = "source"
	fKeywords  = "keywords"
	fParentID  = "parent_id"
	fFilters   = "filters"
	fHour      = "t_hour"
	fDay       = "t_day"
	fMonth     = "t_month"
	fSortTime  = "t_ns"
	fSourceDoc = "_source"
)

// China time, fixed so that no tzdata is needed.
var cst = time.FixedZone("CST", 8*3600)

// Index is a Bleve index of analysed posts. It is safe for concurrent use.
type Index struct {
	bi     bleve.Index
	dir    string
	seg    *segment.Segmenter
	zh, kw analysis.Analyzer // of content and of the keyword fields
	region func(domain.IndexedPost) string
	log    *slog.Logger
	codes  *codes      // of places and units in the facet terms
	ev     bleve.Index // the events (events.go)
	evMu   sync.Mutex  // orders IndexEvents' read of versions and write

	mu     sync.RWMutex // guards closed against use after Close
	closed bool
}

var _ index.Index = (*Index)(nil)

// Option configures Open.
type Option func(*Index)

// WithRegion sets how a post's region facet value is found (default: the
// post's Region, else its first analysed place).
func WithRegion(f func(domain.IndexedPost) string) Option {
	return func(ix *Index) { ix.region = f }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(ix *Index) { ix.log = l }
}

// DefaultRegion is the default region rule: the post's Region, else the first
// place the analyzer found.
func DefaultRegion(p domain.IndexedPost) string {
	if p.Region != "" {
		return p.Region
	}
	if len(p.Analysis.Places) > 0 {
		return p.Analysis.Places[0]
	}
	return ""
}

// Open opens the index in dir, creating it (and dir) when there is none.
func Open(dir string, opts ...Option) (*Index, error) {
	seg, err := segment.Default()
	if err != nil {
		return nil, fmt.Errorf("bleveindex: open %s: %w", dir, err)
	}
	ix := &Index{dir: dir, seg: seg, region: DefaultRegion, log: slog.Default(), codes: newCodes()}
	for _, o := range opts {
		o(ix)
	}
	// unsafe_batch false: Batch returns only after the persister has synced.
	runtime := map[string]interface{}{"unsafe_batch": false}
	if _, err := os.Stat(filepath.Join(dir, "index_meta.json")); err == nil {
		ix.bi, err = bleve.OpenUsing(dir, runtime)
		if err != nil {
			return nil, fmt.Errorf("bleveindex: open %s: %w", dir, err)
		}
		if err := ix.analyzers(); err != nil {
			ix.bi.Close()
			return nil, fmt.Errorf("bleveindex: open %s: %w", dir, err)
		}
		if err := ix.codes.load(ix.bi); err != nil {
			ix.bi.Close()
			return nil, fmt.Errorf("bleveindex: open %s: facet codes: %w", dir, err)
		}
		if len(ix.codes.missing) > 0 {
			ix.log.Warn("bleveindex: places or units without their names: counted under their codes", "dir", dir, "codes", ix.codes.missing)
		}
		if v, err := ix.bi.GetInternal([]byte(schemaKey)); err != nil || string(v) != schemaVersion {
			ix.log.Warn("bleveindex: index made by an older version: posts indexed before lack place, author and risk fields until indexed again",
				"dir", dir, "schema", string(v), "want", schemaVersion)
		}
		if err := ix.openEvents(runtime); err != nil {
			ix.bi.Close()
			return nil, fmt.Errorf("bleveindex: open %s: %w", dir, err)
		}
		ix.log.Info("bleveindex: opened", "dir", dir)
		return ix, nil
	}
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(dir)), 0o755); err != nil {
		return nil, fmt.Errorf("bleveindex: create %s: %w", dir, err)
	}
	ix.bi, err = bleve.NewUsing(dir, newMapping(), scorch.Name, scorch.Name, runtime)
	if err != nil {
		return nil, fmt.Errorf("bleveindex: create %s: %w", dir, err)
	}
	if err := ix.analyzers(); err != nil {
		ix.bi.Close()
		return nil, fmt.Errorf("bleveindex: create %s: %w", dir, err)
	}
	if err := ix.bi.SetInternal([]byte(schemaKey), []byte(schemaVersion)); err != nil {
		ix.bi.Close()
		return nil, fmt.Errorf("bleveindex: create %s: %w", dir, err)
	}
	if err := ix.openEvents(runtime); err != nil {
		ix.bi.Close()
		return nil, fmt.Errorf("bleveindex: create %s: %w", dir, err)
	}
	ix.log.Info("bleveindex: created", "dir", dir)
	return ix, nil
}

// The schema version kept in the index (Bleve's internal key-value store):
// 1, without it, lacks filters, the facet terms and the codes' names; 2 had
// them in an interim layout (a field "facets" of its own) that this one
// does not read.
const (
	schemaKey     = "yuqing_schema"
	schemaVersion = "3"
)

// analyzers looks up the analyzers of the index's mapping.
func (ix *Index) analyzers() error {
	m := ix.bi.Mapping()
	if ix.zh = m.AnalyzerNamed(AnalyzerName); ix.zh == nil {
		return fmt.Errorf("analyzer %q missing", AnalyzerName)
	}
	if ix.kw = m.AnalyzerNamed(keyword.Name); ix.kw == nil {
		return fmt.Errorf("analyzer %q missing", keyword.Name)
	}
	return nil
}

func newMapping() *mapping.IndexMappingImpl {
	kw := func(docValues bool) *mapping.FieldMapping {
		f := bleve.NewKeywordFieldMapping()
		f.Analyzer = keyword.Name
		f.Store = false
		f.IncludeInAll = false
		f.IncludeTermVectors = false
		f.DocValues = docValues
		return f
	}
	content := bleve.NewTextFieldMapping()
	content.Analyzer = AnalyzerName
	content.Store = false
	content.IncludeInAll = false
	content.IncludeTermVectors = false
	content.DocValues = false

	source := bleve.NewTextFieldMapping()
	source.Analyzer = keyword.Name
	source.Index = false
	source.Store = true
	source.IncludeInAll = false
	source.IncludeTermVectors = false
	source.DocValues = false

	doc := bleve.NewDocumentStaticMapping()
	doc.AddFieldMappingsAt(fContent, content)
	for _, f := range []string{fSentiment, fCategory, fRegion, fKeywords, fHour, fDay, fMonth, fSortTime} {
		doc.AddFieldMappingsAt(f, kw(true))
	}
	for _, f := range []string{fUnit, fEventID, fSource, fParentID, fFilters} {
		doc.AddFieldMappingsAt(f, kw(false))
	}
	doc.AddFieldMappingsAt(fSourceDoc, source)
	doc.AddSubDocumentMapping("_all", bleve.NewDocumentDisabledMapping())

	m := bleve.NewIndexMapping()
	m.DefaultMapping = doc
	m.DefaultAnalyzer = AnalyzerName
	m.DefaultField = fContent
	m.IndexDynamic = false
	m.StoreDynamic = false
	m.DocValuesDynamic = false
	return m
}

// bucket keys of a time, in China time.
func hourKey(t time.Time) string  { return t.In(cst).Format("2006010215") }
func dayKey(t time.Time) string   { return t.In(cst).Format("20060102") }
func monthKey(t time.Time) string { return t.In(cst).Format("200601") }

// sortKey gives a fixed-width key of a time whose byte order is time order.
func sortKey(t time.Time) string {
	return fmt.Sprintf("%016x", uint64(t.UnixNano())^(1<<63))
}

func parseSortKey(k string) (time.Time, error) {
	u, err := strconv.ParseUint(k, 16, 64)
	if err != nil || len(k) != 16 {
		return time.Time{}, fmt.Errorf("bad time sort key %q", k)
	}
	return time.Unix(0, int64(u^(1<<63))).In(cst), nil
}

// riskPct gives a risk in whole hundredths: the k with
// k/100 <= r < (k+1)/100, r clamped to [0, 1], exactly (as float64 k/100
// compares with r, so that 0.3 is in 30 and the bands agree with
// Elasticsearch's ranges to the last bit).
func riskPct(r float64) int {
	r = index.ClampRisk(r)
	k := int(r * 100)
	for k > 0 && float64(k)/100 > r {
		k--
	}
	for k < 100 && float64(k+1)/100 <= r {
		k++
	}
	return k
}

// Prefixes of the terms of the filters field.
const (
	preAuthor  = "a" // the author's name
	preRiskKey = "k" // riskKey of the risk
)

// facetMark starts the facet terms in the region field.
const facetMark = "\x01"

// riskTerm gives the facet term of a risk in whole hundredths k.
func riskTerm(k int) string { return fmt.Sprintf("%s%s%03d", facetMark, kindRisk, k) }

// riskKey gives a fixed-width key of a risk (clamped to [0, 1]) whose byte
// order is numeric order: the bits of a non-negative float64.
func riskKey(r float64) string {
	return fmt.Sprintf("%016x", math.Float64bits(index.ClampRisk(r)))
}

// Indexing options of the fields, as newMapping declares them.
const (
	optFacet   = bindex.IndexField | bindex.DocValues // filtered and counted
	optFilter  = bindex.IndexField                    // filtered only
	optContent = bindex.IndexField
	optStored  = bindex.StoreField
)

// document gives the Bleve document of a post, built directly rather than
// through the mapping's reflection walk; the fields and options are those
// of newMapping. Empty values are not indexed.
// The codes of places and units it uses are added to used.
func (ix *Index) document(p domain.IndexedPost, used map[string]bool) (*document.Document, error) {
	src, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("bleveindex: encode post %s: %w", p.ID, err)
	}
	d := document.NewDocument(p.ID)
	d.AddField(document.NewTextFieldWithIndexingOptions(fSourceDoc, nil, src, optStored))
	content := p.Title
	if p.Text != "" {
		if content != "" {
			content += "\n"
		}
		content += p.Text
	}
	if content != "" {
		d.AddField(document.NewTextFieldCustom(fContent, nil, []byte(content), optContent, ix.zh))
	}
	put := func(name, v string, opts bindex.FieldIndexingOptions) {
		if v != "" {
			d.AddField(document.NewTextFieldCustom(name, nil, []byte(v), opts, ix.kw))
		}
	}
	put(fSentiment, p.Analysis.Sentiment.Label, optFacet)
	put(fCategory, p.Analysis.Category, optFacet)
	if r := ix.region(p); !strings.HasPrefix(r, facetMark) {
		put(fRegion, r, optFacet)
	}
	put(fUnit, p.Analysis.Unit, optFilter)
	put(fEventID, p.EventID, optFilter)
	put(fSource, p.Source, optFilter)
	put(fParentID, p.ParentID, optFilter)
	if len(p.Analysis.Keywords) > 0 {
		seen := make(map[string]bool, len(p.Analysis.Keywords))
		for _, k := range p.Analysis.Keywords {
			if k.Word != "" && !seen[k.Word] {
				seen[k.Word] = true
				d.AddField(document.NewTextFieldCustom(fKeywords, []uint64{uint64(len(seen) - 1)}, []byte(k.Word), optFacet, ix.kw))
			}
		}
	}
	// The filters and the facet terms: each one field value of many terms.
	var filters, facets []byte
	filter := func(prefix, v string) {
		if v != "" && strings.IndexByte(v, termSep) < 0 {
			filters = append(append(append(filters, prefix...), v...), termSep)
		}
	}
	facet := func(term string) { facets = append(append(facets, term...), termSep) } // marked
	coded := func(kind, name string) {
		if strings.IndexByte(name, termSep) >= 0 {
			return
		}
		code := ix.codes.code(kind, name)
		facet(facetMark + code)
		used[code] = true
	}
	facet(riskTerm(riskPct(p.Analysis.Risk)))
	filter(preRiskKey, riskKey(p.Analysis.Risk))
	if p.Analysis.Unit != "" {
		coded(kindUnit, p.Analysis.Unit)
	}
	for i, pl := range p.Analysis.Places {
		if pl != "" && !slices.Contains(p.Analysis.Places[:i], pl) {
			coded(kindPlace, pl)
		}
	}
	filter(preAuthor, p.Author.Name)
	d.AddField(document.NewTextFieldCustom(fFilters, nil, filters, optFilter, splitAnalyzer{}))
	d.AddField(document.NewTextFieldCustom(fRegion, nil, facets, optFacet, splitAnalyzer{}))
	if !p.PublishedAt.IsZero() {
		if y := p.PublishedAt.Year(); y < 1700 || y > 2200 {
			return nil, fmt.Errorf("bleveindex: post %s: published_at %s out of range", p.ID, p.PublishedAt.Format(time.RFC3339))
		}
		put(fHour, hourKey(p.PublishedAt), optFacet)
		put(fDay, dayKey(p.PublishedAt), optFacet)
		put(fMonth, monthKey(p.PublishedAt), optFacet)
		put(fSortTime, sortKey(p.PublishedAt), optFacet)
	}
	return d, nil
}

func (ix *Index) acquire() error {
	ix.mu.RLock()
	if ix.closed {
		ix.mu.RUnlock()
		return fmt.Errorf("bleveindex %s: %w", ix.dir, bleve.ErrorIndexClosed)
	}
	return nil
}

func (ix *Index) release() { ix.mu.RUnlock() }

// Index adds or replaces posts, as one Bleve batch; it returns once the batch
// is persisted and searchable.
func (ix *Index) Index(ctx context.Context, docs []domain.IndexedPost) error {
	if len(docs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("bleveindex: index: %w", err)
	}
	if err := ix.acquire(); err != nil {
		return err
	}
	defer ix.release()
	b := ix.bi.NewBatch()
	used := map[string]bool{}
	for i := range docs {
		if docs[i].ID == "" {
			return fmt.Errorf("bleveindex: index: post %d of %d has no id", i, len(docs))
		}
		d, err := ix.document(docs[i], used)
		if err != nil {
			return err
		}
		if err := b.IndexAdvanced(d); err != nil {
			return fmt.Errorf("bleveindex: index post %s: %w", docs[i].ID, err)
		}
	}
	named := ix.codes.unstored(b, used)
	if err := ix.bi.Batch(b); err != nil {
		return fmt.Errorf("bleveindex: batch of %d posts in %s: %w", len(docs), ix.dir, err)
	}
	ix.codes.markStored(named)
	return nil
}

// Get returns the post with that id.
func (ix *Index) Get(ctx context.Context, id string) (domain.IndexedPost, bool, error) {
	if err := ctx.Err(); err != nil {
		return domain.IndexedPost{}, false, fmt.Errorf("bleveindex: get %s: %w", id, err)
	}
	if err := ix.acquire(); err != nil {
		return domain.IndexedPost{}, false, err
	}
	defer ix.release()
	doc, err := ix.bi.Document(id)
	if err != nil {
		return domain.IndexedPost{}, false, fmt.Errorf("bleveindex: get %s: %w", id, err)
	}
	if doc == nil {
		return domain.IndexedPost{}, false, nil
	}
	var src []byte
	doc.VisitFields(func(f bindex.Field) {
		if f.Name() == fSourceDoc {
			src = f.Value()
		}
	})
	if src == nil {
		return domain.IndexedPost{}, false, fmt.Errorf("bleveindex: get %s: stored document missing", id)
	}
	var p domain.IndexedPost
	if err := json.Unmarshal(src, &p); err != nil {
		return domain.IndexedPost{}, false, fmt.Errorf("bleveindex: get %s: decode: %w", id, err)
	}
	return p, true, nil
}

// Count gives the number of posts in the index.
func (ix *Index) Count(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("bleveindex: count: %w", err)
	}
	if err := ix.acquire(); err != nil {
		return 0, err
	}
	defer ix.release()
	n, err := ix.bi.DocCount()
	if err != nil {
		return 0, fmt.Errorf("bleveindex: count %s: %w", ix.dir, err)
	}
	return int64(n), nil
}

// Close closes the index; it waits for searches and batches in flight.
func (ix *Index) Close() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		return nil
	}
	ix.closed = true
	evErr := ix.ev.Close()
	if err := ix.bi.Close(); err != nil && !errors.Is(err, bleve.ErrorIndexClosed) {
		return fmt.Errorf("bleveindex: close %s: %w", ix.dir, err)
	}
	if evErr != nil && !errors.Is(evErr, bleve.ErrorIndexClosed) {
		return fmt.Errorf("bleveindex: close %s: events: %w", ix.dir, evErr)
	}
	return nil
}
