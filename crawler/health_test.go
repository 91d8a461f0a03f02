package crawler

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestAdaptiveInterval(t *testing.T) {
	l := Limits{Interval: 10 * time.Minute, MinInterval: 2 * time.Minute, MaxInterval: time.Hour}
	var h Health
	now := time.Date(2026, 12, 1, 9, 0, 0, 0, china)
	steps := []struct {
		res  Result
		want time.Duration
	}{
		{Result{New: 3}, 5 * time.Minute},
		{Result{New: 1}, 150 * time.Second},
		{Result{New: 9}, 2 * time.Minute}, // floor
		{Result{}, 3 * time.Minute},
		{Result{}, 270 * time.Second},
		{Result{Failed: true, Errors: []string{"HTTP 503"}}, 9 * time.Minute},
		{Result{Failed: true}, 18 * time.Minute},
		{Result{Failed: true}, 36 * time.Minute},
		{Result{Failed: true}, time.Hour}, // ceiling
	}
	h.LastSuccess = now // it worked before: one failure is not yet broken
	for i, s := range steps {
		now = now.Add(h.Interval)
		h.record(s.res, l, now)
		if h.Interval != s.want {
			t.Fatalf("step %d: interval %s, want %s", i, h.Interval, s.want)
		}
		if !h.NextRun.Equal(now.Add(s.want)) {
			t.Fatalf("step %d: next run %s", i, h.NextRun)
		}
	}
	if h.Status != StatusBroken || h.ConsecutiveErrors != 4 || !strings.Contains(h.Reason, "连续 4 次") || !strings.Contains(h.Reason, "HTTP 503") {
		t.Fatalf("after four failures: %s %q", h.Status, h.Reason)
	}
	h.record(Result{New: 1}, l, now.Add(time.Hour))
	if h.Status != StatusOK || h.ConsecutiveErrors != 0 || h.LastError != "" {
		t.Fatalf("after recovery: %s %q %q", h.Status, h.Reason, h.LastError)
	}
}

func TestSilentAgainstItsOwnHistory(t *testing.T) {
	l := Limits{Interval: 10 * time.Minute, MinInterval: 2 * time.Minute, MaxInterval: time.Hour}
	var h Health
	now := time.Date(2026, 12, 1, 0, 0, 0, 0, china)
	// a source that gives something every 30 minutes
	for i := 0; i < 20; i++ {
		now = now.Add(30 * time.Minute)
		h.record(Result{New: 2}, l, now)
	}
	if h.MeanGap != 30*time.Minute || h.SilentAfter(l) != 2*time.Hour {
		t.Fatalf("mean gap %s, silent after %s", h.MeanGap, h.SilentAfter(l))
	}
	now = now.Add(90 * time.Minute)
	h.record(Result{}, l, now)
	if h.Status != StatusOK {
		t.Fatalf("90 minutes quiet: %s", h.Status)
	}
	now = now.Add(40 * time.Minute)
	h.record(Result{}, l, now)
	if h.Status != StatusSilent || !strings.Contains(h.Reason, "没有新内容") {
		t.Fatalf("130 minutes quiet: %s %q", h.Status, h.Reason)
	}
	// a configured threshold wins over the history
	l.SilentAfter = 6 * time.Hour
	h.record(Result{}, l, now.Add(time.Minute))
	if h.Status != StatusOK {
		t.Fatalf("with silent_after 6h: %s", h.Status)
	}
	if got := h.ItemsPerDay(now.Add(48 * time.Hour)); got <= 0 {
		t.Errorf("items per day = %v", got)
	}
	// a source that never worked is broken at its first failure
	var fresh Health
	fresh.record(Result{Failed: true, Errors: []string{"no such host"}}, l, now)
	if fresh.Status != StatusBroken || !strings.Contains(fresh.Reason, "从未抓取成功") {
		t.Fatalf("never worked: %s %q", fresh.Status, fresh.Reason)
	}
	// a source that never gave anything is silent a day after its first run
	var never Health
	start := time.Date(2026, 12, 1, 0, 0, 0, 0, china)
	never.record(Result{}, Limits{Interval: time.Hour, MinInterval: time.Hour, MaxInterval: time.Hour}, start)
	never.record(Result{}, Limits{Interval: time.Hour, MinInterval: time.Hour, MaxInterval: time.Hour}, start.Add(25*time.Hour))
	if never.Status != StatusSilent || !strings.Contains(never.Reason, "自首次运行以来") {
		t.Fatalf("never: %s %q", never.Status, never.Reason)
	}
}

func TestSchedulerRunsReloadsAndReports(t *testing.T) {
	s := listSite(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "sources.yaml")
	write := func(body string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		// a distinct modification time even on coarse file systems
		future := time.Now().Add(time.Duration(len(body)) * time.Second)
		_ = os.Chtimes(path, future, future)
	}
	write(`allow_private: ["127.0.0.1/8"]
defaults: {interval: 50ms, min_interval: 50ms, max_interval: 100ms, delay: 0s, max_age: 876000h}
sources:
  - {name: 本地新闻, type: html, url: "` + s.url("/news/") + `", region: 浙江省}
`)
	out := &collect{}
	var mu sync.Mutex
	seen := map[string]Health{}
	reg := prometheus.NewRegistry()
	sched := &Scheduler{
		Path: path, Crawler: &Crawler{State: openState(t, dir), Sink: out}, ReloadEvery: 50 * time.Millisecond,
		OnHealth: func(h Health, _ bool) { mu.Lock(); seen[h.Source] = h; mu.Unlock() },
	}
	sched.Register(reg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sched.Run(ctx) }()
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return seen["本地新闻"].Runs >= 2 })
	// add a broken source; the file is reloaded without a restart
	write(`allow_private: ["127.0.0.1/8"]
defaults: {interval: 50ms, min_interval: 50ms, max_interval: 100ms, delay: 0s, max_age: 876000h}
sources:
  - {name: 本地新闻, type: html, url: "` + s.url("/news/") + `", region: 浙江省}
  - {name: 坏源, type: feed, url: "` + s.url("/missing.xml") + `"}
`)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return seen["坏源"].Status == StatusBroken })
	// a bad edit keeps the running configuration
	write("sources: [{name: x, type: nonsense, url: 'http://x'}]\n")
	time.Sleep(200 * time.Millisecond)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := len(sched.Health()); n != 2 {
		t.Fatalf("sources after a bad edit: %d, want the 2 of the last good file", n)
	}
	if len(out.posts) != 4 {
		t.Errorf("posts = %d, want 4 once each", len(out.posts))
	}
	if v := testutil.ToFloat64(sched.m.warning.WithLabelValues("坏源")); v != 1 {
		t.Errorf("warning metric for the broken source = %v", v)
	}
	if v := testutil.ToFloat64(sched.m.items.WithLabelValues("本地新闻")); v != 4 {
		t.Errorf("items metric = %v", v)
	}
	// health survives a restart
	h, err := sched.Crawler.State.LoadHealth(context.Background(), "坏源")
	if err != nil || h.Status != StatusBroken || h.Runs < 1 || h.FailedRuns != h.Runs {
		t.Fatalf("stored health: %+v, %v", h, err)
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestParseSourcesErrors(t *testing.T) {
	cases := map[string]string{
		"sources: [{type: html, url: 'http://a.cn/'}]":                                                       "name: 不能为空",
		"sources: [{name: a, type: rss, url: 'http://a.cn/'}]":                                               "type",
		"sources: [{name: a, type: html}]":                                                                   "至少需要一个起始地址",
		"sources: [{name: a, type: html, url: 'file:///etc/passwd'}]":                                        "不是 http(s) 绝对地址",
		"sources: [{name: a, type: json, url: 'http://a.cn/api'}]":                                           "json.fields",
		"sources: [{name: a, type: html, url: 'http://a.cn/'}, {name: a, type: feed, url: 'http://a.cn/f'}]": "重复",
		"sources: [{name: a, type: html, url: 'http://a.cn/', colour: red}]":                                 "colour",
		"sources: [{name: a, type: portal, columns: [{url: 'http://a.cn/x', kind: news}]}]":                  "kind",
	}
	for in, want := range cases {
		_, err := ParseSources([]byte(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want it to mention %q", in, err, want)
		}
	}
	f, err := ParseSources([]byte("defaults: {interval: 5m}\nsources: [{name: a, type: html, url: 'http://a.cn/', max_pages: 2}]"))
	if err != nil {
		t.Fatal(err)
	}
	if s := f.Sources[0]; s.Interval != 5*time.Minute || s.MaxPages != 2 || s.MinInterval != 2*time.Minute || s.MaxBytes != 10<<20 {
		t.Errorf("defaults not applied: %+v", s.Limits)
	}
}

func TestRedesignedListIsBroken(t *testing.T) {
	s := listSite(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "sources.yaml")
	if err := os.WriteFile(path, []byte(`allow_private: ["127.0.0.1"]
defaults: {delay: 0s, max_age: 876000h}
sources:
  - {name: 本地新闻, type: html, url: "`+s.url("/news/")+`", list: {links: "ul.list a"}}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var last Health
	sched := &Scheduler{Path: path, Crawler: &Crawler{State: openState(t, dir), Sink: &collect{}},
		OnHealth: func(h Health, _ bool) { last = h }}
	if err := sched.Load(context.Background()); err != nil {
		t.Fatal(err)
	}
	src := sched.file.Sources[0]
	sched.runOne(context.Background(), &src)
	if last.Status != StatusOK || last.Items != 4 {
		t.Fatalf("first run: %+v", last)
	}
	// the site is redesigned: the selector finds nothing any more
	s.html("/news/", `<html><body><div class="new-layout"><a href="/x/1.html">改版后的新闻标题一二三</a></div></body></html>`)
	sched.runOne(context.Background(), &src)
	if last.ConsecutiveErrors != 1 || !strings.Contains(last.LastError, "改版") {
		t.Fatalf("after the redesign: %+v", last)
	}
}
