package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"go.uber.org/goleak"

	"yuqing/alerting/store/sqlitestore"
	"yuqing/analyzer"
	"yuqing/analyzer/events"
	"yuqing/analyzer/index"
	"yuqing/analyzer/index/bleveindex"
	"yuqing/domain"
	"yuqing/ingest"
	"yuqing/ingest/bus"
	"yuqing/ingest/bus/sqlitebus"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"))
}

// flakyIndex fails its first calls, to show that nothing is acknowledged
// until the index write succeeds. It wraps the real Bleve index.
type flakyIndex struct {
	real     index.Index
	failures atomic.Int32
	// eventFailures fails the first IndexEvents calls likewise.
	eventFailures atomic.Int32
}

func (f *flakyIndex) Search(ctx context.Context, q index.Query) (index.Result, error) {
	return f.real.Search(ctx, q)
}
func (f *flakyIndex) Get(ctx context.Context, id string) (domain.IndexedPost, bool, error) {
	return f.real.Get(ctx, id)
}
func (f *flakyIndex) Count(ctx context.Context) (int64, error) { return f.real.Count(ctx) }
func (f *flakyIndex) IndexEvents(ctx context.Context, evs []domain.Event) error {
	if f.eventFailures.Add(-1) >= 0 {
		return errors.New("injected event index failure")
	}
	return f.real.IndexEvents(ctx, evs)
}
func (f *flakyIndex) SearchEvents(ctx context.Context, q index.EventQuery) (index.EventResult, error) {
	return f.real.SearchEvents(ctx, q)
}
func (f *flakyIndex) Close() error { return f.real.Close() }

func (f *flakyIndex) Index(ctx context.Context, docs []domain.IndexedPost) error {
	if f.failures.Add(-1) >= 0 {
		return errors.New("injected index failure")
	}
	return f.real.Index(ctx, docs)
}

type rig struct {
	bus   *sqlitebus.Bus
	index *flakyIndex
	p     *Pipeline
	reg   *prometheus.Registry
	stop  func()
}

func newRig(t *testing.T, failures int32) *rig {
	dir := t.TempDir()
	b, err := sqlitebus.Open(filepath.Join(dir, "bus.db"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlitestore.Open(filepath.Join(dir, "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	bi, err := bleveindex.Open(filepath.Join(dir, "index"))
	if err != nil {
		t.Fatal(err)
	}
	an, err := analyzer.New()
	if err != nil {
		t.Fatal(err)
	}
	fi := &flakyIndex{real: bi}
	fi.failures.Store(failures)
	r := &rig{bus: b, index: fi, reg: prometheus.NewRegistry()}
	r.p = &Pipeline{Bus: b, Analyzer: an, Grouper: events.New(st, events.Config{}), Index: fi, Batch: 20, InFlight: 2,
		Throttle: ingest.NewThrottle(1 << 30)}
	r.p.Register(r.reg)
	// Run measures the backlog on the bus when it starts; the tests publish
	// and Add after that, so that nothing is counted twice
	r.p.Throttle.Set(-1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.p.Run(ctx) }()
	waitFor(t, "the pipeline to measure its backlog", func() bool { return r.p.Throttle.Pending() != -1 })
	r.stop = func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		bi.Close()
		st.Close()
		b.Close()
	}
	return r
}

func cascade(root string, n int) []bus.Message {
	return cascadeOf(root, "宁波某小区发生火灾，消防正在扑救，多人被困", n)
}

// cascadeOf is an original post with that text and n-1 replies.
func cascadeOf(root, text string, n int) []bus.Message {
	t0 := time.Date(2024, 3, 1, 9, 0, 0, 0, time.UTC)
	posts := []domain.Post{{ID: root, Source: "weibo", Text: text, PublishedAt: t0, Region: "浙江",
		Author: domain.Author{Followers: 500000}, ReceivedAt: time.Now()}}
	for i := 1; i < n; i++ {
		posts = append(posts, domain.Post{ID: fmt.Sprintf("%s-r%d", root, i), ParentID: root, RootID: root,
			Text: "希望大家平安", PublishedAt: t0.Add(time.Duration(i) * time.Minute), ReceivedAt: time.Now()})
	}
	msgs := make([]bus.Message, len(posts))
	for i := range posts {
		v, _ := json.Marshal(posts[i])
		msgs[i] = bus.Message{Key: root, Value: v}
	}
	return msgs
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestPipelineIndexesGroupsPublishesAndAcks(t *testing.T) {
	r := newRig(t, 0)
	defer r.stop()
	ctx := context.Background()
	evSub, err := r.bus.Subscribe(ctx, bus.TopicEvents, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer evSub.Close()
	if err := r.bus.Publish(ctx, bus.TopicPosts, cascade("root-a", 95)...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "95 posts indexed", func() bool { n, _ := r.index.Count(ctx); return n == 95 })
	waitFor(t, "posts acknowledged", func() bool { return testutil.ToFloat64(r.p.m.lag) == 0 && r.p.Throttle.Pending() == 0 })
	doc, ok, err := r.index.Get(ctx, "root-a-r7")
	if err != nil || !ok || doc.EventID != "ev-root-a" || len(doc.Analysis.Tokens) == 0 {
		t.Fatalf("indexed repost %+v %v %v", doc, ok, err)
	}
	ev := lastEvent(t, evSub, "ev-root-a")
	if ev.Posts != 95 {
		t.Fatalf("event on the bus counts %d posts, want 95", ev.Posts)
	}
	// the event is in the index in its last state before the posts are acknowledged
	if res, err := r.index.SearchEvents(ctx, index.EventQuery{Q: "火灾"}); err != nil || res.Total != 1 ||
		res.Hits[0].ID != "ev-root-a" || res.Hits[0].Posts != 95 || res.Hits[0].Version != ev.Version {
		t.Fatalf("event search: %+v, %v; want ev-root-a at 95 posts, version %d", res, err, ev.Version)
	}

	// the same posts again (a redelivery, or a sender resending): nothing
	// is counted twice, the index keeps one copy, the event is published again
	if err := r.bus.Publish(ctx, bus.TopicPosts, cascade("root-a", 95)...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "redelivered posts processed", func() bool { return testutil.ToFloat64(r.p.m.redelivered) == 95 })
	if n, _ := r.index.Count(ctx); n != 95 {
		t.Fatalf("index holds %d posts after redelivery, want 95", n)
	}
	if ev := lastEvent(t, evSub, "ev-root-a"); ev.Posts != 95 {
		t.Fatalf("event republished with %d posts, want 95", ev.Posts)
	}
}

func TestPipelineRetriesAndNeverAcksAFailedBatch(t *testing.T) {
	r := newRig(t, 3)
	defer r.stop()
	ctx := context.Background()
	if err := r.bus.Publish(ctx, bus.TopicPosts, cascade("root-b", 10)...); err != nil {
		t.Fatal(err)
	}
	r.p.Throttle.Add(10)
	waitFor(t, "the batch indexed after the injected failures", func() bool { n, _ := r.index.Count(ctx); return n == 10 })
	if r.index.failures.Load() > -1 {
		t.Fatal("the index was never retried")
	}
	waitFor(t, "acknowledgement", func() bool { return r.p.Throttle.Pending() == 0 })
}

// TestPipelineThrottleForgetsADoubleCount: posts counted twice (published
// between the pipeline's first reading of the backlog and ingest's Add) are
// forgotten once the analyzer catches up, so ingest is not slowed for ever.
func TestPipelineThrottleForgetsADoubleCount(t *testing.T) {
	r := newRig(t, 0)
	defer r.stop()
	ctx := context.Background()
	r.p.Throttle.Add(50) // counted at start and again by ingest
	if err := r.bus.Publish(ctx, bus.TopicPosts, cascade("root-f", 10)...); err != nil {
		t.Fatal(err)
	}
	r.p.Throttle.Add(10)
	waitFor(t, "the backlog to read zero once everything is acknowledged", func() bool { return r.p.Throttle.Pending() == 0 })
}

// TestPipelineNeverAcksBeforeItsEventsAreIndexed: a failing event index
// holds the acknowledgement back until it succeeds.
func TestPipelineNeverAcksBeforeItsEventsAreIndexed(t *testing.T) {
	r := newRig(t, 0)
	r.index.eventFailures.Store(1 << 20)
	defer r.stop()
	ctx := context.Background()
	if err := r.bus.Publish(ctx, bus.TopicPosts, cascade("root-c", 30)...); err != nil {
		t.Fatal(err)
	}
	r.p.Throttle.Add(30)
	waitFor(t, "the posts indexed", func() bool { n, _ := r.index.Count(ctx); return n == 30 })
	time.Sleep(300 * time.Millisecond)
	if n := r.p.Throttle.Pending(); n != 30 {
		t.Fatalf("%d posts pending while their events cannot be indexed, want all 30", n)
	}
	r.index.eventFailures.Store(0)
	waitFor(t, "acknowledgement once the events are indexed", func() bool { return r.p.Throttle.Pending() == 0 })
	if res, err := r.index.SearchEvents(ctx, index.EventQuery{Q: "火灾"}); err != nil || res.Total != 1 || res.Hits[0].Posts != 30 {
		t.Fatalf("event search: %+v, %v", res, err)
	}
}

// TestPipelineRedeliveryIndexesCommittedVersions: a batch with posts seen
// before (a redelivery) and fresh posts indexes and publishes every event
// in the version the store gave it (the store's version orders an event's
// states in the index; a stale one would be overwritten by nothing).
func TestPipelineRedeliveryIndexesCommittedVersions(t *testing.T) {
	r := newRig(t, 0)
	defer r.stop()
	ctx := context.Background()
	if err := r.bus.Publish(ctx, bus.TopicPosts, cascade("root-d", 5)...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the first cascade acknowledged", func() bool { return testutil.ToFloat64(r.p.m.analyzed) == 5 })
	// the same posts again with a new cascade, in one batch
	if err := r.bus.Publish(ctx, bus.TopicPosts, append(cascade("root-d", 5), cascadeOf("root-e", "南京地铁三号线今日起延长运营时间，市民出行更方便", 3)...)...); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the second batch acknowledged", func() bool { return testutil.ToFloat64(r.p.m.analyzed) == 13 })
	stored, err := r.p.Grouper.Store().GetEvents(ctx, []string{"ev-root-d", "ev-root-e"})
	if err != nil || len(stored) != 2 {
		t.Fatalf("stored events %v %v", stored, err)
	}
	res, err := r.index.SearchEvents(ctx, index.EventQuery{Size: 10})
	if err != nil || res.Total != 2 {
		t.Fatalf("indexed events %+v %v", res, err)
	}
	for _, e := range res.Hits {
		if s := stored[e.ID]; e.Version != s.Version || e.Posts != s.Posts {
			t.Errorf("%s indexed at version %d with %d posts, stored at version %d with %d", e.ID, e.Version, e.Posts, s.Version, s.Posts)
		}
	}
}

// lastEvent reads the events topic until it has seen the event, and gives
// its latest snapshot.
func lastEvent(t *testing.T, sub bus.Subscription, id string) domain.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var last domain.Event
	found := false
	for {
		fctx, fcancel := context.WithTimeout(ctx, 300*time.Millisecond)
		msgs, err := sub.Fetch(fctx, 100)
		fcancel()
		if err != nil {
			if found {
				return last
			}
			if ctx.Err() != nil {
				t.Fatalf("event %s never published", id)
			}
			continue
		}
		for _, m := range msgs {
			var e domain.Event
			if json.Unmarshal(m.Value, &e) == nil && e.ID == id {
				last, found = e, true
			}
		}
		sub.Ack(ctx, msgs...)
	}
}
