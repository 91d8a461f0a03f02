package alerting

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"yuqing/domain"
	"yuqing/ingest/bus"
)

// FetchMax is how many event messages Run takes from the bus at a time.
const FetchMax = 256

// Run consumes event messages (JSON of domain.Event) from sub until ctx ends.
// Within a batch only the latest snapshot of each event is handled. onCase
// (optional) is called for every case created or changed. The batch is
// acknowledged only after every store write it caused succeeded: a failed
// write is retried with backoff and never acknowledged. A message that
// cannot be decoded is logged and skipped (it would never succeed). Run
// returns nil when ctx ends, or an error when the subscription is closed.
func (a *Alerter) Run(ctx context.Context, sub bus.Subscription, onCase func(c domain.Case, created bool)) error {
	wait := a.backoffMin
	for {
		msgs, err := sub.Fetch(ctx, FetchMax)
		if ctx.Err() != nil {
			return nil
		}
		if err != nil {
			if errors.Is(err, bus.ErrClosed) {
				return fmt.Errorf("alerting: event subscription: %w", err)
			}
			a.log.Warn("alerting: fetching events failed, retrying", "err", err, "wait", wait)
			if !sleep(ctx, wait) {
				return nil
			}
			wait = min(2*wait, a.backoffMax)
			continue
		}
		wait = a.backoffMin
		if len(msgs) == 0 {
			continue
		}
		if !a.handleBatch(ctx, a.latest(msgs), onCase) {
			return nil // ctx ended before the batch was written: not acknowledged
		}
		if !a.ack(ctx, sub, msgs) {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("alerting: acknowledging events: %w", bus.ErrClosed)
		}
	}
}

// latest decodes a batch and keeps one snapshot per event: the one updated
// last (the later message on a tie), in the order events first appear.
func (a *Alerter) latest(msgs []bus.Message) []domain.Event {
	idx := make(map[string]int, len(msgs))
	out := make([]domain.Event, 0, len(msgs))
	for _, m := range msgs {
		var ev domain.Event
		if err := json.Unmarshal(m.Value, &ev); err != nil || ev.ID == "" {
			a.log.Error("alerting: skipping an event message that cannot be decoded",
				"topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "key", m.Key, "err", err)
			continue
		}
		if i, ok := idx[ev.ID]; ok {
			if !ev.UpdatedAt.Before(out[i].UpdatedAt) {
				out[i] = ev
			}
			continue
		}
		idx[ev.ID] = len(out)
		out = append(out, ev)
	}
	return out
}

// handleBatch handles the events in order, retrying a failed one with
// backoff until it succeeds; false means ctx ended first.
func (a *Alerter) handleBatch(ctx context.Context, evs []domain.Event, onCase func(domain.Case, bool)) bool {
	wait := a.backoffMin
	for i := 0; i < len(evs); {
		c, created, changed, err := a.handle(ctx, evs[i], true)
		if err != nil {
			if ctx.Err() != nil {
				return false
			}
			a.log.Warn("alerting: handling event failed, retrying", "event", evs[i].ID, "err", err, "wait", wait)
			if !sleep(ctx, wait) {
				return false
			}
			wait = min(2*wait, a.backoffMax)
			continue
		}
		wait = a.backoffMin
		if (created || changed) && onCase != nil {
			onCase(c, created)
		}
		i++
	}
	return true
}

// ack acknowledges the batch, retrying with backoff. Once the batch is
// written, ctx ending does not stop a last attempt (a drain), bounded in time.
func (a *Alerter) ack(ctx context.Context, sub bus.Subscription, msgs []bus.Message) bool {
	wait := a.backoffMin
	for {
		actx, cancel := ctx, context.CancelFunc(func() {})
		if ctx.Err() != nil {
			actx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		}
		err := sub.Ack(actx, msgs...)
		cancel()
		if err == nil {
			return true
		}
		if ctx.Err() != nil || errors.Is(err, bus.ErrClosed) {
			a.log.Warn("alerting: batch written but not acknowledged; it will be delivered again", "messages", len(msgs), "err", err)
			return false
		}
		a.log.Warn("alerting: acknowledging events failed, retrying", "messages", len(msgs), "err", err, "wait", wait)
		if !sleep(ctx, wait) {
			continue // one last attempt with the drain context
		}
		wait = min(2*wait, a.backoffMax)
	}
}

// sleep waits d or until ctx ends; false means ctx ended.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}
