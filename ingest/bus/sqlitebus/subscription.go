package sqlitebus

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sync"
	"time"

	"yuqing/ingest/bus"
)

// group is the in-process state of one consumer group on one topic. Its
// committed offsets mirror the database (this process is the only writer).
type group struct {
	mu        sync.Mutex
	name      string
	ts        *topicState
	committed []int64
	members   []*Subscription // in joining order
	owner     []*Subscription // per partition; nil when no member
	fences    [][]fence       // per partition: earlier owners with unacked deliveries
}

// fence blocks a partition's new owner until sub acknowledged up to until or closed.
type fence struct {
	sub   *Subscription
	until int64
}

// Subscription is one member of a consumer group. It is safe for concurrent
// use, but Fetch calls of one Subscription are served one at a time.
type Subscription struct {
	b    *Bus
	g    *group
	pos  []int64 // per partition: next offset to deliver, -1 = from committed; guarded by g.mu
	rr   int     // first partition tried by the next Fetch; guarded by g.mu
	dead bool    // guarded by g.mu
	done chan struct{}
	once sync.Once
}

var _ bus.Subscription = (*Subscription)(nil)

// Subscribe joins group on topic. The first Subscribe of a group the database
// has never seen registers it, starting at the oldest message kept.
func (b *Bus) Subscribe(ctx context.Context, topic, groupName string) (bus.Subscription, error) {
	if topic == "" || groupName == "" {
		return nil, fmt.Errorf("sqlitebus: subscribe: empty topic (%q) or group (%q)", topic, groupName)
	}
	b.subMu.Lock()
	defer b.subMu.Unlock()
	if b.isClosed() {
		return nil, fmt.Errorf("sqlitebus: subscribe %q to %q: %w", groupName, topic, bus.ErrClosed)
	}
	key := topic + "\x00" + groupName
	b.mu.Lock()
	g := b.groups[key]
	b.mu.Unlock()
	if g == nil {
		ts, err := b.topic(ctx, topic)
		if err != nil {
			return nil, fmt.Errorf("sqlitebus: subscribe %q to %q: %w", groupName, topic, err)
		}
		committed, err := b.register(ctx, ts, groupName)
		if err != nil {
			return nil, fmt.Errorf("sqlitebus: subscribe %q to %q: %w", groupName, topic, err)
		}
		g = &group{
			name:      groupName,
			ts:        ts,
			committed: committed,
			owner:     make([]*Subscription, b.partitions),
			fences:    make([][]fence, b.partitions),
		}
		b.mu.Lock()
		b.groups[key] = g
		b.mu.Unlock()
	}
	s := &Subscription{b: b, g: g, pos: make([]int64, b.partitions), done: make(chan struct{})}
	for i := range s.pos {
		s.pos[i] = -1
	}
	g.mu.Lock()
	g.members = append(g.members, s)
	g.rebalance()
	g.mu.Unlock()
	b.broadcast()
	return s, nil
}

// register makes sure the group has an offset row per partition (a new group
// starts at the oldest message kept) and returns its committed offsets.
func (b *Bus) register(ctx context.Context, ts *topicState, groupName string) ([]int64, error) {
	committed := make([]int64, b.partitions)
	topic := ts.name
	err := b.exec(ctx, func(tx *sql.Tx) error {
		for p := range b.partitions {
			var start sql.NullInt64
			if err := tx.QueryRow(`SELECT COALESCE(
				(SELECT MIN(id) - ? FROM messages WHERE id >= ? AND id < ?),
				(SELECT next FROM heads WHERE topic = ? AND part = ?))`,
				rowID(ts.id, p, 0), rowID(ts.id, p, 0), rowID(ts.id, p+1, 0), topic, p).Scan(&start); err != nil {
				return fmt.Errorf("find start of %q/%d in %s: %w", topic, p, b.path, err)
			}
			if _, err := tx.Exec(`INSERT OR IGNORE INTO offsets(grp, topic, part, next) VALUES(?, ?, ?, ?)`,
				groupName, topic, p, start.Int64); err != nil {
				return fmt.Errorf("register group %q in %s: %w", groupName, b.path, err)
			}
		}
		rows, err := tx.Query(`SELECT part, next FROM offsets WHERE grp = ? AND topic = ?`, groupName, topic)
		if err != nil {
			return fmt.Errorf("read offsets of %q in %s: %w", groupName, b.path, err)
		}
		defer rows.Close()
		for rows.Next() {
			var p int
			var next int64
			if err := rows.Scan(&p, &next); err != nil {
				return fmt.Errorf("read offsets of %q in %s: %w", groupName, b.path, err)
			}
			if p >= 0 && p < b.partitions {
				committed[p] = next
			}
		}
		return rows.Err()
	})
	return committed, err
}

// rebalance gives partition p to member p mod k. g.mu must be held.
func (g *group) rebalance() {
	for p := range g.owner {
		var nw *Subscription
		if len(g.members) > 0 {
			nw = g.members[p%len(g.members)]
		}
		old := g.owner[p]
		if old == nw {
			continue
		}
		if old != nil {
			if !old.dead && old.pos[p] > g.committed[p] {
				g.fences[p] = append(g.fences[p], fence{old, old.pos[p]})
			}
			old.pos[p] = -1
		}
		g.owner[p] = nw
		if nw != nil {
			nw.pos[p] = -1
		}
	}
}

// clear reports whether partition p has no pending fence. g.mu must be held.
func (g *group) clear(p int) bool {
	fs := g.fences[p][:0]
	for _, f := range g.fences[p] {
		if !f.sub.dead && g.committed[p] < f.until {
			fs = append(fs, f)
		}
	}
	g.fences[p] = fs
	return len(fs) == 0
}

// Fetch blocks until at least one message is available to this member, ctx
// ends, or the subscription or bus closes, and returns up to max messages in
// order within each partition.
func (s *Subscription) Fetch(ctx context.Context, max int) ([]bus.Message, error) {
	if max <= 0 {
		return nil, fmt.Errorf("sqlitebus: fetch: max must be positive, got %d", max)
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		changed := s.b.changedCh()
		msgs, err := s.tryFetch(ctx, max)
		if err != nil || len(msgs) > 0 {
			return msgs, err
		}
		if timer == nil {
			timer = time.NewTimer(pollFallback)
		} else {
			timer.Reset(pollFallback)
		}
		select {
		case <-changed:
		case <-timer.C:
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-s.done:
			return nil, bus.ErrClosed
		case <-s.b.quit:
			return nil, bus.ErrClosed
		}
	}
}

// tryFetch reads what is available now without waiting.
func (s *Subscription) tryFetch(ctx context.Context, max int) ([]bus.Message, error) {
	g := s.g
	g.mu.Lock()
	defer g.mu.Unlock()
	if s.dead {
		return nil, bus.ErrClosed
	}
	n := len(g.owner)
	start := s.rr
	s.rr = (s.rr + 1) % n
	var out []bus.Message
	for i := 0; i < n && len(out) < max; i++ {
		p := (start + i) % n
		if g.owner[p] != s || !g.clear(p) {
			continue
		}
		if s.pos[p] < 0 {
			s.pos[p] = g.committed[p]
		}
		if s.pos[p] >= g.ts.heads[p].Load() {
			continue
		}
		var err error
		before := len(out)
		out, err = s.b.read(ctx, g.ts, p, s.pos[p], max-len(out), out)
		if err != nil {
			return nil, err
		}
		if len(out) > before {
			s.pos[p] = out[len(out)-1].Offset + 1
		}
	}
	return out, nil
}

// read appends up to limit messages of topic/part from offset from to out.
func (b *Bus) read(ctx context.Context, t *topicState, part int, from int64, limit int, out []bus.Message) ([]bus.Message, error) {
	topic := t.name
	err := b.withReader(func() error {
		rows, err := b.sel.QueryContext(ctx, rowID(t.id, part, from), rowID(t.id, part+1, 0), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			m := bus.Message{Topic: topic, Partition: part}
			var id, ts int64
			if err := rows.Scan(&id, &m.Key, &m.Value, &ts); err != nil {
				return err
			}
			m.Offset = id & offsetMask
			m.Time = time.Unix(0, ts)
			out = append(out, m)
		}
		return rows.Err()
	})
	if err != nil {
		if errors.Is(err, bus.ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlitebus: read %q/%d from offset %d in %s: %w", topic, part, from, b.path, err)
	}
	return out, nil
}

// Ack durably commits the group's offset past the highest given message of
// each partition. Offsets never move back, so acknowledging an old message
// again does nothing.
func (s *Subscription) Ack(ctx context.Context, msgs ...bus.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	g := s.g
	upto := map[int]int64{}
	for _, m := range msgs {
		if m.Topic != "" && m.Topic != g.ts.name {
			return fmt.Errorf("sqlitebus: ack: message of topic %q on a subscription of %q", m.Topic, g.ts.name)
		}
		if m.Partition < 0 || m.Partition >= len(g.owner) {
			return fmt.Errorf("sqlitebus: ack: partition %d out of range 0..%d", m.Partition, len(g.owner)-1)
		}
		if head := g.ts.heads[m.Partition].Load(); m.Offset < 0 || m.Offset >= head {
			return fmt.Errorf("sqlitebus: ack: offset %d of %q/%d was never published (head %d)", m.Offset, g.ts.name, m.Partition, head)
		}
		if m.Offset+1 > upto[m.Partition] {
			upto[m.Partition] = m.Offset + 1
		}
	}
	g.mu.Lock()
	dead := s.dead
	g.mu.Unlock()
	if dead {
		return fmt.Errorf("sqlitebus: ack on group %q: %w", g.name, bus.ErrClosed)
	}
	err := s.b.exec(ctx, func(tx *sql.Tx) error {
		for p, next := range upto {
			if _, err := tx.Exec(`UPDATE offsets SET next = MAX(next, ?) WHERE grp = ? AND topic = ? AND part = ?`,
				next, g.name, g.ts.name, p); err != nil {
				return fmt.Errorf("commit offset of %q on %q/%d in %s: %w", g.name, g.ts.name, p, s.b.path, err)
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlitebus: ack on group %q: %w", g.name, err)
	}
	g.mu.Lock()
	for p, next := range upto {
		g.committed[p] = max(g.committed[p], next)
	}
	g.mu.Unlock()
	s.b.broadcast() // may lift a fence
	return nil
}

// Lag is how many messages of the topic the group has not acknowledged.
func (s *Subscription) Lag(ctx context.Context) (int64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	if s.b.isClosed() {
		return 0, fmt.Errorf("sqlitebus: lag of group %q: %w", s.g.name, bus.ErrClosed)
	}
	g := s.g
	g.mu.Lock()
	defer g.mu.Unlock()
	var lag int64
	for p := range g.committed {
		lag += max(g.ts.heads[p].Load()-g.committed[p], 0)
	}
	return lag, nil
}

// Close leaves the group: its partitions go to the other members, which
// receive this member's unacknowledged messages again. Close is idempotent
// and makes a blocked Fetch return bus.ErrClosed.
func (s *Subscription) Close() error {
	s.once.Do(func() {
		s.b.subMu.Lock()
		g := s.g
		g.mu.Lock()
		s.dead = true
		for i, m := range g.members {
			if m == s {
				g.members = append(g.members[:i], g.members[i+1:]...)
				break
			}
		}
		g.rebalance()
		g.mu.Unlock()
		s.b.subMu.Unlock()
		close(s.done)
		s.b.broadcast()
	})
	return nil
}
