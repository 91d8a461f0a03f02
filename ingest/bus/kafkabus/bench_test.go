package kafkabus

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yuqing/ingest/bus"
)

// weiboValue is a Weibo-size post (about 1 KB of JSON, mostly Chinese text).
var weiboValue = []byte(`{"id":"weibo:4512345678901234","source":"weibo","url":"https://weibo.com/1234567890/AbCdEfGhI",` +
	`"text":"` + strings.Repeat("某市城区今日发生内涝，多条道路积水严重，市民反映排水不畅，", 8) + `",` +
	`"author":{"name":"某某网友","id":"1234567890","followers":1234,"verified":false,"location":"某省某市"},` +
	`"published_at":"2024-07-01T08:00:00+08:00","metrics":{"reposts":12,"comments":34,"likes":56}}`)

func benchBus(b *testing.B, opts ...Option) *Bus {
	brokers := brokersT(b)
	return openT(b, brokers, testOpts(b, opts...)...)
}

// BenchmarkPublishBatch100 publishes batches of 100 Weibo-size messages
// from one caller, waiting for each batch's acknowledgement.
func BenchmarkPublishBatch100(b *testing.B) {
	for _, c := range batchConfigs {
		b.Run(c.name, func(b *testing.B) { benchPublishBatch100(b, benchBus(b, WithBatch(c.size, c.timeout))) })
	}
}

// batchConfigs are the writer settings compared; the first is the default.
var batchConfigs = []struct {
	name    string
	size    int
	timeout time.Duration
}{
	{"default-size100-500us", DefaultBatchSize, DefaultBatchTimeout},
	{"size500-2ms", 500, 2 * time.Millisecond},
	{"size100-200us", 100, 200 * time.Microsecond},
}

func benchPublishBatch100(b *testing.B, k *Bus) {
	ctx := context.Background()
	if err := k.Publish(ctx, bus.TopicPosts, bus.Message{Key: "warm", Value: weiboValue}); err != nil {
		b.Fatal(err)
	}
	batch := make([]bus.Message, 100)
	b.SetBytes(int64(len(weiboValue) * len(batch)))
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		for j := range batch {
			batch[j] = bus.Message{Key: fmt.Sprintf("weibo:%d", (i*100+j)%5000), Value: weiboValue}
		}
		if err := k.Publish(ctx, bus.TopicPosts, batch...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*len(batch))/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkPublishConcurrent64 has 64 goroutines each publishing single
// messages and waiting for each acknowledgement.
func BenchmarkPublishConcurrent64(b *testing.B) {
	for _, c := range batchConfigs {
		b.Run(c.name, func(b *testing.B) { benchPublishConcurrent64(b, benchBus(b, WithBatch(c.size, c.timeout))) })
	}
}

func benchPublishConcurrent64(b *testing.B, k *Bus) {
	ctx := context.Background()
	if err := k.Publish(ctx, bus.TopicPosts, bus.Message{Key: "warm", Value: weiboValue}); err != nil {
		b.Fatal(err)
	}
	var next atomic.Int64
	b.SetBytes(int64(len(weiboValue)))
	b.ResetTimer()
	start := time.Now()
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range 64 {
		wg.Go(func() {
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				m := bus.Message{Key: fmt.Sprintf("weibo:%d-%d", w, i%50), Value: weiboValue}
				if err := k.Publish(ctx, bus.TopicPosts, m); err != nil {
					failed.Store(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err, ok := failed.Load().(error); ok {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkFetchAck consumes pre-published Weibo-size messages with
// Fetch(max 500) and acknowledges each fetched batch.
func BenchmarkFetchAck(b *testing.B) {
	k := benchBus(b)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	s, err := k.Subscribe(ctx, bus.TopicPosts, "bench")
	if err != nil {
		b.Fatal(err)
	}
	batch := make([]bus.Message, 500)
	for done := 0; done < b.N; done += len(batch) {
		n := min(len(batch), b.N-done)
		for j := range n {
			batch[j] = bus.Message{Key: fmt.Sprintf("weibo:%d", (done+j)%5000), Value: weiboValue}
		}
		if err := k.Publish(ctx, bus.TopicPosts, batch[:n]...); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(len(weiboValue)))
	b.ResetTimer()
	start := time.Now()
	for got := 0; got < b.N; {
		msgs, err := s.Fetch(ctx, 500)
		if err != nil {
			b.Fatalf("Fetch after %d of %d: %v", got, b.N, err)
		}
		if err := s.Ack(ctx, msgs...); err != nil {
			b.Fatal(err)
		}
		got += len(msgs)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
