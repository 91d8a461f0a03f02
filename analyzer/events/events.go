// Package events groups analysed posts into events and rates them.
//
// Grouping: a repost or comment joins its parent's event. An original post
// joins a recent event (within Window of event time) that it resembles, and
// otherwise starts its own. It resembles an event when it nearly duplicates
// the event's founding post (SimHash), or when they share rare keywords:
// words weighed by their IDF above CommonIDF (generic words of social media
// weigh nothing), at least MinShared of them (one fewer when they also name
// the same city) worth MinRareMass and MinJaccard of the smaller side. Each
// original is compared with the event's founding post, so posts cannot chain
// unrelated ones into one ever-growing event: a post that resembles only
// what the event has become (the keywords of its later originals, Terms)
// is drifting; after DriftAfter−1 drifting originals in a row, the next one
// starts a new event linked to the old one by SplitFrom. Reposts and
// comments always follow their parent. Each event is named by its heaviest
// keywords (Name).
//
// Rating: each event carries order-independent figures (volume, negative
// posts, reach, verified authors, reported reposts, the most authoritative
// source, posts per hour of event time), a 0–100 heat and a proposed grade
// I–IV with its reasons in Chinese; growth counts only as a spike, an hour
// above the event's own trailing baseline and the source's usual rate by
// SpikeK standard deviations. With Config.SpreadRisk the rumour risk of an
// event's original post is rated again once the first hour of its cascade
// is over, from the text and that hour's spread.
//
// Everything is computed on the posts' own timestamps, and a batch is worked
// through in (published_at, id) order, so the same posts replayed at any speed
// and in any batch sizes give the same events and grades.
//
// The Grouper works in two steps so that nothing is lost or counted twice:
// Plan decides the events without writing anything; the caller indexes the
// posts and publishes the events, then Commit stores them. A post the store
// has already assigned keeps its event and is not counted again, so a batch
// delivered twice changes nothing.
package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"yuqing/alerting/store"
	"yuqing/analyzer/classify"
	"yuqing/analyzer/segment"
	"yuqing/domain"
)

// Config holds the grouping and rating thresholds. A zero field takes its
// default (see DefaultConfig).
type Config struct {
	// Window: an original post may join an event whose last post is at most
	// this much older (in event time) than the post.
	Window time.Duration
	// MaxHamming is the largest SimHash distance of a near-duplicate.
	MaxHamming int
	// MinSimhashTokens: texts with fewer distinct words get no SimHash.
	MinSimhashTokens int
	// TopKeywords is how many of a post's keywords are compared.
	TopKeywords int
	// A post's keywords overlap an event's strongly when they share at
	// least MinShared rare words (one fewer when they share a city too),
	// worth at least MinRareMass together, and at least MinJaccard of the
	// worth of the smaller side (the post's keywords or the event's). A
	// word is worth its IDF above CommonIDF (0 for generic words); a city
	// is worth PlaceMass.
	MinJaccard  float64
	MinShared   int
	MinRareMass float64
	CommonIDF   float64
	PlaceMass   float64
	// IDF gives a word's inverse document frequency; nil takes the
	// analyzer's dictionary (segment.Default), the one keywords are
	// weighed with.
	IDF func(word string) float64
	// TermsCap bounds the keywords an event keeps from its originals.
	TermsCap int
	// DriftAfter: when this many original posts in a row resemble an
	// event's later posts but not its founding post, the last of them
	// starts a new event (SplitFrom the old one) instead of joining.
	DriftAfter int
	// NameWords is how many keywords name an event.
	NameWords int

	// ReachCap caps the followers one post adds to an event's reach.
	ReachCap int64
	// Heat = 100 × (WVolume·v + WGrowth·g + WReach·r) / (WVolume + WGrowth
	// + WReach), each term log-scaled to 0..1 where the figure reaches its
	// *Full value, plus the authority and negative-share points below.
	WVolume, WGrowth, WReach float64
	VolumeFull               float64 // posts
	GrowthFull               float64 // posts above the threshold in the strongest spike's hour
	// Reach r = (WFollowers·followers + WVerified·verified + WReposts·
	// reposts) / (their sum), each log-scaled to its *Full value.
	WFollowers, WVerified, WReposts float64
	ReachFull                       float64 // followers
	VerifiedFull                    float64 // posts by verified authors
	RepostsFull                     float64 // reposts the sources report

	// Growth: an hour spikes when its count exceeds mean + SpikeK·σ of the
	// source's usual rate (SourceRates, by the event's source, else the ""
	// entry) and, once the event has run MinBaselineHours, of its own
	// BaselineHours before.
	SpikeK           float64
	BaselineHours    int
	MinBaselineHours int
	SourceRates      map[string]HourlyRate

	// AuthorityPoints[level] are the heat points of an event whose most
	// authoritative source is at that level (AuthorityVerified …
	// AuthorityGovernment), from MinPosts posts on.
	AuthorityPoints [4]float64

	// RiskHigh: a rumour risk above it adds up to RiskWeight points to the
	// grading score (linearly, full at risk 1).
	RiskHigh, RiskWeight float64
	// NegHigh: a negative share above it adds up to NegWeight points to the
	// heat (full at NegHigh+0.4).
	NegHigh, NegWeight float64
	// MinPosts: events with fewer posts are not graded and get no bonus.
	MinPosts int64
	// Grade thresholds on the score (heat + bonuses).
	GradeIV, GradeIII, GradeII, GradeI float64

	// CacheLoadLimit bounds the events loaded from the store at once to
	// fill the candidate cache.
	CacheLoadLimit int
	// SyncInterval: at most this often, an original post's planning first
	// takes in the events other analyzers wrote to the shared store.
	SyncInterval time.Duration
	// SpreadRisk, when set, rates an event's original post once the first
	// hour of its cascade is over, from its text-only risk and that hour's
	// spread (the rumour model's layer, analyzer/classify); it gives the
	// risk and its reasons. Nil keeps the text-only risk.
	SpreadRisk func(textRisk float64, s *domain.SpreadState) (float64, []string)
	// Now stamps UpdatedAt (wall time; never used for figures).
	Now func() time.Time
	// Logger for warnings; slog.Default() when nil.
	Logger *slog.Logger
}

// DefaultConfig gives the thresholds tuned on the CED development set
// (2,019 Weibo cascades, 763k posts, replayed with the analyzer's figures):
// 29% of its events stay below grading, 67% are IV, 4.1% III, 0.4% II and
// none I. In figures: a few hundred posts over a day or two, a first hour
// somewhat above Weibo's usual and some hundred thousand followers reached
// is IV (heat ≈ 40–50; without the spike, ≈ 35 and below grading); III
// needs about a thousand posts, a spike a few hundred posts an hour over
// the usual and millions reached (or a little less with a high rumour risk,
// negative share or an authoritative source); II about two thousand posts,
// 500 in an hour and over ten million reached; I some ten thousand posts
// with thousands in an hour. Weibo's usual rate is an event's posts per
// active hour on CED: mean 7, σ 23, so an hour spikes from 76 posts on.
func DefaultConfig() Config {
	return Config{
		Window:           72 * time.Hour,
		MaxHamming:       3,
		MinSimhashTokens: 8,
		TopKeywords:      10,
		MinJaccard:       0.5,
		MinShared:        3,
		MinRareMass:      12,
		CommonIDF:        5,
		PlaceMass:        4,
		TermsCap:         32,
		DriftAfter:       2,
		NameWords:        3,
		ReachCap:         10_000_000,
		WVolume:          0.45,
		WGrowth:          0.25,
		WReach:           0.30,
		VolumeFull:       100_000,
		GrowthFull:       3_000,
		WFollowers:       0.6,
		WVerified:        0.2,
		WReposts:         0.2,
		ReachFull:        100_000_000,
		VerifiedFull:     1_000,
		RepostsFull:      1_000_000,
		SpikeK:           3,
		BaselineHours:    24,
		MinBaselineHours: 3,
		SourceRates:      map[string]HourlyRate{"": {Mean: 1, Std: 2}, "weibo": {Mean: 7, Std: 23}},
		AuthorityPoints:  [4]float64{0, 1, 4, 4},
		RiskHigh:         0.7,
		RiskWeight:       4,
		NegHigh:          0.4,
		NegWeight:        4,
		MinPosts:         20,
		GradeIV:          38,
		GradeIII:         63.5,
		GradeII:          69,
		GradeI:           80,
		CacheLoadLimit:   100_000,
		SyncInterval:     time.Second,
		Now:              time.Now,
	}
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	setD := func(v *time.Duration, def time.Duration) {
		if *v <= 0 {
			*v = def
		}
	}
	setI := func(v *int, def int) {
		if *v <= 0 {
			*v = def
		}
	}
	setI64 := func(v *int64, def int64) {
		if *v <= 0 {
			*v = def
		}
	}
	setF := func(v *float64, def float64) {
		if *v <= 0 {
			*v = def
		}
	}
	setD(&c.Window, d.Window)
	setD(&c.SyncInterval, d.SyncInterval)
	setI(&c.MaxHamming, d.MaxHamming)
	setI(&c.MinSimhashTokens, d.MinSimhashTokens)
	setI(&c.TopKeywords, d.TopKeywords)
	setF(&c.MinJaccard, d.MinJaccard)
	setI(&c.MinShared, d.MinShared)
	setF(&c.MinRareMass, d.MinRareMass)
	setF(&c.CommonIDF, d.CommonIDF)
	setF(&c.PlaceMass, d.PlaceMass)
	setI(&c.TermsCap, d.TermsCap)
	setI(&c.DriftAfter, d.DriftAfter)
	setI(&c.NameWords, d.NameWords)
	setI64(&c.ReachCap, d.ReachCap)
	if c.WVolume <= 0 && c.WGrowth <= 0 && c.WReach <= 0 {
		c.WVolume, c.WGrowth, c.WReach = d.WVolume, d.WGrowth, d.WReach
	}
	if c.WFollowers <= 0 && c.WVerified <= 0 && c.WReposts <= 0 {
		c.WFollowers, c.WVerified, c.WReposts = d.WFollowers, d.WVerified, d.WReposts
	}
	setF(&c.VolumeFull, d.VolumeFull)
	setF(&c.GrowthFull, d.GrowthFull)
	setF(&c.ReachFull, d.ReachFull)
	setF(&c.VerifiedFull, d.VerifiedFull)
	setF(&c.RepostsFull, d.RepostsFull)
	setF(&c.SpikeK, d.SpikeK)
	setI(&c.BaselineHours, d.BaselineHours)
	setI(&c.MinBaselineHours, d.MinBaselineHours)
	if c.SourceRates == nil {
		c.SourceRates = d.SourceRates
	}
	if c.AuthorityPoints == ([4]float64{}) {
		c.AuthorityPoints = d.AuthorityPoints
	}
	setF(&c.RiskHigh, d.RiskHigh)
	setF(&c.RiskWeight, d.RiskWeight)
	setF(&c.NegHigh, d.NegHigh)
	setF(&c.NegWeight, d.NegWeight)
	setI64(&c.MinPosts, d.MinPosts)
	setF(&c.GradeIV, d.GradeIV)
	setF(&c.GradeIII, d.GradeIII)
	setF(&c.GradeII, d.GradeII)
	setF(&c.GradeI, d.GradeI)
	setI(&c.CacheLoadLimit, d.CacheLoadLimit)
	if c.Now == nil {
		c.Now = d.Now
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Plan is what Plan decided: the new state of every event it touched and
// the posts it assigned for the first time.
type Plan struct {
	Events []domain.Event    // sorted by id
	Assign map[string]string // post id → event id, only posts not assigned before
	gen    uint64            // the commit generation the plan was made on
	valid  bool
}

// ErrStalePlan is returned by Commit when another plan was committed after
// this one was made: its events were computed on an older state. Plan again.
var ErrStalePlan = errors.New("events: stale plan (another plan was committed since); plan the batch again")

// Grouper groups posts into events. Plan and Commit may be called from
// several goroutines, but each Plan must be committed before the next one is
// made, or the later Commit fails with ErrStalePlan.
type Grouper struct {
	st  store.Store
	cfg Config
	idf func(string) float64

	mu    sync.Mutex
	gen   uint64
	cache *cache
	names authorityMemo // under mu
	// synced is when the cache last took in the events other analyzers
	// wrote to the shared store (wall time).
	synced time.Time
}

// syncSlack covers clock differences between analyzers and writes in flight
// when the cache takes in the others' events.
const syncSlack = 3 * time.Second

// New makes a Grouper over the store.
func New(st store.Store, cfg Config) *Grouper {
	cfg = cfg.withDefaults()
	if cfg.IDF == nil {
		if seg, err := segment.Default(); err == nil {
			cfg.IDF = seg.IDF
		} else {
			cfg.Logger.Warn("events: no IDF dictionary; every keyword counts as equally rare", "err", err)
			cfg.IDF = func(string) float64 { return fallbackIDF }
		}
	}
	return &Grouper{st: st, cfg: cfg, idf: cfg.IDF, cache: newCache(cfg.Window, cfg.Now)}
}

// fallbackIDF is every word's IDF when there is no dictionary.
const fallbackIDF = 10

// Config gives the thresholds in force (defaults filled in).
func (g *Grouper) Config() Config { return g.cfg }

// sync takes into the similarity cache the events that other analyzers
// sharing the store wrote since the last sync, so that an original post can
// join an event another process started.
func (g *Grouper) sync(ctx context.Context) error {
	started := time.Now()
	evs, err := g.st.ListEvents(ctx, store.EventFilter{WrittenSince: g.synced.Add(-syncSlack), Since: g.cache.from,
		Sort: "recent", Limit: g.cfg.CacheLoadLimit})
	if err != nil {
		return fmt.Errorf("events: taking in other analyzers' events: %w", err)
	}
	for i := range evs {
		if old, ok := g.cache.events[evs[i].ID]; !ok || old.Version < evs[i].Version {
			g.cache.put(&evs[i])
		}
	}
	g.synced = started
	return nil
}

// refresh replaces the cached state of the given events with the store's.
func (g *Grouper) refresh(ctx context.Context, evs []domain.Event) {
	ids := make([]string, len(evs))
	for i := range evs {
		ids[i] = evs[i].ID
	}
	fresh, err := g.st.GetEvents(ctx, ids)
	if err != nil {
		g.cfg.Logger.Warn("events: reloading events after a conflict", "err", err)
		return
	}
	for id, ev := range fresh {
		ev := ev
		if _, ok := g.cache.events[id]; ok {
			g.cache.put(&ev)
		}
	}
}

// joinCascade gives the event of a repost or comment: its parent's (assigned
// in this batch or before); else, when the parent is unknown, the cascade
// root's (the sender's root_id) so that a missing or late middle repost does
// not split the cascade; else the event named after the parent, which the
// parent joins when it arrives.
func joinCascade(d domain.IndexedPost, local, assigned map[string]string) string {
	for _, id := range []string{d.ParentID, d.RootID} {
		if id == "" {
			continue
		}
		if e, ok := local[id]; ok {
			return e
		}
		if e, ok := assigned[id]; ok {
			return e
		}
	}
	if d.RootID != "" {
		return EventID(d.RootID)
	}
	return EventID(d.ParentID)
}

// Store is the store the grouper keeps events in.
func (g *Grouper) Store() store.Store { return g.st }

// EventID is the id of the event a post without parent starts, and the id a
// reply to an unknown post is filed under until that post arrives.
func EventID(rootPostID string) string { return "ev-" + rootPostID }

// item is one distinct post of a batch, with what grouping needs of it.
type item struct {
	doc   *domain.IndexedPost
	at    time.Time
	sim   uint64
	words []string // top keywords, sorted
	// an original post's: the words' rarity, their sum, its cities and
	// its weighted keywords for the event's terms
	rare   []float64
	mass   float64
	places []string
	terms  []term
	// how it joins its event, and the event it splits off
	kind      int
	splitFrom string
}

// How a post joins its event.
const (
	joinReply    = iota // a repost or comment: its parent's event
	joinFounder         // an original starting (or rooting) its event
	joinMember          // an original resembling the event's founding post
	joinDrifting        // an original resembling only the event's later posts
)

// prepare computes what matching an original post needs.
func (g *Grouper) prepare(it *item) {
	d := it.doc
	it.sim = Simhash(d.Analysis.Tokens, g.cfg.MinSimhashTokens)
	it.words = topWords(d.Analysis.Keywords, g.cfg.TopKeywords)
	it.rare = make([]float64, len(it.words))
	it.mass = 0
	for i, w := range it.words {
		it.rare[i] = g.rarity(w)
		it.mass += it.rare[i]
	}
	it.places = specificPlaces(d)
	it.terms = termsOf(d.Analysis.Keywords, g.cfg.TopKeywords)
}

// Plan decides each post's event and sets docs[i].EventID. It writes
// nothing: pass the plan to Commit once the posts are indexed.
func (g *Grouper) Plan(ctx context.Context, docs []domain.IndexedPost) (Plan, error) {
	g.mu.Lock()
	defer g.mu.Unlock()

	// Distinct posts in (event time, id) order.
	seen := make(map[string]struct{}, len(docs))
	items := make([]item, 0, len(docs))
	ids := make([]string, 0, 2*len(docs))
	for i := range docs {
		d := &docs[i]
		if d.ID == "" {
			return Plan{}, fmt.Errorf("events: plan: post %d of %d has no id", i, len(docs))
		}
		if _, dup := seen[d.ID]; dup {
			continue
		}
		seen[d.ID] = struct{}{}
		items = append(items, item{doc: d, at: eventTime(&d.Post)})
		ids = append(ids, d.ID)
	}
	sort.Slice(items, func(a, b int) bool {
		if !items[a].at.Equal(items[b].at) {
			return items[a].at.Before(items[b].at)
		}
		return items[a].doc.ID < items[b].doc.ID
	})
	for _, it := range items {
		for _, p := range []string{it.doc.ParentID, it.doc.RootID} {
			if _, ok := seen[p]; !ok && p != "" {
				seen[p] = struct{}{}
				ids = append(ids, p)
			}
		}
	}
	assigned, err := g.st.PostEvents(ctx, ids)
	if err != nil {
		return Plan{}, fmt.Errorf("events: plan: looking up %d posts' events: %w", len(ids), err)
	}

	// Events the batch may touch by id, fetched at once unless cached.
	var need []string
	needSet := map[string]struct{}{}
	var minRoot time.Time
	for i := range items {
		it := &items[i]
		d := it.doc
		if _, ok := assigned[d.ID]; ok {
			continue
		}
		var eid string
		if d.ParentID != "" {
			eid = joinCascade(*d, nil, assigned)
		} else {
			eid = EventID(d.ID)
			g.prepare(it)
			if minRoot.IsZero() || it.at.Before(minRoot) {
				minRoot = it.at
			}
		}
		if _, ok := needSet[eid]; ok {
			continue
		}
		needSet[eid] = struct{}{}
		if _, ok := g.cache.events[eid]; !ok {
			need = append(need, eid)
		}
	}
	fetched := map[string]domain.Event{}
	if len(need) > 0 {
		if fetched, err = g.st.GetEvents(ctx, need); err != nil {
			return Plan{}, fmt.Errorf("events: plan: loading %d events: %w", len(need), err)
		}
	}
	if !minRoot.IsZero() {
		started := time.Now()
		loaded := g.cache.loaded
		if err := g.cache.ensure(ctx, g.st, minRoot.Add(-g.cfg.Window), g.cfg.CacheLoadLimit, g.cfg.Logger); err != nil {
			return Plan{}, err
		}
		if !loaded {
			g.synced = started
		} else if time.Since(g.synced) >= g.cfg.SyncInterval {
			if err := g.sync(ctx); err != nil {
				return Plan{}, err
			}
		}
	}

	w := &work{g: g, fetched: fetched, state: map[string]*domain.Event{}, touched: map[string]struct{}{}}
	local := make(map[string]string, len(items))
	for i := range items {
		it := &items[i]
		d := it.doc
		if _, ok := assigned[d.ID]; ok {
			continue
		}
		var eid string
		switch {
		case d.ParentID != "":
			eid, it.kind = joinCascade(*d, local, assigned), joinReply
		case w.get(EventID(d.ID)) != nil:
			eid, it.kind = EventID(d.ID), joinFounder // its replies came first
		default:
			eid, it.kind, it.splitFrom = w.decide(it)
		}
		ev := w.get(eid)
		if ev == nil {
			ev = &domain.Event{ID: eid, SplitFrom: it.splitFrom}
			w.state[eid] = ev
		}
		g.add(ev, it)
		w.touched[eid] = struct{}{}
		local[d.ID] = eid
	}

	for i := range docs {
		if e, ok := local[docs[i].ID]; ok {
			docs[i].EventID = e
		} else if e, ok := assigned[docs[i].ID]; ok {
			docs[i].EventID = e
		}
	}
	plan := Plan{Assign: local, gen: g.gen, valid: true}
	now := g.cfg.Now()
	for id := range w.touched {
		ev := w.state[id]
		ev.Name = g.name(ev)
		ev.Heat, ev.Grade, ev.Reasons = g.cfg.Rate(*ev)
		ev.UpdatedAt = now
		plan.Events = append(plan.Events, *ev)
	}
	sort.Slice(plan.Events, func(a, b int) bool { return plan.Events[a].ID < plan.Events[b].ID })
	return plan, nil
}

// Commit stores the plan's events and assignments in one transaction and
// updates the candidate cache.
func (g *Grouper) Commit(ctx context.Context, p Plan) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !p.valid {
		return errors.New("events: commit: the plan was not made by Plan")
	}
	if p.gen != g.gen {
		return ErrStalePlan
	}
	if len(p.Events) == 0 && len(p.Assign) == 0 {
		return nil
	}
	if err := g.st.SaveEvents(ctx, p.Events, p.Assign); err != nil {
		if errors.Is(err, store.ErrConflict) {
			// another analyzer wrote these events or posts since they were
			// read: take the store's state and let the caller plan again
			g.gen++
			g.refresh(ctx, p.Events)
		}
		return fmt.Errorf("events: commit: saving %d events and %d assignments: %w", len(p.Events), len(p.Assign), err)
	}
	g.gen++
	for i := range p.Events {
		g.cache.put(cloneEvent(&p.Events[i]))
	}
	g.cache.evict()
	return nil
}

// work is the state of one Plan: the events it has loaded or changed.
type work struct {
	g       *Grouper
	fetched map[string]domain.Event
	state   map[string]*domain.Event
	touched map[string]struct{}
}

// get gives the batch's copy of an event, or nil if it does not exist yet.
func (w *work) get(id string) *domain.Event {
	if ev, ok := w.state[id]; ok {
		return ev
	}
	var src *domain.Event
	if ev, ok := w.g.cache.events[id]; ok {
		src = ev
	} else if ev, ok := w.fetched[id]; ok {
		src = &ev
	} else {
		return nil
	}
	ev := cloneEvent(src)
	w.state[id] = ev
	return ev
}

// current gives an event as the batch sees it, without copying.
func (w *work) current(id string) *domain.Event {
	if ev, ok := w.state[id]; ok {
		return ev
	}
	return w.g.cache.events[id]
}

// decide gives the event an original post joins, how, and the event it
// splits off (or ""): the earliest recent event whose founding post it
// resembles; else the earliest it resembles only by the event's later posts,
// unless that event has drifted DriftAfter−1 originals in a row already,
// when the post starts its own event split off it; else its own.
func (w *work) decide(it *item) (eid string, kind int, splitFrom string) {
	member, drifting := w.match(it)
	switch {
	case member != nil:
		return member.ID, joinMember, ""
	case drifting != nil && drifting.Drift+1 >= int64(w.g.cfg.DriftAfter):
		return EventID(it.doc.ID), joinFounder, drifting.ID
	case drifting != nil:
		return drifting.ID, joinDrifting, ""
	}
	return EventID(it.doc.ID), joinFounder, ""
}

// match finds the recent events an original post resembles: the earliest
// (FirstAt, id) whose founding post it resembles, and the earliest it
// resembles only by the event's later posts.
func (w *work) match(it *item) (member, drifting *domain.Event) {
	if it.sim == 0 && it.mass == 0 {
		return nil, nil
	}
	earlier := func(a, b *domain.Event) bool {
		return a.FirstAt.Before(b.FirstAt) || (a.FirstAt.Equal(b.FirstAt) && a.ID < b.ID)
	}
	tried := map[string]struct{}{}
	try := func(id string) {
		if _, ok := tried[id]; ok {
			return
		}
		tried[id] = struct{}{}
		ev := w.current(id)
		if ev == nil || ev.Posts == 0 || !w.g.inWindow(it, ev) {
			return
		}
		switch w.g.resemble(it, ev) {
		case resembleFounding:
			if member == nil || earlier(ev, member) {
				member = ev
			}
		case resembleProfile:
			if drifting == nil || earlier(ev, drifting) {
				drifting = ev
			}
		}
	}
	var rare []string
	for i, word := range it.words {
		if it.rare[i] > 0 {
			rare = append(rare, word)
		}
	}
	w.g.cache.candidates(it.sim, rare, try)
	for id := range w.touched {
		try(id)
	}
	return member, drifting
}

// inWindow reports whether an original post is close enough in time to an
// event: at most Window after its last post or before its first.
func (g *Grouper) inWindow(it *item, ev *domain.Event) bool {
	return !ev.LastAt.Before(it.at.Add(-g.cfg.Window)) && !ev.FirstAt.After(it.at.Add(g.cfg.Window))
}

// add counts a post into an event. Every figure is an order-independent
// aggregate of the event's posts; the descriptive fields come from the
// root post once it has arrived, else from the earliest post.
func (g *Grouper) add(ev *domain.Event, it *item) {
	d := it.doc
	t := it.at
	first := ev.Posts == 0
	rootKnown := ev.RootPostID != "" && EventID(ev.RootPostID) == ev.ID
	isRoot := EventID(d.ID) == ev.ID
	earliest := first || t.Before(ev.FirstAt) || (t.Equal(ev.FirstAt) && d.ID < ev.RootPostID)

	if first {
		ev.FirstAt, ev.LastAt = t, t
		ev.Hourly = map[int64]int64{}
	} else {
		if t.Before(ev.FirstAt) {
			ev.FirstAt = t
		}
		if t.After(ev.LastAt) {
			ev.LastAt = t
		}
	}
	ev.Posts++
	if d.Analysis.Sentiment.Label == domain.Negative {
		ev.Negative++
	}
	if f := d.Author.Followers; f > 0 {
		ev.Reach += min(f, g.cfg.ReachCap)
	}
	if d.Author.Verified {
		ev.Verified++
	}
	if r := d.Metrics.Reposts; r > 0 {
		ev.Reposts += r
	}
	if level, by := sourceAuthority(&d.Post, g.names.level); level > ev.Authority || (level == ev.Authority && level > 0 && by < ev.AuthorityBy) {
		ev.Authority, ev.AuthorityBy = level, by
	}
	if d.ParentID == "" {
		ev.Originals++
		g.addTerms(ev, it.terms)
		switch it.kind {
		case joinMember:
			ev.Drift = 0
		case joinDrifting:
			ev.Drift++
		}
	}
	if ev.Hourly == nil {
		ev.Hourly = map[int64]int64{}
	}
	h := floorDiv(t.Unix(), 3600)
	ev.Hourly[h]++
	if ev.Hourly[h] > ev.PeakHourly {
		ev.PeakHourly = ev.Hourly[h]
	}
	risk := d.Analysis.Risk
	switch {
	case isRoot:
		g.describe(ev, it)
		ev.Risk = risk
	case rootKnown:
	default:
		if earliest {
			g.describe(ev, it)
		}
		if first || risk > ev.Risk {
			ev.Risk = risk
		}
	}
	g.spread(ev, it, isRoot)
}

// spread gathers the first hour of the original post's cascade and, once
// a post of the event comes an hour or more after the original, rates its
// risk from the text and that hour (Config.SpreadRisk). Reposts and
// comments that arrive after that do not change it.
func (g *Grouper) spread(ev *domain.Event, it *item, isRoot bool) {
	if g.cfg.SpreadRisk == nil {
		return
	}
	d := it.doc
	switch {
	case isRoot && d.ParentID == "" && ev.Spread == nil:
		b := classify.NewSpreadBuilder()
		b.SetRoot(classify.SpreadRootOfPost(&d.Post))
		ev.Spread = b.State(d.ID, d.Analysis.Risk)
	case ev.Spread != nil && !ev.Spread.Done && d.ParentID != "":
		b := classify.SpreadFromState(ev.Spread)
		b.Add(classify.SpreadChildOfPost(&d.Post, ev.Spread.RootID))
		ev.Spread = b.State(ev.Spread.RootID, ev.Spread.TextRisk)
	}
	if st := ev.Spread; st != nil && !st.Done && !it.at.Before(st.RootAt.Add(classify.SpreadWindow)) {
		done := *st
		done.Done = true
		ev.Risk, done.Reasons = g.cfg.SpreadRisk(st.TextRisk, &done)
		ev.Risk = math.Round(ev.Risk*1000) / 1000
		ev.Spread = &done
	}
}

// describe makes a post the one that describes the event.
func (g *Grouper) describe(ev *domain.Event, it *item) {
	d := it.doc
	ev.RootPostID = d.ID
	ev.Title = titleOf(&d.Post)
	if it.words == nil {
		it.words = topWords(d.Analysis.Keywords, g.cfg.TopKeywords)
	}
	ev.Keywords = append([]string(nil), it.words...)
	if it.sim == 0 && d.ParentID == "" {
		it.sim = Simhash(d.Analysis.Tokens, g.cfg.MinSimhashTokens)
	}
	if d.ParentID == "" {
		ev.Simhash = it.sim
	} else {
		// a reply quotes or answers its parent: no fingerprint of the event
		ev.Simhash = 0
	}
	ev.Region = regionOf(d)
	ev.Unit = d.Analysis.Unit
	ev.Category = d.Analysis.Category
	ev.Source = d.Source
	if d.ParentID == "" {
		ev.Places = append([]string(nil), it.places...)
	} else {
		ev.Places = specificPlaces(d)
	}
}

func eventTime(p *domain.Post) time.Time {
	if !p.PublishedAt.IsZero() {
		return p.PublishedAt.UTC()
	}
	return p.ReceivedAt.UTC()
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && (a < 0) {
		q--
	}
	return q
}

func titleOf(p *domain.Post) string {
	if t := strings.TrimSpace(p.Title); t != "" {
		return t
	}
	t := strings.Join(strings.Fields(p.Text), " ")
	if t == "" {
		return "（无正文转发）"
	}
	r := []rune(t)
	if len(r) > 60 {
		return strings.TrimSpace(string(r[:60]))
	}
	return t
}

func cloneEvent(e *domain.Event) *domain.Event {
	c := *e
	if e.Hourly != nil {
		c.Hourly = make(map[int64]int64, len(e.Hourly))
		for k, v := range e.Hourly {
			c.Hourly[k] = v
		}
	}
	c.Keywords = append([]string(nil), e.Keywords...)
	c.Reasons = append([]string(nil), e.Reasons...)
	c.Places = append([]string(nil), e.Places...)
	if e.Spread != nil {
		sp := *e.Spread
		sp.Cues = maps.Clone(e.Spread.Cues)
		sp.Early = slices.Clone(e.Spread.Early)
		sp.Reasons = slices.Clone(e.Spread.Reasons)
		c.Spread = &sp
	}
	if e.Terms != nil {
		c.Terms = make(map[string]int64, len(e.Terms))
		for k, v := range e.Terms {
			c.Terms[k] = v
		}
	}
	return &c
}
