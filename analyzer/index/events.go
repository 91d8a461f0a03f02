package index

import (
	"fmt"
	"time"

	"yuqing/domain"
)

// The events half of the port: every backend keeps the events beside the
// posts (DESIGN.md §2: "Index: posts, events"), so staff can search them by
// words and filter and count them the way they do posts, where the store
// only lists them.
//
// Events are keyed by id. IndexEvents never replaces an indexed event with
// an older state of it: a state whose Version is lower than the indexed
// one's is skipped (analyzers sharing a store may index one event's states
// out of order; the store's version orders them). Hourly is not indexed
// (hits have none: it is for the event's own page, from the store).

// EventQuery is a search of events. Empty fields do not filter; an empty Q
// matches every event.
type EventQuery struct {
	// Q matches words of the event's name, title and keywords (cut as
	// QueryGroups cuts a post query).
	Q string
	// From and To bound the event's activity: it matches when its last post
	// is at or after From and its first post before To.
	From, To time.Time
	// MinGrade matches events graded at least that severe (I is the most
	// severe); GradeNone does not filter.
	MinGrade domain.Grade
	Category string
	Region   string
	Unit     string
	// Place matches an event whose Places name that place or one inside it,
	// as Query.Place does for posts (PlaceTerms).
	Place string
	// MinHeat matches events whose heat is at least MinHeat.
	MinHeat float64
	// Sort orders the hits: EventsByHeat (default: hottest first, then the
	// latest activity) or EventsByLast (latest activity first, then heat);
	// ties by id.
	Sort   string
	Size   int // hits to return; 0 means 20, at most 1000
	Offset int
}

// Event sort orders.
const (
	EventsByHeat = "heat"
	EventsByLast = "last"
)

// Normalize applies the defaults and bounds of Size and Sort.
func (q EventQuery) Normalize() EventQuery {
	p := Query{Size: q.Size, Offset: q.Offset}.Normalize()
	q.Size, q.Offset = p.Size, p.Offset
	if q.Sort != EventsByLast {
		q.Sort = EventsByHeat
	}
	return q
}

// EventResult is what an event search gives: the hits in the query's Sort
// order (not by text relevance: a word either matches or not), the number
// of matches and aggregations over all of them.
type EventResult struct {
	Total int64            `json:"total"`
	Hits  []domain.Event   `json:"hits"`
	Aggs  EventAggregation `json:"aggregations"`
}

// EventAggregation summarises the matching events.
type EventAggregation struct {
	// ByGrade counts by grade, always all five in order: "I", "II", "III",
	// "IV" and "" (below grading), zero counts included.
	ByGrade    []TermCount `json:"by_grade"`
	ByCategory []TermCount `json:"by_category"`
	ByRegion   []TermCount `json:"by_region"`
	// ByUnit and ByPlace count the 20 most frequent; an event naming two
	// places counts under both.
	ByUnit  []TermCount `json:"by_unit"`
	ByPlace []TermCount `json:"by_place"`
}

// NewGradeCounts gives the ByGrade buckets to count into, in order.
func NewGradeCounts() []TermCount {
	return []TermCount{{Term: "I"}, {Term: "II"}, {Term: "III"}, {Term: "IV"}, {Term: ""}}
}

// GradeSlot gives the index of a grade in NewGradeCounts.
func GradeSlot(g domain.Grade) int {
	if g >= domain.GradeI && g <= domain.GradeIV {
		return int(g) - 1
	}
	return 4
}

// EventForIndex gives the event as indexed: without Hourly.
func EventForIndex(ev domain.Event) domain.Event {
	ev.Hourly = nil
	return ev
}

// NewestStates gives, for IndexEvents, each event of evs once, in the order
// of first appearance, in its newest state (the highest Version; of equal
// versions the later, as two calls would leave it). An event without an id
// or with a negative Version is an error.
func NewestStates(evs []domain.Event) ([]domain.Event, error) {
	at := make(map[string]int, len(evs)) // id → position in newest
	newest := make([]domain.Event, 0, len(evs))
	for i := range evs {
		switch ev := &evs[i]; {
		case ev.ID == "":
			return nil, fmt.Errorf("event %d of %d has no id", i+1, len(evs))
		case ev.Version < 0:
			return nil, fmt.Errorf("event %s has version %d", ev.ID, ev.Version)
		}
		if j, ok := at[evs[i].ID]; !ok {
			at[evs[i].ID] = len(newest)
			newest = append(newest, evs[i])
		} else if evs[i].Version >= newest[j].Version {
			newest[j] = evs[i]
		}
	}
	return newest, nil
}
