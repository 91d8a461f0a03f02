package e2e

import (
	"context"
	"math/rand"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"yuqing/domain"
	"yuqing/ingest/client"
	"yuqing/ingest/dataset"
)

const cedPath = "../../../shared/data/weibo/ced_dev.jsonl.gz"

// firstCascades reads the CED set and keeps the cascades of its first n
// original posts, sorted by time.
func firstCascades(t *testing.T, n int) []domain.Post {
	if _, err := os.Stat(cedPath); err != nil {
		t.Skip("crash test replays real Weibo data: ../shared/data absent")
	}
	all, err := dataset.ReadFile(cedPath, func(error) {})
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{}
	var posts []domain.Post
	for _, p := range all {
		root := p.RootID
		if root == "" {
			root = p.ID
		}
		if !keep[root] {
			if len(keep) >= n {
				continue
			}
			keep[root] = true
		}
		posts = append(posts, p)
	}
	dataset.SortByTime(posts)
	return posts
}

// TestKill9DuringReplay kills `yuqing serve` with SIGKILL in the middle of a
// replay, restarts it on the same data folder, finishes the replay (sending
// the interrupted batch again), and checks that every post answered 202 is
// searchable exactly once and that every graded event has exactly one case.
func TestKill9DuringReplay(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	posts := firstCascades(t, 120)
	tmp := t.TempDir()
	bin, err := Build(tmp)
	if err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(tmp, "data")
	addr, err := FreeAddr()
	if err != nil {
		t.Fatal(err)
	}
	logPath := filepath.Join(tmp, "serve.log")
	proc, err := Start(bin, data, addr, logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("server log:\n%s", tail(logPath))
		}
	}()

	var mu sync.Mutex
	acked := map[string]bool{}
	sent := 0
	onBatch := func(batch []domain.Post, resp client.Response, _ time.Time) {
		mu.Lock()
		defer mu.Unlock()
		for _, id := range resp.IDs {
			acked[id] = true
		}
		sent += len(batch)
	}
	c := client.New(proc.URL)
	c.Retries = 500 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// kill once a third of the posts has been taken
	killAt := len(posts) / 3
	go func() {
		for {
			mu.Lock()
			n := len(acked)
			mu.Unlock()
			if n >= killAt {
				proc.Kill()
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	_, err = c.Replay(ctx, posts, client.ReplayOptions{BatchSize: 500, OnBatch: onBatch})
	if err == nil {
		t.Fatal("replay finished before the kill; use more posts")
	}
	mu.Lock()
	resumeFrom := sent // the batch in flight when the server died is sent again
	firstAcked := len(acked)
	mu.Unlock()
	t.Logf("killed after %d posts acknowledged; restarting", firstAcked)

	proc, err = Start(bin, data, addr, logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer proc.Stop()
	c = client.New(proc.URL)
	if _, err := c.Replay(ctx, posts[resumeFrom:], client.ReplayOptions{BatchSize: 500, OnBatch: onBatch}); err != nil {
		t.Fatalf("resumed replay: %v", err)
	}
	unique := map[string]bool{}
	for _, p := range posts {
		unique[p.ID] = true
	}
	for id := range acked {
		if !unique[id] {
			t.Fatalf("server acknowledged unknown id %s", id)
		}
	}
	total, err := WaitTotal(ctx, proc.URL, int64(len(unique)), 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if total != int64(len(unique)) {
		t.Fatalf("index holds %d posts, want exactly %d (each acknowledged post once)", total, len(unique))
	}
	// every acknowledged post of the first run is there, by id (a sample of 300)
	ids := make([]string, 0, len(acked))
	for id := range acked {
		ids = append(ids, id)
	}
	rand.New(rand.NewSource(1)).Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for _, id := range ids[:min(300, len(ids))] {
		if code, err := GetJSON(ctx, proc.URL+"/api/v1/posts/"+id, nil); err != nil || code != 200 {
			t.Fatalf("acknowledged post %s not found after restart: %d %v", id, code, err)
		}
	}
	checkCases(t, ctx, proc.URL)
}

// checkCases waits for alerting to drain and checks one case per graded event.
func checkCases(t *testing.T, ctx context.Context, base string) {
	t.Helper()
	var events struct {
		Events []domain.Event `json:"events"`
	}
	var cases struct {
		Cases []domain.Case `json:"cases"`
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := GetJSON(ctx, base+"/api/v1/events?min_grade=IV&limit=10000", &events); err != nil {
			t.Fatal(err)
		}
		if _, err := GetJSON(ctx, base+"/api/v1/cases?limit=10000", &cases); err != nil {
			t.Fatal(err)
		}
		byEvent := map[string]int{}
		for _, c := range cases.Cases {
			byEvent[c.EventID]++
		}
		missing := 0
		for _, e := range events.Events {
			if byEvent[e.ID] == 0 {
				missing++
			}
		}
		for ev, n := range byEvent {
			if n > 1 {
				t.Fatalf("event %s has %d cases", ev, n)
			}
		}
		if missing == 0 {
			t.Logf("%d graded events, %d cases, none doubled", len(events.Events), len(cases.Cases))
			if len(events.Events) == 0 {
				t.Fatal("no graded event in the replay: the test proves nothing about cases")
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d graded events still without a case", missing)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
