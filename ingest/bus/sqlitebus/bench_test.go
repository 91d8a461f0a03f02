package sqlitebus

import (
	"context"
	"encoding/json"
	"path/filepath"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"yuqing/domain"
	"yuqing/ingest/bus"
)

// weiboPayload is a realistic post as the crawler publishes it (~500 bytes).
func weiboPayload(b *testing.B) []byte {
	p := domain.Post{
		ID:     "u3f9a1c2e7b4d5a6f8e9c0b1a",
		Source: "weibo",
		URL:    "https://weibo.com/1234567890/NxYzAbCdE",
		Text:   "【持续关注】今天下午某区一小区发生燃气泄漏，消防和燃气公司已到场处置，暂无人员伤亡。#突发# 居民反映物业通知不及时，希望有关部门尽快公布原因。",
		Author: domain.Author{
			Name: "城市生活观察", ID: "1234567890", Followers: 182344, Verified: true, Location: "浙江 杭州",
		},
		PublishedAt: time.Date(2024, 6, 1, 15, 4, 5, 0, time.Local),
		Region:      "浙江省杭州市",
		Metrics:     domain.Metrics{Reposts: 312, Comments: 1048, Likes: 5821},
		ReceivedAt:  time.Date(2024, 6, 1, 15, 4, 7, 0, time.Local),
	}
	v, err := json.Marshal(p)
	if err != nil {
		b.Fatal(err)
	}
	return v
}

func openB(b *testing.B) *Bus {
	bs, err := Open(filepath.Join(b.TempDir(), "bench.db"), WithLogger(quietLogger()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bs.Close() })
	return bs
}

// BenchmarkPublishBatch100: one publisher, batches of 100; b.N counts posts.
func BenchmarkPublishBatch100(b *testing.B) {
	bs := openB(b)
	payload := weiboPayload(b)
	b.SetBytes(int64(len(payload)))
	ctx := context.Background()
	batch := make([]bus.Message, 100)
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i += len(batch) {
		n := min(len(batch), b.N-i)
		for j := range n {
			batch[j] = bus.Message{Key: "weibo:" + strconv.Itoa((i+j)%1000), Value: payload}
		}
		if err := bs.Publish(ctx, bus.TopicPosts, batch[:n]...); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "posts/s")
}

// BenchmarkPublishConcurrent64: 64 publishers, one post per Publish (like
// HTTP handlers); b.N counts posts.
func BenchmarkPublishConcurrent64(b *testing.B) {
	bs := openB(b)
	payload := weiboPayload(b)
	b.SetBytes(int64(len(payload)))
	b.SetParallelism(max(1, 64/runtime.GOMAXPROCS(0)))
	var seq atomic.Int64
	ctx := context.Background()
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := seq.Add(1)
			if err := bs.Publish(ctx, bus.TopicPosts, bus.Message{Key: "weibo:" + strconv.FormatInt(i%1000, 10), Value: payload}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "posts/s")
}

// BenchmarkFetchAck: one consumer fetching 500 at a time and acknowledging
// each batch; b.N counts posts, published beforehand.
func BenchmarkFetchAck(b *testing.B) {
	bs := openB(b)
	payload := weiboPayload(b)
	ctx := context.Background()
	batch := make([]bus.Message, 1000)
	for i := 0; i < b.N; i += len(batch) {
		n := min(len(batch), b.N-i)
		for j := range n {
			batch[j] = bus.Message{Key: "weibo:" + strconv.Itoa((i+j)%1000), Value: payload}
		}
		if err := bs.Publish(ctx, bus.TopicPosts, batch[:n]...); err != nil {
			b.Fatal(err)
		}
	}
	s, err := bs.Subscribe(ctx, bus.TopicPosts, "bench")
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(int64(len(payload)))
	b.ResetTimer()
	start := time.Now()
	for got := 0; got < b.N; {
		msgs, err := s.Fetch(ctx, 500)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.Ack(ctx, msgs...); err != nil {
			b.Fatal(err)
		}
		got += len(msgs)
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "posts/s")
}
