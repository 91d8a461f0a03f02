package ingest

import (
	"context"
	"errors"
	"sync"
)

// ErrBacklog is returned when the analyzer's backlog stayed over the bound
// for as long as a sender may be kept waiting.
var ErrBacklog = errors.New("分析积压过多，请稍后重试 (analyzer backlog over its bound)")

// Throttle bounds how many accepted posts may wait for the analyzer. Past
// the bound, POST /api/v1/posts waits before publishing, so a sender faster
// than the pipeline is slowed down instead of the backlog, and with it the
// lag from 202 to searchable, growing without end. Nothing is dropped.
type Throttle struct {
	mu      sync.Mutex
	pending int64
	limit   int64
	changed chan struct{}
}

// NewThrottle allows up to limit posts waiting for the analyzer.
func NewThrottle(limit int64) *Throttle {
	return &Throttle{limit: limit, changed: make(chan struct{})}
}

// Wait blocks while the backlog is at or over the bound, until ctx ends. A
// batch is let through whenever the backlog is under the bound, however large
// the batch, so big batches are never starved.
func (t *Throttle) Wait(ctx context.Context) error {
	for {
		t.mu.Lock()
		if t.pending < t.limit {
			t.mu.Unlock()
			return nil
		}
		ch := t.changed
		t.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ErrBacklog
		}
	}
}

// Add records n posts published for the analyzer.
func (t *Throttle) Add(n int64) { t.update(func() { t.pending += n }) }

// Done records n posts acknowledged by the analyzer.
func (t *Throttle) Done(n int64) { t.update(func() { t.pending = max(0, t.pending-n) }) }

// Set replaces the backlog, as measured on the bus at start-up.
func (t *Throttle) Set(n int64) { t.update(func() { t.pending = n }) }

// Pending is the current backlog.
func (t *Throttle) Pending() int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pending
}

func (t *Throttle) update(fn func()) {
	t.mu.Lock()
	fn()
	close(t.changed)
	t.changed = make(chan struct{})
	t.mu.Unlock()
}
