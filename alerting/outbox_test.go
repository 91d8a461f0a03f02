package alerting

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"yuqing/alerting/notify"
	"yuqing/alerting/orgtree"
	"yuqing/alerting/store"
	"yuqing/alerting/store/sqlitestore"
	"yuqing/domain"
)

// hookServer is a unit's webhook: it counts the messages it receives by
// delivery id.
type hookServer struct {
	*httptest.Server
	mu   sync.Mutex
	msgs []notify.WebhookMessage
}

func newHook(t *testing.T) *hookServer {
	h := &hookServer{}
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var p notify.WebhookPayload
		if err := json.Unmarshal(body, &p); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		h.mu.Lock()
		h.msgs = append(h.msgs, p.Messages...)
		h.mu.Unlock()
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hookServer) received() []notify.WebhookMessage {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.msgs)
}

// channel gives each unit a channel of its own on the hook.
func (h *hookServer) channel(unitID string) notify.ChannelConfig {
	return notify.ChannelConfig{Type: "webhook", URL: h.URL + "/" + unitID, Name: unitID + "值班"}
}

// notices is a WithNotices that tells every unit on its own channel.
func (h *hookServer) notices(n Notice) []store.Notification {
	var tg []notify.Target
	for _, u := range n.Units {
		tg = append(tg, notify.Target{Recipient: u.Name, Channel: h.channel(u.ID)})
	}
	return notify.Outgoing(notify.Message{Key: n.Key, CaseID: n.Case.ID, Grade: n.Case.Grade, Kind: n.Kind, Title: n.Case.Title, Text: n.Note, At: n.At}, tg)
}

// directory knows every unit's channel.
func (h *hookServer) directory() func(string) (notify.ChannelConfig, bool) {
	m := map[string]notify.ChannelConfig{}
	for _, u := range orgtree.MustDefault().Units() {
		m[notify.ChannelRef(h.channel(u.ID))] = h.channel(u.ID)
	}
	return func(ref string) (notify.ChannelConfig, bool) { c, ok := m[ref]; return c, ok }
}

// runNotifier drains st into the hook until the returned stop is called.
func runNotifier(t *testing.T, st store.Outbox, h *hookServer) (stop func()) {
	n := notify.New(notify.Options{
		Outbox: st, Channels: h.directory(), Poll: 10 * time.Millisecond, Lease: time.Second,
		GroupWait: -1, Backoff: time.Millisecond, Logger: slog.New(slog.DiscardHandler),
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = n.Run(ctx) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func outboxKeys(t *testing.T, st store.Store, caseID string) []string {
	t.Helper()
	l, err := st.ListNotifications(context.Background(), store.NotificationFilter{CaseID: caseID, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range l {
		out = append(out, n.Key[:strings.LastIndex(n.Key, "|")])
	}
	return out
}

// TestNoticesWrittenWithTheirActions: a case opened, handed on, reminded
// and overdue writes its notifications to the outbox with the action; a
// moment fired by a second process writes nothing more; a reminder recorded
// late tells nobody.
func TestNoticesWrittenWithTheirActions(t *testing.T) {
	ctx := context.Background()
	h := newHook(t)
	clk := &clock{now: t0}
	st := openStore(t)
	a := New(st, orgtree.MustDefault(), Config{Now: clk.Now}, WithNotices(h.notices))
	c, created, err := a.HandleEvent(ctx, event("e1", domain.GradeIII, 40))
	if err != nil || !created {
		t.Fatal(created, err)
	}
	if k := outboxKeys(t, st, c.ID); !slices.Equal(k, []string{c.ID + "/opened"}) {
		t.Fatalf("after opening: %v", k)
	}
	if _, err := a.Act(ctx, c.ID, ActionRequest{Kind: domain.ActTransfer, Actor: "张三", UnitID: "zhejiang", Note: "涉及多地"}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Act(ctx, c.ID, ActionRequest{Kind: domain.ActSign, Actor: "李四"}); err != nil { // no notice
		t.Fatal(err)
	}
	k := outboxKeys(t, st, c.ID)
	if len(k) != 2 || !strings.HasPrefix(k[1], c.ID+"/transfer/zhejiang/") {
		t.Fatalf("after a transfer and a signature: %v", k)
	}
	// two alerting processes on the store
	b := New(st, orgtree.MustDefault(), Config{Now: clk.Now}, WithNotices(h.notices))
	r1, r2 := startDue(t, a), startDue(t, b)
	clk.Add(25 * time.Hour)
	eventually := func(n int) []string {
		deadline := time.Now().Add(30 * time.Second)
		for len(r1.kinds())+len(r2.kinds()) < n && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(50 * time.Millisecond)
		return append(r1.kinds(), r2.kinds()...)
	}
	if f := eventually(1); len(f) != 1 {
		t.Fatalf("fired %v", f)
	}
	k = outboxKeys(t, st, c.ID)
	if len(k) != 3 || !strings.HasSuffix(k[2], "/remind-1") {
		t.Fatalf("after the first reminder: %v", k)
	}
	clk.Add(24 * time.Hour) // the second reminder is late; the clock is overdue
	if f := eventually(3); len(f) != 3 {
		t.Fatalf("fired %v", f)
	}
	k = outboxKeys(t, st, c.ID)
	// the overdue clock tells the unit and its superior: two channels
	if len(k) != 5 || !strings.HasSuffix(k[3], "/overdue") || k[3] != k[4] {
		t.Fatalf("after the deadline: %v (the late reminder must tell nobody)", k)
	}
}

// TestReminderSentOnceAfterACrash: the alerting process fires a reminder
// and dies before sending it. After the restart its notifier sends it once;
// later notifiers (another restart, another process) never again.
func TestReminderSentOnceAfterACrash(t *testing.T) {
	ctx := context.Background()
	h := newHook(t)
	clk := &clock{now: t0}
	path := filepath.Join(t.TempDir(), "store.db")
	st, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	a := New(st, orgtree.MustDefault(), Config{Now: clk.Now}, WithNotices(h.notices))
	c, _, err := a.HandleEvent(ctx, event("e1", domain.GradeIV, 10))
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(30 * time.Hour)
	r := startDue(t, a)
	waitKinds(t, r, 1)
	r.stop()
	st.Close() // the process dies: nothing was sent
	if len(h.received()) != 0 {
		t.Fatal("sent without a notifier")
	}

	st2, err := sqlitestore.Open(path) // the restart
	if err != nil {
		t.Fatal(err)
	}
	defer st2.Close()
	stop := runNotifier(t, st2, h)
	deadline := time.Now().Add(30 * time.Second)
	for len(h.received()) < 2 && time.Now().Before(deadline) { // the case opened, and its reminder
		time.Sleep(5 * time.Millisecond)
	}
	stop()
	stop = runNotifier(t, st2, h) // another restart
	time.Sleep(100 * time.Millisecond)
	stop()
	got := h.received()
	var kinds []string
	for _, m := range got {
		kinds = append(kinds, m.Kind)
	}
	slices.Sort(kinds)
	if !slices.Equal(kinds, []string{"opened", "remind"}) {
		t.Fatalf("received %v, want the opening and the reminder once each", kinds)
	}
	full, err := st2.GetCase(ctx, c.ID)
	if err != nil {
		t.Fatal(err)
	}
	var trail []string
	for _, act := range full.Actions {
		trail = append(trail, act.Kind)
	}
	if !slices.Equal(trail, []string{"open", "remind", "notify", "notify"}) {
		t.Errorf("trail %v", trail)
	}
}
