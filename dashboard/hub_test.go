package dashboard

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"go.uber.org/goleak"

	"yuqing/domain"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

type wire struct {
	Type string          `json:"type"`
	Data json.RawMessage `json:"data"`
	At   string          `json:"at"`
}

// value reads a counter or gauge.
func value(m prometheus.Metric) float64 {
	var d dto.Metric
	if err := m.Write(&d); err != nil {
		panic(err)
	}
	if d.Counter != nil {
		return d.Counter.GetValue()
	}
	return d.Gauge.GetValue()
}

func wsURL(srv *httptest.Server) string { return "ws" + strings.TrimPrefix(srv.URL, "http") }

func dial(t testing.TB, srv *httptest.Server, origin string) *websocket.Conn {
	t.Helper()
	hdr := http.Header{}
	if origin != "" {
		hdr.Set("Origin", origin)
	}
	c, resp, err := websocket.DefaultDialer.Dial(wsURL(srv), hdr)
	if err != nil {
		t.Fatalf("dial %s: %v", wsURL(srv), err)
	}
	resp.Body.Close()
	return c
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// readN reads n messages other than stats.
func readN(t testing.TB, c *websocket.Conn, n int) []wire {
	t.Helper()
	out := make([]wire, 0, n)
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for len(out) < n {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read message %d of %d: %v", len(out)+1, n, err)
		}
		var w wire
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatalf("message %q is not JSON: %v", b, err)
		}
		if w.Type == KindStats {
			continue
		}
		out = append(out, w)
	}
	return out
}

func newHubServer(t testing.TB, reg prometheus.Registerer, opts ...Option) (*Hub, *httptest.Server) {
	t.Helper()
	h := NewHub(reg, append([]Option{WithLogger(quiet)}, opts...)...)
	srv := httptest.NewServer(http.HandlerFunc(h.ServeWS))
	t.Cleanup(func() {
		h.Close()
		srv.Close()
	})
	return h, srv
}

func TestFanOutToThreeClients(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, srv := newHubServer(t, reg, WithPostRate(0))
	var conns []*websocket.Conn
	for range 3 {
		c := dial(t, srv, "")
		defer c.Close()
		conns = append(conns, c)
	}
	waitFor(t, "3 clients", func() bool { return h.Clients() == 3 })
	if g := value(h.mClients); g != 3 {
		t.Fatalf("clients gauge = %v, want 3", g)
	}

	type sent struct{ kind, id string }
	var want []sent
	for i := range 60 {
		switch i % 3 {
		case 0:
			p := domain.IndexedPost{Post: domain.Post{ID: "p" + itoa(i), Text: "<script>alert(1)</script> 某地暴雨"}}
			p.Analysis.Sentiment.Label = domain.Negative
			h.Publish(KindPost, p)
			want = append(want, sent{KindPost, p.ID})
		case 1:
			e := domain.Event{ID: "e" + itoa(i), Title: "事件", Grade: domain.GradeII, Heat: float64(i)}
			h.Publish(KindEvent, e)
			want = append(want, sent{KindEvent, e.ID})
		case 2:
			c := domain.Case{ID: "c" + itoa(i), Status: domain.CaseOpen, Clocks: domain.ClocksFor(domain.GradeI, time.Now(), time.Now())}
			h.Publish(KindCase, c)
			want = append(want, sent{KindCase, c.ID})
		}
	}
	for ci, c := range conns {
		got := readN(t, c, len(want))
		for i, w := range got {
			var d struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(w.Data, &d); err != nil {
				t.Fatalf("client %d message %d data: %v", ci, i, err)
			}
			if w.Type != want[i].kind || d.ID != want[i].id {
				t.Fatalf("client %d message %d = %s %s, want %s %s", ci, i, w.Type, d.ID, want[i].kind, want[i].id)
			}
			if _, err := time.Parse(time.RFC3339, w.At); err != nil {
				t.Fatalf("client %d message %d: at %q is not RFC 3339: %v", ci, i, w.At, err)
			}
		}
	}
	for _, s := range h.ClientStats() {
		if s.Dropped != 0 {
			t.Errorf("client %d dropped %d, want 0", s.ID, s.Dropped)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestPostsAreSampledEventsAreNot(t *testing.T) {
	reg := prometheus.NewRegistry()
	const rate = 10
	h, srv := newHubServer(t, reg, WithPostRate(rate))
	c := dial(t, srv, "")
	defer c.Close()
	waitFor(t, "client", func() bool { return h.Clients() == 1 })

	const posts = 100
	for i := range posts {
		h.Publish(KindPost, domain.Post{ID: "p" + itoa(i)})
	}
	for i := range 20 {
		h.Publish(KindEvent, domain.Event{ID: "e" + itoa(i)})
	}
	gotPosts, gotEvents := 0, 0
	for gotEvents < 20 {
		w := readN(t, c, 1)[0]
		switch w.Type {
		case KindPost:
			gotPosts++
		case KindEvent:
			gotEvents++
		}
	}
	// The loop may straddle a second boundary: at most two windows.
	if gotPosts < rate || gotPosts > 2*rate {
		t.Fatalf("received %d posts of %d at %d/s, want between %d and %d", gotPosts, posts, rate, rate, 2*rate)
	}
	st := h.ClientStats()
	if len(st) != 1 || st[0].Dropped != int64(posts-gotPosts) {
		t.Fatalf("client stats %+v, want dropped %d", st, posts-gotPosts)
	}
	if got := value(h.mDroppedSampled); got != float64(posts-gotPosts) {
		t.Fatalf("sampled drops metric = %v, want %d", got, posts-gotPosts)
	}
	if h.posts.Load() != posts {
		t.Fatalf("posts counted = %d, want %d", h.posts.Load(), posts)
	}
}

// TestSlowClient: a client that never reads loses messages (counted) while a
// fast one gets everything, and Publish never waits for either.
func TestSlowClient(t *testing.T) {
	reg := prometheus.NewRegistry()
	const buf = 256
	h, srv := newHubServer(t, reg, WithBuffer(buf), WithPostRate(0), WithWriteTimeout(time.Minute))

	stuck := dial(t, srv, "") // never reads
	defer stuck.Close()
	fast := dial(t, srv, "")
	defer fast.Close()
	waitFor(t, "2 clients", func() bool { return h.Clients() == 2 })

	var got atomic.Int64
	var order atomic.Bool
	order.Store(true)
	readerDone := make(chan struct{})
	go func() {
		defer close(readerDone)
		next := int64(0)
		for {
			_, b, err := fast.ReadMessage()
			if err != nil {
				return
			}
			var w struct {
				Type string `json:"type"`
				Data struct {
					Seq int64 `json:"seq"`
				} `json:"data"`
			}
			if json.Unmarshal(b, &w) != nil || w.Type != KindEvent {
				continue
			}
			if w.Data.Seq != next {
				order.Store(false)
			}
			next = w.Data.Seq + 1
			got.Add(1)
		}
	}()

	// Phase 1, paced so the fast client can keep up: 20,000 messages of 2 KB,
	// 40 MB, far more than the stuck client's socket buffers hold.
	pad := strings.Repeat("舆", 680)
	const paced = 20000
	var inPublish time.Duration
	for i := 0; i < paced; {
		for j := 0; j < 100 && i < paced; j, i = j+1, i+1 {
			t0 := time.Now()
			h.Publish(KindEvent, map[string]any{"seq": i, "pad": pad})
			inPublish += time.Since(t0)
		}
		waitFor(t, "fast client to catch up", func() bool { return got.Load() == int64(i) })
	}
	if !order.Load() {
		t.Fatal("fast client got messages out of order")
	}
	// the hub numbers clients in the order it accepted them, which need not
	// be the order they were dialled: tell them apart by address
	byRole := func() (stuckStat, fastStat ClientStat) {
		for _, s := range h.ClientStats() {
			switch s.Remote {
			case stuck.LocalAddr().String():
				stuckStat = s
			case fast.LocalAddr().String():
				fastStat = s
			}
		}
		return
	}
	stuckStat, fastStat := byRole()
	if fastStat.Dropped != 0 {
		t.Fatalf("fast client dropped %d during the paced phase", fastStat.Dropped)
	}
	if stuckStat.Dropped == 0 {
		t.Fatalf("stuck client dropped nothing of %d × 2 KB", paced)
	}
	t.Logf("paced phase: %d messages, %v inside Publish, stuck client dropped %d", paced, inPublish, stuckStat.Dropped)

	// Phase 2: 100,000 Publish calls back to back with the stuck client.
	const burst = 100000
	before := stuckStat.Dropped
	msg := map[string]any{"seq": -1, "title": "突发事件"}
	t0 := time.Now()
	for range burst {
		h.Publish(KindEvent, msg)
	}
	el := time.Since(t0)
	t.Logf("%d Publish calls with a stuck client: %v (%.0f/s)", burst, el, burst/el.Seconds())
	// A Publish that waited on the stuck client would take the write
	// timeout (a minute); one that does not costs about a marshal. The race
	// detector slows both, so compare with marshalling alone.
	t1 := time.Now()
	for range burst {
		_, _ = json.Marshal(envelope{Type: KindEvent, Data: msg, At: t1.Format(time.RFC3339)})
	}
	limit := max(2*time.Second, 5*time.Since(t1))
	if el > limit {
		t.Fatalf("%d Publish calls took %v (limit %v): Publish is waiting for clients", burst, el, limit)
	}
	var total int64
	for _, s := range h.ClientStats() {
		total += s.Dropped
	}
	if after, _ := byRole(); after.Dropped-before < burst-buf {
		t.Fatalf("stuck client dropped %d of the burst, want at least %d", after.Dropped-before, burst-buf)
	}
	if m := value(h.mDroppedFull); m != float64(total) {
		t.Fatalf("dropped metric = %v, per-client drops sum to %d", m, total)
	}
	h.Close()
	<-readerDone
}

func TestOriginCheck(t *testing.T) {
	h, srv := newHubServer(t, nil, WithAllowedOrigins("https://screen.example.gov.cn/"))
	tests := []struct {
		name   string
		origin string
		want   int
	}{
		{"no origin (not a browser)", "", http.StatusSwitchingProtocols},
		{"same host", srv.URL, http.StatusSwitchingProtocols},
		{"same host, other case", strings.ToUpper(srv.URL), http.StatusSwitchingProtocols},
		{"configured origin", "https://Screen.example.gov.cn", http.StatusSwitchingProtocols},
		{"other host", "http://evil.example.com", http.StatusForbidden},
		{"same host name, other port", "http://127.0.0.1:1", http.StatusForbidden},
		{"garbage", "::not a url", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			if tt.origin != "" {
				hdr.Set("Origin", tt.origin)
			}
			c, resp, err := websocket.DefaultDialer.Dial(wsURL(srv), hdr)
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			resp.Body.Close()
			if c != nil {
				c.Close()
			}
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d (err %v)", resp.StatusCode, tt.want, err)
			}
		})
	}
	waitFor(t, "clients to go", func() bool { return h.Clients() == 0 })
}

func TestDisconnectCleansUp(t *testing.T) {
	reg := prometheus.NewRegistry()
	h, srv := newHubServer(t, reg)
	c := dial(t, srv, "")
	waitFor(t, "client", func() bool { return h.Clients() == 1 })
	c.Close()
	waitFor(t, "client to be removed", func() bool { return h.Clients() == 0 })
	if g := value(h.mClients); g != 0 {
		t.Fatalf("clients gauge = %v after disconnect", g)
	}
	h.Publish(KindEvent, domain.Event{ID: "x"}) // nobody listening: no panic, no drop
	if d := value(h.mDroppedFull); d != 0 {
		t.Fatalf("dropped %v with no client", d)
	}
}

func TestStatsMessage(t *testing.T) {
	h, srv := newHubServer(t, nil, WithStatsInterval(20*time.Millisecond), WithPostRate(1))
	c := dial(t, srv, "")
	defer c.Close()
	waitFor(t, "client", func() bool { return h.Clients() == 1 })
	for range 5 {
		h.Publish(KindPost, domain.Post{ID: "p"})
	}
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("no stats message with the drops: %v", err)
		}
		var w struct {
			Type string `json:"type"`
			Data struct {
				Dropped int64 `json:"dropped"`
				Posts   int64 `json:"posts"`
				Clients int   `json:"clients"`
			} `json:"data"`
		}
		if err := json.Unmarshal(b, &w); err != nil {
			t.Fatal(err)
		}
		if w.Type == KindStats && w.Data.Posts == 5 {
			if w.Data.Dropped < 3 || w.Data.Clients != 1 {
				t.Fatalf("stats %+v, want ≥3 dropped (5 posts at 1/s) and 1 client", w.Data)
			}
			return
		}
	}
}

func TestCloseDisconnectsEveryoneWithoutLeaks(t *testing.T) {
	reg := prometheus.NewRegistry()
	h := NewHub(reg, WithLogger(quiet))
	srv := httptest.NewServer(http.HandlerFunc(h.ServeWS))
	defer srv.Close()
	var conns []*websocket.Conn
	for range 5 {
		conns = append(conns, dial(t, srv, ""))
	}
	waitFor(t, "5 clients", func() bool { return h.Clients() == 5 })
	h.Publish(KindCase, domain.Case{ID: "c1"})
	h.Close()
	if h.Clients() != 0 {
		t.Fatalf("%d clients after Close", h.Clients())
	}
	for i, c := range conns {
		_ = c.SetReadDeadline(time.Now().Add(30 * time.Second))
		var err error
		for err == nil {
			_, _, err = c.ReadMessage()
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.CloseGoingAway {
			t.Errorf("client %d: %v, want close 1001 going away", i, err)
		}
		c.Close()
	}
	h.Publish(KindEvent, domain.Event{ID: "after"}) // no panic after Close
	h.Close()                                       // idempotent

	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("ServeWS after Close: %d, want 503", resp.StatusCode)
	}
	srv.Close()
	goleak.VerifyNone(t)
}

func TestConcurrentPublishAndChurn(t *testing.T) {
	h, srv := newHubServer(t, nil, WithBuffer(8), WithPostRate(100))
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				kind := []string{KindPost, KindEvent, KindCase}[i%3]
				h.Publish(kind, domain.Event{ID: "x"})
			}
		}()
	}
	for range 20 {
		c := dial(t, srv, "")
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, _, _ = c.ReadMessage()
		c.Close()
	}
	close(stop)
	wg.Wait()
	waitFor(t, "clients to go", func() bool { return h.Clients() == 0 })
}

// BenchmarkPublish publishes to 10 connected clients that read as fast as
// they can; drops (buffer full) are reported per message.
func BenchmarkPublish(b *testing.B) {
	ev := domain.Event{ID: "e1", Title: "某市暴雨致多处内涝 市民质疑排水设施", Keywords: []string{"暴雨", "内涝", "排水"},
		Posts: 1234, Negative: 456, PeakHourly: 321, Heat: 87.5, Grade: domain.GradeIII,
		Reasons: []string{"一小时内相关信息 321 条，超过较大级阈值", "负面占比 37%"}, Region: "广东省广州市"}
	post := domain.IndexedPost{Post: domain.Post{ID: "p1", Source: "weibo", Text: strings.Repeat("市民反映小区积水严重，", 8),
		Author: domain.Author{Name: "网友"}, PublishedAt: time.Now()}}
	post.Analysis.Sentiment = domain.SentimentResult{Label: domain.Negative, Confidence: 0.9}
	post.Analysis.Places = []string{"广州市"}
	for _, bc := range []struct {
		name string
		kind string
		v    any
		rate int
		read bool // clients read; else they never do (every buffer full)
	}{
		{"event", KindEvent, ev, 0, true},
		{"event_clients_stuck", KindEvent, ev, 0, false},
		{"post_unsampled", KindPost, post, 0, true},
		{"post_sampled_50/s", KindPost, post, DefaultPostRate, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			h, srv := newHubServer(b, nil, WithPostRate(bc.rate))
			var wg sync.WaitGroup
			for range 10 {
				c := dial(b, srv, "")
				if !bc.read {
					defer c.Close()
					continue
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						if _, _, err := c.ReadMessage(); err != nil {
							return
						}
					}
				}()
				defer c.Close()
			}
			waitFor(b, "10 clients", func() bool { return h.Clients() == 10 })
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				h.Publish(bc.kind, bc.v)
			}
			el := b.Elapsed()
			b.StopTimer()
			var dropped int64
			for _, s := range h.ClientStats() {
				dropped += s.Dropped
			}
			b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
			b.ReportMetric(float64(dropped)/float64(10*b.N), "dropped/delivery")
			h.Close()
			wg.Wait()
		})
	}
}
