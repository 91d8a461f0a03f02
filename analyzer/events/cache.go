package events

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"yuqing/alerting/store"
	"yuqing/domain"
)

// cache holds the recent events as the store has them, indexed for the
// similarity search: SimHash in four 16-bit bands (two fingerprints within
// Hamming distance 3 agree on at least one band) and keywords (founding and
// terms) inverted.
//
// Every event in the store whose LastAt is at or after from is in the cache
// once loaded; Commit keeps it in step (the Grouper is the events' only writer).
type cache struct {
	window time.Duration
	now    func() time.Time
	loaded bool
	from   time.Time
	maxAt  time.Time // latest LastAt seen
	swept  time.Time // maxAt at the last eviction

	events map[string]*domain.Event
	bands  [4]map[uint16]map[string]struct{}
	words  map[string]map[string]struct{}
}

func newCache(window time.Duration, now func() time.Time) *cache {
	c := &cache{window: window, now: now, events: map[string]*domain.Event{}, words: map[string]map[string]struct{}{}}
	for i := range c.bands {
		c.bands[i] = map[uint16]map[string]struct{}{}
	}
	return c
}

// ensure loads from the store the events with LastAt at or after since that
// the cache does not cover yet.
func (c *cache) ensure(ctx context.Context, st store.Store, since time.Time, limit int, log *slog.Logger) error {
	if c.loaded && !since.Before(c.from) {
		return nil
	}
	evs, err := st.ListEvents(ctx, store.EventFilter{Since: since, Sort: "recent", Limit: limit})
	if err != nil {
		return fmt.Errorf("events: loading recent events since %s: %w", since.Format(time.RFC3339), err)
	}
	if len(evs) >= limit {
		log.Warn("events: candidate cache load hit its limit; older events will not be matched by similarity",
			"since", since, "limit", limit)
	}
	for i := range evs {
		if _, ok := c.events[evs[i].ID]; !ok {
			c.put(&evs[i])
		}
	}
	c.loaded = true
	c.from = since
	return nil
}

// put inserts or replaces an event (taking ownership of it).
func (c *cache) put(ev *domain.Event) {
	if old, ok := c.events[ev.ID]; ok {
		c.unindex(old)
	}
	c.events[ev.ID] = ev
	c.index(ev)
	// a post dated far in the future (bad data) must not evict the present
	if ev.LastAt.After(c.maxAt) && ev.LastAt.Before(c.now().Add(24*time.Hour)) {
		c.maxAt = ev.LastAt
	}
}

func (c *cache) index(ev *domain.Event) {
	if ev.Simhash != 0 {
		for i := range c.bands {
			b := uint16(ev.Simhash >> (16 * uint(i)))
			m := c.bands[i][b]
			if m == nil {
				m = map[string]struct{}{}
				c.bands[i][b] = m
			}
			m[ev.ID] = struct{}{}
		}
	}
	eachWord(ev, func(w string) {
		m := c.words[w]
		if m == nil {
			m = map[string]struct{}{}
			c.words[w] = m
		}
		m[ev.ID] = struct{}{}
	})
}

// eachWord calls fn for each word an event is matched by: its founding
// keywords and its terms (some possibly twice).
func eachWord(ev *domain.Event, fn func(w string)) {
	for _, w := range ev.Keywords {
		fn(w)
	}
	for w := range ev.Terms {
		fn(w)
	}
}

func (c *cache) unindex(ev *domain.Event) {
	if ev.Simhash != 0 {
		for i := range c.bands {
			b := uint16(ev.Simhash >> (16 * uint(i)))
			if m := c.bands[i][b]; m != nil {
				delete(m, ev.ID)
				if len(m) == 0 {
					delete(c.bands[i], b)
				}
			}
		}
	}
	eachWord(ev, func(w string) {
		if m := c.words[w]; m != nil {
			delete(m, ev.ID)
			if len(m) == 0 {
				delete(c.words, w)
			}
		}
	})
}

// candidates calls fn for each cached event that shares a SimHash band or a
// keyword with the post (possibly more than once).
func (c *cache) candidates(sim uint64, words []string, fn func(id string)) {
	if sim != 0 {
		for i := range c.bands {
			for id := range c.bands[i][uint16(sim>>(16*uint(i)))] {
				fn(id)
			}
		}
	}
	for _, w := range words {
		for id := range c.words[w] {
			fn(id)
		}
	}
}

// evict drops the events that ended more than a window (plus an hour's
// slack) before the latest one, once the stream has moved on by an hour.
func (c *cache) evict() {
	if c.maxAt.Sub(c.swept) < time.Hour {
		return
	}
	c.swept = c.maxAt
	horizon := c.maxAt.Add(-c.window - time.Hour)
	for id, ev := range c.events {
		if ev.LastAt.Before(horizon) {
			c.unindex(ev)
			delete(c.events, id)
		}
	}
	if horizon.After(c.from) {
		c.from = horizon
	}
}
