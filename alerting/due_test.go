package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yuqing/alerting/notify"
	"yuqing/alerting/orgtree"
	"yuqing/alerting/store"
	"yuqing/alerting/store/sqlitestore"
	"yuqing/domain"
)

// runDue runs RunDue in the background and collects what fires.
type dueRun struct {
	mu    sync.Mutex
	fired []Fired
	stop  func()
}

func startDue(t *testing.T, a *Alerter) *dueRun {
	t.Helper()
	r := &dueRun{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = a.RunDue(ctx, 10*time.Millisecond, func(f Fired) {
			r.mu.Lock()
			r.fired = append(r.fired, f)
			r.mu.Unlock()
		})
	}()
	r.stop = func() { cancel(); <-done }
	t.Cleanup(r.stop)
	return r
}

func (r *dueRun) kinds() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, f := range r.fired {
		out = append(out, f.Due.Clock+"/"+f.Action.Kind)
	}
	return out
}

func waitKinds(t *testing.T, r *dueRun, n int) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for len(r.kinds()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("fired %v, want %d", r.kinds(), n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond) // and nothing more
	return r.kinds()
}

func TestRemindersAndOverdueFireOnceEach(t *testing.T) {
	a, clk, st := newAlerter(t, Config{})
	c, created, err := a.HandleEvent(context.Background(), event("e1", domain.GradeIII, 40))
	if err != nil || !created {
		t.Fatal(created, err)
	}
	if len(c.Clocks) != 1 || len(c.Clocks[0].Reminders) != 2 || c.Clocks[0].Source == "" {
		t.Fatalf("clocks from the policy: %+v", c.Clocks)
	}
	r := startDue(t, a)
	time.Sleep(50 * time.Millisecond)
	if k := r.kinds(); len(k) != 0 {
		t.Fatalf("fired before anything was due: %v", k)
	}
	clk.Add(25 * time.Hour) // past half of 48h
	if k := waitKinds(t, r, 1); !slices.Equal(k, []string{"response/remind"}) {
		t.Fatalf("after 25h: %v", k)
	}
	clk.Add(24 * time.Hour) // past four-fifths and the deadline
	k := waitKinds(t, r, 3)
	if !slices.Equal(k, []string{"response/remind", "response/remind", "response/overdue"}) {
		t.Fatalf("after 49h: %v", k)
	}
	r.mu.Lock()
	last := r.fired[2]
	r.mu.Unlock()
	if len(last.Notify) != 2 || last.Notify[1].ID != "zhejiang" || !strings.Contains(last.Action.Note, "已通报上级单位") {
		t.Errorf("overdue escalation: notify %v, note %q", last.Notify, last.Action.Note)
	}
	full, err := st.GetCase(context.Background(), c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, act := range full.Actions {
		trail = append(trail, act.Kind)
	}
	if !slices.Equal(trail, []string{"open", "remind", "remind", "overdue"}) {
		t.Errorf("trail = %v", trail)
	}
}

func TestRestartAndSecondProcessFireOnce(t *testing.T) {
	a, clk, st := newAlerter(t, Config{})
	if _, _, err := a.HandleEvent(context.Background(), event("e1", domain.GradeIV, 10)); err != nil {
		t.Fatal(err)
	}
	clk.Add(30 * time.Hour) // the first reminder is pending
	// two processes on one store (or one before and one after a restart)
	b := New(st, orgtree.MustDefault(), Config{Now: clk.Now})
	r1, r2 := startDue(t, a), startDue(t, b)
	deadline := time.Now().Add(30 * time.Second)
	for len(r1.kinds())+len(r2.kinds()) < 1 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	r1.stop()
	// a restart: a new alerter on the same store
	c := New(st, orgtree.MustDefault(), Config{Now: clk.Now})
	r3 := startDue(t, c)
	time.Sleep(100 * time.Millisecond)
	r2.stop()
	r3.stop()
	if n := len(r1.kinds()) + len(r2.kinds()) + len(r3.kinds()); n != 1 {
		t.Fatalf("the reminder fired %d times (%v %v %v)", n, r1.kinds(), r2.kinds(), r3.kinds())
	}
}

func TestStoppedClockAndRegradeReschedule(t *testing.T) {
	ctx := context.Background()
	a, clk, st := newAlerter(t, Config{})
	c, _, err := a.HandleEvent(ctx, event("e1", domain.GradeIII, 40))
	if err != nil {
		t.Fatal(err)
	}
	// regraded to II by the analyzer: 5h and 24h clocks from the same start
	if c, _, err = a.HandleEvent(ctx, event("e1", domain.GradeII, 90)); err != nil || len(c.Clocks) != 2 {
		t.Fatalf("regrade: %+v %v", c.Clocks, err)
	}
	due, err := st.DueBefore(ctx, t0.Add(100*time.Hour), 100)
	if err != nil {
		t.Fatal(err)
	}
	var clocks []string
	for _, d := range due {
		clocks = append(clocks, d.Clock)
	}
	sort.Strings(clocks)
	clocks = slices.Compact(clocks)
	if !slices.Equal(clocks, []string{domain.ClockRelease, domain.ClockConference}) {
		t.Fatalf("after the regrade the moments belong to %v", clocks)
	}
	// the authoritative release is published: its clock stops, its moments go
	if _, err := a.Act(ctx, c.ID, ActionRequest{Kind: domain.ActRespond, Actor: "张三", EvidenceURL: "https://www.ningbo.gov.cn/art/1.html"}); err != nil {
		t.Fatal(err)
	}
	r := startDue(t, a)
	clk.Add(30 * time.Hour)
	k := waitKinds(t, r, 3) // only the press conference's two reminders and its deadline
	for _, kind := range k {
		if !strings.HasPrefix(kind, domain.ClockConference+"/") {
			t.Fatalf("a stopped clock fired: %v", k)
		}
	}
	// closed: nothing more; reopened: its running clocks are scheduled again
	if _, err := a.Act(ctx, c.ID, ActionRequest{Kind: domain.ActClose, Actor: "张三", Note: "已处置"}); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.NextDue(ctx); ok {
		t.Fatal("a closed case still has moments")
	}
}

func TestDurationZh(t *testing.T) {
	for d, want := range map[time.Duration]string{0: "0分钟", 45 * time.Minute: "45分钟", 2 * time.Hour: "2小时", 150 * time.Minute: "2小时30分"} {
		if got := durationZh(d); got != want {
			t.Errorf("durationZh(%s) = %q, want %q", d, got, want)
		}
	}
}

// BenchmarkDueLatency opens 10,000 cases (grade IV, 48h clocks) whose
// deadlines fall one after another over 20 seconds, runs RunDue on the
// SQLite store while the clock runs through them, and reports how late
// after each deadline its overdue action was recorded (p50, p99, max).
// The clock is real time shifted so that the first deadline comes one
// second after RunDue starts. Run it with -benchtime 1x: one pass is the
// measurement.
func BenchmarkDueLatency(b *testing.B) { benchDueLatency(b, false) }

// BenchmarkDueLatencyOutbox is BenchmarkDueLatency with the notifications:
// each overdue action writes its outbox row in its transaction, and a
// notifier drains the outbox into a local webhook meanwhile (the product's
// path, sharing the one SQLite writer). It reports the same figures, and
// from each deadline to its message at the webhook (sent-p50-ms,
// sent-p99-ms; grade IV messages are grouped for 2 s as in the product).
func BenchmarkDueLatencyOutbox(b *testing.B) { benchDueLatency(b, true) }

func benchDueLatency(b *testing.B, outbox bool) {
	const cases, spread = 10_000, 20 * time.Second
	st, err := sqlitestore.Open(filepath.Join(b.TempDir(), "store.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	first := time.Date(2026, 1, 5, 9, 0, 0, 0, time.UTC) // the first deadline
	var mu sync.Mutex
	fixed, shift := time.Time{}, time.Duration(0)
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		if !fixed.IsZero() {
			return fixed
		}
		return time.Now().Add(shift)
	}
	set := func(t time.Time, d time.Duration) { mu.Lock(); fixed, shift = t, d; mu.Unlock() }
	var opts []Option
	var measuring atomic.Bool // only the deadlines write notifications
	var hook *httptest.Server
	var received sync.Map // key → when the webhook got it
	var got atomic.Int64
	ch := notify.ChannelConfig{Type: "webhook", Name: "基准"}
	if outbox {
		hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			at := now()
			var p notify.WebhookPayload
			if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
				http.Error(w, err.Error(), 400)
				return
			}
			for _, m := range p.Messages {
				if _, dup := received.LoadOrStore(m.Key, at); !dup {
					got.Add(1)
				}
			}
			w.WriteHeader(http.StatusNoContent)
		}))
		defer hook.Close()
		ch.URL = hook.URL
		opts = append(opts, WithNotices(func(n Notice) []store.Notification {
			if !measuring.Load() {
				return nil
			}
			var tg []notify.Target
			for _, u := range n.Units {
				tg = append(tg, notify.Target{Recipient: u.Name, Channel: ch})
			}
			return notify.Outgoing(notify.Message{Key: n.Key, CaseID: n.Case.ID, Grade: n.Case.Grade, Kind: n.Kind, Title: n.Case.Title, Text: n.Note, At: n.At}, tg)
		}))
	}
	a := New(st, orgtree.MustDefault(), Config{Now: now}, opts...)
	ctx := context.Background()
	for i := 0; i < cases; i++ {
		set(first.Add(time.Duration(i)*spread/cases).Add(-48*time.Hour), 0)
		if _, _, err := a.HandleEvent(ctx, event(fmt.Sprintf("e%05d", i), domain.GradeIV, 10)); err != nil {
			b.Fatal(err)
		}
	}
	// the reminders lie before the first deadline: fire them first
	set(first.Add(-time.Millisecond), 0)
	if _, err := a.fireDue(ctx, nil); err != nil {
		b.Fatal(err)
	}
	var lat []time.Duration
	dueAt := map[string]time.Time{}
	done := make(chan struct{})
	runCtx, cancel := context.WithCancel(ctx)
	var nt *notify.Notifier
	notified := make(chan struct{})
	if outbox {
		measuring.Store(true)
		nt = notify.New(notify.Options{Outbox: st, Now: now, Logger: slog.New(slog.DiscardHandler),
			Channels: func(string) (notify.ChannelConfig, bool) { return ch, true }})
		go func() { _ = nt.Run(runCtx); close(notified) }()
	}
	b.ResetTimer()
	set(time.Time{}, first.Add(-time.Second).Sub(time.Now()))
	go func() {
		_ = a.RunDue(runCtx, time.Second, func(f Fired) {
			if f.Due.Kind == domain.DueOverdue {
				lat = append(lat, now().Sub(f.Due.At))
				dueAt[f.Due.Key] = f.Due.At
				if nt != nil {
					nt.Wake()
				}
				if len(lat) == cases {
					close(done)
				}
			}
		})
	}()
	select {
	case <-done:
	case <-time.After(spread + time.Minute):
		b.Errorf("only %d of %d deadlines fired", len(lat), cases)
	}
	if outbox {
		deadline := time.Now().Add(time.Minute)
		for got.Load() < cases && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
	}
	cancel()
	if outbox {
		<-notified
	}
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) == 0 {
		return
	}
	q := func(l []time.Duration, p float64) float64 { return l[int(p*float64(len(l)-1))].Seconds() * 1000 }
	b.ReportMetric(q(lat, 0.5), "p50-ms")
	b.ReportMetric(q(lat, 0.99), "p99-ms")
	b.ReportMetric(lat[len(lat)-1].Seconds()*1000, "max-ms")
	b.ReportMetric(float64(cases)/spread.Seconds(), "deadlines/s")
	if outbox {
		var sent []time.Duration
		received.Range(func(k, v any) bool {
			if due, ok := dueAt[k.(string)]; ok {
				sent = append(sent, v.(time.Time).Sub(due))
			}
			return true
		})
		if len(sent) < cases {
			b.Errorf("%d of %d overdue messages reached the webhook", len(sent), cases)
		}
		if len(sent) == 0 {
			return
		}
		slices.Sort(sent)
		b.ReportMetric(q(sent, 0.5), "sent-p50-ms")
		b.ReportMetric(q(sent, 0.99), "sent-p99-ms")
	}
}
