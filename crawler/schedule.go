package crawler

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// NewFetcherFor builds the fetcher a sources file asks for: its
// User-Agent and private allow-list, and a per-host politeness rule for the
// host of every start URL.
func NewFetcherFor(f *SourcesFile) (*Fetcher, error) {
	d := f.Defaults.or(builtinLimits)
	var limits []HostLimit
	hosts := map[string]bool{}
	for i := range f.Sources {
		s := &f.Sources[i]
		for _, c := range s.Starts() {
			u, err := url.Parse(c.URL)
			if err != nil || hosts[u.Host] {
				continue
			}
			hosts[u.Host] = true
			limits = append(limits, HostLimit{Glob: u.Host, Parallelism: s.Parallelism, Delay: s.HostDelay()})
		}
	}
	limits = append(limits, HostLimit{Glob: "*", Parallelism: d.Parallelism, Delay: d.HostDelay()})
	// the fetcher's own limits are the largest any source asks for; each
	// request then carries its source's
	timeout, maxBytes := d.Timeout, d.MaxBytes
	for _, s := range f.Sources {
		timeout, maxBytes = max(timeout, s.Timeout), max(maxBytes, s.MaxBytes)
	}
	return NewFetcher(FetchOptions{UserAgent: f.UserAgent, AllowPrivate: f.AllowPrivate, Timeout: timeout, MaxBytes: maxBytes}, limits...)
}

// Scheduler runs every enabled source of a sources file on its adaptive
// schedule, at most Concurrency sources at once, and reloads the file when
// it changes (a file that does not load is reported and the old one kept).
type Scheduler struct {
	Path        string
	Crawler     *Crawler
	Log         *slog.Logger
	Concurrency int                                // sources at once; default 4
	ReloadEvery time.Duration                      // how often the file is checked; default 10s
	OnHealth    func(h Health, statusChanged bool) // after every run (the dashboard's feed)
	OnRun       func(res Result)                   // after every run
	Only        string                             // run only the source of this name

	mu      sync.Mutex
	file    *SourcesFile
	mtime   time.Time
	health  map[string]*Health
	running map[string]bool
	m       *schedMetrics
}

type schedMetrics struct {
	pages, items, errors, runs *prometheus.CounterVec
	status                     *prometheus.GaugeVec
	lastNew, interval          *prometheus.GaugeVec
	warning                    *prometheus.GaugeVec
}

// Register adds the crawler's metrics to reg.
func (s *Scheduler) Register(reg prometheus.Registerer) {
	m := &schedMetrics{
		pages:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yuqing_crawler_pages_total", Help: "Pages fetched, by source."}, []string{"source"}),
		items:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yuqing_crawler_items_total", Help: "New posts emitted, by source."}, []string{"source"}),
		errors:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yuqing_crawler_errors_total", Help: "Fetch and parse errors, by source."}, []string{"source"}),
		runs:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yuqing_crawler_runs_total", Help: "Source runs, by source and outcome."}, []string{"source", "outcome"}),
		status:   prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "yuqing_crawler_source_status", Help: "1 for the source's current status (new, ok, silent, broken)."}, []string{"source", "status"}),
		lastNew:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "yuqing_crawler_source_last_new_timestamp_seconds", Help: "When the source last gave a new item."}, []string{"source"}),
		interval: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "yuqing_crawler_source_interval_seconds", Help: "The source's current adaptive interval."}, []string{"source"}),
		warning:  prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "yuqing_crawler_source_warning", Help: "1 while a source is silent or broken."}, []string{"source"}),
	}
	reg.MustRegister(m.pages, m.items, m.errors, m.runs, m.status, m.lastNew, m.interval, m.warning)
	s.m = m
}

func (s *Scheduler) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

// Load reads the sources file now; Run calls it, and again whenever the
// file changes.
func (s *Scheduler) Load(ctx context.Context) error {
	st, err := os.Stat(s.Path)
	if err != nil {
		return fmt.Errorf("信息源配置 %s: %w", s.Path, err)
	}
	f, err := LoadSources(s.Path)
	if err != nil {
		return err
	}
	fetcher, err := NewFetcherFor(f)
	if err != nil {
		return fmt.Errorf("信息源配置 %s: %w", s.Path, err)
	}
	s.Crawler.SetFetcher(fetcher)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.health == nil {
		s.health, s.running = map[string]*Health{}, map[string]bool{}
	}
	keep := map[string]bool{}
	for i := range f.Sources {
		src := &f.Sources[i]
		if src.Disabled || (s.Only != "" && src.Name != s.Only) {
			continue
		}
		keep[src.Name] = true
		if _, ok := s.health[src.Name]; ok {
			continue
		}
		h, err := s.Crawler.State.LoadHealth(ctx, src.Name)
		if err != nil {
			s.log().Warn("信息源状态无法读取，从头开始", "source", src.Name, "err", err)
		}
		h.evaluate(src.Limits, s.Crawler.now())
		s.health[src.Name] = &h
		s.metric(&h)
	}
	for name := range s.health {
		if !keep[name] {
			delete(s.health, name)
			if s.m != nil {
				s.m.status.DeletePartialMatch(prometheus.Labels{"source": name})
				s.m.warning.DeleteLabelValues(name)
			}
		}
	}
	s.file, s.mtime = f, st.ModTime()
	s.log().Info("信息源已加载", "file", s.Path, "sources", len(keep))
	return nil
}

// Health is every enabled source's health, by name.
func (s *Scheduler) Health() []Health {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Health, 0, len(s.health))
	for _, h := range s.health {
		out = append(out, *h)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Source < out[j].Source })
	return out
}

// Run runs the sources until ctx ends, then waits for runs under way.
func (s *Scheduler) Run(ctx context.Context) error {
	if s.file == nil {
		if err := s.Load(ctx); err != nil {
			return err
		}
	}
	conc := s.Concurrency
	if conc <= 0 {
		conc = 4
	}
	reload := s.ReloadEvery
	if reload <= 0 {
		reload = 10 * time.Second
	}
	sem := make(chan struct{}, conc)
	var wg sync.WaitGroup
	defer wg.Wait()
	lastCheck := time.Now()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		if time.Since(lastCheck) >= reload {
			lastCheck = time.Now()
			if st, err := os.Stat(s.Path); err == nil && !st.ModTime().Equal(s.mtime) {
				if err := s.Load(ctx); err != nil {
					s.log().Error("信息源配置有误，继续使用上一版", "err", err)
					s.mu.Lock()
					s.mtime = st.ModTime() // report once per change
					s.mu.Unlock()
				}
			}
		}
		for _, src := range s.due() {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Add(1)
			go func(src Source) {
				defer func() { <-sem; wg.Done() }()
				s.runOne(ctx, &src)
			}(src)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// due returns the sources whose next run has come, marking them running.
func (s *Scheduler) due() []Source {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.Crawler.now()
	var out []Source
	for _, src := range s.file.Sources {
		h, ok := s.health[src.Name]
		if !ok || s.running[src.Name] || now.Before(h.NextRun) {
			continue
		}
		s.running[src.Name] = true
		out = append(out, src)
	}
	return out
}

func (s *Scheduler) runOne(ctx context.Context, src *Source) {
	res := s.Crawler.RunOnce(ctx, src)
	if ctx.Err() != nil && res.Failed {
		s.mu.Lock()
		delete(s.running, src.Name)
		s.mu.Unlock()
		return // shutting down: not a failure of the source
	}
	s.mu.Lock()
	delete(s.running, src.Name)
	h, ok := s.health[src.Name]
	if !ok { // removed by a reload meanwhile
		s.mu.Unlock()
		return
	}
	before := h.Status
	if !res.Failed && res.Found == 0 && res.NotModified == 0 && h.Items > 0 && (src.Type == TypeHTML || src.Type == TypePortal) {
		// it listed articles before and now finds not one link: most
		// likely a redesign, not a quiet day
		res.Failed = true
		res.Errors = append(res.Errors, "列表页上一篇文章链接也没有找到（网站可能改版，请检查 list 选择器）")
	}
	h.record(res, src.Limits, s.Crawler.now())
	snapshot := *h
	s.mu.Unlock()
	if err := s.Crawler.State.SaveHealth(context.WithoutCancel(ctx), snapshot); err != nil {
		s.log().Warn("保存信息源状态失败", "source", src.Name, "err", err)
	}
	s.metric(&snapshot)
	if s.m != nil {
		s.m.pages.WithLabelValues(src.Name).Add(float64(res.Pages))
		s.m.items.WithLabelValues(src.Name).Add(float64(res.New))
		s.m.errors.WithLabelValues(src.Name).Add(float64(len(res.Errors)))
		outcome := "ok"
		if res.Failed {
			outcome = "failed"
		}
		s.m.runs.WithLabelValues(src.Name, outcome).Inc()
	}
	log := s.log().With("source", src.Name, "pages", res.Pages, "new", res.New, "seen", res.Seen,
		"syndicated", res.Syndicated, "errors", len(res.Errors), "next", snapshot.Interval)
	if res.Failed {
		log.Warn("信息源抓取失败", "err", snapshot.LastError)
	} else {
		log.Info("信息源抓取完成")
	}
	if snapshot.Status != before && (snapshot.Status == StatusSilent || snapshot.Status == StatusBroken) {
		s.log().Warn("信息源告警", "source", src.Name, "status", snapshot.Status, "reason", snapshot.Reason)
	}
	if s.OnRun != nil {
		s.OnRun(res)
	}
	if s.OnHealth != nil {
		s.OnHealth(snapshot, snapshot.Status != before)
	}
}

func (s *Scheduler) metric(h *Health) {
	if s.m == nil {
		return
	}
	for _, st := range []string{StatusNew, StatusOK, StatusSilent, StatusBroken} {
		v := 0.0
		if h.Status == st {
			v = 1
		}
		s.m.status.WithLabelValues(h.Source, st).Set(v)
	}
	warn := 0.0
	if h.Status == StatusSilent || h.Status == StatusBroken {
		warn = 1
	}
	s.m.warning.WithLabelValues(h.Source).Set(warn)
	if !h.LastNew.IsZero() {
		s.m.lastNew.WithLabelValues(h.Source).Set(float64(h.LastNew.Unix()))
	}
	s.m.interval.WithLabelValues(h.Source).Set(h.Interval.Seconds())
}
