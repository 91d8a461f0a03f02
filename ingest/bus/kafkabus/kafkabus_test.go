package kafkabus

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"go.uber.org/goleak"

	"yuqing/ingest/bus"
	"yuqing/ingest/bus/bustest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// brokersT returns the brokers of YUQING_KAFKA or skips the test.
func brokersT(tb testing.TB) []string {
	tb.Helper()
	v := os.Getenv("YUQING_KAFKA")
	if v == "" {
		tb.Skip("kafkabus: YUQING_KAFKA not set; run make test-integration")
	}
	return strings.Split(v, ",")
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// testOpts isolate a test (its own topic and group prefix, whose topics
// are deleted when it ends) and make group joins and rebalances quick.
func testOpts(tb testing.TB, extra ...Option) []Option {
	prefix := "yuqing-test-" + randomID() + "."
	tb.Cleanup(func() { deleteTopics(tb, prefix) })
	return append([]Option{
		WithTopicPrefix(prefix),
		WithLogger(quietLogger()),
		WithGroupTimings(6*time.Second, 6*time.Second, 100*time.Millisecond),
	}, extra...)
}

// deleteTopics removes the topics a test created.
func deleteTopics(tb testing.TB, prefix string) {
	b, err := Open(brokersT(tb), WithLogger(quietLogger()))
	if err != nil {
		tb.Logf("delete test topics %s*: %v", prefix, err)
		return
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	md, err := b.client.Metadata(ctx, &kafka.MetadataRequest{})
	if err != nil {
		tb.Logf("delete test topics %s*: %v", prefix, err)
		return
	}
	var names []string
	for _, tp := range md.Topics {
		if strings.HasPrefix(tp.Name, prefix) {
			names = append(names, tp.Name)
		}
	}
	if len(names) == 0 {
		return
	}
	if _, err := b.client.DeleteTopics(ctx, &kafka.DeleteTopicsRequest{Topics: names}); err != nil {
		tb.Logf("delete test topics %v: %v", names, err)
	}
}

func openT(t testing.TB, brokers []string, opts ...Option) *Bus {
	t.Helper()
	b, err := Open(brokers, opts...)
	if err != nil {
		t.Fatalf("Open %v: %v", brokers, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	brokers := brokersT(t)
	bustest.Run(t, func(t *testing.T) func() bus.Bus {
		opts := testOpts(t)
		return func() bus.Bus {
			b, err := Open(brokers, opts...)
			if err != nil {
				t.Fatalf("Open %v: %v", brokers, err)
			}
			return b
		}
	})
}

// TestAtLeastOnceAcrossProcesses: messages fetched but not acknowledged by
// one bus (a process that died before its durable write) come again to the
// group through another bus on the same cluster, and acknowledged ones do not.
func TestAtLeastOnceAcrossProcesses(t *testing.T) {
	brokers := brokersT(t)
	opts := testOpts(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	first := openT(t, brokers, opts...)
	s, err := first.Subscribe(ctx, bus.TopicPosts, "analyzer")
	if err != nil {
		t.Fatal(err)
	}
	in := make([]bus.Message, 40)
	for i := range in {
		in[i] = bus.Message{Key: "weibo:" + strconv.Itoa(i%4), Value: []byte("帖子-" + strconv.Itoa(i))}
	}
	if err := first.Publish(ctx, bus.TopicPosts, in...); err != nil {
		t.Fatal(err)
	}
	for _, m := range in {
		if m.Topic != bus.TopicPosts || m.Partition < 0 || m.Partition >= DefaultPartitions || m.Time.IsZero() {
			t.Fatalf("Publish did not fill in the message: %+v", m)
		}
	}
	got := fetchN(t, ctx, s, len(in))
	// Ack the first message of each partition only.
	firsts := map[int]bus.Message{}
	for _, m := range got {
		if f, ok := firsts[m.Partition]; !ok || m.Offset < f.Offset {
			firsts[m.Partition] = m
		}
	}
	acked := map[string]bool{}
	for _, m := range firsts {
		if err := s.Ack(ctx, m); err != nil {
			t.Fatal(err)
		}
		acked[string(m.Value)] = true
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}

	second := openT(t, brokers, opts...)
	s2, err := second.Subscribe(ctx, bus.TopicPosts, "analyzer")
	if err != nil {
		t.Fatal(err)
	}
	again := fetchN(t, ctx, s2, len(in)-len(acked))
	seen := map[string]bool{}
	for _, m := range again {
		if acked[string(m.Value)] {
			t.Errorf("acknowledged message %q delivered again", m.Value)
		}
		if seen[string(m.Value)] {
			t.Errorf("message %q delivered twice in one subscription", m.Value)
		}
		seen[string(m.Value)] = true
	}
	if lag, err := s2.Lag(ctx); err != nil || lag != int64(len(in)-len(acked)) {
		t.Fatalf("Lag = %d, %v; want %d", lag, err, len(in)-len(acked))
	}
	// the same, asked by a process that is not in the group
	third := openT(t, brokers, opts...)
	if lag, err := third.GroupLag(ctx, bus.TopicPosts, "analyzer"); err != nil || lag != int64(len(in)-len(acked)) {
		t.Fatalf("GroupLag from outside the group = %d, %v; want %d", lag, err, len(in)-len(acked))
	}
}

func fetchN(t *testing.T, ctx context.Context, s bus.Subscription, n int) []bus.Message {
	t.Helper()
	var out []bus.Message
	for len(out) < n {
		msgs, err := s.Fetch(ctx, n-len(out))
		if err != nil {
			t.Fatalf("Fetch after %d of %d: %v", len(out), n, err)
		}
		out = append(out, msgs...)
	}
	return out
}

// TestPublishSetsPosition checks the positions Publish reports against what
// a consumer reads.
func TestPublishSetsPosition(t *testing.T) {
	brokers := brokersT(t)
	b := openT(t, brokers, testOpts(t, WithPartitions(3))...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s, err := b.Subscribe(ctx, bus.TopicEvents, "g")
	if err != nil {
		t.Fatal(err)
	}
	when := time.Date(2024, 7, 1, 8, 0, 0, 0, time.UTC)
	in := []bus.Message{
		{Key: "事件-1", Value: []byte("a")},
		{Key: "事件-2", Value: []byte("b"), Time: when},
		{Key: "事件-1", Value: []byte("c")},
	}
	if err := b.Publish(ctx, bus.TopicEvents, in...); err != nil {
		t.Fatal(err)
	}
	if in[0].Partition != in[2].Partition || in[2].Offset <= in[0].Offset {
		t.Errorf("same key at %d/%d and %d/%d", in[0].Partition, in[0].Offset, in[2].Partition, in[2].Offset)
	}
	got := fetchN(t, ctx, s, 3)
	for _, g := range got {
		var w bus.Message
		for _, m := range in {
			if string(m.Value) == string(g.Value) {
				w = m
			}
		}
		if g.Partition != w.Partition || g.Offset != w.Offset || g.Topic != w.Topic || g.Key != w.Key {
			t.Errorf("published %q at %s/%d/%d, fetched at %s/%d/%d", w.Value, w.Topic, w.Partition, w.Offset, g.Topic, g.Partition, g.Offset)
		}
		if !g.Time.Equal(w.Time.Truncate(time.Millisecond)) {
			t.Errorf("%q: published Time %v, fetched %v", w.Value, w.Time, g.Time)
		}
	}
	if err := s.Ack(ctx, bus.Message{Topic: bus.TopicPosts, Partition: 0, Offset: 0}); err == nil {
		t.Error("Ack of a message of another topic: want an error")
	}
	if err := s.Ack(ctx, bus.Message{Partition: 3, Offset: 0}); err == nil {
		t.Error("Ack of partition 3 of a 3-partition topic: want an error")
	}
}

func TestOpenRejects(t *testing.T) {
	tests := []struct {
		name    string
		brokers []string
		opts    []Option
		want    string
	}{
		{"no brokers", nil, nil, "no broker"},
		{"bad address", []string{"localhost"}, nil, "broker address"},
		{"zero partitions", []string{"127.0.0.1:1"}, []Option{WithPartitions(0)}, "partitions"},
		{"zero replication", []string{"127.0.0.1:1"}, []Option{WithReplicationFactor(0)}, "replication"},
		{"zero batch", []string{"127.0.0.1:1"}, []Option{WithBatch(0, time.Millisecond)}, "batch size"},
		{"no batch timeout", []string{"127.0.0.1:1"}, []Option{WithBatch(10, 0)}, "batch timeout"},
		{"heartbeat above session", []string{"127.0.0.1:1"}, []Option{WithGroupTimings(time.Second, time.Second, 2*time.Second)}, "heartbeat"},
		{"negative linger", []string{"127.0.0.1:1"}, []Option{WithFetchLinger(-1)}, "linger"},
		{"zero queue", []string{"127.0.0.1:1"}, []Option{WithQueueCapacity(0)}, "queue"},
		{"nobody listening", []string{"127.0.0.1:1"}, nil, "do not answer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, err := Open(tc.brokers, append(tc.opts, WithLogger(quietLogger()))...)
			if err == nil {
				b.Close()
				t.Fatalf("Open succeeded, want an error about %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Open: %v; want it to mention %q", err, tc.want)
			}
		})
	}
}

func TestLagOf(t *testing.T) {
	tests := []struct {
		name string
		ws   []watermark
		want int64
	}{
		{"empty topic", []watermark{{0, 0, -1}, {0, 0, -1}}, 0},
		{"no commit counts from the oldest", []watermark{{0, 10, -1}, {5, 8, -1}}, 13},
		{"committed", []watermark{{0, 10, 4}, {0, 8, 8}}, 6},
		{"commit below retention", []watermark{{100, 120, 30}}, 20},
		{"commit past the high watermark", []watermark{{0, 5, 9}}, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := lagOf(tc.ws); got != tc.want {
				t.Fatalf("lagOf(%v) = %d, want %d", tc.ws, got, tc.want)
			}
		})
	}
}

func TestRetriable(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{kafka.LeaderNotAvailable, true},
		{errNotReady, true},
		{io.ErrUnexpectedEOF, true},
		{errors.New("message too large"), false},
		{kafka.InvalidTopic, false},
	}
	for _, tc := range tests {
		if got := retriable(tc.err); got != tc.want {
			t.Errorf("retriable(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// TestRebalanceRedeliversUnacked: a member holds fetched, unacknowledged
// messages when a second member joins; after the rebalance every one of
// them comes again to the group (from the committed offsets), and no
// acknowledged one does.
func TestRebalanceRedeliversUnacked(t *testing.T) {
	brokers := brokersT(t)
	b := openT(t, brokers, testOpts(t)...)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	s1, err := b.Subscribe(ctx, bus.TopicPosts, "alerting")
	if err != nil {
		t.Fatal(err)
	}
	in := make([]bus.Message, 200)
	for i := range in {
		in[i] = bus.Message{Key: "key-" + strconv.Itoa(i%16), Value: []byte("m-" + strconv.Itoa(i))}
	}
	if err := b.Publish(ctx, bus.TopicPosts, in...); err != nil {
		t.Fatal(err)
	}
	got := fetchN(t, ctx, s1, len(in))
	// Ack the older half of each partition.
	byPart := map[int][]bus.Message{}
	for _, m := range got {
		byPart[m.Partition] = append(byPart[m.Partition], m)
	}
	unacked := map[string]bool{}
	for _, ms := range byPart {
		half := len(ms) / 2
		for i, m := range ms { // in offset order within a partition
			if i >= half {
				unacked[string(m.Value)] = true
			}
		}
		if half > 0 {
			if err := s1.Ack(ctx, ms[half-1]); err != nil {
				t.Fatal(err)
			}
		}
	}
	s2, err := b.Subscribe(ctx, bus.TopicPosts, "alerting")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	again := map[string]int{}
	total := 0
	fctx, fcancel := context.WithTimeout(ctx, 20*time.Second)
	defer fcancel()
	var wg sync.WaitGroup
	for _, s := range []bus.Subscription{s1, s2} {
		wg.Go(func() {
			for {
				msgs, err := s.Fetch(fctx, 50)
				if err != nil {
					return
				}
				mu.Lock()
				for _, m := range msgs {
					again[string(m.Value)]++
				}
				total += len(msgs)
				if total >= len(unacked) {
					fcancel()
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	for v := range unacked {
		if again[v] != 1 {
			t.Errorf("unacknowledged %q delivered %d times after the rebalance, want 1", v, again[v])
		}
	}
	for v, n := range again {
		if !unacked[v] {
			t.Errorf("acknowledged %q delivered %d times after the rebalance", v, n)
		}
	}
}
