package notify

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"yuqing/domain"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeClock is an injectable Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// recorder collects Deliveries.
type recorder struct {
	mu sync.Mutex
	ds []Delivery
}

func (r *recorder) add(d Delivery) {
	r.mu.Lock()
	r.ds = append(r.ds, d)
	r.mu.Unlock()
}

func (r *recorder) all() []Delivery {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Delivery(nil), r.ds...)
}

// wait waits for at least n deliveries.
func (r *recorder) wait(t testing.TB, n int) []Delivery {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ds := r.all()
		if len(ds) >= n {
			return ds
		}
		if time.Now().After(deadline) {
			t.Fatalf("got %d deliveries, want %d: %+v", len(ds), n, ds)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// request is one request a test server received.
type request struct {
	header http.Header
	query  url.Values
	body   []byte
}

// server is an httptest server that records requests and answers with
// the next of its replies (the last one repeats).
type server struct {
	*httptest.Server
	mu      sync.Mutex
	reqs    []request
	replies []reply
	hook    func(r *http.Request, body []byte) // runs before replying (may block)
}

type reply struct {
	status int
	body   string
}

func newServer(t testing.TB, replies ...reply) *server {
	if len(replies) == 0 {
		replies = []reply{{200, `{"errcode":0,"errmsg":"ok","code":0}`}}
	}
	s := &server{replies: replies}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s.mu.Lock()
		s.reqs = append(s.reqs, request{header: r.Header.Clone(), query: r.URL.Query(), body: body})
		rep := s.replies[min(len(s.reqs), len(s.replies))-1]
		hook := s.hook
		s.mu.Unlock()
		if hook != nil {
			hook(r, body)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rep.status)
		_, _ = io.WriteString(w, rep.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *server) requests() []request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]request(nil), s.reqs...)
}

// testOptions gives fast options with a private HTTP transport (closed at
// the end) and a recorder.
func testOptions(t testing.TB) (Options, *recorder) {
	rec := &recorder{}
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return Options{
		GroupWait:  20 * time.Millisecond,
		Backoff:    time.Millisecond,
		HTTPClient: &http.Client{Transport: tr, Timeout: 5 * time.Second},
		OnDelivery: rec.add,
		Logger:     slog.New(slog.DiscardHandler),
	}, rec
}

// start makes a Notifier and runs it until the test ends.
func start(t testing.TB, opt Options, tweak ...func(*Notifier)) *Notifier {
	n := New(opt)
	n.flushTimeout = time.Second
	for _, f := range tweak {
		f(n)
	}
	run(t, n)
	return n
}

// run runs n until the test ends (or the returned stop is called).
func run(t testing.TB, n *Notifier) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("Run: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Errorf("Run did not return")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

func msg(key string, g domain.Grade) Message {
	return Message{
		Key: key, CaseID: "case-" + key, Kind: "remind", Title: "时限提醒 " + key,
		Text: "请在时限内回应。", URL: "https://yuqing.example.gov.cn/cases/case-" + key,
		Grade: g, At: time.Date(2025, 3, 1, 10, 0, 0, 0, China),
	}
}

func target(recipient, typ, u string) Target {
	return Target{Recipient: recipient, Channel: ChannelConfig{Type: typ, URL: u, Name: recipient + "值班群"}}
}
