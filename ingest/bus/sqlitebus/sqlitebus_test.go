package sqlitebus

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"go.uber.org/goleak"

	"yuqing/ingest/bus"
	"yuqing/ingest/bus/bustest"
)

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		crashChild() // never returns
	}
	goleak.VerifyTestMain(m)
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func openT(t *testing.T, path string, opts ...Option) *Bus {
	t.Helper()
	b, err := Open(path, append([]Option{WithLogger(quietLogger())}, opts...)...)
	if err != nil {
		t.Fatalf("Open %s: %v", path, err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []Option
	}{
		{"default", nil},
		{"one-partition-sync-normal", []Option{WithPartitions(1), WithSynchronousNormal()}},
		{"small-queue-and-batch", []Option{WithQueueSize(1), WithMaxBatch(3), WithPartitions(7)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bustest.Run(t, func(t *testing.T) func() bus.Bus {
				path := filepath.Join(t.TempDir(), "bus.db")
				return func() bus.Bus {
					b, err := Open(path, append([]Option{WithLogger(quietLogger())}, tc.opts...)...)
					if err != nil {
						t.Fatalf("Open %s: %v", path, err)
					}
					return b
				}
			})
		})
	}
}

func TestPartitionOfIsStable(t *testing.T) {
	tests := []struct {
		key string
		n   int
	}{
		{"weibo:1", 4}, {"某某市", 4}, {"x", 1}, {"long-key-" + string(make([]byte, 300)), 16},
	}
	for _, tc := range tests {
		p := partitionOf(tc.key, tc.n)
		if p < 0 || p >= tc.n {
			t.Errorf("partitionOf(%q, %d) = %d out of range", tc.key, tc.n, p)
		}
		if q := partitionOf(tc.key, tc.n); q != p {
			t.Errorf("partitionOf(%q) not stable: %d then %d", tc.key, p, q)
		}
	}
}

func TestEmptyKeyRoundRobinAndPublishSetsFields(t *testing.T) {
	b := openT(t, filepath.Join(t.TempDir(), "bus.db"), WithPartitions(4))
	msgs := make([]bus.Message, 8)
	for i := range msgs {
		msgs[i].Value = []byte(strconv.Itoa(i))
	}
	if err := b.Publish(context.Background(), bus.TopicPosts, msgs...); err != nil {
		t.Fatal(err)
	}
	count := map[int]int{}
	for i, m := range msgs {
		if m.Topic != bus.TopicPosts || m.Time.IsZero() {
			t.Errorf("message %d: Topic %q Time %v not set by Publish", i, m.Topic, m.Time)
		}
		count[m.Partition]++
	}
	for p := range 4 {
		if count[p] != 2 {
			t.Errorf("partition %d got %d empty-key messages, want 2 (round-robin)", p, count[p])
		}
	}
}

func TestPartitionCountFixedAtCreation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bus.db")
	b, err := Open(path, WithPartitions(3), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	b = openT(t, path, WithPartitions(8))
	if b.Partitions() != 3 {
		t.Fatalf("reopened with WithPartitions(8): Partitions() = %d, want 3 (fixed at creation)", b.Partitions())
	}
	if _, err := Open(filepath.Join(t.TempDir(), "x.db"), WithPartitions(0)); err == nil {
		t.Fatal("WithPartitions(0) accepted")
	}
}

func TestOffsetsContinueAfterReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bus.db")
	b, err := Open(path, WithPartitions(1), WithLogger(quietLogger()))
	if err != nil {
		t.Fatal(err)
	}
	m := []bus.Message{{Key: "k", Value: []byte("a")}, {Key: "k", Value: []byte("b")}}
	if err := b.Publish(context.Background(), "t", m...); err != nil {
		t.Fatal(err)
	}
	b.Close()
	b = openT(t, path)
	n := []bus.Message{{Key: "k", Value: []byte("c")}}
	if err := b.Publish(context.Background(), "t", n...); err != nil {
		t.Fatal(err)
	}
	if m[0].Offset != 0 || m[1].Offset != 1 || n[0].Offset != 2 {
		t.Fatalf("offsets %d %d %d, want 0 1 2", m[0].Offset, m[1].Offset, n[0].Offset)
	}
}

// Retention deletes only what every group acknowledged and what is old.
func TestRetention(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bus.db")
	b := openT(t, path, WithPartitions(1), WithRetention(time.Hour), WithRetentionInterval(time.Hour))
	ctx := context.Background()
	old := time.Now().Add(-2 * time.Hour)
	var msgs []bus.Message
	for i := range 10 {
		msgs = append(msgs, bus.Message{Key: "k", Value: []byte(strconv.Itoa(i)), Time: old})
	}
	msgs = append(msgs, bus.Message{Key: "k", Value: []byte("young")}) // offset 10
	// Nobody subscribed: nothing may go.
	if err := b.Publish(ctx, "t", msgs...); err != nil {
		t.Fatal(err)
	}
	if n, err := b.sweep(time.Hour); err != nil || n != 0 {
		t.Fatalf("sweep with no group deleted %d (%v), want 0", n, err)
	}
	s1, err := b.Subscribe(ctx, "t", "a")
	if err != nil {
		t.Fatal(err)
	}
	defer s1.Close()
	s2, err := b.Subscribe(ctx, "t", "b")
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	all := msgs
	if err := s1.Ack(ctx, all[7]); err != nil { // a: 0..7
		t.Fatal(err)
	}
	if err := s2.Ack(ctx, all[4]); err != nil { // b: 0..4
		t.Fatal(err)
	}
	if n, err := b.sweep(time.Hour); err != nil || n != 5 {
		t.Fatalf("sweep deleted %d (%v), want 5 (acked by both groups)", n, err)
	}
	if err := s2.Ack(ctx, all[10]); err != nil {
		t.Fatal(err)
	}
	if err := s1.Ack(ctx, all[10]); err != nil {
		t.Fatal(err)
	}
	if n, err := b.sweep(time.Hour); err != nil || n != 5 {
		t.Fatalf("second sweep deleted %d (%v), want 5 (the young one stays)", n, err)
	}
	var left int
	if err := b.rdb.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&left); err != nil || left != 1 {
		t.Fatalf("%d messages left (%v), want 1", left, err)
	}
	// A group joining now starts at the oldest message kept; lag counts it.
	s3, err := b.Subscribe(ctx, "t", "c")
	if err != nil {
		t.Fatal(err)
	}
	defer s3.Close()
	if l, err := s3.Lag(ctx); err != nil || l != 1 {
		t.Fatalf("lag of a new group = %d (%v), want 1", l, err)
	}
	got, err := s3.Fetch(ctx, 10)
	if err != nil || len(got) != 1 || string(got[0].Value) != "young" || got[0].Offset != 10 {
		t.Fatalf("new group fetched %+v (%v), want the young message at offset 10", got, err)
	}
	// Offsets are not reused after everything was deleted.
	b.Close()
	b2 := openT(t, path)
	m := []bus.Message{{Key: "k", Value: []byte("next")}}
	if err := b2.Publish(ctx, "t", m...); err != nil || m[0].Offset != 11 {
		t.Fatalf("offset after reopen = %d (%v), want 11", m[0].Offset, err)
	}
}

// The background sweep runs by itself and stops with Close (goleak checks).
func TestRetentionLoopRuns(t *testing.T) {
	b := openT(t, filepath.Join(t.TempDir(), "bus.db"), WithPartitions(1),
		WithRetention(time.Millisecond), WithRetentionInterval(20*time.Millisecond))
	ctx := context.Background()
	s, err := b.Subscribe(ctx, "t", "g")
	if err != nil {
		t.Fatal(err)
	}
	m := []bus.Message{{Key: "k", Value: []byte("x")}}
	if err := b.Publish(ctx, "t", m...); err != nil {
		t.Fatal(err)
	}
	if err := s.Ack(ctx, m[0]); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := b.rdb.QueryRow(`SELECT COUNT(*) FROM messages`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("retention loop did not delete the acknowledged message within 5s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// A partition taken from a member that still holds unacknowledged messages of
// it is not read by the new member until they are acknowledged or the old
// member leaves.
func TestRebalanceFence(t *testing.T) {
	b := openT(t, filepath.Join(t.TempDir(), "bus.db"), WithPartitions(2))
	ctx := context.Background()
	a, err := b.Subscribe(ctx, "t", "g")
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	// One key per partition.
	keys := map[int]string{}
	for i := 0; len(keys) < 2; i++ {
		k := "k" + strconv.Itoa(i)
		if _, ok := keys[partitionOf(k, 2)]; !ok {
			keys[partitionOf(k, 2)] = k
		}
	}
	var in []bus.Message
	for i := range 4 {
		in = append(in, bus.Message{Key: keys[i%2], Value: []byte(strconv.Itoa(i))})
	}
	if err := b.Publish(ctx, "t", in...); err != nil {
		t.Fatal(err)
	}
	got, err := a.Fetch(ctx, 10)
	if err != nil || len(got) != 4 {
		t.Fatalf("a fetched %d (%v), want 4", len(got), err)
	}
	// c joins and is given partition 1 while a holds its messages unacked.
	c, err := b.Subscribe(ctx, "t", "g")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	short := func() []bus.Message {
		ctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		m, _ := c.Fetch(ctx, 10)
		return m
	}
	if m := short(); len(m) != 0 {
		t.Fatalf("new member got %d messages still held by the old one", len(m))
	}
	// a acknowledges partition 1's messages: c may read partition 1 but
	// nothing is left there.
	var p1 []bus.Message
	for _, m := range got {
		if m.Partition == 1 {
			p1 = append(p1, m)
		}
	}
	if err := a.Ack(ctx, p1...); err != nil {
		t.Fatal(err)
	}
	if m := short(); len(m) != 0 {
		t.Fatalf("new member got %d already acknowledged messages", len(m))
	}
	more := []bus.Message{{Key: keys[1], Value: []byte("new")}}
	if err := b.Publish(ctx, "t", more...); err != nil {
		t.Fatal(err)
	}
	if m := short(); len(m) != 1 || string(m[0].Value) != "new" {
		t.Fatalf("new member got %v, want the new message", m)
	}
	// a leaves without acking partition 0: c gets those messages again.
	a.Close()
	ctx2, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	m, err := c.Fetch(ctx2, 10)
	if err != nil || len(m) != 2 || m[0].Partition != 0 {
		t.Fatalf("after the old member left, new member got %v (%v), want partition 0's 2 messages", m, err)
	}
}

func TestPublishValidationAndCancel(t *testing.T) {
	b := openT(t, filepath.Join(t.TempDir(), "bus.db"))
	if err := b.Publish(context.Background(), "", bus.Message{}); err == nil {
		t.Error("Publish to an empty topic accepted")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := b.Publish(ctx, "t", bus.Message{Key: "k", Value: []byte("x")})
	// A cancelled context either wins before the writer takes the message
	// (then nothing is written) or loses to a commit; both are allowed, but
	// a cancellation must report context.Canceled.
	if err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish with a cancelled context: %v", err)
	}
	s, serr := b.Subscribe(context.Background(), "t", "g")
	if serr != nil {
		t.Fatal(serr)
	}
	defer s.Close()
	lag, _ := s.Lag(context.Background())
	if (err == nil) != (lag == 1) {
		t.Fatalf("Publish returned %v but %d messages are stored", err, lag)
	}
	if _, err := s.Fetch(context.Background(), 0); err == nil {
		t.Error("Fetch(max=0) accepted")
	}
	if err := s.Ack(context.Background(), bus.Message{Topic: "t", Partition: 0, Offset: 99}); err == nil {
		t.Error("Ack of a never-published offset accepted")
	}
	if err := s.Ack(context.Background(), bus.Message{Topic: "other"}); err == nil {
		t.Error("Ack of another topic's message accepted")
	}
}

// Both sync modes really are configured.
func TestSynchronousPragma(t *testing.T) {
	tests := []struct {
		opts []Option
		want int // PRAGMA synchronous: 1 NORMAL, 2 FULL
	}{
		{nil, 2},
		{[]Option{WithSynchronousNormal()}, 1},
	}
	for _, tc := range tests {
		b := openT(t, filepath.Join(t.TempDir(), "bus.db"), tc.opts...)
		var got int
		err := b.exec(context.Background(), func(tx *sql.Tx) error {
			return tx.QueryRow(`PRAGMA synchronous`).Scan(&got)
		})
		if err != nil || got != tc.want {
			t.Errorf("PRAGMA synchronous = %d (%v), want %d", got, err, tc.want)
		}
	}
}
