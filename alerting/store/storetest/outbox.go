package storetest

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"yuqing/alerting/store"
	"yuqing/domain"
)

// note gives an outbox row for a case, due at next.
func note(key, caseID string, next time.Time) store.Notification {
	return store.Notification{Key: key, CaseID: caseID, Channel: "webhook:0123456789abcdef",
		Data: `{"title":"【回应时限提醒】宁波某小区电梯故障困人","key":"` + key + `"}`, NextAt: next, CreatedAt: next}
}

func keysOf(ns []store.Notification) []string {
	out := make([]string, len(ns))
	for i, n := range ns {
		out[i] = n.Key
	}
	return out
}

func outboxOf(t *testing.T, st store.Store, caseID string) []store.Notification {
	t.Helper()
	ns, err := st.ListNotifications(ctx(t), store.NotificationFilter{CaseID: caseID, Limit: 1000})
	if err != nil {
		t.Fatalf("ListNotifications(%s): %v", caseID, err)
	}
	return ns
}

// testOutboxWithTheAction: notifications are written by the write that
// causes them, and only when that write happens.
func testOutboxWithTheAction(t *testing.T, st store.Store) {
	c := ctx(t)
	cs := SampleCase("case-o1", "o1", base)
	_, created, err := st.CreateCase(c, cs, openAction(base), note("case-o1/opened|a", cs.ID, base), note("case-o1/opened|b", cs.ID, base))
	if err != nil || !created {
		t.Fatalf("CreateCase = %v, %v", created, err)
	}
	got := outboxOf(t, st, cs.ID)
	if !slices.Equal(keysOf(got), []string{"case-o1/opened|a", "case-o1/opened|b"}) {
		t.Fatalf("outbox after CreateCase = %v", keysOf(got))
	}
	n := got[0]
	if n.ID == 0 || n.Status != store.NotifyPending || n.Attempts != 0 || n.Channel != "webhook:0123456789abcdef" ||
		n.Data != note("case-o1/opened|a", cs.ID, base).Data || !n.NextAt.Equal(base) || !n.CreatedAt.Equal(base) ||
		n.LeaseOwner != "" || !n.LeaseUntil.IsZero() || !n.DoneAt.IsZero() || n.LastError != "" || got[1].ID <= n.ID {
		t.Errorf("row = %+v", n)
	}
	// the event has its case already: nothing is written
	if _, created, err := st.CreateCase(c, SampleCase("case-o1-bis", "o1", base), openAction(base), note("case-o1-bis/opened|a", "case-o1-bis", base)); err != nil || created {
		t.Fatalf("second CreateCase = %v, %v", created, err)
	}
	if l := outboxOf(t, st, "case-o1-bis"); len(l) != 0 {
		t.Errorf("a case not created wrote %v", keysOf(l))
	}
	// an update writes its own; a key already there is skipped
	cs.UnitID = "zhejiang"
	if _, err := st.UpdateCase(c, cs, domain.Action{Kind: domain.ActTransfer, Actor: "张三", At: base.Add(time.Hour)},
		note("case-o1/transfer|a", cs.ID, base.Add(time.Hour)), note("case-o1/opened|a", cs.ID, base.Add(time.Hour))); err != nil {
		t.Fatal(err)
	}
	if got := outboxOf(t, st, cs.ID); !slices.Equal(keysOf(got), []string{"case-o1/opened|a", "case-o1/opened|b", "case-o1/transfer|a"}) || !got[0].NextAt.Equal(base) {
		t.Fatalf("outbox after UpdateCase = %v", keysOf(got))
	}
	missing := SampleCase("case-none", "none", base)
	if _, err := st.UpdateCase(c, missing, openAction(base), note("case-none|a", missing.ID, base)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateCase of a missing case: %v", err)
	}
	if l := outboxOf(t, st, missing.ID); len(l) != 0 {
		t.Errorf("a failed update wrote %v", keysOf(l))
	}
	// a moment fires once, and so do its notifications
	d := domain.Due{Key: "case-o1/response@1/remind-1", CaseID: cs.ID, Clock: domain.ClockResponse, Kind: domain.DueRemind, At: base, DueAt: base.Add(48 * time.Hour)}
	if err := st.ScheduleDue(c, cs.ID, []domain.Due{d}); err != nil {
		t.Fatal(err)
	}
	act := domain.Action{Kind: domain.ActRemind, Actor: "system", At: base.Add(2 * time.Hour)}
	if _, fired, err := st.FireDue(c, d, act, note(d.Key+"|a", cs.ID, act.At), note(d.Key+"|b", cs.ID, act.At)); err != nil || !fired {
		t.Fatalf("FireDue = %v, %v", fired, err)
	}
	if _, fired, err := st.FireDue(c, d, act, note(d.Key+"|again", cs.ID, act.At)); err != nil || fired {
		t.Fatalf("second FireDue = %v, %v", fired, err)
	}
	if got := outboxOf(t, st, cs.ID); len(got) != 5 || got[3].Key != d.Key+"|a" || got[4].Key != d.Key+"|b" {
		t.Fatalf("outbox after FireDue = %v", keysOf(got))
	}
	// written on its own
	if k, err := st.EnqueueNotifications(c, []store.Notification{note("solo", cs.ID, base), note(d.Key+"|a", cs.ID, base)}); err != nil || k != 1 {
		t.Fatalf("EnqueueNotifications = %d, %v (want the new one only)", k, err)
	}
	if l, err := st.ListNotifications(c, store.NotificationFilter{Status: store.NotifyPending, Limit: 2}); err != nil || len(l) != 2 || l[0].Key != "case-o1/opened|a" {
		t.Fatalf("ListNotifications with a limit = %v, %v", keysOf(l), err)
	}
}

// testOutboxClaim: due rows in due order; a leased row is not claimed again
// until its lease runs out; a sent or failed row never again; the outcome of
// an owner who lost its lease is skipped with its record.
func testOutboxClaim(t *testing.T, st store.Store) {
	c := ctx(t)
	cs := SampleCase("case-o2", "o2", base)
	if _, _, err := st.CreateCase(c, cs, openAction(base)); err != nil {
		t.Fatal(err)
	}
	// written out of due order; one is not due yet
	rows := []store.Notification{
		note("k3", cs.ID, base.Add(3*time.Minute)),
		note("k1", cs.ID, base.Add(time.Minute)),
		note("later", cs.ID, base.Add(time.Hour)),
		note("k2", cs.ID, base.Add(2*time.Minute)),
		note("k2b", cs.ID, base.Add(2*time.Minute)),
	}
	if k, err := st.EnqueueNotifications(c, rows); err != nil || k != len(rows) {
		t.Fatalf("EnqueueNotifications = %d, %v", k, err)
	}
	now := base.Add(10 * time.Minute)
	const lease = time.Minute
	got, err := st.ClaimNotifications(c, "a", now, lease, 3)
	if err != nil || !slices.Equal(keysOf(got), []string{"k1", "k2", "k2b"}) {
		t.Fatalf("claim by a = %v, %v; want the three earliest due", keysOf(got), err)
	}
	for _, n := range got {
		if n.LeaseOwner != "a" || !n.LeaseUntil.Equal(now.Add(lease)) || n.Status != store.NotifyPending {
			t.Errorf("claimed row %+v", n)
		}
	}
	rest, err := st.ClaimNotifications(c, "b", now, lease, 10)
	if err != nil || !slices.Equal(keysOf(rest), []string{"k3"}) {
		t.Fatalf("claim by b = %v, %v; want only what a does not hold and is due", keysOf(rest), err)
	}
	if more, err := st.ClaimNotifications(c, "b", now.Add(lease-time.Second), lease, 10); err != nil || len(more) != 0 {
		t.Fatalf("claim while the leases run = %v, %v", keysOf(more), err)
	}
	// a sends k1; its lease on k2 and k2b runs out (a crashed, say) and b takes them
	rec := func(s string) *domain.Action {
		return &domain.Action{Kind: domain.ActNotify, Actor: "system", Note: s, At: now}
	}
	if k, err := st.SettleNotifications(c, "a", []store.Outcome{{ID: got[0].ID, Status: store.NotifySent, Attempted: true, At: now, Record: rec("已通知 k1")}}); err != nil || k != 1 {
		t.Fatalf("settle k1 = %d, %v", k, err)
	}
	late := now.Add(lease)
	taken, err := st.ClaimNotifications(c, "b", late, lease, 10)
	if err != nil || !slices.Equal(keysOf(taken), []string{"k2", "k2b", "k3"}) || taken[0].LeaseOwner != "b" {
		t.Fatalf("claim after the leases ran out = %v, %v", keysOf(taken), err)
	}
	// a comes back and reports: skipped, and so is its record
	if k, err := st.SettleNotifications(c, "a", []store.Outcome{{ID: got[1].ID, Status: store.NotifySent, Attempted: true, At: late, Record: rec("已通知 k2（a）")}}); err != nil || k != 0 {
		t.Fatalf("settle by a after losing the lease = %d, %v", k, err)
	}
	if k, err := st.SettleNotifications(c, "b", []store.Outcome{
		{ID: taken[0].ID, Status: store.NotifySent, Attempted: true, At: late, Record: rec("已通知 k2（b）")},
		{ID: taken[1].ID, Status: store.NotifyFailed, Attempted: true, Error: "HTTP 400: bad payload", At: late, Record: rec("通知 k2b 失败")},
		{ID: rest[0].ID, Status: store.NotifySent, Attempted: true, At: late}, // no record
	}); err != nil || k != 3 {
		t.Fatalf("settle by b = %d, %v", k, err)
	}
	full, err := st.GetCase(c, cs.ID)
	if err != nil {
		t.Fatal(err)
	}
	var notes []string
	for _, a := range full.Actions[1:] {
		notes = append(notes, a.Note)
		if a.Kind != domain.ActNotify || a.CaseID != cs.ID || a.ID == 0 {
			t.Errorf("record %+v", a)
		}
	}
	if !slices.Equal(notes, []string{"已通知 k1", "已通知 k2（b）", "通知 k2b 失败"}) {
		t.Fatalf("records on the case = %q", notes)
	}
	// sent and failed rows are never claimed again; the later one is, when due
	end, err := st.ClaimNotifications(c, "c", base.Add(24*time.Hour), lease, 10)
	if err != nil || !slices.Equal(keysOf(end), []string{"later"}) {
		t.Fatalf("claim a day later = %v, %v", keysOf(end), err)
	}
	all := outboxOf(t, st, cs.ID)
	byKey := map[string]store.Notification{}
	for _, n := range all {
		byKey[n.Key] = n
	}
	if n := byKey["k2b"]; n.Status != store.NotifyFailed || n.Attempts != 1 || n.LastError != "HTTP 400: bad payload" || !n.DoneAt.Equal(late) {
		t.Errorf("failed row %+v", n)
	}
	if n := byKey["k2"]; n.Status != store.NotifySent || n.Attempts != 1 || n.LeaseOwner != "b" || !n.DoneAt.Equal(late) {
		t.Errorf("sent row %+v", n)
	}
	if n := byKey["k1"]; n.Status != store.NotifySent || n.LeaseOwner != "a" {
		t.Errorf("sent row %+v", n)
	}
	if l, err := st.ListNotifications(c, store.NotificationFilter{Status: store.NotifySent}); err != nil || len(l) != 3 {
		t.Errorf("sent rows = %v, %v", keysOf(l), err)
	}
}

// testOutboxRetry: a failed attempt puts the row back with a later time and
// counts the attempt; a release puts it back at once, counting nothing;
// a lease extended keeps others off.
func testOutboxRetry(t *testing.T, st store.Store) {
	c := ctx(t)
	if k, err := st.EnqueueNotifications(c, []store.Notification{note("r1", "case-x", base), note("r2", "case-x", base)}); err != nil || k != 2 {
		t.Fatalf("EnqueueNotifications = %d, %v", k, err)
	}
	got, err := st.ClaimNotifications(c, "a", base, time.Minute, 10)
	if err != nil || len(got) != 2 {
		t.Fatalf("claim = %v, %v", keysOf(got), err)
	}
	retryAt := base.Add(30 * time.Second)
	if k, err := st.SettleNotifications(c, "a", []store.Outcome{
		{ID: got[0].ID, Status: store.NotifyPending, Attempted: true, NextAt: retryAt, Error: "HTTP 503: busy",
			Record: &domain.Action{Kind: domain.ActNotify, Actor: "system", Note: "no such case: skipped", At: base}},
		{ID: got[1].ID, Status: store.NotifyPending}, // released untried
	}); err != nil || k != 2 {
		t.Fatalf("settle = %d, %v", k, err)
	}
	now := base.Add(time.Second)
	if l, err := st.ClaimNotifications(c, "b", now, time.Minute, 10); err != nil || !slices.Equal(keysOf(l), []string{"r2"}) || l[0].Attempts != 0 {
		t.Fatalf("claim after the release = %+v, %v", l, err)
	} else if k, err := st.SettleNotifications(c, "b", []store.Outcome{{ID: l[0].ID, Status: store.NotifySent, Attempted: true, At: now}}); err != nil || k != 1 {
		t.Fatalf("settle r2 = %d, %v", k, err)
	}
	if l, err := st.ClaimNotifications(c, "b", retryAt.Add(-time.Millisecond), time.Minute, 10); err != nil || len(l) != 0 {
		t.Fatalf("claim before the retry time = %v, %v", keysOf(l), err)
	}
	l, err := st.ClaimNotifications(c, "b", retryAt, time.Minute, 10)
	if err != nil || len(l) != 1 || l[0].Key != "r1" || l[0].Attempts != 1 || l[0].LastError != "HTTP 503: busy" || !l[0].NextAt.Equal(retryAt) {
		t.Fatalf("claim at the retry time = %+v, %v", l, err)
	}
	// b's delivery is slow: it extends its lease, and c cannot take the row
	if err := st.ExtendNotifications(c, "b", []int64{l[0].ID}, retryAt.Add(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := st.ExtendNotifications(c, "c", []int64{l[0].ID}, retryAt.Add(time.Hour)); err != nil { // not c's: no effect
		t.Fatal(err)
	}
	if l2, err := st.ClaimNotifications(c, "c", retryAt.Add(5*time.Minute), time.Minute, 10); err != nil || len(l2) != 0 {
		t.Fatalf("claim while the extended lease runs = %v, %v", keysOf(l2), err)
	}
	if l2, err := st.ClaimNotifications(c, "c", retryAt.Add(10*time.Minute), time.Minute, 10); err != nil || len(l2) != 1 || l2[0].Key != "r1" {
		t.Fatalf("claim after the extended lease = %v, %v", keysOf(l2), err)
	}
	if _, err := st.ClaimNotifications(c, "", base, time.Minute, 10); err == nil {
		t.Error("a claim without an owner was accepted")
	}
}

// testOutboxClaimConcurrently: claimers racing over one outbox get
// disjoint rows, and together all of them.
func testOutboxClaimConcurrently(t *testing.T, st store.Store) {
	c := ctx(t)
	const rows, claimers = 120, 4
	var all []store.Notification
	for i := range rows {
		all = append(all, note(fmt.Sprintf("c%03d", i), "case-y", base.Add(time.Duration(i)*time.Millisecond)))
	}
	if k, err := st.EnqueueNotifications(c, all); err != nil || k != rows {
		t.Fatalf("EnqueueNotifications = %d, %v", k, err)
	}
	var mu sync.Mutex
	seen := map[int64]string{}
	var wg sync.WaitGroup
	now := base.Add(time.Second)
	for i := range claimers {
		owner := fmt.Sprintf("owner-%d", i)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				got, err := st.ClaimNotifications(c, owner, now, time.Minute, 7)
				if err != nil {
					t.Error(err)
					return
				}
				if len(got) == 0 {
					return
				}
				mu.Lock()
				for _, n := range got {
					if prev, ok := seen[n.ID]; ok {
						t.Errorf("row %s claimed by %s and %s", n.Key, prev, owner)
					}
					seen[n.ID] = owner
					if n.LeaseOwner != owner {
						t.Errorf("row %s claimed by %s carries lease owner %s", n.Key, owner, n.LeaseOwner)
					}
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != rows {
		t.Fatalf("%d of %d rows claimed", len(seen), rows)
	}
}

// testOutboxPrune: sent and failed rows done before the moment go, pending
// ones (even old) and later ones stay; a pruned key may be written again.
func testOutboxPrune(t *testing.T, st store.Store) {
	c := ctx(t)
	old, recent := base.Add(-48*time.Hour), base.Add(-time.Hour)
	var all []store.Notification
	for _, k := range []string{"p-sent-old", "p-failed-old", "p-pending-old", "p-sent-recent"} {
		all = append(all, note(k, "case-p", old))
	}
	if k, err := st.EnqueueNotifications(c, all); err != nil || k != 4 {
		t.Fatalf("EnqueueNotifications = %d, %v", k, err)
	}
	got, err := st.ClaimNotifications(c, "a", old, time.Minute, 10)
	if err != nil || len(got) != 4 {
		t.Fatalf("claim = %v, %v", keysOf(got), err)
	}
	id := map[string]int64{}
	for _, n := range got {
		id[n.Key] = n.ID
	}
	if k, err := st.SettleNotifications(c, "a", []store.Outcome{
		{ID: id["p-sent-old"], Status: store.NotifySent, Attempted: true, At: old},
		{ID: id["p-failed-old"], Status: store.NotifyFailed, Attempted: true, At: old, Error: "HTTP 404"},
		{ID: id["p-pending-old"], Status: store.NotifyPending, Attempted: true, NextAt: base.Add(time.Hour), Error: "HTTP 503"},
		{ID: id["p-sent-recent"], Status: store.NotifySent, Attempted: true, At: recent},
	}); err != nil || k != 4 {
		t.Fatalf("settle = %d, %v", k, err)
	}
	if n, err := st.PruneNotifications(c, base.Add(-24*time.Hour)); err != nil || n != 2 {
		t.Fatalf("PruneNotifications = %d, %v; want 2", n, err)
	}
	if got := outboxOf(t, st, "case-p"); !slices.Equal(keysOf(got), []string{"p-pending-old", "p-sent-recent"}) {
		t.Fatalf("after pruning: %v", keysOf(got))
	}
	if n, err := st.PruneNotifications(c, base.Add(-24*time.Hour)); err != nil || n != 0 {
		t.Errorf("pruning again = %d, %v; want 0", n, err)
	}
	if k, err := st.EnqueueNotifications(c, []store.Notification{note("p-sent-old", "case-p", base)}); err != nil || k != 1 {
		t.Errorf("a pruned key written again = %d, %v; want 1", k, err)
	}
}
