package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"yuqing/domain"
	"yuqing/ingest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// batch is one request the fake server received.
type batch struct {
	ids []string
	at  time.Time
}

// fakeServer answers POST /api/v1/posts like the real handler: it decodes the
// NDJSON with ingest.Decode and answers 202 with the ids, or 400 with the
// item errors. status, if set, may answer otherwise for the n-th request.
type fakeServer struct {
	*httptest.Server
	status func(n int) int

	mu      sync.Mutex
	batches []batch
	calls   int
}

func newServer(t *testing.T, status func(n int) int) *fakeServer {
	t.Helper()
	f := &fakeServer{status: status}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v1/posts", f.serve)
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) serve(w http.ResponseWriter, r *http.Request) {
	now := time.Now()
	f.mu.Lock()
	n := f.calls
	f.calls++
	f.mu.Unlock()
	if f.status != nil {
		if code := f.status(n); code != 0 {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(code)
			_ = json.NewEncoder(w).Encode(ingest.Response{Message: "忙"})
			return
		}
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
		http.Error(w, "bad content type "+ct, http.StatusUnsupportedMediaType)
		return
	}
	body, _ := io.ReadAll(r.Body)
	posts, errs := ingest.Decode(body, now.UTC())
	resp := ingest.Response{Accepted: len(posts), IDs: []string{}, Rejected: len(errs), Errors: errs}
	for _, p := range posts {
		resp.IDs = append(resp.IDs, p.ID)
	}
	f.mu.Lock()
	f.batches = append(f.batches, batch{ids: resp.IDs, at: now})
	f.mu.Unlock()
	code := http.StatusAccepted
	if len(errs) > 0 {
		code = http.StatusBadRequest
		resp.Message = fmt.Sprintf("接收 %d 条，拒绝 %d 条", len(posts), len(errs))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(resp)
}

func (f *fakeServer) got() ([]batch, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]batch(nil), f.batches...), f.calls
}

func (f *fakeServer) client() *Client {
	c := New(f.URL + "/")
	c.HTTP = f.Client()
	return c
}

var t0 = time.Date(2012, 9, 13, 8, 0, 0, 0, time.UTC)

// posts makes posts with the given ids at the given offsets (seconds) from t0.
func posts(spec ...any) []domain.Post {
	var ps []domain.Post
	for i := 0; i < len(spec); i += 2 {
		id := spec[i].(string)
		ps = append(ps, domain.Post{ID: id, Source: "weibo", Text: "帖子 " + id,
			PublishedAt: t0.Add(time.Duration(spec[i+1].(int)) * time.Second)})
	}
	return ps
}

func flat(bs []batch) string {
	var ids []string
	for _, b := range bs {
		ids = append(ids, strings.Join(b.ids, ","))
	}
	return strings.Join(ids, " | ")
}

func TestReplayOrderAndBatches(t *testing.T) {
	shuffled := posts("e", 40, "a", 0, "c", 20, "b", 10, "b2", 10, "d", 30, "f", 50)
	cases := []struct {
		name string
		opt  ReplayOptions
		want string
	}{
		{"speed 0, one batch", ReplayOptions{}, "a,b,b2,c,d,e,f"},
		{"batches of 3 in time order", ReplayOptions{BatchSize: 3}, "a,b,b2 | c,d,e | f"},
		{"no sort keeps file order", ReplayOptions{BatchSize: 4, NoSort: true}, "e,a,c,b | b2,d,f"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, nil)
			in := append([]domain.Post(nil), shuffled...)
			var onBatch []string
			c.opt.OnBatch = func(sent []domain.Post, resp Response, _ time.Time) {
				if len(sent) != resp.Accepted || len(resp.IDs) != len(sent) {
					t.Errorf("batch of %d answered %+v", len(sent), resp)
				}
				onBatch = append(onBatch, strings.Join(resp.IDs, ","))
			}
			var progress strings.Builder
			c.opt.Progress = &progress
			st, err := srv.client().Replay(context.Background(), in, c.opt)
			if err != nil {
				t.Fatal(err)
			}
			bs, _ := srv.got()
			if got := flat(bs); got != c.want {
				t.Errorf("server got %q, want %q", got, c.want)
			}
			if got := strings.Join(onBatch, " | "); got != c.want {
				t.Errorf("OnBatch saw %q, want %q", got, c.want)
			}
			if st.Sent != 7 || st.Accepted != 7 || st.Rejected != 0 || st.Wall <= 0 {
				t.Errorf("stats = %+v", st)
			}
			if !strings.Contains(progress.String(), "已发送 7/7") || !strings.HasSuffix(progress.String(), "\n") {
				t.Errorf("final progress line = %q", progress.String())
			}
		})
	}
}

func TestReplayEmpty(t *testing.T) {
	srv := newServer(t, nil)
	st, err := srv.client().Replay(context.Background(), nil, ReplayOptions{Speed: 10})
	if err != nil || st.Sent != 0 {
		t.Fatalf("stats %+v, err %v", st, err)
	}
	if _, calls := srv.got(); calls != 0 {
		t.Fatalf("%d requests for nothing to send", calls)
	}
}

func TestReplayPaced(t *testing.T) {
	srv := newServer(t, nil)
	// 10 s apart in event time at speed 100: 0.1 s apart in wall time; b and
	// b2 fall due together and go in one batch.
	in := posts("c", 20, "a", 0, "b", 10, "b2", 10, "d", 30)
	start := time.Now()
	st, err := srv.client().Replay(context.Background(), in, ReplayOptions{Speed: 100})
	if err != nil {
		t.Fatal(err)
	}
	bs, _ := srv.got()
	if got, want := flat(bs), "a | b,b2 | c | d"; got != want {
		t.Fatalf("batches %q, want %q", got, want)
	}
	for i, b := range bs {
		off := b.at.Sub(start)
		lo := time.Duration(i) * 100 * time.Millisecond
		if off < lo-5*time.Millisecond || off > lo+250*time.Millisecond {
			t.Errorf("batch %d (%v) arrived at %v, want about %v", i, b.ids, off, lo)
		}
	}
	if st.Wall < 290*time.Millisecond || st.Wall > 2*time.Second {
		t.Errorf("replay took %v, want about 0.3 s", st.Wall)
	}
	if st.Sent != 5 || st.Accepted != 5 {
		t.Errorf("stats = %+v", st)
	}
}

func TestReplayCancel(t *testing.T) {
	cases := []struct {
		name   string
		status func(int) int
		opt    ReplayOptions
	}{
		// the second post is due an hour later in wall time
		{"while waiting for the next post", nil, ReplayOptions{Speed: 1}},
		// the server is busy for ever; the client is backing off
		{"while retrying", func(int) int { return http.StatusServiceUnavailable }, ReplayOptions{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, c.status)
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			time.AfterFunc(150*time.Millisecond, cancel)
			start := time.Now()
			_, err := srv.client().Replay(ctx, posts("a", 0, "b", 3600), c.opt)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("err = %v, want context.Canceled", err)
			}
			if el := time.Since(start); el > 2*time.Second {
				t.Fatalf("replay took %v to stop after cancellation", el)
			}
		})
	}
}

func TestSend(t *testing.T) {
	good := posts("a", 0, "b", 1)
	cases := []struct {
		name      string
		status    func(n int) int
		posts     []domain.Post
		retries   time.Duration
		wantErr   string // "" for success
		wantCalls int    // -1 for "more than one"
		accepted  int
		rejected  int
	}{
		{"202", nil, good, 0, "", 1, 2, 0},
		{"503 twice then 202", func(n int) int {
			if n < 2 {
				return http.StatusServiceUnavailable
			}
			return 0
		}, good, 0, "", 3, 2, 0},
		{"429 then 202", func(n int) int {
			if n < 1 {
				return http.StatusTooManyRequests
			}
			return 0
		}, good, 0, "", 2, 2, 0},
		{"400 with item errors is not retried", nil,
			append(posts("a", 0), domain.Post{ID: "empty", PublishedAt: t0}), 0, "", 1, 1, 1},
		{"400 without items is an error", func(int) int { return http.StatusBadRequest }, good, 0, "服务器拒绝", 1, 0, 0},
		{"413 is an error", func(int) int { return http.StatusRequestEntityTooLarge }, good, 0, "服务器拒绝", 1, 0, 0},
		{"503 for ever", func(int) int { return http.StatusServiceUnavailable }, good, 400 * time.Millisecond, "服务器忙", -1, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := newServer(t, c.status)
			cl := srv.client()
			cl.Retries = c.retries
			start := time.Now()
			resp, err := cl.Send(context.Background(), c.posts)
			el := time.Since(start)
			if c.wantErr == "" && err != nil || c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)) {
				t.Fatalf("err = %v, want %q", err, c.wantErr)
			}
			_, calls := srv.got()
			if c.wantCalls >= 0 && calls != c.wantCalls || c.wantCalls < 0 && calls < 2 {
				t.Errorf("%d requests, want %d", calls, c.wantCalls)
			}
			if resp.Accepted != c.accepted || resp.Rejected != c.rejected || len(resp.Errors) != c.rejected {
				t.Errorf("response = %+v", resp)
			}
			if c.retries > 0 && (el < c.retries || el > c.retries+4*time.Second) {
				t.Errorf("gave up after %v, want a little over %v", el, c.retries)
			}
		})
	}
}

func TestReplayRejectedReachOnBatch(t *testing.T) {
	srv := newServer(t, nil)
	in := append(posts("a", 0, "b", 1), domain.Post{ID: "b", Text: "重复", PublishedAt: t0.Add(2 * time.Second)})
	var errs []ingest.ItemError
	st, err := srv.client().Replay(context.Background(), in, ReplayOptions{
		OnBatch: func(_ []domain.Post, resp Response, _ time.Time) { errs = append(errs, resp.Errors...) },
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Accepted != 2 || st.Rejected != 1 || len(errs) != 1 || errs[0].Field != "id" || errs[0].Item != 2 {
		t.Fatalf("stats %+v, errors %+v; want the duplicate id of item 2 reported", st, errs)
	}
	if _, calls := srv.got(); calls != 1 {
		t.Fatalf("%d requests, want 1 (a 400 with item errors is not retried)", calls)
	}
}

func TestSendUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close() // nobody listens there any more
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := New(url)
	c.HTTP = &http.Client{Transport: tr, Timeout: time.Second}
	c.Retries = 300 * time.Millisecond
	start := time.Now()
	_, err := c.Replay(context.Background(), posts("a", 0), ReplayOptions{})
	if err == nil || !strings.Contains(err.Error(), "连接服务器") || !strings.Contains(err.Error(), "第 1–1 条") {
		t.Fatalf("err = %v, want a connection failure naming the batch", err)
	}
	if el := time.Since(start); el < 300*time.Millisecond || el > 5*time.Second {
		t.Fatalf("gave up after %v, want a little over 300ms", el)
	}
}
