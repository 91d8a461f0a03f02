package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yuqing/domain"
	"yuqing/ingest"
	"yuqing/ingest/bus"
	"yuqing/ingest/bus/sqlitebus"
)

func openBus(t testing.TB) *sqlitebus.Bus {
	b, err := sqlitebus.Open(filepath.Join(t.TempDir(), "bus.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// weiboNDJSON gives n Weibo-size posts as NDJSON.
func weiboNDJSON(n, from int) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	t0 := time.Date(2012, 9, 13, 8, 0, 0, 0, time.UTC)
	for i := 0; i < n; i++ {
		enc.Encode(domain.Post{ID: fmt.Sprintf("p%d", from+i), Source: "weibo", ParentID: "root-1", RootID: "root-1",
			Text:        "现实残酷加产后抑郁。。。以前听教授讲过，很多产科医生对抑郁症认识不足。难道这样的悲剧，号称我们的父母官没有责任？医保该保大病，不是打压药企",
			PublishedAt: t0.Add(time.Duration(i) * time.Second), Author: domain.Author{ID: "1322968097", Followers: 1200, Location: "浙江 宁波"}})
	}
	return buf.Bytes()
}

func TestHandlerPublishesDurablyAndReportsBadItems(t *testing.T) {
	b := openBus(t)
	h := &ingest.Handler{Bus: b}
	body := append(weiboNDJSON(3, 0), []byte("{\"id\":\"x\",\"text\":\"\"}\nnot json\n")...)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/posts", bytes.NewReader(body)))
	if rec.Code != 400 {
		t.Fatalf("status %d", rec.Code)
	}
	var resp ingest.Response
	json.Unmarshal(rec.Body.Bytes(), &resp)
	if resp.Accepted != 3 || resp.Rejected != 2 || len(resp.Errors) != 2 || resp.Errors[0].Line != 4 || resp.Errors[1].Line != 5 {
		t.Fatalf("response %+v", resp)
	}
	sub, err := b.Subscribe(context.Background(), bus.TopicPosts, "t")
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs, err := sub.Fetch(ctx, 10)
	if err != nil || len(msgs) != 3 {
		t.Fatalf("bus holds %d posts (%v), want 3", len(msgs), err)
	}
	for _, m := range msgs {
		if m.Key != "root-1" {
			t.Fatalf("a repost must be keyed by its cascade's root, got %q", m.Key)
		}
	}
}

func TestHandlerWaitsOnBacklogThen503(t *testing.T) {
	b := openBus(t)
	th := ingest.NewThrottle(5)
	h := &ingest.Handler{Bus: b, Throttle: th, MaxWait: 200 * time.Millisecond}
	send := func() int {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/posts", bytes.NewReader(weiboNDJSON(4, int(time.Now().UnixNano())))))
		return rec.Code
	}
	if send() != 202 || send() != 202 { // 0 then 4 pending: both under the bound
		t.Fatal("requests under the bound must pass")
	}
	if th.Pending() != 8 {
		t.Fatalf("pending %d", th.Pending())
	}
	start := time.Now()
	if code := send(); code != 503 || time.Since(start) < 200*time.Millisecond {
		t.Fatalf("over the bound: %d after %s, want 503 after waiting", code, time.Since(start))
	}
	// the analyzer catches up while a request waits: it goes through
	done := make(chan int)
	go func() { done <- send() }()
	time.Sleep(50 * time.Millisecond)
	th.Done(8)
	if code := <-done; code != 202 {
		t.Fatalf("after catch-up: %d", code)
	}
}

func TestHandlerBodyLimit(t *testing.T) {
	h := &ingest.Handler{Bus: openBus(t), MaxBody: 1024}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/api/v1/posts", strings.NewReader(strings.Repeat("x", 2048))))
	if rec.Code != http.StatusRequestEntityTooLarge || !strings.Contains(rec.Body.String(), "上限") {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// BenchmarkPostNDJSON measures POST /api/v1/posts into the durable log over
// real HTTP: 4 concurrent senders, 1,000 Weibo-size posts per request.
func BenchmarkPostNDJSON(b *testing.B) {
	bs := openBus(b)
	srv := httptest.NewServer(&ingest.Handler{Bus: bs})
	defer srv.Close()
	const perReq = 1000
	bodies := make([][]byte, 64)
	for i := range bodies {
		bodies[i] = weiboNDJSON(perReq, i*perReq)
	}
	b.SetBytes(int64(len(bodies[0])))
	b.ResetTimer()
	start := time.Now()
	var n int
	b.SetParallelism(2) // 2 × GOMAXPROCS senders
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			res, err := http.Post(srv.URL, "application/x-ndjson", bytes.NewReader(bodies[i%len(bodies)]))
			if err != nil {
				b.Error(err)
				return
			}
			res.Body.Close()
			if res.StatusCode != 202 {
				b.Errorf("status %d", res.StatusCode)
				return
			}
			i++
		}
	})
	n = b.N * perReq
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "posts/s")
}
