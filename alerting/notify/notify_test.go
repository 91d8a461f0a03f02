package notify

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yuqing/domain"
)

func TestRetry(t *testing.T) {
	const (
		dtOK   = `{"errcode":0,"errmsg":"ok"}`
		dtRate = `{"errcode":130101,"errmsg":"send too fast, exceed 20 times per minute"}`
	)
	for _, tc := range []struct {
		name     string
		typ      string
		replies  []reply
		retries  int
		ok       bool
		attempts int
		errHas   string
	}{
		{"webhook 503 twice then OK", "webhook", []reply{{503, "busy"}, {503, "busy"}, {200, "ok"}}, 0, true, 3, ""},
		{"webhook 400 is final", "webhook", []reply{{400, "bad payload"}}, 0, false, 1, "HTTP 400: bad payload"},
		{"webhook 404 is final", "webhook", []reply{{404, "no such hook"}}, 0, false, 1, "HTTP 404"},
		{"webhook 429 is retried", "webhook", []reply{{429, "slow down"}, {200, "ok"}}, 0, true, 2, ""},
		{"webhook 500 until retries are spent", "webhook", []reply{{500, "down"}}, 2, false, 3, "HTTP 500"},
		{"dingtalk 130101 then 0", "dingtalk", []reply{{200, dtRate}, {200, dtOK}}, 0, true, 2, ""},
		{"dingtalk other errcode is final", "dingtalk", []reply{{200, `{"errcode":310000,"errmsg":"keywords not in content"}`}}, 0, false, 1, "code 310000"},
		{"dingtalk answer not JSON is final", "dingtalk", []reply{{200, `<html>portal</html>`}}, 0, false, 1, "unexpected answer"},
		{"wecom 45009 then 0", "wecom", []reply{{200, `{"errcode":45009,"errmsg":"api freq out of limit"}`}, {200, dtOK}}, 0, true, 2, ""},
		{"wecom 93000 is final", "wecom", []reply{{200, `{"errcode":93000,"errmsg":"invalid webhook url"}`}}, 0, false, 1, "code 93000"},
		{"feishu 11232 then 0", "feishu", []reply{{200, `{"code":11232,"msg":"frequency limited"}`}, {200, `{"code":0}`}}, 0, true, 2, ""},
		{"feishu 11232 with HTTP 400 still retried", "feishu", []reply{{400, `{"code":11232,"msg":"frequency limited"}`}, {200, `{"code":0}`}}, 0, true, 2, ""},
		{"feishu 502 retried", "feishu", []reply{{502, `bad gateway`}, {200, `{"StatusCode":0}`}}, 0, true, 2, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.replies...)
			opt, rec := testOptions(t)
			opt.Retries = tc.retries
			n := start(t, opt)
			n.Send(context.Background(), msg("r1", domain.GradeI), []Target{target("zj", tc.typ, s.URL)})
			d := rec.wait(t, 1)[0]
			if d.OK != tc.ok || d.Attempts != tc.attempts || !strings.Contains(d.Error, tc.errHas) {
				t.Fatalf("delivery %+v", d)
			}
			if tc.ok != (d.Error == "") {
				t.Errorf("error %q with ok=%v", d.Error, d.OK)
			}
			if got := len(s.requests()); got != tc.attempts {
				t.Errorf("%d requests, want %d", got, tc.attempts)
			}
		})
	}
}

func TestBackoffDoubles(t *testing.T) {
	s := newServer(t, reply{503, "busy"}, reply{503, "busy"}, reply{503, "busy"}, reply{200, "ok"})
	var mu sync.Mutex
	var at []time.Time
	s.hook = func(*http.Request, []byte) {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
	}
	opt, rec := testOptions(t)
	opt.Backoff = 20 * time.Millisecond
	n := start(t, opt)
	n.Send(context.Background(), msg("b1", domain.GradeI), []Target{target("zj", "webhook", s.URL)})
	if d := rec.wait(t, 1)[0]; !d.OK || d.Attempts != 4 {
		t.Fatalf("%+v", d)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, min := range []time.Duration{20, 40, 80} {
		if gap := at[i+1].Sub(at[i]); gap < min*time.Millisecond {
			t.Errorf("wait %d: %v, want ≥ %v ms", i+1, gap, min)
		}
	}
}

func TestErrorsDoNotLeakTokens(t *testing.T) {
	opt, rec := testOptions(t)
	opt.Retries = -1
	n := start(t, opt)
	n.Send(context.Background(), msg("t1", domain.GradeI), []Target{
		target("a", "dingtalk", "http://127.0.0.1:1/robot/send?access_token=TOPSECRET"),
		target("b", "feishu", "http://127.0.0.1:1/open-apis/bot/v2/hook/TOPSECRET"),
	})
	for _, d := range rec.wait(t, 2) {
		if d.OK || d.Attempts != 1 || strings.Contains(d.Error, "TOPSECRET") || !strings.Contains(d.Error, "127.0.0.1:1") {
			t.Errorf("%+v", d)
		}
	}
}

func TestGrouping(t *testing.T) {
	s := newServer(t, reply{200, "ok"})
	opt, rec := testOptions(t)
	opt.GroupWait = 200 * time.Millisecond
	n := start(t, opt)
	for i := range 5 {
		n.Send(context.Background(), msg("g"+strconv.Itoa(i), domain.GradeIV), []Target{target("zj", "webhook", s.URL)})
	}
	ds := rec.wait(t, 5)
	reqs := s.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d requests, want 1", len(reqs))
	}
	var p WebhookPayload
	if err := json.Unmarshal(reqs[0].body, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Messages) != 5 || p.Messages[0].Key != "g0" || p.Messages[4].Key != "g4" {
		t.Fatalf("payload %+v", p)
	}
	for _, d := range ds {
		if !d.OK || d.Grouped != 5 {
			t.Errorf("%+v", d)
		}
	}
}

func TestMajorBypassesGroupWait(t *testing.T) {
	s := newServer(t, reply{200, "ok"})
	opt, rec := testOptions(t)
	opt.GroupWait = time.Hour
	n := New(opt)
	stop := run(t, n)
	tg := []Target{target("zj", "webhook", s.URL)}
	n.Send(context.Background(), msg("minor", domain.GradeIV), tg)
	n.Send(context.Background(), msg("major", domain.GradeII), tg)
	ds := rec.wait(t, 1)
	if ds[0].Key != "major" || !ds[0].OK || ds[0].Grouped != 1 {
		t.Fatalf("%+v", ds[0])
	}
	time.Sleep(50 * time.Millisecond)
	if len(rec.all()) != 1 {
		t.Fatalf("the grade IV message did not wait: %+v", rec.all())
	}
	// Stopping flushes the group.
	stop()
	ds = rec.all()
	if len(ds) != 2 || ds[1].Key != "minor" || !ds[1].OK {
		t.Fatalf("after stop: %+v", ds)
	}
}

func TestGroupCap(t *testing.T) {
	s := newServer(t)
	opt, rec := testOptions(t)
	opt.GroupWait = time.Hour
	n := New(opt)
	stop := run(t, n)
	for i := range 45 {
		n.Send(context.Background(), msg("c"+strconv.Itoa(i), domain.GradeIII), []Target{target("zj", "dingtalk", s.URL)})
	}
	rec.wait(t, 40)
	if got := len(s.requests()); got != 2 {
		t.Fatalf("%d posts before the wait is over, want 2 full groups", got)
	}
	stop()
	ds := rec.all()
	for _, d := range ds {
		if !d.OK {
			t.Fatalf("%+v", d)
		}
	}
	if len(ds) != 45 || ds[44].Grouped != 5 || ds[0].Grouped != 20 {
		t.Fatalf("%d deliveries: first %+v last %+v", len(ds), ds[0], ds[len(ds)-1])
	}
	if got := len(s.requests()); got != 3 {
		t.Fatalf("%d posts, want 3", got)
	}
}

func TestDedup(t *testing.T) {
	type send struct {
		key     string
		targets []string // recipient:type:path
	}
	for _, tc := range []struct {
		name       string
		sends      []send
		advance    time.Duration // clock step between sends
		replies    []reply
		posts      int
		deliveries int
	}{
		{"same key twice", []send{{"k", []string{"zj:webhook:/a"}}, {"k", []string{"zj:webhook:/a"}}}, 0, nil, 1, 1},
		{"two keys", []send{{"k1", []string{"zj:webhook:/a"}}, {"k2", []string{"zj:webhook:/a"}}}, 0, nil, 2, 2},
		{"two recipients share one group", []send{{"k", []string{"nb:dingtalk:/g", "zj:dingtalk:/g"}}}, 0, nil, 1, 1},
		{"shared group across sends", []send{{"k", []string{"nb:dingtalk:/g"}}, {"k", []string{"zj:dingtalk:/g"}}}, 0, nil, 1, 1},
		{"one recipient, two channels", []send{{"k", []string{"zj:dingtalk:/g", "zj:webhook:/a"}}}, 0, nil, 2, 2},
		{"after the window", []send{{"k", []string{"zj:webhook:/a"}}, {"k", []string{"zj:webhook:/a"}}}, 25 * time.Hour, nil, 2, 2},
		{"failure frees the key", []send{{"k", []string{"zj:webhook:/a"}}, {"k", []string{"zj:webhook:/a"}}}, 0, []reply{{400, "no"}, {200, "ok"}}, 2, 2},
		{"empty key is never deduplicated", []send{{"", []string{"zj:webhook:/a"}}, {"", []string{"zj:webhook:/a"}}}, 0, nil, 2, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(t, tc.replies...)
			clock := &fakeClock{t: time.Date(2025, 3, 1, 10, 0, 0, 0, China)}
			opt, rec := testOptions(t)
			opt.Now = clock.Now
			n := start(t, opt)
			for i, sd := range tc.sends {
				var tg []Target
				for _, spec := range sd.targets {
					f := strings.SplitN(spec, ":", 3)
					tg = append(tg, Target{Recipient: f[0], Channel: ChannelConfig{Type: f[1], URL: s.URL + f[2], Name: f[0] + "群"}})
				}
				m := msg(sd.key, domain.GradeI)
				n.Send(context.Background(), m, tg)
				rec.wait(t, min(i+1, tc.deliveries)) // sequential: the first outcome is known before the second send
				clock.Set(clock.Now().Add(tc.advance))
			}
			time.Sleep(30 * time.Millisecond)
			if got := len(s.requests()); got != tc.posts {
				t.Errorf("%d posts, want %d", got, tc.posts)
			}
			ds := rec.all()
			if len(ds) != tc.deliveries {
				t.Errorf("%d deliveries, want %d: %+v", len(ds), tc.deliveries, ds)
			}
			if tc.name == "two recipients share one group" && !slices.Equal(ds[0].Recipients, []string{"nb", "zj"}) {
				t.Errorf("recipients %v", ds[0].Recipients)
			}
		})
	}
}

func TestQuietHours(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 3, 1, 23, 0, 0, 0, China)}
	s := newServer(t, reply{200, "ok"})
	opt, rec := testOptions(t)
	opt.Now = clock.Now
	opt.QuietHours = &QuietHours{From: "22:00", To: "07:00"}
	opt.Dashboard = func(Message) {}
	n := start(t, opt)
	tg := []Target{target("zj", "webhook", s.URL)}
	n.Send(context.Background(), msg("minor", domain.GradeIV), tg)
	n.Send(context.Background(), msg("ungraded", domain.GradeNone), tg)
	n.Send(context.Background(), msg("major", domain.GradeI), tg)
	n.Send(context.Background(), msg("board", domain.GradeIV), []Target{{Recipient: "zj", Channel: ChannelConfig{Type: "dashboard"}}})

	ds := rec.wait(t, 2)
	keys := []string{ds[0].Key, ds[1].Key}
	slices.Sort(keys)
	if !slices.Equal(keys, []string{"board", "major"}) {
		t.Fatalf("delivered at 23:00: %+v", ds)
	}
	settle := func() { time.Sleep(60 * time.Millisecond) } // longer than GroupWait
	settle()
	if got := len(rec.all()); got != 2 {
		t.Fatalf("%d deliveries at 23:00, want 2", got)
	}

	clock.Set(time.Date(2025, 3, 2, 6, 59, 0, 0, China))
	n.kick()
	settle()
	if got := len(rec.all()); got != 2 {
		t.Fatalf("%d deliveries at 06:59, want 2", got)
	}

	clock.Set(time.Date(2025, 3, 2, 7, 0, 0, 0, China))
	n.kick()
	ds = rec.wait(t, 4)
	if ds[2].Key != "minor" || ds[3].Key != "ungraded" || ds[2].Grouped != 2 || !ds[2].OK {
		t.Fatalf("after 07:00: %+v", ds[2:])
	}
	if got := len(s.requests()); got != 2 {
		t.Errorf("%d posts, want 2 (major, then the held two together)", got)
	}
}

func TestQuietHoursWakeWithoutKick(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 3, 1, 23, 0, 0, 0, China)}
	s := newServer(t, reply{200, "ok"})
	opt, rec := testOptions(t)
	opt.Now = clock.Now
	opt.QuietHours = &QuietHours{From: "22:00", To: "07:00"}
	n := start(t, opt, func(n *Notifier) { n.recheck = 5 * time.Millisecond })
	n.Send(context.Background(), msg("minor", domain.GradeIV), []Target{target("zj", "webhook", s.URL)})
	time.Sleep(30 * time.Millisecond)
	if len(rec.all()) != 0 {
		t.Fatal("delivered during quiet hours")
	}
	clock.Set(time.Date(2025, 3, 2, 7, 0, 1, 0, China))
	if d := rec.wait(t, 1)[0]; d.Key != "minor" || !d.OK {
		t.Fatalf("%+v", d)
	}
}

func TestSendDoesNotWaitForTheNetwork(t *testing.T) {
	s := newServer(t, reply{200, "ok"})
	release := make(chan struct{})
	s.hook = func(*http.Request, []byte) { <-release }
	var once bool
	t.Cleanup(func() {
		if !once {
			close(release)
		}
	})
	opt, rec := testOptions(t)
	n := start(t, opt)
	tg := []Target{target("zj", "webhook", s.URL)}
	begin := time.Now()
	for i := range 50 {
		n.Send(context.Background(), msg("s"+strconv.Itoa(i), domain.GradeI), tg)
	}
	if d := time.Since(begin); d > time.Second {
		t.Fatalf("Send took %v while the receiver hangs", d)
	}
	once = true
	close(release)
	ds := rec.wait(t, 50)
	for _, d := range ds {
		if !d.OK {
			t.Fatalf("%+v", d)
		}
	}
}

func TestSendBlocksWhenTheQueueIsFull(t *testing.T) {
	s := newServer(t, reply{200, "ok"})
	opt, rec := testOptions(t)
	opt.QueueSize = 1
	n := New(opt)
	tg := []Target{target("zj", "webhook", s.URL)}
	n.Send(context.Background(), msg("q1", domain.GradeI), tg) // queued; Run not started

	// A Send whose context ends while it waits gives up and says so.
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	begin := time.Now()
	n.Send(ctx, msg("q2", domain.GradeI), tg)
	cancel()
	if d := time.Since(begin); d < 50*time.Millisecond {
		t.Fatalf("Send returned after %v on a full queue", d)
	}
	if ds := rec.all(); len(ds) != 1 || ds[0].Key != "q2" || ds[0].OK || ds[0].Attempts != 0 || !strings.Contains(ds[0].Error, "not queued") {
		t.Fatalf("%+v", ds)
	}

	// A blocked Send goes through once Run drains the queue; the key freed by the failure is sent.
	done := make(chan struct{})
	go func() {
		n.Send(context.Background(), msg("q2", domain.GradeI), tg)
		close(done)
	}()
	select {
	case <-done:
		t.Fatal("Send did not block on a full queue")
	case <-time.After(30 * time.Millisecond):
	}
	run(t, n)
	<-done
	ds := rec.wait(t, 3)
	if !ds[1].OK || !ds[2].OK {
		t.Fatalf("%+v", ds)
	}
}

func TestRunStopsOnCancel(t *testing.T) {
	s := newServer(t, reply{200, "ok"})
	release := make(chan struct{})
	inflight := make(chan struct{}, 1)
	s.hook = func(*http.Request, []byte) {
		select {
		case inflight <- struct{}{}:
		default:
		}
		<-release
	}
	t.Cleanup(func() { close(release) })
	opt, rec := testOptions(t)
	n := New(opt)
	n.flushTimeout = 100 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	n.Send(context.Background(), msg("h1", domain.GradeI), []Target{target("zj", "webhook", s.URL)})
	n.Send(context.Background(), msg("h2", domain.GradeI), []Target{target("zj", "webhook", s.URL)})
	<-inflight // h1 is in flight: Run is running
	over, end := context.WithCancel(context.Background())
	end()
	if err := n.Run(over); err == nil {
		t.Error("a second Run was accepted")
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
	ds := rec.all()
	if len(ds) != 2 || ds[0].OK || ds[1].OK || ds[0].Error == "" {
		t.Fatalf("hung deliveries should be reported as failed: %+v", ds)
	}
	// Run can start again.
	stop := run(t, n)
	stop()
}

func TestBadChannels(t *testing.T) {
	opt, rec := testOptions(t)
	n := start(t, opt)
	n.Send(context.Background(), msg("bad", domain.GradeI), []Target{
		{Recipient: "a", Channel: ChannelConfig{Type: "pigeon"}},
		{Recipient: "b", Channel: ChannelConfig{Type: "webhook"}},
		{Recipient: "c", Channel: ChannelConfig{Type: "dingtalk", URL: "ftp://x/y"}},
		{Recipient: "d", Channel: ChannelConfig{Type: "email", To: []string{"x@example.gov.cn"}}}, // no SMTP
		{Recipient: "e", Channel: ChannelConfig{Type: "email", To: []string{"x@example.gov.cn\r\nBcc: y@z"}}},
		{Recipient: "f", Channel: ChannelConfig{Type: "dashboard"}}, // no Options.Dashboard
	})
	ds := rec.wait(t, 6)
	for _, d := range ds {
		if d.OK || d.Attempts != 0 || d.Error == "" {
			t.Errorf("%+v", d)
		}
	}
}

func TestDashboardAndMetrics(t *testing.T) {
	s := newServer(t, reply{400, "no"})
	reg := prometheus.NewRegistry()
	opt, rec := testOptions(t)
	opt.Registerer = reg
	opt.GroupWait = time.Hour
	var got []Message
	opt.Dashboard = func(m Message) { got = append(got, m) }
	n := start(t, opt)
	New(opt) // a second notifier on the same registry reuses the counters
	n.Send(context.Background(), msg("m1", domain.GradeIV), []Target{
		{Recipient: "zj", Channel: ChannelConfig{Type: "dashboard"}},
		target("zj", "webhook", s.URL),
	})
	n.Send(context.Background(), msg("m2", domain.GradeI), []Target{target("zj", "webhook", s.URL)})
	rec.wait(t, 2)
	if len(got) != 1 || got[0].Key != "m1" {
		t.Fatalf("dashboard got %+v", got)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			vals[mf.GetName()+"/"+m.GetLabel()[0].GetValue()] = m.GetCounter().GetValue()
		}
	}
	if vals["yuqing_notify_sent_total/dashboard"] != 1 || vals["yuqing_notify_failed_total/webhook"] != 1 {
		t.Fatalf("metrics %v", vals)
	}
}
