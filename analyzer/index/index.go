// Package index is the Index port: full-text search over analysed posts, with
// the filters and aggregations the dashboard and the search API need.
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
	Close() error
}

// Query is a search. Empty fields do not filter; an empty Q matches everything.
// From and To bound published_at (From inclusive, To exclusive).
type Query struct {
	Q         string
	From, To  time.Time
	Sentiment string
	Category  string
	Region    string
	Unit      string
	EventID   string
	Size      int // hits to return; 0 means 20, at most 1000
	Offset    int
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

// Normalize applies the defaults and bounds of Size.
func (q Query) Normalize() Query {
	if q.Size <= 0 {
		q.Size = 20
	}
	if q.Size > 1000 {
		q.Size = 1000
	}
	if q.Offset < 0 {
		q.Offset = 0
	}
	return q
}
