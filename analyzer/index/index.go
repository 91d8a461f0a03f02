// Package index is the Index port: full-text search over analysed posts and
// over events, with the filters and aggregations the dashboard and the
// search API need.
//
// Documents are keyed by post id, so indexing the same post again overwrites
// it. Backends live in packages beside this one (bleveindex for the embedded
// default); every backend must pass the conformance suite in indextest.
package index

import (
	"context"
	"time"

	"yuqing/domain"
)

// Index is the port. Index returns nil only once the documents are durable
// and searchable.
type Index interface {
	Index(ctx context.Context, docs []domain.IndexedPost) error
	Search(ctx context.Context, q Query) (Result, error)
	Get(ctx context.Context, id string) (domain.IndexedPost, bool, error)
	Count(ctx context.Context) (int64, error)
	// IndexEvents adds or replaces events (see events.go); like Index it
	// returns nil only once they are durable and searchable.
	IndexEvents(ctx context.Context, evs []domain.Event) error
	SearchEvents(ctx context.Context, q EventQuery) (EventResult, error)
	Close() error
}

// Query is a search. Empty fields do not filter; an empty Q matches everything.
// From and To bound published_at (From inclusive, To exclusive). Every
// filter is an exact value (no analysis, case sensitive) and all of them
// must hold.
type Query struct {
	Q         string
	From, To  time.Time
	Sentiment string
	Category  string
	Region    string
	Unit      string
	EventID   string
	// Place matches a post whose analysis names that place or a place
	// inside it: Analysis.Places holds full names (浙江省宁波市), and Place
	// may be one of them, an enclosing division's full name (浙江省) or the
	// name of any of its levels (宁波市); see PlaceTerms.
	Place string
	// Keyword matches a post that has it among Analysis.Keywords.
	Keyword string
	// MinRisk matches a post whose Analysis.Risk (false-information
	// probability, taken within [0, 1]) is at least MinRisk; 0 or less does
	// not filter.
	MinRisk float64
	// Author matches a post whose author's name (Post.Author.Name) is
	// Author.
	Author string
	Size   int // hits to return; 0 means 20, at most 1000
	Offset int
	// NoAggs asks for the hits and the total only, without aggregations
	// (then Size may be up to MaxExportSize):
	// an export pages through a search, and counting the aggregations
	// again for every page would cost more than the pages themselves.
	NoAggs bool
}

// Result is what a search gives: the hits, the total number of matches and
// aggregations over all matches (not only the returned hits).
type Result struct {
	Total int64        `json:"total"`
	Hits  []Hit        `json:"hits"`
	Aggs  Aggregations `json:"aggregations"`
}

// Hit is one matching post.
type Hit struct {
	domain.IndexedPost
	Score float64 `json:"score"`
}

// Aggregations summarise the matches.
type Aggregations struct {
	OverTime    []TimeBucket `json:"over_time"`
	Interval    string       `json:"interval"` // "hour", "day" or "month"
	BySentiment []TermCount  `json:"by_sentiment"`
	ByCategory  []TermCount  `json:"by_category"`
	ByRegion    []TermCount  `json:"by_region"`
	TopKeywords []TermCount  `json:"top_keywords"`
	// ByPlace counts the places the analysis named, by full name
	// (浙江省宁波市, 湖北省), the 20 most frequent; a post naming two
	// places counts under both.
	ByPlace []TermCount `json:"by_place"`
	// ByUnit counts the responsible units, the 20 most frequent.
	ByUnit []TermCount `json:"by_unit"`
	// ByRisk counts the matches in the RiskBands, always all three, in
	// order (zero counts included).
	ByRisk []RiskCount `json:"by_risk"`
}

// RiskCount counts the matches whose risk is in [From, To) (the last band
// includes To, 1).
type RiskCount struct {
	Band  string  `json:"band"`
	From  float64 `json:"from"`
	To    float64 `json:"to"`
	Count int64   `json:"count"`
}

// How many buckets each aggregation of a search gives, the largest first:
// the same in every backend.
const (
	SentimentTop = 10
	CategoryTop  = 20
	RegionTop    = 20
	KeywordTop   = 20
	PlaceTop     = 20
	UnitTop      = 20
)

// Risk bands of Aggregations.ByRisk, over Analysis.Risk taken within [0, 1]
// (see ClampRisk): low [0, 0.3), medium [0.3, 0.7), high [0.7, 1]. Every
// backend uses these bounds, so they agree to the last post.
const (
	RiskLow    = "low"
	RiskMedium = "medium"
	RiskHigh   = "high"
)

// RiskBands are the bands of ByRisk, in order; Count is zero.
var RiskBands = []RiskCount{
	{Band: RiskLow, From: 0, To: 0.3},
	{Band: RiskMedium, From: 0.3, To: 0.7},
	{Band: RiskHigh, From: 0.7, To: 1},
}

// NewRiskCounts gives a copy of RiskBands to count into.
func NewRiskCounts() []RiskCount {
	return append([]RiskCount(nil), RiskBands...)
}

// TimeBucket counts matches published in [Start, Start+interval).
type TimeBucket struct {
	Start time.Time `json:"start"`
	Count int64     `json:"count"`
}

// TermCount counts matches with one value of a field.
type TermCount struct {
	Term  string `json:"term"`
	Count int64  `json:"count"`
}

// MaxExportSize is the largest page of a NoAggs query.
const MaxExportSize = 10_000

// Normalize applies the defaults and bounds of Size.
func (q Query) Normalize() Query {
	if q.Size <= 0 {
		q.Size = 20
	}
	maxSize := 1000
	if q.NoAggs {
		maxSize = MaxExportSize
	}
	q.Size = min(q.Size, maxSize)
	if q.Offset < 0 {
		q.Offset = 0
	}
	return q
}
