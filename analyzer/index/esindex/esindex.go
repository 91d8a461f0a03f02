// Package esindex is the Elasticsearch 8 backend of the Index port, for
// deployments that outgrow the embedded bleveindex. It gives the same answers
// as bleveindex for the same data: the same Chinese tokens, AND semantics,
// filters, sort orders, over-time intervals and China-time buckets.
//
// Layout: one index per month of published_at (China time), named
// "<prefix>-2006.01" ("<prefix>-undated" for posts without a time), all
// created on first write from the index template "<prefix>-template" and
// joined to the alias "<prefix>", which every search, Get and Count use. A
// post's published_at never changes, so the same post always goes to the same
// monthly index, and the document id being the post id makes indexing it
// again an overwrite, not a duplicate.
//
// Mappings (explicit, dynamic "strict"): content_tokens holds title + text
// cut in Go by gojieba's search mode (segment.CutForSearch, dropping tokens
// of only spaces or punctuation, lowercased) — the terms of bleveindex's
// analyzer — as the values of a keyword field with term frequencies and
// norms, so that BM25 scores them like an analysed text field. No analyzer
// is involved, so neither an Elasticsearch plugin nor the analysis-common
// module is needed (the integ-test distribution that deploy/local runs has
// no whitespace tokenizer and no lowercase filter). The query is cut the same
// way and every word must match. Keyword fields: sentiment, category, region
// (WithRegion, by default DefaultRegion, the rule of bleveindex), unit,
// event_id, source, keywords (multi-valued), parent_id, places (the
// analysis's full place names, multi-valued), place_terms (every name a
// place is found by, index.PlaceTerms; not aggregated, so no doc values),
// author (the author's name; no doc values); risk is a double, the analysis's risk
// clamped to [0, 1] (index.ClampRisk). published_at is
// date_nanos, so ranges are exact to the nanosecond like bleveindex's (it
// holds 1970 to 2262; a post outside is refused by Elasticsearch and
// reported as failed). The whole IndexedPost is kept in _source under "doc"
// (an object with enabled:false: stored, not indexed), from which Get and
// Search return full documents; content_tokens is left out of _source.
//
// Older indices: the template only shapes indices created after it, and a
// monthly index made by an older version (before places, place_terms,
// author and risk) would refuse new posts under dynamic "strict". Open
// therefore adds the template's properties to the mappings of the existing
// indices of the prefix (adding fields is allowed; the fields already there
// are unchanged) and logs a warning naming the indices it upgraded: their
// posts indexed before lack the new fields, so Place, MinRisk and Author do
// not find them and ByPlace and ByRisk do not count them, until they are
// indexed again.
//
// Events (events.go) live in one index of their own, "<prefix>-events",
// outside the alias, so that post searches, Get and Count never see them.
// Open creates it, from its own template "<prefix>-events-template" (above
// the posts' template in priority, as <prefix>-* matches it too), and adds
// missing fields to an older one as it does for the monthly indices. Its
// strict mappings: content_tokens (the event's name, title and keywords, cut
// as a post's text, not scored: events sort by heat or time), id (for the
// tie order), grade (an integer: I..IV as 1..4 and below grading as 5, so
// MinGrade is a range and no event is left out of ByGrade), category,
// region, unit, places, place_terms as for posts, heat (double), first_at
// and last_at (date_nanos), version (long) and the event without Hourly
// (index.EventForIndex) in _source under "doc". The event's Version is its
// Elasticsearch external version, with version_type external_gte: a state
// whose Version is lower than the indexed one's is refused by Elasticsearch
// itself (409, which IndexEvents counts as done), so two analyzers indexing
// one event's states in any order leave the newest; an equal Version is
// written again (the same state from the store, or an event never stored,
// Version 0, whose later state then wins), which also lets a redelivered
// batch fill fields an older mapping lacked. Within one call only the newest
// state of each event is sent. Durability and visibility are those of Index.
//
// Durability: Index sends the posts through an esutil.BulkIndexer and returns
// nil only when every item succeeded; otherwise its error names the failed
// post ids, so the caller does not acknowledge them. Elasticsearch answers a
// bulk request only after it has fsynced the translog
// (index.translog.durability "request", the default, which the template does
// not change), so an acknowledged post survives a crash. The posts are
// searchable when Index returns: by default it refreshes the indices it wrote
// to (RefreshExplicit); WithRefresh(RefreshWaitFor) asks the bulk requests to
// wait for the periodic refresh instead.
package esindex

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/elastic/go-elasticsearch/v8/esutil"

	"yuqing/analyzer/index"
	"yuqing/analyzer/segment"
	"yuqing/domain"
)

// DefaultPrefix is the default name of the alias and the prefix of the indices.
const DefaultPrefix = "yuqing-posts"

// Field names in the Elasticsearch documents.
const (
	fContent   = "content_tokens"
	fSentiment = "sentiment"
	fCategory  = "category"
	fRegion    = "region"
	fUnit      = "unit"
	fEventID   = "event_id"
	fSource    = "source"
	fKeywords  = "keywords"
	fParentID  = "parent_id"
	fPlaces    = "places"
	fPlaceTerm = "place_terms"
	fAuthor    = "author"
	fRisk      = "risk"
	fPublished = "published_at"
	fDoc       = "doc"
	// and of the events (content_tokens, category, region, unit, places,
	// place_terms and doc as above)
	fID      = "id"
	fGrade   = "grade"
	fHeat    = "heat"
	fFirstAt = "first_at"
	fLastAt  = "last_at"
	fVersion = "version"
)

// Refresh modes: how Index makes its posts searchable before it returns.
const (
	// RefreshExplicit sends the bulk requests without refresh, then one
	// _refresh of the indices written to.
	RefreshExplicit = "explicit"
	// RefreshWaitFor sends the bulk requests with refresh=wait_for: each
	// returns after the next periodic refresh (index.refresh_interval, 1s).
	RefreshWaitFor = "wait_for"
)

// maxResultWindow is index.max_result_window in the template: Offset+Size
// beyond it is refused.
const maxResultWindow = 100_000

// maxTermChars is the ignore_above of the keyword fields: 4,096 characters
// of up to 4 bytes stay under Lucene's term limit.
const maxTermChars = 4096

// China time, fixed so that no tzdata is needed.
var cst = time.FixedZone("CST", 8*3600)

// Index is an Elasticsearch index of analysed posts and of events. It is
// safe for concurrent use.
type Index struct {
	es        *elasticsearch.Client
	transport *http.Transport
	addrs     []string
	prefix    string
	seg       *segment.Segmenter
	region    func(domain.IndexedPost) string
	log       *slog.Logger
	shards    int
	replicas  int
	workers   int
	flush     int
	refresh   string

	mu     sync.RWMutex // guards closed against use after Close
	closed bool
	ready  sync.Map // monthly indices known to exist, be active and be in the alias
}

var _ index.Index = (*Index)(nil)

// Option configures Open.
type Option func(*Index)

// WithPrefix sets the alias name and index prefix (default "yuqing-posts").
// It must be a valid lowercase Elasticsearch index name.
func WithPrefix(name string) Option { return func(ix *Index) { ix.prefix = name } }

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(ix *Index) { ix.log = l } }

// WithShards sets the primary shards of each monthly index and of the events
// index (default 1).
func WithShards(n int) Option { return func(ix *Index) { ix.shards = n } }

// WithReplicas sets the replicas of each monthly index and of the events
// index (default 0).
func WithReplicas(n int) Option { return func(ix *Index) { ix.replicas = n } }

// WithBulk sets the bulk indexer's workers (parallel bulk requests of one
// Index call; default 2) and the size in bytes at which a bulk request is
// sent (default 5 MiB).
func WithBulk(workers, flushBytes int) Option {
	return func(ix *Index) { ix.workers, ix.flush = workers, flushBytes }
}

// WithRefresh sets how Index makes posts searchable: RefreshExplicit
// (default) or RefreshWaitFor.
func WithRefresh(mode string) Option { return func(ix *Index) { ix.refresh = mode } }

// WithRegion sets how a post's region facet value is found (default
// DefaultRegion).
func WithRegion(f func(domain.IndexedPost) string) Option {
	return func(ix *Index) { ix.region = f }
}

// DefaultRegion is the default region rule, the same as bleveindex's: the
// post's Region, else the first place the analyzer found.
func DefaultRegion(p domain.IndexedPost) string {
	if p.Region != "" {
		return p.Region
	}
	if len(p.Analysis.Places) > 0 {
		return p.Analysis.Places[0]
	}
	return ""
}

var validPrefix = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,200}$`)

// Open connects to Elasticsearch at addresses (e.g. http://127.0.0.1:9200)
// and puts the index templates, so that monthly indices are created with the
// mappings on first write. It creates the events index if it is missing.
func Open(ctx context.Context, addresses []string, opts ...Option) (*Index, error) {
	ix := &Index{
		addrs: addresses, prefix: DefaultPrefix, region: DefaultRegion, log: slog.Default(),
		shards: 1, replicas: 0, workers: 2, flush: 5 << 20, refresh: RefreshExplicit,
	}
	for _, o := range opts {
		o(ix)
	}
	switch {
	case len(addresses) == 0:
		return nil, errors.New("esindex: open: no Elasticsearch address")
	case !validPrefix.MatchString(ix.prefix):
		return nil, fmt.Errorf("esindex: open: prefix %q is not a valid lowercase index name", ix.prefix)
	case ix.shards < 1 || ix.replicas < 0:
		return nil, fmt.Errorf("esindex: open: %d shards, %d replicas", ix.shards, ix.replicas)
	case ix.refresh != RefreshExplicit && ix.refresh != RefreshWaitFor:
		return nil, fmt.Errorf("esindex: open: refresh mode %q (want %q or %q)", ix.refresh, RefreshExplicit, RefreshWaitFor)
	}
	if ix.workers < 1 {
		ix.workers = 1
	}
	if ix.flush < 1<<10 {
		ix.flush = 1 << 10
	}
	seg, err := segment.Default()
	if err != nil {
		return nil, fmt.Errorf("esindex: open: %w", err)
	}
	ix.seg = seg
	ix.transport = &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 32,
		IdleConnTimeout:     90 * time.Second,
		// A hung Elasticsearch becomes an error (the bulk indexer's
		// requests do not follow the caller's context).
		ResponseHeaderTimeout: 2 * time.Minute,
	}
	ix.es, err = elasticsearch.NewClient(elasticsearch.Config{
		Addresses:  addresses,
		Transport:  ix.transport,
		MaxRetries: 3,
	})
	if err != nil {
		ix.transport.CloseIdleConnections()
		return nil, fmt.Errorf("esindex: open %v: %w", addresses, err)
	}
	if err := ix.setup(ctx); err != nil {
		ix.transport.CloseIdleConnections()
		return nil, err
	}
	ix.log.Info("esindex: opened", "addresses", addresses, "alias", ix.prefix, "refresh", ix.refresh)
	return ix, nil
}

// setup puts the index templates, creates the events index if missing and
// upgrades the mappings of the indices made by an older version.
func (ix *Index) setup(ctx context.Context) error {
	if err := ix.putTemplate(ctx, ix.templateName(), ix.template()); err != nil {
		return err
	}
	if err := ix.putTemplate(ctx, ix.eventsTemplateName(), ix.eventsTemplate()); err != nil {
		return err
	}
	if err := ix.createIndex(ctx, ix.EventsIndex()); err != nil {
		return fmt.Errorf("esindex: open: %w", err)
	}
	mine := regexp.MustCompile(`^` + regexp.QuoteMeta(ix.prefix) + `-(\d{4}\.\d{2}|undated)$`)
	if err := ix.upgradeMappings(ctx, ix.prefix+"-*", mine, properties(), "posts"); err != nil {
		return err
	}
	mine = regexp.MustCompile(`^` + regexp.QuoteMeta(ix.EventsIndex()) + `$`)
	return ix.upgradeMappings(ctx, ix.EventsIndex(), mine, eventProperties(), "events")
}

// Alias gives the alias name that searches use.
func (ix *Index) Alias() string { return ix.prefix }

// EventsIndex gives the name of the index of the events.
func (ix *Index) EventsIndex() string { return ix.prefix + "-events" }

func (ix *Index) templateName() string       { return ix.prefix + "-template" }
func (ix *Index) eventsTemplateName() string { return ix.prefix + "-events-template" }

// template gives the index template of the monthly indices.
func (ix *Index) template() map[string]any {
	return ix.templateOf(ix.prefix+"-*", 200, properties())
}

// templateOf gives an index template of the package's settings for the
// indices matching pattern, with those fields.
func (ix *Index) templateOf(pattern string, priority int, props map[string]any) map[string]any {
	return map[string]any{
		"index_patterns": []string{pattern},
		"priority":       priority,
		"_meta":          map[string]any{"owner": "yuqing esindex"},
		"template": map[string]any{
			"settings": map[string]any{
				"number_of_shards":   ix.shards,
				"number_of_replicas": ix.replicas,
				"max_result_window":  maxResultWindow,
			},
			"mappings": map[string]any{
				"dynamic":    "strict",
				"_source":    map[string]any{"excludes": []string{fContent}},
				"properties": props,
			},
		},
	}
}

// properties gives the fields of the mappings.
func properties() map[string]any {
	// ignore_above: a longer value is kept in _source but not indexed,
	// rather than failing the post on Lucene's 32,766-byte term limit.
	kw := map[string]any{"type": "keyword", "ignore_above": maxTermChars}
	filterOnly := map[string]any{"type": "keyword", "ignore_above": maxTermChars, "doc_values": false}
	return map[string]any{
		fContent:   map[string]any{"type": "keyword", "index_options": "freqs", "norms": true, "doc_values": false},
		fSentiment: kw, fCategory: kw, fRegion: kw, fUnit: kw, fEventID: kw,
		fSource: kw, fKeywords: kw, fParentID: kw, fPlaces: kw,
		fPlaceTerm: filterOnly, fAuthor: filterOnly,
		fRisk:      map[string]any{"type": "double"},
		fPublished: map[string]any{"type": "date_nanos"},
		fDoc:       map[string]any{"type": "object", "enabled": false},
	}
}

// upgradeMappings adds the fields of props to the existing indices matching
// pattern and mine that lack some, so that they take the documents (what:
// "posts" or "events") of this version, and logs which ones it upgraded.
func (ix *Index) upgradeMappings(ctx context.Context, pattern string, mine *regexp.Regexp, props map[string]any, what string) error {
	res, err := esapi.IndicesGetMappingRequest{
		Index: []string{pattern}, IgnoreUnavailable: &ignore, AllowNoIndices: &ignore, ExpandWildcards: "open",
	}.Do(ctx, ix.es)
	if err := check(res, err); err != nil {
		return fmt.Errorf("esindex: open: mappings of %s: %w", pattern, err)
	}
	var got map[string]struct {
		Mappings struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"mappings"`
	}
	if err := decode(res, &got); err != nil {
		return fmt.Errorf("esindex: open: mappings of %s: %w", pattern, err)
	}
	var old []string
	var missing []string
	for name, m := range got {
		if !mine.MatchString(name) {
			continue
		}
		var lacks []string
		for f := range props {
			if _, ok := m.Mappings.Properties[f]; !ok {
				lacks = append(lacks, f)
			}
		}
		if len(lacks) > 0 {
			old = append(old, name)
			missing = lacks
		}
	}
	if len(old) == 0 {
		return nil
	}
	sort.Strings(old)
	sort.Strings(missing)
	body, err := json.Marshal(map[string]any{"properties": props})
	if err != nil {
		return fmt.Errorf("esindex: open: %w", err)
	}
	for rest := old; len(rest) > 0; {
		k := min(len(rest), 50) // the request line must stay short
		res, err := esapi.IndicesPutMappingRequest{Index: rest[:k], Body: bytes.NewReader(body)}.Do(ctx, ix.es)
		if err := check(res, err); err != nil {
			return fmt.Errorf("esindex: open: add fields %v to the mappings of %v (made by an older version): %w", missing, rest[:k], err)
		}
		closeBody(res)
		rest = rest[k:]
	}
	ix.log.Warn("esindex: indices made by an older version: added the new fields to their mappings; their "+what+" lack them until indexed again",
		"indices", old, "fields", missing)
	return nil
}

// ensureIndices creates the monthly indices a batch needs, waits until their
// shards are active, and only then adds them to the search alias, so that a
// search never meets an index that cannot answer yet. Another process may be
// doing the same at once: creating an existing index and adding an alias
// twice are both harmless.
func (ix *Index) ensureIndices(ctx context.Context, names map[string]bool) error {
	for name := range names {
		if _, ok := ix.ready.Load(name); ok {
			continue
		}
		if err := ix.createIndex(ctx, name); err != nil {
			return err
		}
		res, err := esapi.IndicesPutAliasRequest{Index: []string{name}, Name: ix.prefix}.Do(ctx, ix.es)
		if err := check(res, err); err != nil {
			return fmt.Errorf("esindex: alias %s → %s: %w", ix.prefix, name, err)
		}
		closeBody(res)
		ix.ready.Store(name, true)
	}
	return nil
}

// createIndex creates an index (from its template) unless it exists, and
// waits until its shards are active.
func (ix *Index) createIndex(ctx context.Context, name string) error {
	res, err := esapi.IndicesCreateRequest{Index: name, WaitForActiveShards: "1"}.Do(ctx, ix.es)
	if err != nil {
		return fmt.Errorf("esindex: create index %s: %w", name, err)
	}
	if res.IsError() && res.StatusCode != 400 { // 400: resource_already_exists_exception
		return fmt.Errorf("esindex: create index %s: %w", name, check(res, nil))
	}
	closeBody(res)
	res, err = esapi.ClusterHealthRequest{Index: []string{name}, WaitForStatus: "yellow", Timeout: time.Minute}.Do(ctx, ix.es)
	if err := check(res, err); err != nil {
		return fmt.Errorf("esindex: waiting for index %s: %w", name, err)
	}
	closeBody(res)
	return nil
}

func (ix *Index) putTemplate(ctx context.Context, name string, tmpl map[string]any) error {
	body, err := json.Marshal(tmpl)
	if err != nil {
		return fmt.Errorf("esindex: template %s: %w", name, err)
	}
	res, err := esapi.IndicesPutIndexTemplateRequest{Name: name, Body: bytes.NewReader(body)}.Do(ctx, ix.es)
	if err := check(res, err); err != nil {
		return fmt.Errorf("esindex: put template %s at %v: %w", name, ix.addrs, err)
	}
	closeBody(res)
	return nil
}

// check turns a failed request or an error status into an error and closes
// the body of a failed response.
func check(res *esapi.Response, err error) error {
	if err != nil {
		return err
	}
	if res.IsError() {
		defer closeBody(res)
		b, _ := io.ReadAll(io.LimitReader(res.Body, 4<<10))
		return fmt.Errorf("status %d: %s", res.StatusCode, bytes.TrimSpace(b))
	}
	return nil
}

// closeBody reads the rest of a body, so that its connection is reused, and
// closes it.
func closeBody(res *esapi.Response) {
	io.Copy(io.Discard, io.LimitReader(res.Body, 1<<20))
	res.Body.Close()
}

// decode reads a successful response's JSON body into v and closes it.
func decode(res *esapi.Response, v any) error {
	defer closeBody(res)
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		return fmt.Errorf("decode response: %w", err)
	}
	return nil
}

// indexName gives the monthly index of a time (China time).
func (ix *Index) indexName(t time.Time) string {
	if t.IsZero() {
		return ix.prefix + "-undated"
	}
	return ix.prefix + "-" + t.In(cst).Format("2006.01")
}

// The range of date_nanos.
var (
	minTime = time.Unix(0, 0)
	maxTime = time.Unix(0, math.MaxInt64)
)

// nanoLayout formats a time for date_nanos, exact to the nanosecond.
const nanoLayout = "2006-01-02T15:04:05.000000000Z"

func esTime(t time.Time) string { return t.UTC().Format(nanoLayout) }

// esDoc is the document sent to Elasticsearch. Empty values are left out.
type esDoc struct {
	Content     []string        `json:"content_tokens,omitempty"`
	Sentiment   string          `json:"sentiment,omitempty"`
	Category    string          `json:"category,omitempty"`
	Region      string          `json:"region,omitempty"`
	Unit        string          `json:"unit,omitempty"`
	EventID     string          `json:"event_id,omitempty"`
	Source      string          `json:"source,omitempty"`
	Keywords    []string        `json:"keywords,omitempty"`
	ParentID    string          `json:"parent_id,omitempty"`
	Places      []string        `json:"places,omitempty"`
	PlaceTerms  []string        `json:"place_terms,omitempty"`
	Author      string          `json:"author,omitempty"`
	Risk        float64         `json:"risk"`
	PublishedAt string          `json:"published_at,omitempty"`
	Doc         json.RawMessage `json:"doc"`
}

// document gives the JSON document of a post.
func (ix *Index) document(p *domain.IndexedPost) ([]byte, error) {
	src, err := json.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("esindex: encode post %s: %w", p.ID, err)
	}
	d := esDoc{
		Content:   contentTokens(ix.seg, p.Title, p.Text),
		Sentiment: p.Analysis.Sentiment.Label,
		Category:  p.Analysis.Category,
		Region:    ix.region(*p),
		Unit:      p.Analysis.Unit,
		EventID:   p.EventID,
		Source:    p.Source,
		ParentID:  p.ParentID,
		Risk:      index.ClampRisk(p.Analysis.Risk),
		Doc:       src,
	}
	d.Places, d.PlaceTerms = placeFields(p.Analysis.Places)
	d.Author = p.Author.Name
	if len(p.Analysis.Keywords) > 0 {
		seen := make(map[string]bool, len(p.Analysis.Keywords))
		for _, k := range p.Analysis.Keywords {
			if k.Word != "" && !seen[k.Word] {
				seen[k.Word] = true
				d.Keywords = append(d.Keywords, k.Word)
			}
		}
	}
	if !p.PublishedAt.IsZero() {
		d.PublishedAt = esTime(p.PublishedAt)
	}
	b, err := json.Marshal(&d)
	if err != nil {
		return nil, fmt.Errorf("esindex: encode post %s: %w", p.ID, err)
	}
	return b, nil
}

// placeFields gives the places and place_terms of a list of places: the
// distinct names, and every name they are found by (index.PlaceTerms).
func placeFields(places []string) (names, terms []string) {
	if len(places) == 0 {
		return nil, nil
	}
	seen := make(map[string]bool, len(places)*3)
	for _, pl := range places {
		if pl != "" && !seen[pl] {
			seen[pl] = true
			names = append(names, pl)
		}
	}
	clear(seen)
	for _, pl := range places {
		for _, t := range index.PlaceTerms(pl) {
			if !seen[t] {
				seen[t] = true
				terms = append(terms, t)
			}
		}
	}
	return names, terms
}

// documents encodes the posts on all cores (the segmentation dominates).
func (ix *Index) documents(docs []domain.IndexedPost) ([][]byte, error) {
	out := make([][]byte, len(docs))
	workers := min(runtime.GOMAXPROCS(0), (len(docs)+99)/100)
	if workers <= 1 {
		for i := range docs {
			b, err := ix.document(&docs[i])
			if err != nil {
				return nil, err
			}
			out[i] = b
		}
		return out, nil
	}
	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		first   error
	)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(docs) {
					return
				}
				b, err := ix.document(&docs[i])
				if err != nil {
					errOnce.Do(func() { first = err })
					return
				}
				out[i] = b
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return nil, first
	}
	return out, nil
}

func (ix *Index) acquire() error {
	ix.mu.RLock()
	if ix.closed {
		ix.mu.RUnlock()
		return fmt.Errorf("esindex %s: index closed", ix.prefix)
	}
	return nil
}

func (ix *Index) release() { ix.mu.RUnlock() }

// Index adds or replaces posts. It returns nil only once every post is
// durable (translog fsynced) and searchable; if any post failed, its error
// names the failed ids and none of the posts should be acknowledged (the
// others were written and writing them again overwrites them).
func (ix *Index) Index(ctx context.Context, docs []domain.IndexedPost) error {
	if len(docs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("esindex: index: %w", err)
	}
	if err := ix.acquire(); err != nil {
		return err
	}
	defer ix.release()
	for i := range docs {
		if docs[i].ID == "" {
			return fmt.Errorf("esindex: index: post %d of %d has no id", i, len(docs))
		}
	}
	bodies, err := ix.documents(docs)
	if err != nil {
		return err
	}
	items := make([]bulkItem, len(docs))
	names := map[string]bool{}
	for i := range docs {
		t := docs[i].PublishedAt
		items[i] = bulkItem{index: ix.indexName(t), id: docs[i].ID, body: bodies[i]}
		if !t.IsZero() && (t.Before(minTime) || t.After(maxTime)) {
			// Refused here, before it creates a monthly index for nothing.
			items[i].refused = "published_at " + t.Format(time.RFC3339) + " is outside date_nanos' range (1970 to 2262)"
			continue
		}
		names[items[i].index] = true
	}
	if err := ix.ensureIndices(ctx, names); err != nil {
		return err
	}
	return ix.write(ctx, "index", "posts", items)
}

// bulkItem is one document of a bulk write.
type bulkItem struct {
	index, id string
	body      []byte
	// version, if set, is written with version_type external_gte: an item
	// whose version is lower than the indexed document's is skipped (409).
	version *int64
	refused string // if set, why the item is not sent at all
}

// write sends the items through an esutil.BulkIndexer and returns nil only
// when every item succeeded (a versioned item also when a newer version is
// indexed); otherwise its error names the failed ids (op and what name the
// call and the documents in it). The indices written to are refreshed
// (RefreshExplicit) or the bulk requests wait for the refresh
// (RefreshWaitFor), so the items are searchable when write returns.
func (ix *Index) write(ctx context.Context, op, what string, items []bulkItem) error {
	refresh := ""
	if ix.refresh == RefreshWaitFor {
		refresh = "wait_for"
	}
	var (
		failMu   sync.Mutex
		failures = map[int]string{} // position in items → reason
		done     = make([]atomic.Bool, len(items))
		flushErr error
	)
	fail := func(i int, reason string) {
		failMu.Lock()
		if _, ok := failures[i]; !ok {
			failures[i] = reason
		}
		failMu.Unlock()
	}
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:        ix.es,
		NumWorkers:    ix.workers,
		FlushBytes:    ix.flush,
		FlushInterval: time.Hour, // Close flushes
		Refresh:       refresh,
		FilterPath:    []string{"errors", "items.*.status", "items.*.error.type", "items.*.error.reason"},
		OnError: func(_ context.Context, err error) {
			failMu.Lock()
			if flushErr == nil {
				flushErr = err
			}
			failMu.Unlock()
		},
	})
	if err != nil {
		return fmt.Errorf("esindex: %s: bulk indexer: %w", op, err)
	}
	var addErr error
	for i := range items {
		if items[i].refused != "" {
			fail(i, items[i].refused)
			continue
		}
		i := i
		item := esutil.BulkIndexerItem{
			Index:      items[i].index,
			Action:     "index",
			DocumentID: items[i].id,
			Body:       bytes.NewReader(items[i].body),
			OnSuccess: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem) {
				done[i].Store(true)
			},
			OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, r esutil.BulkIndexerResponseItem, err error) {
				switch {
				case err != nil:
					fail(i, err.Error())
				case r.Status == http.StatusConflict && r.Error.Type == "version_conflict_engine_exception" && items[i].version != nil:
					done[i].Store(true) // a newer version is indexed: nothing to do
				case r.Error.Type != "":
					fail(i, r.Error.Type+": "+r.Error.Reason)
				default:
					fail(i, "status "+strconv.Itoa(r.Status))
				}
			},
		}
		if items[i].version != nil {
			item.Version, item.VersionType = items[i].version, "external_gte"
		}
		if err := bi.Add(ctx, item); err != nil {
			addErr = err
			break
		}
	}
	// Close flushes what is left and waits for every bulk request, even when
	// ctx is done, so that no callback runs after write returns.
	if err := bi.Close(context.WithoutCancel(ctx)); err != nil && addErr == nil {
		addErr = err
	}
	var failed []string
	var reasons []string
	written := map[string]bool{} // the indices written to
	for i := range items {
		if done[i].Load() {
			written[items[i].index] = true
			continue
		}
		failed = append(failed, items[i].id)
		if r, ok := failures[i]; ok && len(reasons) < 3 {
			reasons = append(reasons, items[i].id+": "+r)
		}
	}
	var refreshErr error
	// The items that were written become searchable even when others failed.
	if ix.refresh == RefreshExplicit && len(written) > 0 {
		list := make([]string, 0, len(written))
		for n := range written {
			list = append(list, n)
		}
		sort.Strings(list)
		res, err := esapi.IndicesRefreshRequest{Index: list}.Do(context.WithoutCancel(ctx), ix.es)
		if err := check(res, err); err != nil {
			refreshErr = fmt.Errorf("esindex: %s: refresh %v: %w", op, list, err)
		} else {
			closeBody(res)
		}
	}
	if len(failed) > 0 {
		if len(reasons) == 0 {
			switch {
			case flushErr != nil:
				reasons = append(reasons, flushErr.Error())
			case addErr != nil:
				reasons = append(reasons, addErr.Error())
			}
		}
		ix.log.Warn("esindex: "+what+" not indexed", "failed", len(failed), "of", len(items), "reasons", reasons)
		shown := failed
		if len(shown) > 20 {
			shown = shown[:20]
		}
		return fmt.Errorf("esindex: %s: %d of %d %s failed in %s (ids %s%s): %s",
			op, len(failed), len(items), what, ix.prefix, strings.Join(shown, ", "), more(len(failed)-len(shown)), strings.Join(reasons, "; "))
	}
	return refreshErr
}

func more(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprintf(" and %d more", n)
}

var ignore = true

// Get returns the post with that id.
func (ix *Index) Get(ctx context.Context, id string) (domain.IndexedPost, bool, error) {
	if err := ix.acquire(); err != nil {
		return domain.IndexedPost{}, false, err
	}
	defer ix.release()
	body, _ := json.Marshal(map[string]any{
		"query":   map[string]any{"ids": map[string]any{"values": []string{id}}},
		"_source": []string{fDoc},
		"size":    1,
	})
	var r searchResponse
	if err := ix.search(ctx, ix.prefix, body, &r); err != nil {
		return domain.IndexedPost{}, false, fmt.Errorf("esindex: get %s: %w", id, err)
	}
	if len(r.Hits.Hits) == 0 {
		return domain.IndexedPost{}, false, nil
	}
	var p domain.IndexedPost
	if err := json.Unmarshal(r.Hits.Hits[0].Source.Doc, &p); err != nil {
		return domain.IndexedPost{}, false, fmt.Errorf("esindex: get %s: decode: %w", id, err)
	}
	return p, true, nil
}

// search runs a search request on target (the alias or the events index);
// a missing one (nothing indexed yet) gives no hits. A shard that is not
// available yet (an index just created, a node busy starting its shards)
// is waited for, a few times with backoff, before the search fails.
func (ix *Index) search(ctx context.Context, target string, body []byte, into any) error {
	wait := 100 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := ix.searchOnce(ctx, target, body, into)
		if err == nil || attempt == 5 || !shardUnavailable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 2
		reflect.ValueOf(into).Elem().SetZero() // nothing of the failed answer stays
	}
}

// shardUnavailable reports whether a search failed only because a shard was
// not (yet) available, which passes once the shard has started.
func shardUnavailable(err error) bool {
	s := err.Error()
	return strings.Contains(s, "no_shard_available_action_exception") || strings.Contains(s, "status 503")
}

func (ix *Index) searchOnce(ctx context.Context, target string, body []byte, into any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	res, err := esapi.SearchRequest{
		Index:             []string{target},
		Body:              bytes.NewReader(body),
		IgnoreUnavailable: &ignore,
		AllowNoIndices:    &ignore,
	}.Do(ctx, ix.es)
	if err := check(res, err); err != nil {
		return fmt.Errorf("search %s: %w", target, err)
	}
	if err := decode(res, into); err != nil {
		return fmt.Errorf("search %s: %w", target, err)
	}
	if r, ok := into.(*searchResponse); ok {
		if err := r.err(); err != nil {
			return fmt.Errorf("search %s: %w", target, err)
		}
	}
	return nil
}

// Count gives the number of posts in the index.
func (ix *Index) Count(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("esindex: count: %w", err)
	}
	if err := ix.acquire(); err != nil {
		return 0, err
	}
	defer ix.release()
	res, err := esapi.CountRequest{Index: []string{ix.prefix}, IgnoreUnavailable: &ignore, AllowNoIndices: &ignore}.Do(ctx, ix.es)
	if err := check(res, err); err != nil {
		return 0, fmt.Errorf("esindex: count %s: %w", ix.prefix, err)
	}
	var r struct {
		Count int64 `json:"count"`
	}
	if err := decode(res, &r); err != nil {
		return 0, fmt.Errorf("esindex: count %s: %w", ix.prefix, err)
	}
	return r.Count, nil
}

// Drop deletes the monthly indices of the prefix, the events index and the
// index templates: every post and event is gone. It works on a closed Index too. Monthly indices
// created after Drop would lack the mappings, so Drop is for tests and for
// removing a deployment, not for emptying a live one.
func (ix *Index) Drop(ctx context.Context) error {
	es := ix.es
	ix.mu.RLock()
	closed := ix.closed
	ix.mu.RUnlock()
	if closed {
		// A client of its own, without keep-alive: nothing stays open.
		tr := &http.Transport{DisableKeepAlives: true}
		defer tr.CloseIdleConnections()
		var err error
		if es, err = elasticsearch.NewClient(elasticsearch.Config{Addresses: ix.addrs, Transport: tr}); err != nil {
			return fmt.Errorf("esindex: drop %s: %w", ix.prefix, err)
		}
	}
	res, err := esapi.IndicesGetRequest{
		Index: []string{ix.prefix + "-*"}, IgnoreUnavailable: &ignore, AllowNoIndices: &ignore, ExpandWildcards: "all",
		FilterPath: []string{"*.settings.index.provided_name"},
	}.Do(ctx, es)
	if err := check(res, err); err != nil {
		return fmt.Errorf("esindex: drop %s: list indices: %w", ix.prefix, err)
	}
	var got map[string]json.RawMessage
	if err := decode(res, &got); err != nil {
		return fmt.Errorf("esindex: drop %s: %w", ix.prefix, err)
	}
	mine := regexp.MustCompile(`^` + regexp.QuoteMeta(ix.prefix) + `-(\d{4}\.\d{2}|undated|events)$`)
	var names []string
	for n := range got {
		if mine.MatchString(n) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	// Delete in small groups: the request line must stay short.
	for len(names) > 0 {
		k := min(len(names), 50)
		res, err := esapi.IndicesDeleteRequest{Index: names[:k], IgnoreUnavailable: &ignore}.Do(ctx, es)
		if err := check(res, err); err != nil {
			return fmt.Errorf("esindex: drop %s: delete %v: %w", ix.prefix, names[:k], err)
		}
		closeBody(res)
		names = names[k:]
	}
	for _, name := range []string{ix.templateName(), ix.eventsTemplateName()} {
		res, err = esapi.IndicesDeleteIndexTemplateRequest{Name: name}.Do(ctx, es)
		if err == nil && res.StatusCode == http.StatusNotFound {
			closeBody(res)
			continue
		}
		if err := check(res, err); err != nil {
			return fmt.Errorf("esindex: drop %s: delete template %s: %w", ix.prefix, name, err)
		}
		closeBody(res)
	}
	return nil
}

// Close releases the connections; it waits for searches and batches in
// flight. The indices stay in Elasticsearch.
func (ix *Index) Close() error {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if ix.closed {
		return nil
	}
	ix.closed = true
	ix.transport.CloseIdleConnections()
	return nil
}
