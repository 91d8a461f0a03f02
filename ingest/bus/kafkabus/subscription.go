package kafkabus

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"

	"yuqing/ingest/bus"
)

// Subscription is one member of a Kafka consumer group: a kafka.Reader with
// GroupID, CommitInterval 0 (offsets are committed only by Ack, and Ack
// waits for the commit) and StartOffset FirstOffset (a new group starts at
// the oldest kept message).
//
// Messages fetched but not acknowledged are delivered again to the group
// after this member leaves (Close) or the group rebalances: the next owner
// of the partition starts at the committed offset. A rebalance while
// messages are in hand may so deliver them twice (at least once).
type Subscription struct {
	b      *Bus
	topic  string // bus topic
	full   string // Kafka topic
	group  string // Kafka group
	parts  int
	reader *kafka.Reader

	mu     sync.Mutex
	closed bool
	acked  map[int]int64 // highest offset this member committed, per partition

	closeOnce sync.Once
}

var _ bus.Subscription = (*Subscription)(nil)

// Subscribe joins group on topic and returns once the group is stable with
// this member in it (it has its share of the partitions), or ctx ended.
func (b *Bus) Subscribe(ctx context.Context, topic, group string) (bus.Subscription, error) {
	if topic == "" || group == "" {
		return nil, fmt.Errorf("kafkabus: subscribe: empty topic %q or group %q", topic, group)
	}
	if b.isClosed() {
		return nil, fmt.Errorf("kafkabus: subscribe to %q as %q: %w", topic, group, bus.ErrClosed)
	}
	s, err := b.subscribe(ctx, topic, group)
	if err != nil {
		return nil, fmt.Errorf("kafkabus: subscribe to %q as %q: %w", topic, group, err)
	}
	return s, nil
}

func (b *Bus) subscribe(ctx context.Context, topic, group string) (*Subscription, error) {
	full := b.Topic(topic)
	parts, err := b.ensureTopic(ctx, full)
	if err != nil {
		return nil, err
	}
	clientID := "yuqing-kafkabus-" + randomID()
	s := &Subscription{
		b: b, topic: topic, full: full, group: b.Group(group), parts: parts,
		acked: map[int]int64{},
	}
	var debugLog kafka.Logger
	if b.log.Enabled(ctx, slog.LevelDebug) {
		debugLog = kafka.LoggerFunc(func(f string, a ...any) { b.log.Debug(fmt.Sprintf(f, a...), "client", clientID) })
	}
	s.reader = kafka.NewReader(kafka.ReaderConfig{
		Brokers:           b.brokers,
		GroupID:           s.group,
		Topic:             full,
		Dialer:            &kafka.Dialer{ClientID: clientID, Timeout: dialTimeout, DualStack: true},
		QueueCapacity:     b.cfg.queue,
		MinBytes:          1,
		MaxBytes:          8 << 20,
		MaxWait:           250 * time.Millisecond,
		ReadLagInterval:   -1,
		CommitInterval:    0,
		StartOffset:       kafka.FirstOffset,
		HeartbeatInterval: b.cfg.heartbeat,
		SessionTimeout:    b.cfg.session,
		RebalanceTimeout:  b.cfg.rebalance,
		JoinGroupBackoff:  250 * time.Millisecond,
		ReadBackoffMin:    50 * time.Millisecond,
		ReadBackoffMax:    time.Second,
		ErrorLogger:       b.errLog,
		Logger:            debugLog,
	})
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		s.reader.Close()
		return nil, bus.ErrClosed
	}
	b.subs[s] = struct{}{}
	b.mu.Unlock()

	if err := s.waitJoined(ctx, clientID); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// waitJoined polls the group until it is stable with the member whose
// client id is clientID. kafka-go's Reader joins in the background and does
// not tell when it has its partitions; DescribeGroups does.
func (s *Subscription) waitJoined(ctx context.Context, clientID string) error {
	var last string
	for wait := 5 * time.Millisecond; ; wait = min(2*wait, 100*time.Millisecond) {
		res, err := s.b.client.DescribeGroups(ctx, &kafka.DescribeGroupsRequest{GroupIDs: []string{s.group}})
		switch {
		case err != nil:
			last = err.Error()
		case len(res.Groups) != 1:
			last = fmt.Sprintf("%d groups described", len(res.Groups))
		case res.Groups[0].Error != nil:
			last = res.Groups[0].Error.Error()
		default:
			g := res.Groups[0]
			last = "group state " + g.GroupState
			if g.GroupState == "Stable" {
				for _, m := range g.Members {
					if m.ClientID == clientID {
						return nil
					}
				}
				last += ", member not in it yet"
			}
		}
		if s.isClosed() {
			return bus.ErrClosed
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("joining group %q (%s): %w", s.group, last, ctx.Err())
		case <-time.After(wait):
		}
	}
}

func (s *Subscription) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Subscription) convert(m kafka.Message) bus.Message {
	return bus.Message{
		Topic:     s.topic,
		Key:       string(m.Key),
		Value:     m.Value,
		Partition: m.Partition,
		Offset:    m.Offset,
		Time:      m.Time,
	}
}

// Fetch blocks for the first message (FetchMessage), then takes more while
// they arrive within the fetch linger (a few milliseconds), up to max. It
// returns bus.ErrClosed once the subscription or its bus is closed, and
// ctx's error when ctx ends before a message came.
func (s *Subscription) Fetch(ctx context.Context, max int) ([]bus.Message, error) {
	if max < 1 {
		return nil, fmt.Errorf("kafkabus: fetch %q: max must be at least 1, got %d", s.full, max)
	}
	if s.isClosed() {
		return nil, bus.ErrClosed
	}
	m, err := s.reader.FetchMessage(ctx)
	if err != nil {
		return nil, s.fetchErr(ctx, err)
	}
	out := make([]bus.Message, 1, min(max, 64))
	out[0] = s.convert(m)
	if max == 1 || s.b.cfg.linger == 0 {
		return out, nil
	}
	lctx, cancel := context.WithTimeout(ctx, s.b.cfg.linger)
	defer cancel()
	for len(out) < max {
		m, err := s.reader.FetchMessage(lctx)
		if err != nil {
			// Linger over, ctx ended or closed: hand over what we have;
			// the next Fetch reports a lasting error.
			break
		}
		out = append(out, s.convert(m))
	}
	return out, nil
}

func (s *Subscription) fetchErr(ctx context.Context, err error) error {
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return err
	}
	if errors.Is(err, io.EOF) || s.isClosed() {
		return bus.ErrClosed
	}
	return fmt.Errorf("kafkabus: fetch %q as %q: %w", s.full, s.group, err)
}

// Ack commits, per partition, the offset after the highest given message
// (CommitMessages), and returns once the commit is durable.
// Acknowledging a message older than one already acknowledged by this
// member does nothing.
func (s *Subscription) Ack(ctx context.Context, msgs ...bus.Message) error {
	if s.isClosed() {
		return bus.ErrClosed
	}
	high := map[int]int64{}
	for _, m := range msgs {
		if m.Topic != "" && m.Topic != s.topic {
			return fmt.Errorf("kafkabus: ack on %q: message of topic %q", s.topic, m.Topic)
		}
		if m.Partition < 0 || m.Partition >= s.parts || m.Offset < 0 {
			return fmt.Errorf("kafkabus: ack on %q: no message at partition %d offset %d", s.topic, m.Partition, m.Offset)
		}
		if o, ok := high[m.Partition]; !ok || m.Offset > o {
			high[m.Partition] = m.Offset
		}
	}
	s.mu.Lock()
	commits := make([]kafka.Message, 0, len(high))
	for p, o := range high {
		if a, ok := s.acked[p]; ok && a >= o {
			continue
		}
		commits = append(commits, kafka.Message{Topic: s.full, Partition: p, Offset: o})
	}
	s.mu.Unlock()
	if len(commits) == 0 {
		return nil
	}
	if err := s.reader.CommitMessages(ctx, commits...); err != nil {
		if errors.Is(err, io.ErrClosedPipe) {
			return bus.ErrClosed
		}
		return fmt.Errorf("kafkabus: ack %d partitions of %q as %q: %w", len(commits), s.full, s.group, err)
	}
	s.mu.Lock()
	for _, c := range commits {
		if a, ok := s.acked[c.Partition]; !ok || c.Offset > a {
			s.acked[c.Partition] = c.Offset
		}
	}
	s.mu.Unlock()
	return nil
}

// Lag is the sum over the topic's partitions of the high watermark minus the
// group's committed offset (OffsetFetch and ListOffsets against the broker,
// so it counts every member's partitions, not just this reader's). A
// partition without a commit counts from its oldest kept message.
func (s *Subscription) Lag(ctx context.Context) (int64, error) {
	if s.isClosed() {
		return 0, bus.ErrClosed
	}
	return s.b.lagWithRetry(ctx, s.full, s.group, s.parts)
}

// GroupLag is how many messages of topic the consumer group has not
// acknowledged, asked of the broker without joining the group: ingest uses
// it to slow senders down when analyzers in other processes fall behind.
func (b *Bus) GroupLag(ctx context.Context, topic, group string) (int64, error) {
	full := b.Topic(topic)
	parts, err := b.ensureTopic(ctx, full)
	if err != nil {
		return 0, err
	}
	return b.lagWithRetry(ctx, full, b.Group(group), parts)
}

func (b *Bus) lagWithRetry(ctx context.Context, full, group string, nparts int) (int64, error) {
	for attempt := 1; ; attempt++ {
		lag, err := b.lag(ctx, full, group, nparts)
		if err == nil || !retriable(err) || attempt == 5 {
			return lag, err
		}
		select {
		case <-ctx.Done():
			return 0, err
		case <-time.After(time.Duration(attempt) * 50 * time.Millisecond):
		}
	}
}

func (b *Bus) lag(ctx context.Context, full, group string, nparts int) (int64, error) {
	parts := make([]int, nparts)
	reqs := make([]kafka.OffsetRequest, 0, 2*nparts)
	for p := range parts {
		parts[p] = p
		reqs = append(reqs, kafka.FirstOffsetOf(p), kafka.LastOffsetOf(p))
	}
	committed, err := b.client.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{full: parts}})
	if err == nil {
		err = committed.Error
	}
	if err != nil {
		return 0, fmt.Errorf("kafkabus: lag of %q on %q: committed offsets: %w", group, full, err)
	}
	marks, err := b.client.ListOffsets(ctx, &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{full: reqs}})
	if err != nil {
		return 0, fmt.Errorf("kafkabus: lag of %q on %q: watermarks: %w", group, full, err)
	}
	commit := map[int]int64{}
	for _, p := range committed.Topics[full] {
		if p.Error != nil {
			return 0, fmt.Errorf("kafkabus: lag of %q on %q partition %d: %w", group, full, p.Partition, p.Error)
		}
		commit[p.Partition] = p.CommittedOffset
	}
	var ws []watermark
	for _, p := range marks.Topics[full] {
		if p.Error != nil {
			return 0, fmt.Errorf("kafkabus: lag of %q on %q partition %d: %w", group, full, p.Partition, p.Error)
		}
		c, ok := commit[p.Partition]
		if !ok {
			c = -1
		}
		ws = append(ws, watermark{low: p.FirstOffset, high: p.LastOffset, committed: c})
	}
	if len(ws) != nparts {
		return 0, fmt.Errorf("kafkabus: lag of %q on %q: watermarks of %d partitions, want %d", group, full, len(ws), nparts)
	}
	return lagOf(ws), nil
}

// watermark is one partition's offsets: the oldest kept, the next to be
// written, and the group's committed one (-1: none).
type watermark struct{ low, high, committed int64 }

func lagOf(ws []watermark) int64 {
	var lag int64
	for _, w := range ws {
		c := w.committed
		if c < w.low { // no commit, or the committed messages were deleted
			c = w.low
		}
		if w.high > c {
			lag += w.high - c
		}
	}
	return lag
}

// Close leaves the group; unacknowledged messages go to the other members
// (or the next subscriber). It is idempotent, and unblocks a pending Fetch
// with bus.ErrClosed.
func (s *Subscription) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		if err := s.reader.Close(); err != nil {
			s.b.log.Warn("kafkabus: close reader", "topic", s.full, "group", s.group, "err", err)
		}
		s.b.forget(s)
	})
	return nil
}
