package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yuqing/alerting/orgtree"
	"yuqing/alerting/store"
	"yuqing/domain"
	"yuqing/ingest/bus"
)

// fakeSub hands out queued batches, then blocks; it records acknowledgements.
type fakeSub struct {
	mu      sync.Mutex
	batches [][]bus.Message
	acks    [][]bus.Message
	onAck   func(msgs []bus.Message) // runs inside Ack, before it is recorded
	acked   chan struct{}
}

func newFakeSub(batches ...[]bus.Message) *fakeSub {
	return &fakeSub{batches: batches, acked: make(chan struct{}, 100)}
}

func (f *fakeSub) Fetch(ctx context.Context, max int) ([]bus.Message, error) {
	f.mu.Lock()
	if len(f.batches) > 0 {
		b := f.batches[0]
		f.batches = f.batches[1:]
		f.mu.Unlock()
		if len(b) > max {
			panic("batch larger than max")
		}
		return b, nil
	}
	f.mu.Unlock()
	<-ctx.Done()
	return nil, ctx.Err()
}

func (f *fakeSub) Ack(ctx context.Context, msgs ...bus.Message) error {
	if f.onAck != nil {
		f.onAck(msgs)
	}
	f.mu.Lock()
	f.acks = append(f.acks, msgs)
	f.mu.Unlock()
	f.acked <- struct{}{}
	return nil
}

func (f *fakeSub) Lag(ctx context.Context) (int64, error) { return 0, nil }
func (f *fakeSub) Close() error                           { return nil }

func (f *fakeSub) ackCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.acks)
}

// flakyStore fails every case write while failing is set.
type flakyStore struct {
	store.Store
	failing  atomic.Bool
	failures atomic.Int64
	reads    atomic.Int64
}

func (s *flakyStore) CaseForEvent(ctx context.Context, eventID string) (domain.Case, error) {
	s.reads.Add(1)
	return s.Store.CaseForEvent(ctx, eventID)
}

var errDiskFull = errors.New("disk full")

func (s *flakyStore) CreateCase(ctx context.Context, c domain.Case, a domain.Action, out ...store.Notification) (domain.Case, bool, error) {
	if s.failing.Load() {
		s.failures.Add(1)
		return domain.Case{}, false, errDiskFull
	}
	return s.Store.CreateCase(ctx, c, a, out...)
}

func (s *flakyStore) UpdateCase(ctx context.Context, c domain.Case, a domain.Action, out ...store.Notification) (domain.Action, error) {
	if s.failing.Load() {
		s.failures.Add(1)
		return domain.Action{}, errDiskFull
	}
	return s.Store.UpdateCase(ctx, c, a, out...)
}

func msg(t *testing.T, off int64, ev domain.Event) bus.Message {
	t.Helper()
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return bus.Message{Topic: bus.TopicEvents, Key: ev.ID, Value: b, Offset: off}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestRunLatestSnapshotAndCallbacks(t *testing.T) {
	st := openStore(t)
	a := New(st, orgtree.MustDefault(), Config{}, WithBackoff(time.Millisecond, 10*time.Millisecond))
	e1a := event("e1", domain.GradeIV, 10)
	e1b := event("e1", domain.GradeII, 200) // newer snapshot of e1
	e1b.UpdatedAt = t0.Add(time.Minute)
	e1old := event("e1", domain.GradeI, 999) // stale snapshot delivered late in the batch
	e1old.UpdatedAt = t0.Add(-time.Minute)
	e2 := event("e2", domain.GradeNone, 1) // ungraded: no case
	sub := newFakeSub(
		[]bus.Message{msg(t, 0, e1a), msg(t, 1, e2), msg(t, 2, e1b), {Offset: 3, Value: []byte("{broken")}, msg(t, 4, e1old)},
		[]bus.Message{msg(t, 5, event("e3", domain.GradeIII, 5)), msg(t, 6, e1b)},
	)
	type call struct {
		id      string
		grade   domain.Grade
		created bool
	}
	var mu sync.Mutex
	var calls []call
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- a.Run(ctx, sub, func(c domain.Case, created bool) {
			mu.Lock()
			calls = append(calls, call{c.ID, c.Grade, created})
			mu.Unlock()
		})
	}()
	waitFor(t, "two acknowledged batches", func() bool { return sub.ackCount() == 2 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	want := []call{{"case-e1", domain.GradeII, true}, {"case-e3", domain.GradeIII, true}}
	mu.Lock()
	defer mu.Unlock()
	if len(calls) != len(want) {
		t.Fatalf("onCase calls = %+v, want %+v", calls, want)
	}
	for i := range want {
		if calls[i] != want[i] {
			t.Errorf("onCase call %d = %+v, want %+v", i, calls[i], want[i])
		}
	}
	if len(sub.acks[0]) != 5 || len(sub.acks[1]) != 2 {
		t.Errorf("acks = %d, %d messages; want every message of each batch", len(sub.acks[0]), len(sub.acks[1]))
	}
	c, err := st.GetCase(context.Background(), "case-e1")
	if err != nil || c.Grade != domain.GradeII || len(c.Actions) != 1 {
		t.Errorf("case-e1 = grade %v, %d actions, %v; want the newest snapshot only", c.Grade, len(c.Actions), err)
	}
}

func TestRunAcksOnlyAfterWrites(t *testing.T) {
	st := &flakyStore{Store: openStore(t)}
	st.failing.Store(true)
	a := New(st, orgtree.MustDefault(), Config{}, WithBackoff(time.Millisecond, 5*time.Millisecond))
	evs := []domain.Event{event("e1", domain.GradeIII, 10), event("e2", domain.GradeII, 10)}
	sub := newFakeSub([]bus.Message{msg(t, 0, evs[0]), msg(t, 1, evs[1])})
	sub.onAck = func(msgs []bus.Message) {
		// At acknowledgement every event of the batch has its case stored.
		for _, ev := range evs {
			if _, err := st.CaseForEvent(context.Background(), ev.ID); err != nil {
				t.Errorf("acknowledged before the case of %s was stored: %v", ev.ID, err)
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, sub, nil) }()
	waitFor(t, "several failed writes", func() bool { return st.failures.Load() >= 5 })
	if n := sub.ackCount(); n != 0 {
		t.Fatalf("%d acknowledgements while the store fails", n)
	}
	st.failing.Store(false)
	waitFor(t, "the acknowledgement", func() bool { return sub.ackCount() == 1 })
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func TestRunNeverAcksAFailedBatch(t *testing.T) {
	st := &flakyStore{Store: openStore(t)}
	st.failing.Store(true)
	a := New(st, orgtree.MustDefault(), Config{}, WithBackoff(time.Millisecond, 2*time.Millisecond))
	sub := newFakeSub([]bus.Message{msg(t, 0, event("e1", domain.GradeIII, 10))})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, sub, nil) }()
	waitFor(t, "failed writes", func() bool { return st.failures.Load() >= 3 })
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run after cancel: %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after ctx ended")
	}
	if n := sub.ackCount(); n != 0 {
		t.Errorf("%d acknowledgements of a batch whose writes failed", n)
	}
}

// closedSub reports the bus closed.
type closedSub struct{ fakeSub }

func (*closedSub) Fetch(context.Context, int) ([]bus.Message, error) { return nil, bus.ErrClosed }

func TestRunClosedSubscription(t *testing.T) {
	a := New(openStore(t), orgtree.MustDefault(), Config{})
	err := a.Run(context.Background(), &closedSub{}, nil)
	if !errors.Is(err, bus.ErrClosed) {
		t.Errorf("Run on a closed subscription = %v, want bus.ErrClosed", err)
	}
}

func TestRunSkipsKnownEvents(t *testing.T) {
	st := &flakyStore{Store: openStore(t)}
	a := New(st, orgtree.MustDefault(), Config{})
	sub := newFakeSub(
		[]bus.Message{msg(t, 0, event("e1", domain.GradeIII, 10))},
		[]bus.Message{msg(t, 1, event("e1", domain.GradeIII, 20)), msg(t, 2, event("e1", domain.GradeIV, 30))},
		[]bus.Message{msg(t, 3, event("e1", domain.GradeI, 40))},
	)
	var changes atomic.Int64
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, sub, func(domain.Case, bool) { changes.Add(1) }) }()
	waitFor(t, "three batches", func() bool { return sub.ackCount() == 3 })
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	// Batch 1 reads once (no case yet); batch 2 needs no read; batch 3 raises the grade.
	if n := st.reads.Load(); n != 2 {
		t.Errorf("%d store reads, want 2", n)
	}
	if n := changes.Load(); n != 2 {
		t.Errorf("%d case changes reported, want 2 (open, raise)", n)
	}
	if c, err := st.GetCase(context.Background(), "case-e1"); err != nil || c.Grade != domain.GradeI {
		t.Errorf("case = %v, %v", c.Grade, err)
	}
}
