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

	"yuqing/analyzer"
	"yuqing/analyzer/events"
	"yuqing/analyzer/index"
	"yuqing/domain"
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
	Batch    int // posts per batch; 0 means 1,000
	Workers  int // analysis goroutines; 0 means GOMAXPROCS
	// OnIndexed, if set, sees each batch once it is indexed and its events
	// published (the dashboard's live feed).
	OnIndexed func(docs []domain.IndexedPost, changed []domain.Event)

	m metrics
}

type metrics struct {
	analyzed, indexed, events prometheus.Counter
	redelivered               prometheus.Counter
	lag                       prometheus.Gauge
	batchSeconds              prometheus.Histogram
	searchable                prometheus.Histogram
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
	reg.MustRegister(p.m.analyzed, p.m.indexed, p.m.events, p.m.redelivered, p.m.lag, p.m.batchSeconds, p.m.searchable)
}

// Run consumes until ctx ends. A failing batch is retried with backoff and
// never acknowledged while it fails.
func (p *Pipeline) Run(ctx context.Context) error {
	sub, err := p.Bus.Subscribe(ctx, bus.TopicPosts, Group)
	if err != nil {
		return err
	}
	defer sub.Close()
	size := p.Batch
	if size <= 0 {
		size = 1000
	}
	lastLag := time.Time{}
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
		backoff := 100 * time.Millisecond
		for {
			err := p.process(ctx, msgs)
			if err == nil {
				err = sub.Ack(ctx, msgs...)
			}
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return nil
			}
			p.log().Error("analyzer batch failed; retrying, not acknowledged", "err", err, "posts", len(msgs), "retry_in", backoff)
			if !sleep(ctx, backoff) {
				return nil
			}
			backoff = min(backoff*2, 10*time.Second)
		}
		if p.m.lag != nil && time.Since(lastLag) > time.Second {
			lastLag = time.Now()
			if lag, err := sub.Lag(ctx); err == nil {
				p.m.lag.Set(float64(lag))
			}
		}
	}
}

func (p *Pipeline) process(ctx context.Context, msgs []bus.Message) error {
	start := time.Now()
	docs := make([]domain.IndexedPost, 0, len(msgs))
	for _, m := range msgs {
		var post domain.Post
		if err := json.Unmarshal(m.Value, &post); err != nil {
			// ingest only publishes posts it encoded itself; a message that
			// does not decode cannot get better by retrying, so it is logged
			// and skipped instead of blocking the partition forever.
			p.log().Error("undecodable post on the bus, skipped", "partition", m.Partition, "offset", m.Offset, "err", err)
			continue
		}
		docs = append(docs, domain.IndexedPost{Post: post})
	}
	p.analyze(docs)
	plan, err := p.Grouper.Plan(ctx, docs)
	if err != nil {
		return err
	}
	if err := p.Index.Index(ctx, docs); err != nil {
		return err
	}
	if p.m.searchable != nil {
		now := time.Now()
		for i := range docs {
			if !docs[i].ReceivedAt.IsZero() {
				p.m.searchable.Observe(now.Sub(docs[i].ReceivedAt).Seconds())
			}
		}
	}
	if len(plan.Events) > 0 {
		out := make([]bus.Message, len(plan.Events))
		for i := range plan.Events {
			v, err := json.Marshal(&plan.Events[i])
			if err != nil {
				return err
			}
			out[i] = bus.Message{Key: plan.Events[i].ID, Value: v}
		}
		if err := p.Bus.Publish(ctx, bus.TopicEvents, out...); err != nil {
			return err
		}
	}
	if err := p.Grouper.Commit(ctx, plan); err != nil {
		return err
	}
	if p.m.analyzed != nil {
		p.m.analyzed.Add(float64(len(docs)))
		p.m.indexed.Add(float64(len(docs)))
		p.m.events.Add(float64(len(plan.Events)))
		p.m.redelivered.Add(float64(len(docs) - len(plan.Assign)))
		p.m.batchSeconds.Observe(time.Since(start).Seconds())
	}
	if p.OnIndexed != nil {
		p.OnIndexed(docs, plan.Events)
	}
	return nil
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
