// Package pipeline runs the analyzer role: it consumes posts from the Bus,
// analyses them, groups them into events, indexes them, publishes the changed
// events, and only then acknowledges the posts. A crash anywhere before the
// acknowledgement means the batch comes again; indexing by post id and the
// event store's assignment table make that redelivery harmless.
package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yuqing/alerting/store"
	"yuqing/analyzer"
	"yuqing/analyzer/events"
	"yuqing/analyzer/index"
	"yuqing/domain"
	"yuqing/ingest"
	"yuqing/ingest/bus"
)

// Group is the consumer group of the analyzer role.
const Group = "analyzer"

// Pipeline is the analyzer role.
type Pipeline struct {
	Bus      bus.Bus
	Analyzer *analyzer.Analyzer
	Grouper  *events.Grouper
	Index    index.Index
	Log      *slog.Logger
	Batch    int // posts per batch; 0 means 2,000
	Workers  int // analysis goroutines; 0 means GOMAXPROCS
	InFlight int // batches being indexed at once; 0 means 3
	// OnIndexed, if set, sees each batch once it is indexed and its events
	// published (the dashboard's live feed).
	OnIndexed func(docs []domain.IndexedPost, changed []domain.Event)
	// Throttle, if set, learns the backlog at start, at each acknowledgement
	// and from the bus every second and whenever the analyzer catches up,
	// so that ingest can slow senders down when the analyzer falls behind.
	Throttle *ingest.Throttle
	// Records, if set, keeps the government portal pages among the posts
	// (Post.Record, from the crawler) as disclosure and interpretation
	// records, before the batch is acknowledged.
	Records RecordWriter

	m metrics
}

type metrics struct {
	analyzed, indexed, events prometheus.Counter
	redelivered               prometheus.Counter
	lag                       prometheus.Gauge
	batchSeconds              prometheus.Histogram
	searchable                prometheus.Histogram
	stage                     *prometheus.HistogramVec
	conflicts                 prometheus.Counter
}

// Register adds the pipeline's metrics to reg.
func (p *Pipeline) Register(reg prometheus.Registerer) {
	p.m = metrics{
		analyzed:     prometheus.NewCounter(prometheus.CounterOpts{Name: "yuqing_posts_analyzed_total", Help: "Posts analysed."}),
		indexed:      prometheus.NewCounter(prometheus.CounterOpts{Name: "yuqing_posts_indexed_total", Help: "Posts written to the index."}),
		events:       prometheus.NewCounter(prometheus.CounterOpts{Name: "yuqing_event_updates_total", Help: "Event states published after a batch."}),
		redelivered:  prometheus.NewCounter(prometheus.CounterOpts{Name: "yuqing_posts_redelivered_total", Help: "Posts seen again (already assigned to an event)."}),
		lag:          prometheus.NewGauge(prometheus.GaugeOpts{Name: "yuqing_bus_lag", Help: "Posts on the bus not yet acknowledged by the analyzer.", ConstLabels: prometheus.Labels{"topic": bus.TopicPosts}}),
		batchSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "yuqing_analyzer_batch_seconds", Help: "Time to analyse, group, index and publish one batch.", Buckets: prometheus.ExponentialBuckets(0.005, 2, 12)}),
		searchable: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "yuqing_ingest_to_searchable_seconds",
			Help: "Time from a post's acceptance by ingest to it being searchable.", Buckets: prometheus.ExponentialBuckets(0.01, 2, 14)}),
	}
	p.m.stage = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "yuqing_analyzer_stage_seconds",
		Help: "Time of each stage of an analyzer batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2, 14)}, []string{"stage"})
	p.m.conflicts = prometheus.NewCounter(prometheus.CounterOpts{Name: "yuqing_analyzer_conflicts_total",
		Help: "Batches planned again because another analyzer wrote the same events first."})
	reg.MustRegister(p.m.analyzed, p.m.indexed, p.m.events, p.m.redelivered, p.m.lag, p.m.batchSeconds, p.m.searchable, p.m.stage, p.m.conflicts)
}

// Run consumes until ctx ends. It works in two stages so that indexing, the
// slow part, overlaps the rest: the first stage fetches, analyses, groups and
// commits each batch's event state in order (the grouping of batch N+1 needs
// N's); up to InFlight batches are then indexed at once; and a final step,
// again in order and once a batch's posts are durably indexed, indexes the
// events it changed (with those of the batches ready behind it, each event
// once), publishes its events and acknowledges its posts. A failing step is
// retried with backoff and nothing is acknowledged while it fails.
//
// Committing events before indexing is safe: after a crash the batch comes
// again, its posts keep the events the store gave them, they are indexed
// again under the same ids, and the events they touched are published again.
func (p *Pipeline) Run(ctx context.Context) error {
	sub, err := p.Bus.Subscribe(ctx, bus.TopicPosts, Group)
	if err != nil {
		return err
	}
	defer sub.Close()
	if p.Throttle != nil {
		if lag, err := sub.Lag(ctx); err == nil {
			p.Throttle.Set(lag)
		}
	}
	size := p.Batch
	if size <= 0 {
		size = 2000
	}
	inFlight := p.InFlight
	if inFlight <= 0 {
		inFlight = 3
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// jobs go to the indexers and, in the same order, to the acknowledger
	toIndex := make(chan *job, inFlight)
	toAck := make(chan *job, inFlight)
	var wg sync.WaitGroup
	for i := 0; i < inFlight; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range toIndex {
				j.indexed <- p.retry(ctx, "index", func() error { return p.index(ctx, j) })
			}
		}()
	}
	ackDone := make(chan struct{})
	go func() {
		defer close(ackDone)
		lastLag := time.Time{}
		for j := range toAck {
			if !<-j.indexed {
				continue // ctx ended; nothing more is acknowledged
			}
			// The jobs queued behind it join it once their posts are
			// indexed: their events are indexed together, each event once
			// in its newest state (a hot event is in every batch).
			group := []*job{j}
		more:
			for len(group) < inFlight {
				select {
				case next, ok := <-toAck:
					if !ok || !<-next.indexed {
						break more
					}
					group = append(group, next)
				default:
					break more
				}
			}
			if !p.retry(ctx, "index events", func() error { return p.indexEvents(ctx, group) }) {
				continue
			}
			for _, j := range group {
				ok := p.retry(ctx, "publish and ack", func() error {
					if err := p.publishEvents(ctx, j.events); err != nil {
						return err
					}
					return sub.Ack(ctx, j.msgs...)
				})
				if !ok {
					break
				}
				if p.Throttle != nil {
					p.Throttle.Done(int64(len(j.msgs)))
				}
				p.observe(j)
				if p.OnIndexed != nil {
					p.OnIndexed(j.docs, j.events)
				}
			}
			// the lag gauge and the throttle are refreshed from the bus every
			// second, and whenever the analyzer has caught up so that an idle
			// gauge reads true (a post counted twice at start, published
			// between the first reading and ingest's Add, is forgotten here)
			if (p.m.lag != nil || p.Throttle != nil) && (time.Since(lastLag) > time.Second || len(toAck) == 0) {
				lastLag = time.Now()
				if lag, err := sub.Lag(ctx); err == nil {
					if p.m.lag != nil {
						p.m.lag.Set(float64(lag))
					}
					if p.Throttle != nil {
						p.Throttle.Set(lag)
					}
				}
			}
		}
	}()
	defer func() {
		close(toIndex)
		close(toAck)
		wg.Wait()
		<-ackDone
	}()
	for {
		msgs, err := sub.Fetch(ctx, size)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, bus.ErrClosed) {
				return nil
			}
			p.log().Error("fetch posts", "err", err)
			if !sleep(ctx, time.Second) {
				return nil
			}
			continue
		}
		j := &job{msgs: msgs, start: time.Now(), indexed: make(chan bool, 1)}
		p.decodeAndAnalyze(j)
		if !p.retry(ctx, "group", func() error { return p.group(ctx, j) }) {
			return nil
		}
		if !p.retry(ctx, "records", func() error { return p.saveRecords(ctx, j) }) {
			return nil
		}
		select {
		case toAck <- j:
		case <-ctx.Done():
			return nil
		}
		select {
		case toIndex <- j:
		case <-ctx.Done():
			j.indexed <- false
			return nil
		}
	}
}

// RecordWriter is the part of the Store that keeps records.
type RecordWriter interface {
	PutRecord(ctx context.Context, r domain.Record) error
}

// saveRecords writes the batch's portal pages as records (idempotent: the
// record id is the post id).
func (p *Pipeline) saveRecords(ctx context.Context, j *job) error {
	if p.Records == nil {
		return nil
	}
	for _, d := range j.docs {
		ref := d.Post.Record
		if ref == nil {
			continue
		}
		title := d.Post.Title
		if title == "" {
			title = clipRunes(d.Post.Text, 80)
		}
		r := domain.Record{ID: d.Post.ID, Kind: ref.Kind, Title: title, URL: d.Post.URL, UnitID: ref.UnitID, Text: clipRunes(d.Post.Text, 2000),
			PublishedAt: d.Post.PublishedAt, CreatedAt: d.Post.ReceivedAt}
		if err := p.Records.PutRecord(ctx, r); err != nil {
			return err
		}
	}
	return nil
}

func clipRunes(s string, n int) string {
	r := []rune(s)
	if len(r) > n {
		r = r[:n]
	}
	return string(r)
}

// job is one batch on its way through the stages.
type job struct {
	msgs    []bus.Message
	docs    []domain.IndexedPost
	events  []domain.Event // to publish: changed, or touched again on redelivery
	fresh   int            // posts assigned to an event for the first time
	start   time.Time
	indexed chan bool
}

// retry runs fn until it succeeds (true) or ctx ends (false).
func (p *Pipeline) retry(ctx context.Context, what string, fn func() error) bool {
	backoff := 100 * time.Millisecond
	for {
		err := fn()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		if errors.Is(err, store.ErrConflict) {
			// another analyzer got there first: plan again from its state
			p.log().Debug("analyzer: "+what+": conflict with another analyzer; planning again", "err", err)
			if p.m.conflicts != nil {
				p.m.conflicts.Inc()
			}
			continue
		}
		p.log().Error("analyzer: "+what+" failed; retrying, posts not acknowledged", "err", err, "retry_in", backoff)
		if !sleep(ctx, backoff) {
			return false
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

// decodeAndAnalyze fills the batch's docs.
func (p *Pipeline) decodeAndAnalyze(j *job) {
	mark := time.Now()
	j.docs = make([]domain.IndexedPost, 0, len(j.msgs))
	for _, m := range j.msgs {
		var post domain.Post
		if err := json.Unmarshal(m.Value, &post); err != nil {
			// ingest only publishes posts it encoded itself; a message that
			// does not decode cannot get better by retrying, so it is logged
			// and skipped instead of blocking the partition forever.
			p.log().Error("undecodable post on the bus, skipped", "partition", m.Partition, "offset", m.Offset, "err", err)
			continue
		}
		j.docs = append(j.docs, domain.IndexedPost{Post: post})
	}
	p.analyze(j.docs)
	p.lap("analyze", mark)
}

// group decides the batch's events and commits them; a conflict with
// another analyzer (store.ErrConflict) comes back to be retried at once.
func (p *Pipeline) group(ctx context.Context, j *job) error {
	mark := time.Now()
	plan, err := p.Grouper.Plan(ctx, j.docs)
	if err != nil {
		return err
	}
	j.fresh = len(plan.Assign)
	// posts seen before (a redelivery): their events are published and
	// indexed again, in case the crash came between the commit and those
	var again []domain.Event
	if j.fresh < len(j.docs) {
		seen := map[string]bool{}
		for _, e := range plan.Events {
			seen[e.ID] = true
		}
		var ids []string
		for _, d := range j.docs {
			if _, fresh := plan.Assign[d.ID]; !fresh && d.EventID != "" && !seen[d.EventID] {
				seen[d.EventID] = true
				ids = append(ids, d.EventID)
			}
		}
		if len(ids) > 0 {
			evs, err := p.Grouper.Store().GetEvents(ctx, ids)
			if err != nil {
				return err
			}
			for _, id := range ids {
				if e, ok := evs[id]; ok {
					again = append(again, e)
				}
			}
		}
	}
	mark = p.lap("plan", mark)
	if err := p.Grouper.Commit(ctx, plan); err != nil {
		return err
	}
	// only now: Commit sets the plan's events to the versions the store
	// gave them, which order an event's states in the index
	j.events = append(plan.Events[:len(plan.Events):len(plan.Events)], again...)
	p.lap("commit", mark)
	return nil
}

func (p *Pipeline) index(ctx context.Context, j *job) error {
	mark := time.Now()
	if err := p.Index.Index(ctx, j.docs); err != nil {
		return err
	}
	p.lap("index", mark)
	if p.m.searchable != nil {
		now := time.Now()
		for i := range j.docs {
			if !j.docs[i].ReceivedAt.IsZero() {
				p.m.searchable.Observe(now.Sub(j.docs[i].ReceivedAt).Seconds())
			}
		}
	}
	return nil
}

// indexEvents indexes the events of a group of batches whose posts are
// indexed, each event once, in its newest committed state (the index also
// keeps an event's highest Version whatever the order of the calls).
func (p *Pipeline) indexEvents(ctx context.Context, group []*job) error {
	var all []domain.Event
	for _, j := range group {
		all = append(all, j.events...)
	}
	if len(all) == 0 {
		return nil
	}
	mark := time.Now()
	newest, err := index.NewestStates(all)
	if err != nil {
		return err
	}
	if err := p.Index.IndexEvents(ctx, newest); err != nil {
		return err
	}
	p.lap("index_events", mark)
	return nil
}

func (p *Pipeline) publishEvents(ctx context.Context, evs []domain.Event) error {
	if len(evs) == 0 {
		return nil
	}
	out := make([]bus.Message, len(evs))
	for i := range evs {
		v, err := json.Marshal(&evs[i])
		if err != nil {
			return err
		}
		out[i] = bus.Message{Key: evs[i].ID, Value: v}
	}
	return p.Bus.Publish(ctx, bus.TopicEvents, out...)
}

func (p *Pipeline) lap(stage string, since time.Time) time.Time {
	now := time.Now()
	if p.m.stage != nil {
		p.m.stage.WithLabelValues(stage).Observe(now.Sub(since).Seconds())
	}
	return now
}

func (p *Pipeline) observe(j *job) {
	if p.m.analyzed == nil {
		return
	}
	p.m.analyzed.Add(float64(len(j.docs)))
	p.m.indexed.Add(float64(len(j.docs)))
	p.m.events.Add(float64(len(j.events)))
	p.m.redelivered.Add(float64(len(j.docs) - j.fresh))
	p.m.batchSeconds.Observe(time.Since(j.start).Seconds())
}

// analyze fills each doc's analysis, spread over the workers.
func (p *Pipeline) analyze(docs []domain.IndexedPost) {
	workers := p.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	if workers > len(docs) {
		workers = len(docs)
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < len(docs); i += workers {
				docs[i].Analysis = p.Analyzer.Analyze(&docs[i].Post)
			}
		}(w)
	}
	wg.Wait()
}

func (p *Pipeline) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.Default()
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
