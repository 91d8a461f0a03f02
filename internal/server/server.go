// Package server assembles yuqing from its parts for `yuqing serve`: it opens
// the backends named by the configuration, starts the roles the target asks
// for (analyzer, alerting, dashboard with the HTTP API), and shuts them down
// in two phases: stop taking input and drain, then close the backends.
package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"yuqing/alerting"
	"yuqing/alerting/deadline"
	"yuqing/alerting/notify"
	"yuqing/alerting/orgtree"
	"yuqing/alerting/store"
	"yuqing/analyzer"
	"yuqing/analyzer/events"
	"yuqing/analyzer/index"
	"yuqing/analyzer/pipeline"
	"yuqing/analyzer/places"
	"yuqing/analyzer/segment"
	"yuqing/analyzer/taxonomy"
	"yuqing/crawler"
	"yuqing/dashboard"
	"yuqing/domain"
	"yuqing/ingest"
	"yuqing/ingest/bus"
)

// Server is one yuqing process.
type Server struct {
	cfg         Config
	log         *slog.Logger
	reg         *prometheus.Registry
	Bus         bus.Bus
	Index       index.Index
	Store       store.Store
	Tree        *orgtree.Tree
	Alerter     *alerting.Alerter
	Hub         *dashboard.Hub
	pipeline    *pipeline.Pipeline
	ingest      *ingest.Handler
	ready       atomic.Bool
	http        *http.Server
	addr        atomic.Value // net.Addr, set by Run (Addr may be called meanwhile)
	casesOpened prometheus.Counter
	dueFired    *prometheus.CounterVec
	dueLatency  prometheus.Histogram
	notifier    *notify.Notifier   // nil unless this process runs alerting
	crawl       *crawler.Scheduler // nil unless this process crawls
	crawlState  *crawler.State

	// Tree is the file's tree (fileTree) with the units posted through the
	// API; it is swapped in place (Replace) when they change, so every
	// holder of the pointer (alerting, the analyzer's router, notify)
	// follows.
	fileTree *orgtree.Tree
	unitsMu  sync.Mutex // one rebuild of Tree at a time
	unitsSig string     // unitsSignature of the posted units Tree was built with
}

// New opens the backends and builds the roles; nothing runs until Run.
func New(cfg Config, log *slog.Logger) (_ *Server, err error) {
	if log == nil {
		log = slog.Default()
	}
	s := &Server{cfg: cfg, log: log, reg: prometheus.NewRegistry()}
	s.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	defer func() {
		if err != nil {
			s.closeBackends() // what was opened before the failure
		}
	}()
	if err := os.MkdirAll(cfg.Data, 0o755); err != nil {
		return nil, fmt.Errorf("数据目录 %s: %w", cfg.Data, err)
	}
	if err := s.openBackends(context.Background()); err != nil {
		return nil, err
	}
	tax := taxonomy.Default()
	if cfg.Analyzer.Taxonomy != "" {
		if tax, err = taxonomy.LoadFile(cfg.Analyzer.Taxonomy); err != nil {
			return nil, fmt.Errorf("舆情分类: %w", err)
		}
		// departments of the tree are in charge of these categories
		orgtree.SetCategories(tax.Names())
	}
	if s.fileTree, err = loadTree(cfg.Units); err != nil {
		return nil, err
	}
	// the file's units go to the store, and the units posted earlier
	// through the API come back onto the tree
	if err := s.initUnits(context.Background()); err != nil {
		return nil, fmt.Errorf("写入组织机构: %w", err)
	}
	minGrade, _ := ParseGrade(cfg.Alerting.MinGrade)
	policy := deadline.Default()
	if cfg.Alerting.Policy != "" {
		if policy, err = deadline.Load(cfg.Alerting.Policy); err != nil {
			return nil, err
		}
	}
	s.Alerter = alerting.New(s.Store, s.Tree, alerting.Config{MinGrade: minGrade, MinHeat: cfg.Alerting.MinHeat, Policy: policy}, alerting.WithLogger(log),
		alerting.WithNotices(s.notices)) // notifications go to the outbox with their actions
	s.Hub = dashboard.NewHub(s.reg, dashboard.WithPostRate(cfg.Dashboard.PostRate), dashboard.WithLogger(log))

	an, err := analyzer.New(analyzer.WithRouter(UnitRouter(s.Tree)), analyzer.WithTaxonomy(tax))
	if err != nil {
		return nil, fmt.Errorf("加载分析模型: %w", err)
	}
	s.pipeline = &pipeline.Pipeline{
		Bus: s.Bus, Analyzer: an, Grouper: events.New(s.Store, events.Config{SpreadRisk: an.SpreadRisk}), Index: s.Index, Log: log,
		OnIndexed: s.onIndexed, Records: s.Store,
	}
	s.pipeline.Register(s.reg)
	s.ingest = &ingest.Handler{Bus: s.Bus, MaxBody: cfg.MaxBody, Log: log}
	if cfg.Target == "all" && cfg.MaxBacklog > 0 {
		// the analyzer runs in this process: ingest can see its backlog
		t := ingest.NewThrottle(cfg.MaxBacklog)
		s.ingest.Throttle, s.pipeline.Throttle = t, t
	}
	if _, ok := s.Bus.(bus.GroupLagger); ok && cfg.Target == "dashboard" && cfg.MaxBacklog > 0 {
		// analyzers run elsewhere: their backlog is read from the bus
		s.ingest.Throttle = ingest.NewThrottle(cfg.MaxBacklog)
	}
	s.ingest.Register(s.reg)
	if err := s.newCrawler(); err != nil {
		return nil, err
	}
	if cfg.Target == "all" || cfg.Target == "alerting" {
		if err := s.newNotifier(); err != nil {
			return nil, err
		}
	}
	s.casesOpened = prometheus.NewCounter(prometheus.CounterOpts{Name: "yuqing_cases_opened_total", Help: "Cases opened by alerting since start."})
	s.dueFired = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yuqing_due_fired_total", Help: "Reminders (remind) and expired clocks (overdue) acted on."}, []string{"kind"})
	s.dueLatency = prometheus.NewHistogram(prometheus.HistogramOpts{Name: "yuqing_due_latency_seconds", Help: "From a reminder's or deadline's moment to the action recorded on its case.",
		Buckets: []float64{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 30}})
	s.reg.MustRegister(s.casesOpened, s.dueFired, s.dueLatency)
	return s, nil
}

func loadTree(path string) (*orgtree.Tree, error) {
	if path == "" {
		return orgtree.Default()
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("组织机构文件: %w", err)
	}
	defer f.Close()
	t, err := orgtree.Load(f)
	if err != nil {
		return nil, fmt.Errorf("组织机构文件 %s: %w", path, err)
	}
	return t, nil
}

// UnitRouter lets the analyzer name the unit of the organisation tree that a
// post belongs to.
func UnitRouter(tree *orgtree.Tree) analyzer.Router {
	return func(region, location, category string, found []places.Place) (string, string) {
		return routeUnit(tree, region, location, category, found)
	}
}

func routeUnit(tree *orgtree.Tree, region, location, category string, found []places.Place) (string, string) {
	names := make([]string, 0, 4*len(found))
	for _, p := range found {
		// finest first: a county or town unit of the tree answers before its city
		for _, n := range []string{p.Town, p.County, p.City, p.Province} {
			if n != "" && !slices.Contains(names, n) {
				names = append(names, n)
			}
		}
	}
	d := tree.RouteFor(orgtree.Query{Region: region, Location: location, Places: names, Category: category})
	return d.Unit.ID, d.Reason
}

// onIndexed feeds the dashboard; Hub.Publish never blocks.
func (s *Server) onIndexed(docs []domain.IndexedPost, changed []domain.Event) {
	for i := range docs {
		s.Hub.Publish("post", livePostOf(&docs[i]))
	}
	for i := range changed {
		s.Hub.Publish("event", changed[i])
	}
}

// livePost is the trimmed post the live feed carries.
type livePost struct {
	ID          string                 `json:"id"`
	Source      string                 `json:"source,omitempty"`
	Title       string                 `json:"title,omitempty"`
	Text        string                 `json:"text"`
	Author      domain.Author          `json:"author"`
	PublishedAt time.Time              `json:"published_at"`
	ParentID    string                 `json:"parent_id,omitempty"`
	EventID     string                 `json:"event_id,omitempty"`
	Sentiment   domain.SentimentResult `json:"sentiment"`
	Places      []string               `json:"places,omitempty"`
	Keywords    []domain.Keyword       `json:"keywords,omitempty"`
}

func livePostOf(d *domain.IndexedPost) livePost {
	text := d.Text
	if r := []rune(text); len(r) > 140 {
		text = string(r[:140]) + "…"
	}
	return livePost{ID: d.ID, Source: d.Source, Title: d.Title, Text: text, Author: d.Author, PublishedAt: d.PublishedAt,
		ParentID: d.ParentID, EventID: d.EventID, Sentiment: d.Analysis.Sentiment, Places: d.Analysis.Places, Keywords: d.Analysis.Keywords}
}

// Run serves until ctx ends, then shuts down: HTTP stops taking posts, the
// roles drain what they hold, and the backends close.
func (s *Server) Run(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Listen)
	if err != nil {
		s.closeBackends()
		return fmt.Errorf("监听 %s: %w", s.cfg.Listen, err)
	}
	s.addr.Store(ln.Addr())
	s.http = &http.Server{Handler: s.Routes(), ReadHeaderTimeout: 10 * time.Second}
	roleCtx, stopRoles := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	errc := make(chan error, 4)
	start := func(name string, fn func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := fn(roleCtx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	t := s.cfg.Target
	if t == "all" || t == "analyzer" {
		start("analyzer", func(ctx context.Context) error {
			if n, err := s.backfillEvents(ctx); err != nil {
				return fmt.Errorf("事件补录入索引失败: %w", err)
			} else if n > 0 {
				s.log.Info("已将存储中的事件补录入索引", "事件数", n)
			}
			return s.pipeline.Run(ctx)
		})
	}
	// every role routes on the tree: follow the units posted elsewhere
	start("units", func(ctx context.Context) error {
		var seg *segment.Segmenter
		if t == "all" || t == "analyzer" {
			seg = s.pipeline.Analyzer.Segmenter()
		}
		return s.watchUnits(ctx, seg)
	})
	if t == "all" || t == "alerting" {
		start("alerting", s.runAlerting)
		start("deadlines", func(ctx context.Context) error { return s.Alerter.RunDue(ctx, time.Second, s.onDue) })
		start("notify", s.notifier.Run)
	}
	if s.crawl != nil {
		start("crawler", s.crawl.Run)
	}
	if gl, ok := s.Bus.(bus.GroupLagger); ok && t == "dashboard" && s.ingest.Throttle != nil {
		start("backlog", func(ctx context.Context) error { return s.watchBacklog(ctx, gl) })
	}
	if t == "dashboard" {
		// the roles run elsewhere: the live feed comes through the bus
		start("feed posts", func(ctx context.Context) error { return s.runFeed(ctx, bus.TopicPosts, "post") })
		start("feed events", func(ctx context.Context) error { return s.runFeed(ctx, bus.TopicEvents, "event") })
		start("feed cases", func(ctx context.Context) error { return s.runFeed(ctx, bus.TopicCases, "case") })
		start("feed sources", func(ctx context.Context) error { return s.runFeed(ctx, bus.TopicSources, "source") })
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("http: %w", err)
		}
	}()
	s.ready.Store(true)
	s.log.Info("yuqing 已启动", "listen", "http://"+ln.Addr().String(), "data", s.cfg.Data, "target", t)
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	s.ready.Store(false)
	s.log.Info("正在停止：不再接收新数据，等待处理中的批次完成")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	_ = s.http.Shutdown(shutdownCtx)
	cancel()
	s.Hub.Close()
	stopRoles()
	wg.Wait()
	s.closeBackends()
	s.log.Info("yuqing 已停止")
	return runErr
}

// Addr is the address the server listens on, once Run has started.
func (s *Server) Addr() net.Addr {
	a, _ := s.addr.Load().(net.Addr)
	return a
}

func (s *Server) runAlerting(ctx context.Context) error {
	sub, err := s.Bus.Subscribe(ctx, bus.TopicEvents, "alerting")
	if err != nil {
		return err
	}
	defer sub.Close()
	return s.Alerter.Run(ctx, sub, func(c domain.Case, created bool) {
		if created {
			s.casesOpened.Inc()
			s.notifier.Wake() // its notification is in the outbox
		}
		s.Hub.Publish("case", c)
		s.shareCase(ctx, c)
	})
}

// onDue passes a reminder or an overdue clock to the dashboard (and to
// dashboard processes elsewhere) and measures how late after its moment it
// fired.
func (s *Server) onDue(f alerting.Fired) {
	s.dueFired.WithLabelValues(f.Due.Kind).Inc()
	s.dueLatency.Observe(time.Since(f.Due.At).Seconds())
	s.Hub.Publish("case", f.Case)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // never hold the deadlines up
	defer cancel()
	s.shareCase(ctx, f.Case)
	if !f.Late {
		s.notifier.Wake() // its notifications are in the outbox
	}
}

// newCrawler builds the crawler role when the configuration names a
// sources file and this process's target includes it.
func (s *Server) newCrawler() error {
	cc := s.cfg.Crawler
	if cc.Sources == "" || (s.cfg.Target != "all" && s.cfg.Target != "crawler") {
		return nil
	}
	statePath := cc.State
	if statePath == "" {
		statePath = filepath.Join(s.cfg.Data, "crawler.db")
	}
	st, err := crawler.OpenState(statePath)
	if err != nil {
		return err
	}
	s.crawlState = st
	s.crawl = &crawler.Scheduler{
		Path:        cc.Sources,
		Crawler:     &crawler.Crawler{State: st, Sink: crawler.BusSink{Bus: s.Bus}, Log: s.log},
		Log:         s.log,
		Concurrency: cc.Concurrency,
		OnHealth:    s.onSourceHealth,
	}
	s.crawl.Register(s.reg)
	if err := s.crawl.Load(context.Background()); err != nil {
		return err
	}
	return nil
}

// onSourceHealth tells the dashboard about a source after each run, and
// dashboard processes elsewhere when a source's status changes.
func (s *Server) onSourceHealth(h crawler.Health, changed bool) {
	s.Hub.Publish("source", h)
	if s.cfg.Target == "all" || !changed {
		return
	}
	v, err := json.Marshal(h)
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second) // a view: never hold the crawler up
		err = s.Bus.Publish(ctx, bus.TopicSources, bus.Message{Key: h.Source, Value: v})
		cancel()
	}
	if err != nil {
		s.log.Warn("分享信息源状态失败", "source", h.Source, "err", err)
	}
}

// shareCase tells dashboard processes about a case change when the roles
// run in separate processes. It is a view: a failure is logged, not retried.
func (s *Server) shareCase(ctx context.Context, c domain.Case) {
	if s.cfg.Target == "all" {
		return
	}
	v, err := json.Marshal(c)
	if err == nil {
		err = s.Bus.Publish(ctx, bus.TopicCases, bus.Message{Key: c.ID, Value: v})
	}
	if err != nil {
		s.log.Warn("分享案件变化失败", "case", c.ID, "err", err)
	}
}

// watchBacklog keeps ingest's throttle at the analyzers' backlog, read from
// the bus four times a second, when the analyzers run in other processes.
func (s *Server) watchBacklog(ctx context.Context, gl bus.GroupLagger) error {
	for sleepCtx(ctx, 250*time.Millisecond) {
		lag, err := gl.GroupLag(ctx, bus.TopicPosts, pipeline.Group)
		if err != nil {
			if ctx.Err() == nil {
				s.log.Warn("读取分析积压失败", "err", err)
			}
			continue
		}
		s.ingest.Throttle.Set(lag)
	}
	return nil
}

// runFeed passes a topic's messages to the dashboard's live feed, for a
// dashboard process whose analyzer and alerting run elsewhere. Only views
// depend on it, so it acknowledges as soon as the hub has them.
func (s *Server) runFeed(ctx context.Context, topic, kind string) error {
	sub, err := s.Bus.Subscribe(ctx, topic, "dashboard")
	if err != nil {
		return err
	}
	defer sub.Close()
	for {
		msgs, err := sub.Fetch(ctx, 500)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, bus.ErrClosed) {
				return nil
			}
			// a view: wait and try again (the bus reconnects by itself)
			s.log.Warn("看板推送读取失败，稍后重试", "topic", topic, "err", err)
			if !sleepCtx(ctx, time.Second) {
				return nil
			}
			continue
		}
		for _, m := range msgs {
			s.Hub.Publish(kind, json.RawMessage(m.Value))
		}
		if err := sub.Ack(ctx, msgs...); err != nil && ctx.Err() == nil {
			s.log.Warn("看板推送确认失败", "topic", topic, "err", err)
		}
	}
}

// closeBackends closes the index and store first (the roles that write them
// have stopped), then the bus.
func (s *Server) closeBackends() {
	closeOne := func(name string, c interface{ Close() error }) {
		if err := c.Close(); err != nil {
			s.log.Error("关闭 "+name+" 失败", "err", err)
		}
	}
	if s.crawlState != nil {
		closeOne("crawler state", s.crawlState)
	}
	if s.Index != nil {
		closeOne("index", s.Index)
	}
	if s.Store != nil {
		closeOne("store", s.Store)
	}
	if s.Bus != nil {
		closeOne("bus", s.Bus)
	}
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}
