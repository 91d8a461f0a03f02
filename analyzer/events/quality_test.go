package events

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"yuqing/alerting/store/sqlitestore"
	"yuqing/domain"
)

// cedRun is the whole CED dev set replayed once through Plan/Commit in
// batches of 1,000 (timestamp order): the final events and every post's event.
type cedRun struct {
	events  []domain.Event    // by heat, then id
	assign  map[string]string // post id → event id
	elapsed time.Duration
}

var cedReplayed struct {
	once sync.Once
	run  cedRun
	err  error
}

func cedReplay(t testing.TB) cedRun {
	t.Helper()
	stream := cedStream(t)
	cedReplayed.once.Do(func() {
		st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "ced.db"))
		if err != nil {
			cedReplayed.err = err
			return
		}
		defer st.Close()
		g := New(st, Config{})
		ctx := context.Background()
		start := time.Now()
		touched := map[string]struct{}{}
		assign := make(map[string]string, len(stream))
		for i := 0; i < len(stream); i += 1000 {
			b := append([]domain.IndexedPost(nil), stream[i:min(i+1000, len(stream))]...)
			p, err := g.Plan(ctx, b)
			if err == nil {
				err = g.Commit(ctx, p)
			}
			if err != nil {
				cedReplayed.err = err
				return
			}
			for _, d := range b {
				assign[d.ID] = d.EventID
			}
			for _, e := range p.Events {
				touched[e.ID] = struct{}{}
			}
		}
		elapsed := time.Since(start)
		ids := make([]string, 0, len(touched))
		for id := range touched {
			ids = append(ids, id)
		}
		evs, err := st.GetEvents(ctx, ids)
		if err != nil {
			cedReplayed.err = err
			return
		}
		all := make([]domain.Event, 0, len(evs))
		for _, e := range evs {
			all = append(all, e)
		}
		sort.Slice(all, func(i, j int) bool {
			return all[i].Heat > all[j].Heat || (all[i].Heat == all[j].Heat && all[i].ID < all[j].ID)
		})
		cedReplayed.run = cedRun{events: all, assign: assign, elapsed: elapsed}
	})
	if cedReplayed.err != nil {
		t.Fatalf("CED replay: %v", cedReplayed.err)
	}
	return cedReplayed.run
}

// TestCEDEventQuality prints the event figures of the CED replay: how often a
// repost or comment lands in its parent's event (it must be always), how
// many events there are, how many distinct original posts share an event,
// the largest event and the grades.
//
//	go test -count=1 -run 'TestCEDEventQuality' -v ./analyzer/events/
func TestCEDEventQuality(t *testing.T) {
	if testing.Short() {
		t.Skip("replays 763k posts")
	}
	stream := cedStream(t)
	run := cedReplay(t)
	byID := make(map[string]*domain.IndexedPost, len(stream))
	for i := range stream {
		byID[stream[i].ID] = &stream[i]
	}

	// replies: in their parent's event when the parent is in the data,
	// else in their root's
	var replies, inParent, parentKnown, inRoot, rootOnly int
	for i := range stream {
		d := &stream[i]
		if d.ParentID == "" {
			continue
		}
		replies++
		ev := run.assign[d.ID]
		if _, ok := byID[d.ParentID]; ok {
			parentKnown++
			if run.assign[d.ParentID] == ev {
				inParent++
			} else if parentKnown-inParent <= 5 {
				t.Errorf("reply %s in %s, its parent %s in %s", d.ID, ev, d.ParentID, run.assign[d.ParentID])
			}
			continue
		}
		rootOnly++
		if run.assign[d.RootID] == ev {
			inRoot++
		} else if rootOnly-inRoot <= 5 {
			t.Errorf("reply %s (parent %s not in the data) in %s, its root %s in %s", d.ID, d.ParentID, ev, d.RootID, run.assign[d.RootID])
		}
	}
	t.Logf("CED: %d posts, %d reposts/comments in %s (batches of 1,000)", len(stream), replies, run.elapsed.Round(time.Millisecond))
	t.Logf("  in their parent's event: %d of %d whose parent is in the data (%.2f%%)", inParent, parentKnown, pct(inParent, parentKnown))
	t.Logf("  in their root's event:   %d of %d whose parent is not (%.2f%%)", inRoot, rootOnly, pct(inRoot, rootOnly))
	if inParent != parentKnown || inRoot != rootOnly {
		t.Errorf("%d replies outside their parent's event, %d outside their root's", parentKnown-inParent, rootOnly-inRoot)
	}

	// originals per event
	originals := map[string][]string{}
	var nOriginals int
	for i := range stream {
		if d := &stream[i]; d.ParentID == "" {
			nOriginals++
			originals[run.assign[d.ID]] = append(originals[run.assign[d.ID]], d.ID)
		}
	}
	dist := map[int]int{}
	multi, inMulti := 0, 0
	for _, o := range originals {
		dist[len(o)]++
		if len(o) >= 2 {
			multi++
			inMulti += len(o)
		}
	}
	sizes := make([]int, 0, len(dist))
	for k := range dist {
		sizes = append(sizes, k)
	}
	sort.Ints(sizes)
	var parts []string
	for _, k := range sizes {
		parts = append(parts, fmt.Sprintf("%d:%d", k, dist[k]))
	}
	splits := 0
	for _, e := range run.events {
		if e.SplitFrom != "" {
			splits++
		}
	}
	t.Logf("  events: %d (%d with an original post, %d split off a drifting event)", len(run.events), len(originals), splits)
	t.Logf("  events with ≥ 2 distinct originals: %d, holding %d of %d originals (%.1f%%)", multi, inMulti, nOriginals, pct(inMulti, nOriginals))
	t.Logf("  originals per event (originals:events): %s", strings.Join(parts, " "))

	// the largest events, by posts and by originals
	bigPosts, bigOrig := run.events[0], ""
	for _, e := range run.events {
		if e.Posts > bigPosts.Posts {
			bigPosts = e
		}
		if len(originals[e.ID]) > len(originals[bigOrig]) || (len(originals[e.ID]) == len(originals[bigOrig]) && e.ID < bigOrig && len(originals[e.ID]) > 0) {
			bigOrig = e.ID
		}
	}
	t.Logf("  largest event by posts: %s, %d posts, %d originals, %q", bigPosts.ID, bigPosts.Posts, len(originals[bigPosts.ID]), bigPosts.Name+" ｜ "+bigPosts.Title)
	for _, e := range run.events {
		if e.ID == bigOrig {
			t.Logf("  largest event by originals: %s, %d originals, %d posts, %q", e.ID, len(originals[e.ID]), e.Posts, e.Name+" ｜ "+e.Title)
		}
	}
	// what the events that merge originals look like
	type merged struct {
		id string
		n  int
	}
	var ms []merged
	for id, o := range originals {
		if len(o) >= 2 {
			ms = append(ms, merged{id, len(o)})
		}
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].n > ms[j].n || (ms[i].n == ms[j].n && ms[i].id < ms[j].id) })
	for i, m := range ms[:min(6, len(ms))] {
		var texts []string
		for _, o := range originals[m.id][:min(3, len(originals[m.id]))] {
			texts = append(texts, clip(byID[o].Text, 40))
		}
		t.Logf("  merged #%d %s (%d originals): %s", i+1, m.id, m.n, strings.Join(texts, " ｜ "))
	}

	// an independent yardstick: the originals' raw texts, compared by their
	// character bigrams, pair by pair within the window
	type orig struct {
		d  *domain.IndexedPost
		bg map[string]struct{}
	}
	var os []orig
	for i := range stream {
		if d := &stream[i]; d.ParentID == "" {
			os = append(os, orig{d, charBigrams(d.Text)})
		}
	}
	sort.Slice(os, func(a, b int) bool { return os[a].d.PublishedAt.Before(os[b].d.PublishedAt) })
	var close, closeSame, far, farSame int
	var farExamples []string
	for i := range os {
		for k := i + 1; k < len(os) && os[k].d.PublishedAt.Sub(os[i].d.PublishedAt) <= DefaultConfig().Window; k++ {
			j := bigramJaccard(os[i].bg, os[k].bg)
			same := run.assign[os[i].d.ID] == run.assign[os[k].d.ID]
			switch {
			case j >= 0.5:
				close++
				if same {
					closeSame++
				}
			case j < 0.2:
				far++
				if same {
					farSame++
					if len(farExamples) < 5 {
						farExamples = append(farExamples, fmt.Sprintf("%.2f %s ｜ %s", j, clip(os[i].d.Text, 36), clip(os[k].d.Text, 36)))
					}
				}
			}
		}
	}
	t.Logf("  pairs of originals within %s whose texts share ≥ 50%% of character bigrams: %d in one event of %d (%.1f%%)",
		DefaultConfig().Window, closeSame, close, pct(closeSame, close))
	t.Logf("  pairs sharing < 20%% put in one event: %d of %d", farSame, far)
	for _, ex := range farExamples {
		t.Logf("    %s", ex)
	}

	counts := map[domain.Grade]int{}
	for _, e := range run.events {
		counts[e.Grade]++
	}
	var gs []string
	for _, gr := range []domain.Grade{domain.GradeI, domain.GradeII, domain.GradeIII, domain.GradeIV, domain.GradeNone} {
		name := gr.String()
		if name == "" {
			name = "—"
		}
		gs = append(gs, fmt.Sprintf("%s %d (%.1f%%)", name, counts[gr], pct(counts[gr], len(run.events))))
	}
	t.Logf("  grades: %s", strings.Join(gs, "  "))
}

// TestCEDDenseOriginals is a stress test of the grouping of original posts:
// the 2,019 CED originals alone, replayed five minutes apart (so that some
// 860 of them, about a hundred unrelated happenings, fall in one 72-hour
// window instead of a handful), must not chain into a giant event. It prints
// the largest events.
//
//	go test -count=1 -run 'TestCEDDenseOriginals' -v ./analyzer/events/
func TestCEDDenseOriginals(t *testing.T) {
	if testing.Short() {
		t.Skip("analyses the CED set")
	}
	stream := cedStream(t)
	var origs []domain.IndexedPost
	for _, d := range stream {
		if d.ParentID == "" {
			origs = append(origs, d)
		}
	}
	base := origs[0].PublishedAt
	for i := range origs {
		origs[i].PublishedAt = base.Add(time.Duration(i) * 5 * time.Minute)
	}
	st := openStore(t)
	g := New(st, Config{})
	assign := map[string]string{}
	splits := map[string]struct{}{}
	for i := 0; i < len(origs); i += 100 {
		b := append([]domain.IndexedPost(nil), origs[i:min(i+100, len(origs))]...)
		p, err := g.Plan(context.Background(), b)
		if err == nil {
			err = g.Commit(context.Background(), p)
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range b {
			assign[d.ID] = d.EventID
		}
		for _, e := range p.Events {
			if e.SplitFrom != "" {
				splits[e.ID] = struct{}{}
			}
		}
	}
	members := map[string][]*domain.IndexedPost{}
	for i := range origs {
		members[assign[origs[i].ID]] = append(members[assign[origs[i].ID]], &origs[i])
	}
	var ids []string
	multi, inMulti := 0, 0
	for id, m := range members {
		ids = append(ids, id)
		if len(m) >= 2 {
			multi++
			inMulti += len(m)
		}
	}
	sort.Slice(ids, func(i, j int) bool {
		return len(members[ids[i]]) > len(members[ids[j]]) || (len(members[ids[i]]) == len(members[ids[j]]) && ids[i] < ids[j])
	})
	t.Logf("CED originals 5 minutes apart: %d posts → %d events (%d split off a drifting event), %d with ≥ 2 originals holding %d",
		len(origs), len(members), len(splits), multi, inMulti)
	for _, id := range ids[:min(5, len(ids))] {
		m := members[id]
		var texts []string
		for _, d := range m[:min(3, len(m))] {
			texts = append(texts, clip(d.Text, 30))
		}
		t.Logf("  %s: %d originals: %s", id, len(m), strings.Join(texts, " ｜ "))
	}
	if n := len(members[ids[0]]); n > 30 {
		t.Errorf("the largest event holds %d originals: unrelated posts chained together", n)
	}
}

func pct(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return 100 * float64(a) / float64(b)
}

func clip(s string, n int) string {
	r := []rune(strings.Join(strings.Fields(s), " "))
	if len(r) > n {
		return string(r[:n]) + "…"
	}
	return string(r)
}

func charBigrams(s string) map[string]struct{} {
	r := []rune(s)
	m := make(map[string]struct{}, len(r))
	for i := 0; i+1 < len(r); i++ {
		m[string(r[i:i+2])] = struct{}{}
	}
	return m
}

func bigramJaccard(a, b map[string]struct{}) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	n := 0
	for x := range a {
		if _, ok := b[x]; ok {
			n++
		}
	}
	return float64(n) / float64(len(a)+len(b)-n)
}
