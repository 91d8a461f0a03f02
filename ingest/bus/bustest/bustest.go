// Package bustest is the conformance suite of the Bus port: every backend of
// yuqing/ingest/bus (sqlitebus, a Kafka one) runs Run from its own tests. It
// uses only the port, so it says what any backend must do: durable publish,
// order within a key, consumer groups with their own committed offsets,
// at-least-once redelivery of unacknowledged messages after a reopen, lag,
// concurrency, and clean shutdown.
package bustest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"yuqing/ingest/bus"
)

// Timeouts of the suite; generous so that a networked backend passes too.
const (
	collectTimeout = 30 * time.Second
	quietWait      = 300 * time.Millisecond
)

// Run runs the suite. open prepares fresh, empty storage for one test and
// returns a function that opens a Bus on that storage; the suite calls it
// again after closing a Bus to check what survived.
func Run(t *testing.T, open func(t *testing.T) func() bus.Bus) {
	tests := []struct {
		name string
		fn   func(t *testing.T, reopen func() bus.Bus)
	}{
		{"RoundTrip", testRoundTrip},
		{"OrderWithinKey", testOrderWithinKey},
		{"AckThenReopenNoRedelivery", testAckReopen},
		{"NoAckThenReopenRedelivers", testNoAckReopen},
		{"NewSubscriptionRedeliversUnacked", testNewSubscriptionRedelivers},
		{"GroupsIndependent", testGroupsIndependent},
		{"TopicsIndependent", testTopicsIndependent},
		{"Lag", testLag},
		{"ConcurrentPublishers", testConcurrentPublishers},
		{"SameGroupSplitsMessages", testSameGroupSplits},
		{"FetchUnblocksOnCancel", testFetchCancel},
		{"FetchUnblocksOnClose", testFetchClose},
		{"FetchWakesOnPublish", testFetchWakes},
		{"ClosedBus", testClosedBus},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			reopen := open(t)
			tc.fn(t, func() bus.Bus {
				b := reopen()
				t.Cleanup(func() { b.Close() })
				return b
			})
		})
	}
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func subscribe(t *testing.T, b bus.Bus, topic, group string) bus.Subscription {
	t.Helper()
	s, err := b.Subscribe(ctxT(t, collectTimeout), topic, group)
	if err != nil {
		t.Fatalf("Subscribe(%q, %q): %v", topic, group, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func publish(t *testing.T, b bus.Bus, topic string, msgs ...bus.Message) {
	t.Helper()
	if err := b.Publish(ctxT(t, collectTimeout), topic, msgs...); err != nil {
		t.Fatalf("Publish %d messages to %q: %v", len(msgs), topic, err)
	}
}

// numbered makes n messages whose values are prefix-0 .. prefix-(n-1), with
// key keyOf(i).
func numbered(prefix string, n int, keyOf func(i int) string) []bus.Message {
	out := make([]bus.Message, n)
	for i := range out {
		out[i] = bus.Message{Key: keyOf(i), Value: []byte(prefix + "-" + strconv.Itoa(i))}
	}
	return out
}

// collect fetches until it has n messages, failing on error or timeout.
func collect(t *testing.T, s bus.Subscription, n int) []bus.Message {
	t.Helper()
	ctx := ctxT(t, collectTimeout)
	var out []bus.Message
	for len(out) < n {
		msgs, err := s.Fetch(ctx, n-len(out))
		if err != nil {
			t.Fatalf("Fetch after %d of %d messages: %v", len(out), n, err)
		}
		if len(msgs) == 0 {
			t.Fatalf("Fetch returned no message and no error")
		}
		if len(msgs) > n-len(out) {
			t.Fatalf("Fetch(max=%d) returned %d messages", n-len(out), len(msgs))
		}
		out = append(out, msgs...)
	}
	return out
}

// quiet checks that nothing more is delivered for a short while.
func quiet(t *testing.T, s bus.Subscription) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), quietWait)
	defer cancel()
	msgs, err := s.Fetch(ctx, 100)
	if len(msgs) > 0 {
		t.Fatalf("expected no more messages, got %d: first %q", len(msgs), msgs[0].Value)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Fetch on an empty subscription: got %v, want context.DeadlineExceeded", err)
	}
}

func values(msgs []bus.Message) []string {
	out := make([]string, len(msgs))
	for i, m := range msgs {
		out[i] = string(m.Value)
	}
	sort.Strings(out)
	return out
}

func sameSet(t *testing.T, what string, got []bus.Message, want []string) {
	t.Helper()
	g := values(got)
	w := append([]string(nil), want...)
	sort.Strings(w)
	if strings.Join(g, ",") != strings.Join(w, ",") {
		t.Fatalf("%s: got %d messages %v, want %d %v", what, len(g), g, len(w), w)
	}
}

func ack(t *testing.T, s bus.Subscription, msgs ...bus.Message) {
	t.Helper()
	if err := s.Ack(ctxT(t, collectTimeout), msgs...); err != nil {
		t.Fatalf("Ack %d messages: %v", len(msgs), err)
	}
}

func testRoundTrip(t *testing.T, reopen func() bus.Bus) {
	b := reopen()
	s := subscribe(t, b, bus.TopicPosts, "g-roundtrip")
	before := time.Now().Add(-time.Minute)
	in := []bus.Message{
		{Key: "k1", Value: []byte(`{"id":"1","text":"某市发布暴雨红色预警"}`)},
		{Key: "k2", Value: []byte(`{"id":"2"}`)},
		{Key: "k1", Value: []byte(`{"id":"3"}`)},
	}
	publish(t, b, bus.TopicPosts, in...)
	got := collect(t, s, len(in))
	byValue := map[string]bus.Message{}
	type pos struct {
		p   int
		off int64
	}
	seen := map[pos]bool{}
	for _, m := range got {
		if m.Topic != bus.TopicPosts {
			t.Errorf("Topic = %q, want %q", m.Topic, bus.TopicPosts)
		}
		if m.Partition < 0 || m.Offset < 0 {
			t.Errorf("message %q at partition %d offset %d, want both >= 0", m.Value, m.Partition, m.Offset)
		}
		if m.Time.Before(before) || m.Time.After(time.Now().Add(time.Minute)) {
			t.Errorf("message %q Time = %v, want about now", m.Value, m.Time)
		}
		if seen[pos{m.Partition, m.Offset}] {
			t.Errorf("two messages at partition %d offset %d", m.Partition, m.Offset)
		}
		seen[pos{m.Partition, m.Offset}] = true
		byValue[string(m.Value)] = m
	}
	for _, w := range in {
		m, ok := byValue[string(w.Value)]
		if !ok {
			t.Fatalf("message %q not delivered", w.Value)
		}
		if m.Key != w.Key {
			t.Errorf("message %q Key = %q, want %q", w.Value, m.Key, w.Key)
		}
	}
	a, c := byValue[string(in[0].Value)], byValue[string(in[2].Value)]
	if a.Partition != c.Partition || a.Offset >= c.Offset {
		t.Errorf("same key: first at %d/%d, second at %d/%d; want same partition, increasing offset",
			a.Partition, a.Offset, c.Partition, c.Offset)
	}
	quiet(t, s)
}

func testOrderWithinKey(t *testing.T, reopen func() bus.Bus) {
	b := reopen()
	s := subscribe(t, b, bus.TopicPosts, "g-order")
	const perKey = 300
	keys := []string{"weibo:甲", "weibo:乙", "news:丙", "gov:丁"}
	// Interleave keys, in batches and one by one.
	var all []bus.Message
	for i := range perKey {
		for _, k := range keys {
			all = append(all, bus.Message{Key: k, Value: []byte(k + "#" + strconv.Itoa(i))})
		}
	}
	for i := 0; i < len(all); {
		n := 1 + i%37
		if i+n > len(all) {
			n = len(all) - i
		}
		publish(t, b, bus.TopicPosts, all[i:i+n]...)
		i += n
	}
	got := collect(t, s, len(all))
	next := map[string]int{}
	part := map[string]int{}
	for _, m := range got {
		k, n, ok := strings.Cut(string(m.Value), "#")
		if !ok || k != m.Key {
			t.Fatalf("message %q has key %q", m.Value, m.Key)
		}
		i, _ := strconv.Atoi(n)
		if i != next[k] {
			t.Fatalf("key %q: got #%d, want #%d (order within a key broken)", k, i, next[k])
		}
		next[k]++
		if p, ok := part[k]; ok && p != m.Partition {
			t.Fatalf("key %q in partitions %d and %d", k, p, m.Partition)
		}
		part[k] = m.Partition
	}
	for _, k := range keys {
		if next[k] != perKey {
			t.Errorf("key %q: %d messages, want %d", k, next[k], perKey)
		}
	}
	quiet(t, s)
}

func testAckReopen(t *testing.T, reopen func() bus.Bus) {
	b := reopen()
	s := subscribe(t, b, bus.TopicPosts, "g-ack")
	in := numbered("a", 50, func(i int) string { return "k" + strconv.Itoa(i%7) })
	publish(t, b, bus.TopicPosts, in...)
	got := collect(t, s, len(in))
	ack(t, s, got...)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	b = reopen()
	s = subscribe(t, b, bus.TopicPosts, "g-ack")
	quiet(t, s)
	// New messages after the reopen still come, and only those.
	more := numbered("b", 5, func(i int) string { return "k" + strconv.Itoa(i) })
	publish(t, b, bus.TopicPosts, more...)
	sameSet(t, "after reopen", collect(t, s, len(more)), values(more))
	quiet(t, s)
}

func testNoAckReopen(t *testing.T, reopen func() bus.Bus) {
	b := reopen()
	s := subscribe(t, b, bus.TopicPosts, "g-redeliver")
	in := numbered("m", 60, func(i int) string { return "k" + strconv.Itoa(i%5) })
	publish(t, b, bus.TopicPosts, in...)
	got := collect(t, s, len(in))
	// Acknowledge the first half of each partition (by offset); the rest
	// must come again after the reopen, and only the rest.
	byPart := map[int][]bus.Message{}
	for _, m := range got {
		byPart[m.Partition] = append(byPart[m.Partition], m)
	}
	var acked, unacked []string
	for _, ms := range byPart {
		sort.Slice(ms, func(i, j int) bool { return ms[i].Offset < ms[j].Offset })
		half := len(ms) / 2
		if half > 0 {
			ack(t, s, ms[half-1]) // acknowledges every earlier one too
		}
		for i, m := range ms {
			if i < half {
				acked = append(acked, string(m.Value))
			} else {
				unacked = append(unacked, string(m.Value))
			}
		}
	}
	if len(acked) == 0 || len(unacked) == 0 {
		t.Fatalf("test needs acked and unacked messages; got %d and %d", len(acked), len(unacked))
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	b = reopen()
	s = subscribe(t, b, bus.TopicPosts, "g-redeliver")
	again := collect(t, s, len(unacked))
	sameSet(t, "redelivered after reopen", again, unacked)
	quiet(t, s)
	ack(t, s, again...)
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	b = reopen()
	s = subscribe(t, b, bus.TopicPosts, "g-redeliver")
	quiet(t, s)
}

func testNewSubscriptionRedelivers(t *testing.T, reopen func() bus.Bus) {
	b := reopen()
	s := subscribe(t, b, bus.TopicPosts, "g-resub")
	in := numbered("r", 20, func(i int) string { return "k" + strconv.Itoa(i%3) })
	publish(t, b, bus.TopicPosts, in...)
	got := collect(t, s, len(in))
	if err := s.Close(); err != nil {
		t.Fatalf("Subscription.Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Subscription.Close: %v", err)
	}
	if _, err := s.Fetch(ctxT(t, time.Second), 10); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Fetch on a closed subscription: got %v, want bus.ErrClosed", err)
	}
	s2 := subscribe(t, b, bus.TopicPosts, "g-resub")
	sameSet(t, "redelivered to the next subscription", collect(t, s2, len(in)), values(got))
	quiet(t, s2)
}

func testGroupsIndependent(t *testing.T, reopen func() bus.Bus) {
	b := reopen()
	a := subscribe(t, b, bus.TopicPosts, "g-one")
	c := subscribe(t, b, bus.TopicPosts, "g-two")
	in := numbered("x", 40, func(i int) string { return "k" + strconv.Itoa(i%4) })
	publish(t, b, bus.TopicPosts, in...)
	ga := collect(t, a, len(in))
	sameSet(t, "group one", ga, values(in))
	ack(t, a, ga...)
	gc := collect(t, c, len(in))
	sameSet(t, "group two", gc, values(in))
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}

	b = reopen()
	a = subscribe(t, b, bus.TopicPosts, "g-one")
	c = subscribe(t, b, bus.TopicPosts, "g-two")
	quiet(t, a)
	sameSet(t, "group two after reopen", collect(t, c, len(in)), values(in))
	// A group that joins late still sees everything kept.
	late := subscribe(t, b, bus.TopicPosts, "g-late")
	sameSet(t, "late group", collect(t, late, len(in)), values(in))
}

func testTopicsIndependent(t *testing.T, reopen func() bus.Bus) {
	b := reopen()
	p := subscribe(t, b, bus.TopicPosts, "g-topics")
	e := subscribe(t, b, bus.TopicEvents, "g-topics")
	posts := numbered("post", 10, func(i int) string { return "k" + strconv.Itoa(i%2) })
	events := numbered("event", 4, func(i int) string { return "e" })
	publish(t, b, bus.TopicPosts, posts...)
	publish(t, b, bus.TopicEvents, events...)
	gp := collect(t, p, len(posts))
	sameSet(t, "posts topic", gp, values(posts))
	ge := collect(t, e, len(events))
	sameSet(t, "events topic", ge, values(events))
	for _, m := range ge {
		if m.Topic != bus.TopicEvents {
			t.Errorf("event message Topic = %q", m.Topic)
		}
	}
	ack(t, p, gp...)
	quiet(t, p)
	quiet(t, e)
	lag, err := e.Lag(ctxT(t, collectTimeout))
	if err != nil || lag != int64(len(events)) {
		t.Fatalf("events lag after acking posts only = %d, %v; want %d", lag, err, len(events))
	}
}

func lagOf(t *testing.T, s bus.Subscription) int64 {
	t.Helper()
	l, err := s.Lag(ctxT(t, collectTimeout))
	if err != nil {
		t.Fatalf("Lag: %v", err)
	}
	return l
}

func testLag(t *testing.T, reopen func() bus.Bus) {
	b := reopen()
	s := subscribe(t, b, bus.TopicPosts, "g-lag")
	if l := lagOf(t, s); l != 0 {
		t.Fatalf("lag of an empty topic = %d, want 0", l)
	}
	in := numbered("l", 30, func(i int) string { return "k" + strconv.Itoa(i%3) })
	publish(t, b, bus.TopicPosts, in...)
	if l := lagOf(t, s); l != 30 {
		t.Fatalf("lag after publishing 30 = %d, want 30", l)
	}
	got := collect(t, s, len(in))
	if l := lagOf(t, s); l != 30 {
		t.Fatalf("lag after fetching without ack = %d, want 30", l)
	}
	// Ack the first 10 messages of one partition (or all of it if smaller).
	byPart := map[int][]bus.Message{}
	for _, m := range got {
		byPart[m.Partition] = append(byPart[m.Partition], m)
	}
	var p0 []bus.Message
	for _, ms := range byPart {
		p0 = ms
		break
	}
	sort.Slice(p0, func(i, j int) bool { return p0[i].Offset < p0[j].Offset })
	k := min(10, len(p0))
	ack(t, s, p0[k-1])
	if l := lagOf(t, s); l != int64(30-k) {
		t.Fatalf("lag after acking %d = %d, want %d", k, l, 30-k)
	}
	ack(t, s, got...)
	if l := lagOf(t, s); l != 0 {
		t.Fatalf("lag after acking all = %d, want 0", l)
	}
	other := subscribe(t, b, bus.TopicPosts, "g-lag-other")
	if l := lagOf(t, other); l != 30 {
		t.Fatalf("lag of a new group = %d, want 30", l)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	b = reopen()
	s = subscribe(t, b, bus.TopicPosts, "g-lag")
	other = subscribe(t, b, bus.TopicPosts, "g-lag-other")
	if l := lagOf(t, s); l != 0 {
		t.Fatalf("lag after reopen = %d, want 0", l)
	}
	if l := lagOf(t, other); l != 30 {
		t.Fatalf("lag of the other group after reopen = %d, want 30", l)
	}
}

func testConcurrentPublishers(t *testing.T, reopen func() bus.Bus) {
	b := reopen()
	s := subscribe(t, b, bus.TopicPosts, "g-concurrent")
	const workers, each = 8, 500
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			ctx := ctxT(t, collectTimeout)
			for i := 0; i < each; {
				// Mix single messages and small batches.
				n := 1 + (i % 4)
				if i+n > each {
					n = each - i
				}
				batch := make([]bus.Message, n)
				for j := range batch {
					batch[j] = bus.Message{
						Key:   fmt.Sprintf("w%d-k%d", w, (i+j)%3),
						Value: fmt.Appendf(nil, "w%d-%d", w, i+j),
					}
				}
				if err := b.Publish(ctx, bus.TopicPosts, batch...); err != nil {
					errs <- fmt.Errorf("worker %d at %d: %w", w, i, err)
					return
				}
				i += n
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got := collect(t, s, workers*each)
	seen := map[string]bool{}
	last := map[string]int{}
	for _, m := range got {
		v := string(m.Value)
		if seen[v] {
			t.Fatalf("message %q delivered twice", v)
		}
		seen[v] = true
		var w, i int
		if _, err := fmt.Sscanf(v, "w%d-%d", &w, &i); err != nil {
			t.Fatalf("unexpected value %q", v)
		}
		if want := fmt.Sprintf("w%d-k%d", w, i%3); m.Key != want {
			t.Fatalf("message %q key %q, want %q", v, m.Key, want)
		}
		if prev, ok := last[m.Key]; ok && i <= prev {
			t.Fatalf("key %q: #%d after #%d", m.Key, i, prev)
		}
		last[m.Key] = i
	}
	if len(seen) != workers*each {
		t.Fatalf("got %d distinct messages, want %d", len(seen), workers*each)
	}
	quiet(t, s)
}

func testSameGroupSplits(t *testing.T, reopen func() bus.Bus) {
	b := reopen()
	s1 := subscribe(t, b, bus.TopicPosts, "g-split")
	s2 := subscribe(t, b, bus.TopicPosts, "g-split")
	const n = 400
	in := numbered("s", n, func(i int) string { return "key-" + strconv.Itoa(i%16) })
	publish(t, b, bus.TopicPosts, in...)
	// Both members fetch and acknowledge at the same time; together they
	// get every message exactly once.
	var mu sync.Mutex
	seen := map[string]int{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	total := 0
	for _, s := range []bus.Subscription{s1, s2} {
		wg.Go(func() {
			for {
				msgs, err := s.Fetch(ctx, 25)
				if err != nil {
					if ctx.Err() == nil {
						errs <- err
					}
					return
				}
				mu.Lock()
				for _, m := range msgs {
					seen[string(m.Value)]++
				}
				total += len(msgs)
				done := total >= n
				mu.Unlock()
				if err := s.Ack(ctx, msgs...); err != nil && ctx.Err() == nil {
					errs <- err
					return
				}
				if done {
					cancel()
					return
				}
			}
		})
	}
	timer := time.AfterFunc(collectTimeout, cancel)
	wg.Wait()
	timer.Stop()
	close(errs)
	for err := range errs {
		t.Fatalf("member of the group: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, m := range in {
		if c := seen[string(m.Value)]; c != 1 {
			t.Errorf("message %q delivered %d times to the group, want 1", m.Value, c)
		}
	}
	if total != n {
		t.Fatalf("group got %d messages, want %d", total, n)
	}
}

func testFetchCancel(t *testing.T, reopen func() bus.Bus) {
	b := reopen()
	s := subscribe(t, b, bus.TopicPosts, "g-cancel")
	ctx, cancel := context.WithCancel(context.Background())
	res := make(chan error, 1)
	go func() {
		_, err := s.Fetch(ctx, 10)
		res <- err
	}()
	time.Sleep(50 * time.Millisecond)
	cancel()
	select {
	case err := <-res:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Fetch after cancel: got %v, want context.Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Fetch still blocked 5s after its context was cancelled")
	}
	dctx, dcancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer dcancel()
	if _, err := s.Fetch(dctx, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Fetch past deadline: got %v, want context.DeadlineExceeded", err)
	}
}

func testFetchClose(t *testing.T, reopen func() bus.Bus) {
	for _, what := range []string{"subscription", "bus"} {
		t.Run(what, func(t *testing.T) {
			b := reopen()
			s := subscribe(t, b, bus.TopicPosts, "g-close-"+what)
			res := make(chan error, 1)
			go func() {
				_, err := s.Fetch(context.Background(), 10)
				res <- err
			}()
			time.Sleep(50 * time.Millisecond)
			var err error
			if what == "bus" {
				err = b.Close()
			} else {
				err = s.Close()
			}
			if err != nil {
				t.Fatalf("Close %s: %v", what, err)
			}
			select {
			case err := <-res:
				if !errors.Is(err, bus.ErrClosed) {
					t.Fatalf("Fetch after closing the %s: got %v, want bus.ErrClosed", what, err)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("Fetch still blocked 5s after closing the %s", what)
			}
			if err := b.Close(); err != nil {
				t.Fatalf("Close bus: %v", err)
			}
		})
	}
}

func testFetchWakes(t *testing.T, reopen func() bus.Bus) {
	b := reopen()
	s := subscribe(t, b, bus.TopicPosts, "g-wake")
	res := make(chan []bus.Message, 1)
	errc := make(chan error, 1)
	go func() {
		msgs, err := s.Fetch(ctxT(t, collectTimeout), 10)
		if err != nil {
			errc <- err
			return
		}
		res <- msgs
	}()
	time.Sleep(50 * time.Millisecond)
	publish(t, b, bus.TopicPosts, bus.Message{Key: "k", Value: []byte("wake")})
	select {
	case msgs := <-res:
		sameSet(t, "woken fetch", msgs, []string{"wake"})
	case err := <-errc:
		t.Fatalf("Fetch: %v", err)
	case <-time.After(collectTimeout):
		t.Fatal("a blocked Fetch did not return after a publish")
	}
}

func testClosedBus(t *testing.T, reopen func() bus.Bus) {
	b := reopen()
	s := subscribe(t, b, bus.TopicPosts, "g-closed")
	publish(t, b, bus.TopicPosts, bus.Message{Key: "k", Value: []byte("before")})
	if err := b.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := b.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	ctx := ctxT(t, 5*time.Second)
	if err := b.Publish(ctx, bus.TopicPosts, bus.Message{Key: "k", Value: []byte("after")}); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Publish on a closed bus: got %v, want bus.ErrClosed", err)
	}
	if _, err := b.Subscribe(ctx, bus.TopicPosts, "g-closed-2"); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Subscribe on a closed bus: got %v, want bus.ErrClosed", err)
	}
	if _, err := s.Fetch(ctx, 10); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("Fetch on a closed bus: got %v, want bus.ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Subscription.Close after the bus closed: %v", err)
	}
	// Nothing was lost by the close, and the rejected message was not kept.
	b = reopen()
	s = subscribe(t, b, bus.TopicPosts, "g-closed")
	sameSet(t, "after reopen", collect(t, s, 1), []string{"before"})
	quiet(t, s)
}
