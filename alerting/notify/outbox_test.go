package notify

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"yuqing/alerting/store"
	"yuqing/alerting/store/sqlitestore"
	"yuqing/alerting/store/storetest"
	"yuqing/domain"
)

// openOutbox opens a SQLite store at path (a second Open of the same path is
// a second process on the same store).
func openOutbox(t testing.TB, path string) *sqlitestore.Store {
	t.Helper()
	st, err := sqlitestore.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func directory(chs ...ChannelConfig) func(string) (ChannelConfig, bool) {
	m := map[string]ChannelConfig{}
	for _, c := range chs {
		m[ChannelRef(c)] = c
	}
	return func(ref string) (ChannelConfig, bool) { c, ok := m[ref]; return c, ok }
}

// outboxOptions gives fast options draining st, which knows chs.
func outboxOptions(t testing.TB, st store.Outbox, chs ...ChannelConfig) (Options, *recorder) {
	opt, rec := testOptions(t)
	opt.Outbox, opt.Channels = st, directory(chs...)
	opt.Lease, opt.Poll = 300*time.Millisecond, 20*time.Millisecond
	return opt, rec
}

// fireCase stores a case whose opening writes msg for targets to the
// outbox, as alerting does: the rows exist exactly when the case does.
func fireCase(t testing.TB, st store.Store, id string, msg Message, targets []Target) []store.Notification {
	t.Helper()
	msg.CaseID = id
	rows := Outgoing(msg, targets)
	cs := storetest.SampleCase(id, "ev-"+id, msg.At)
	if _, created, err := st.CreateCase(context.Background(), cs, domain.Action{Kind: domain.ActOpen, Actor: SystemActor, At: msg.At}, rows...); err != nil || !created {
		t.Fatalf("CreateCase %s: %v %v", id, created, err)
	}
	return rows
}

// deliveries counts the delivery ids a webhook received, and checks that
// the header lists the body's.
func deliveries(t testing.TB, s *server) map[string]int {
	t.Helper()
	got := map[string]int{}
	for i, r := range s.requests() {
		var p WebhookPayload
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatalf("body %s: %v", r.body, err)
		}
		var ids []string
		for _, m := range p.Messages {
			ids = append(ids, m.Delivery)
		}
		if h := r.header.Get(HeaderDelivery); h != strings.Join(ids, ",") {
			t.Errorf("%s %q, body's ids %v", HeaderDelivery, h, ids)
		}
		if s.replies[min(i+1, len(s.replies))-1].status == 200 {
			for _, id := range ids {
				got[id]++
			}
		}
	}
	return got
}

func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func rowsOf(t testing.TB, st store.Outbox, status string) []store.Notification {
	t.Helper()
	l, err := st.ListNotifications(context.Background(), store.NotificationFilter{Status: status, Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func notes(t testing.TB, st store.Store, caseID string) []string {
	t.Helper()
	c, err := st.GetCase(context.Background(), caseID)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, a := range c.Actions {
		if a.Kind == domain.ActNotify {
			out = append(out, a.Note)
		}
	}
	return out
}

// TestOutboxCrashBetweenFiringAndSending: a reminder fired and its
// notifications written, then the process died before sending anything —
// and another one died after claiming a row but before sending it. A new
// notifier on the same store sends each once, the claimed one once the dead
// claimer's lease has run out, and records each on its case.
func TestOutboxCrashBetweenFiringAndSending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	st := openOutbox(t, path)
	s := newServer(t, reply{200, "ok"})
	hook := ChannelConfig{Type: "webhook", URL: s.URL + "/hook", Secret: "k", Name: "宁波值班系统"}
	mail := ChannelConfig{Type: "webhook", URL: s.URL + "/other", Name: "浙江值班系统"}
	now := time.Now()
	m1 := msg("case-a/response@1/remind-1", domain.GradeI)
	m1.At = now
	fireCase(t, st, "case-a", m1, []Target{{Recipient: "宁波市", Channel: hook}, {Recipient: "浙江省", Channel: mail}})
	m2 := msg("case-b/response@1/overdue", domain.GradeII)
	m2.At = now
	fireCase(t, st, "case-b", m2, []Target{{Recipient: "宁波市", Channel: hook}})
	// a notifier claimed case-b's row and died
	dead, err := st.ClaimNotifications(context.Background(), "dead", now, 700*time.Millisecond, 1)
	if err != nil || len(dead) != 1 {
		t.Fatalf("claim by the dead notifier: %v %v", dead, err)
	}
	if len(s.requests()) != 0 {
		t.Fatal("sent before any notifier ran")
	}

	// the restart: a new process, a new notifier
	st2 := openOutbox(t, path)
	opt, rec := outboxOptions(t, st2, hook, mail)
	n := start(t, opt)
	n.Wake()
	rec.wait(t, 2)
	if got := deliveries(t, s); len(got) != 2 {
		t.Fatalf("before the dead claimer's lease ran out: %v", got)
	}
	rec.wait(t, 3)
	time.Sleep(200 * time.Millisecond) // and nothing more
	got := deliveries(t, s)
	if len(got) != 3 {
		t.Fatalf("deliveries %v, want 3 messages", got)
	}
	for id, k := range got {
		if k != 1 {
			t.Errorf("%s delivered %d times", id, k)
		}
	}
	if l := rowsOf(t, st, store.NotifySent); len(l) != 3 {
		t.Fatalf("%d rows sent, want 3", len(l))
	}
	if a := notes(t, st, "case-a"); len(a) != 2 || !slices.ContainsFunc(a, func(s string) bool { return strings.Contains(s, "宁波值班系统") }) {
		t.Errorf("case-a trail %q", a)
	}
	if b := notes(t, st, "case-b"); len(b) != 1 || !strings.HasPrefix(b[0], "已通过webhook（宁波值班系统）通知宁波市") {
		t.Errorf("case-b trail %q", b)
	}
}

// TestOutboxTwoNotifiersDeliverOnce: two processes drain one store; every
// message reaches the webhook once and is recorded once.
func TestOutboxTwoNotifiersDeliverOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	stA, stB := openOutbox(t, path), openOutbox(t, path)
	s := newServer(t, reply{200, "ok"})
	hook := ChannelConfig{Type: "webhook", URL: s.URL, Name: "值班"}
	optA, recA := outboxOptions(t, stA, hook)
	optB, recB := outboxOptions(t, stB, hook)
	optA.Owner, optB.Owner = "a", "b"
	optA.GroupWait, optB.GroupWait = 5*time.Millisecond, 5*time.Millisecond
	a, b := start(t, optA), start(t, optB)
	const cases = 60
	now := time.Now()
	for i := range cases {
		m := msg(fmt.Sprintf("case-%02d/opened", i), []domain.Grade{domain.GradeI, domain.GradeIII, domain.GradeIV}[i%3])
		m.At = now
		fireCase(t, []store.Store{stA, stB}[i%2], fmt.Sprintf("case-%02d", i), m, []Target{{Recipient: "宁波市", Channel: hook}})
		a.Wake()
		b.Wake()
	}
	eventually(t, "every message", func() bool { return len(recA.all())+len(recB.all()) >= cases })
	time.Sleep(200 * time.Millisecond)
	got := deliveries(t, s)
	if len(got) != cases {
		t.Fatalf("%d messages delivered, want %d", len(got), cases)
	}
	for id, k := range got {
		if k != 1 {
			t.Errorf("%s delivered %d times", id, k)
		}
	}
	if da, db := len(recA.all()), len(recB.all()); da+db != cases {
		t.Errorf("outcomes: %d by a, %d by b", da, db)
	} else {
		t.Logf("sent by a: %d, by b: %d, in %d posts", da, db, len(s.requests()))
	}
	for i := range cases {
		if k := len(notes(t, stA, fmt.Sprintf("case-%02d", i))); k != 1 {
			t.Errorf("case-%02d has %d delivery records", i, k)
		}
	}
}

// TestOutboxWebhookFailsThenRecovers: failures are retried from the outbox
// with the attempts counted, under the same delivery id, until the webhook
// answers; a final error, or retries spent, gives up and says so on the case.
func TestOutboxWebhookFailsThenRecovers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		replies  []reply
		retries  int
		status   string
		attempts int
		note     string
	}{
		{"503 twice then OK", []reply{{503, "busy"}, {503, "busy"}, {200, "ok"}}, 0, store.NotifySent, 3, "已通过webhook（值班）通知宁波市（第 3 次尝试成功）"},
		{"400 is final", []reply{{400, "bad payload"}}, 0, store.NotifyFailed, 1, "通过webhook（值班）通知宁波市失败（尝试 1 次）："},
		{"500 until the retries are spent", []reply{{500, "down"}}, 2, store.NotifyFailed, 3, "失败（尝试 3 次）"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := openOutbox(t, filepath.Join(t.TempDir(), "store.db"))
			s := newServer(t, tc.replies...)
			hook := ChannelConfig{Type: "webhook", URL: s.URL, Name: "值班"}
			opt, rec := outboxOptions(t, st, hook)
			opt.Retries, opt.Backoff = tc.retries, 10*time.Millisecond
			start(t, opt)
			m := msg("case-r/overdue", domain.GradeI)
			m.At = time.Now()
			fireCase(t, st, "case-r", m, []Target{{Recipient: "宁波市", Channel: hook}})
			d := rec.wait(t, 1)[0]
			if d.OK != (tc.status == store.NotifySent) || d.Attempts != tc.attempts {
				t.Fatalf("delivery %+v", d)
			}
			time.Sleep(50 * time.Millisecond)
			reqs := s.requests()
			if len(reqs) != tc.attempts {
				t.Fatalf("%d requests, want %d", len(reqs), tc.attempts)
			}
			for _, r := range reqs {
				if r.header.Get(HeaderDelivery) != d.Delivery || d.Delivery == "" {
					t.Errorf("request with delivery id %q, want %q each time", r.header.Get(HeaderDelivery), d.Delivery)
				}
			}
			rows := rowsOf(t, st, "")
			if len(rows) != 1 || rows[0].Status != tc.status || rows[0].Attempts != tc.attempts || rows[0].DoneAt.IsZero() {
				t.Fatalf("row %+v", rows)
			}
			if tc.status == store.NotifyFailed && !strings.Contains(rows[0].LastError, "HTTP") {
				t.Errorf("last error %q", rows[0].LastError)
			}
			if ns := notes(t, st, "case-r"); len(ns) != 1 || !strings.Contains(ns[0], tc.note) {
				t.Errorf("trail %q, want one record with %q", ns, tc.note)
			}
		})
	}
}

// TestOutboxLeaseKeptWhileSending: a delivery slower than the lease keeps
// its row (the lease is extended), so a second notifier does not send it too.
func TestOutboxLeaseKeptWhileSending(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	stA, stB := openOutbox(t, path), openOutbox(t, path)
	s := newServer(t, reply{200, "ok"})
	var once sync.Once
	inflight := make(chan struct{})
	s.hook = func(*http.Request, []byte) {
		once.Do(func() { close(inflight) })
		time.Sleep(700 * time.Millisecond)
	}
	hook := ChannelConfig{Type: "webhook", URL: s.URL, Name: "值班"}
	optA, recA := outboxOptions(t, stA, hook)
	optA.Owner, optA.Lease = "a", 150*time.Millisecond
	a := start(t, optA)
	m := msg("case-l/opened", domain.GradeI)
	m.At = time.Now()
	fireCase(t, stA, "case-l", m, []Target{{Recipient: "宁波市", Channel: hook}})
	a.Wake()
	<-inflight
	optB, recB := outboxOptions(t, stB, hook)
	optB.Owner = "b"
	start(t, optB) // polls every 20ms while a's slow post goes on for 700ms
	if d := recA.wait(t, 1)[0]; !d.OK {
		t.Fatalf("%+v", d)
	}
	time.Sleep(100 * time.Millisecond)
	if n := len(s.requests()); n != 1 || len(recB.all()) != 0 {
		t.Fatalf("%d requests, b reported %v: the row was taken while a was sending it", n, recB.all())
	}
}

// TestOutboxQuietHoursAndGrouping: at night a grade IV row goes back to the
// outbox until the quiet period ends while a grade I one goes at once; the
// grade III/IV rows claimed together go in one post.
func TestOutboxQuietHoursAndGrouping(t *testing.T) {
	clock := &fakeClock{t: time.Date(2025, 3, 1, 23, 0, 0, 0, China)}
	st := openOutbox(t, filepath.Join(t.TempDir(), "store.db"))
	s := newServer(t, reply{200, "ok"})
	hook := ChannelConfig{Type: "webhook", URL: s.URL, Name: "值班"}
	opt, rec := outboxOptions(t, st, hook)
	opt.Now = clock.Now
	opt.QuietHours = &QuietHours{From: "22:00", To: "07:00"}
	opt.GroupWait = 100 * time.Millisecond
	n := start(t, opt)
	tg := []Target{{Recipient: "宁波市", Channel: hook}}
	for i, g := range []domain.Grade{domain.GradeIV, domain.GradeIII, domain.GradeI} {
		m := msg(fmt.Sprintf("case-q%d/opened", i), g)
		m.At = clock.Now()
		fireCase(t, st, fmt.Sprintf("case-q%d", i), m, tg)
	}
	n.Wake()
	if d := rec.wait(t, 1)[0]; d.Key != "case-q2/opened" || !d.OK {
		t.Fatalf("at 23:00: %+v", d)
	}
	eventually(t, "the night's rows back in the outbox", func() bool {
		l := rowsOf(t, st, store.NotifyPending)
		return len(l) == 2 && l[0].LeaseUntil.IsZero() && l[1].LeaseUntil.IsZero()
	})
	for _, r := range rowsOf(t, st, store.NotifyPending) {
		if want := time.Date(2025, 3, 2, 7, 0, 0, 0, China); !r.NextAt.Equal(want) || r.Attempts != 0 {
			t.Errorf("held row due %s (attempts %d), want %s", r.NextAt, r.Attempts, want)
		}
	}
	clock.Set(time.Date(2025, 3, 2, 7, 0, 0, 0, China))
	n.Wake()
	ds := rec.wait(t, 3)
	if ds[1].Grouped != 2 || ds[2].Grouped != 2 || !ds[1].OK || !ds[2].OK {
		t.Fatalf("after 07:00: %+v", ds[1:])
	}
	if reqs := s.requests(); len(reqs) != 2 || strings.Count(reqs[1].header.Get(HeaderDelivery), ",") != 1 {
		t.Fatalf("%d posts (want 2: the grade I one, then the two held together)", len(reqs))
	}
}

// TestOutboxUnknownChannelFails: a row whose channel is not configured any
// more, or is invalid, fails at once and says so on the case.
func TestOutboxUnknownChannelFails(t *testing.T) {
	st := openOutbox(t, filepath.Join(t.TempDir(), "store.db"))
	gone := ChannelConfig{Type: "webhook", URL: "http://127.0.0.1:1/gone", Name: "已撤销的群"}
	bad := ChannelConfig{Type: "pigeon", Name: "信鸽"}
	opt, rec := outboxOptions(t, st, bad) // gone is not in the directory
	start(t, opt)
	m := msg("case-u/opened", domain.GradeI)
	m.At = time.Now()
	fireCase(t, st, "case-u", m, []Target{{Recipient: "宁波市", Channel: gone}, {Recipient: "宁波市", Channel: bad}})
	for _, d := range rec.wait(t, 2) {
		if d.OK || d.Attempts != 0 || d.Error == "" {
			t.Errorf("%+v", d)
		}
	}
	if l := rowsOf(t, st, store.NotifyFailed); len(l) != 2 {
		t.Fatalf("%d failed rows", len(l))
	}
	if ns := notes(t, st, "case-u"); len(ns) != 2 || !strings.Contains(strings.Join(ns, "\n"), "已撤销的群") {
		t.Errorf("trail %q", ns)
	}
}

// TestOutboxStopPutsRowsBack: a delivery still hanging when Run stops is
// cancelled and its row goes back to the outbox, untried, for the next
// notifier.
func TestOutboxStopPutsRowsBack(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	st := openOutbox(t, path)
	s := newServer(t, reply{200, "ok"})
	release := make(chan struct{})
	inflight := make(chan struct{}, 1)
	s.hook = func(r *http.Request, _ []byte) {
		if r.URL.Path == "/hang" {
			select {
			case inflight <- struct{}{}:
			default:
			}
			<-release
		}
	}
	t.Cleanup(func() { close(release) })
	hang := ChannelConfig{Type: "webhook", URL: s.URL + "/hang", Name: "挂起"}
	opt, rec := outboxOptions(t, st, hang)
	n := New(opt)
	n.flushTimeout = 100 * time.Millisecond
	stop := run(t, n)
	m := msg("case-s/opened", domain.GradeI)
	m.At = time.Now()
	fireCase(t, st, "case-s", m, []Target{{Recipient: "宁波市", Channel: hang}})
	n.Wake()
	<-inflight
	stop()
	if ds := rec.all(); len(ds) != 0 {
		t.Fatalf("a put-back row was reported as an outcome: %+v", ds)
	}
	l := rowsOf(t, st, store.NotifyPending)
	if len(l) != 1 || l[0].Attempts != 0 || !l[0].LeaseUntil.IsZero() {
		t.Fatalf("row after stop: %+v", l)
	}
	if ns := notes(t, st, "case-s"); len(ns) != 0 {
		t.Errorf("trail %q", ns)
	}
}

// TestOutgoing: one row per channel, shared channels merged, no secret in
// the rows, and the key naming the occurrence and the channel.
func TestOutgoing(t *testing.T) {
	group := ChannelConfig{Type: "dingtalk", URL: "https://oapi.dingtalk.com/robot/send?access_token=TOPSECRET", Secret: "SECxyz", Name: "群"}
	same := group
	same.Name = "另一个名字"
	hook := ChannelConfig{Type: "webhook", URL: "https://hook.example.gov.cn/x", Secret: "hmac-key"}
	m := msg("case-o/opened", domain.GradeIII)
	rows := Outgoing(m, []Target{{Recipient: "宁波市", Channel: group}, {Recipient: "浙江省", Channel: same}, {Recipient: "宁波市", Channel: hook}})
	if len(rows) != 2 {
		t.Fatalf("%d rows: %+v", len(rows), rows)
	}
	if rows[0].Key != "case-o/opened|"+ChannelRef(group) || rows[0].Channel != ChannelRef(group) || !strings.HasPrefix(rows[0].Channel, "dingtalk:") ||
		rows[0].CaseID != "case-case-o/opened" || !rows[0].NextAt.Equal(m.At) {
		t.Errorf("row %+v", rows[0])
	}
	for _, r := range rows {
		for _, secret := range []string{"TOPSECRET", "SECxyz", "hmac-key"} {
			if strings.Contains(r.Data+r.Key+r.Channel, secret) {
				t.Errorf("row carries %s: %+v", secret, r)
			}
		}
	}
	got, d, err := decodeRow(store.Notification{ID: 1, Key: rows[0].Key, Data: rows[0].Data})
	if err != nil || got.Title != m.Title || got.Grade != domain.GradeIII || !got.At.Equal(m.At) || !slices.Equal(d.Recipients, []string{"宁波市", "浙江省"}) ||
		got.Delivery != DeliveryID(rows[0].Key) {
		t.Fatalf("decoded %+v %+v %v", got, d, err)
	}
	if again := Outgoing(m, []Target{{Recipient: "宁波市", Channel: group}}); again[0].Key != rows[0].Key {
		t.Error("the same occurrence gave another key")
	}
}

// TestOutboxPrunedToRetention: a notifier deletes the sent and failed rows
// older than its retention when it starts; newer rows, pending rows and the
// deliveries recorded on the case stay.
func TestOutboxPrunedToRetention(t *testing.T) {
	st := openOutbox(t, filepath.Join(t.TempDir(), "store.db"))
	ctx := context.Background()
	now := time.Now()
	old := now.Add(-72 * time.Hour)
	var rows []store.Notification
	for _, k := range []string{"old-sent", "old-failed", "new-sent"} {
		rows = append(rows, store.Notification{Key: k, CaseID: "case-r", Channel: "webhook:x", Data: `{}`, NextAt: old, CreatedAt: old})
	}
	if k, err := st.EnqueueNotifications(ctx, rows); err != nil || k != 3 {
		t.Fatalf("enqueue %d %v", k, err)
	}
	claimed, err := st.ClaimNotifications(ctx, "earlier", old, time.Minute, 10)
	if err != nil || len(claimed) != 3 {
		t.Fatalf("claim %d %v", len(claimed), err)
	}
	at := map[string]time.Time{"old-sent": old, "old-failed": old, "new-sent": now.Add(-time.Hour)}
	var outs []store.Outcome
	for _, r := range claimed {
		status := store.NotifySent
		if r.Key == "old-failed" {
			status = store.NotifyFailed
		}
		outs = append(outs, store.Outcome{ID: r.ID, Status: status, Attempted: true, At: at[r.Key]})
	}
	if k, err := st.SettleNotifications(ctx, "earlier", outs); err != nil || k != 3 {
		t.Fatalf("settle %d %v", k, err)
	}
	opt, _ := outboxOptions(t, st)
	opt.Retention = 24 * time.Hour
	start(t, opt)
	eventually(t, "the old rows pruned", func() bool {
		l, err := st.ListNotifications(ctx, store.NotificationFilter{CaseID: "case-r"})
		return err == nil && len(l) == 1 && l[0].Key == "new-sent"
	})
}
