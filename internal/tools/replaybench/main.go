// Command replaybench replays a dataset at full speed into a fresh `yuqing
// serve` process and prints the issue's end-to-end figures: wall time,
// posts/s, lag from a post's 202 to it being searchable (sampled by polling
// GET /api/v1/posts/{id}), lag from an event crossing its threshold to its
// case on the websocket, and the server's resident memory afterwards.
//
//	go run ./internal/tools/replaybench --bin bin/yuqing ../shared/data/weibo/ced_dev.jsonl.gz
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"yuqing/alerting/notify"
	"yuqing/alerting/orgtree"
	"yuqing/domain"
	"yuqing/ingest/client"
	"yuqing/ingest/dataset"
	"yuqing/internal/e2e"
)

func main() {
	bin := flag.String("bin", "bin/yuqing", "yuqing binary")
	limit := flag.Int("posts", 0, "replay only the first N posts by time (0: all)")
	every := flag.Int("sample", 1000, "probe one post in N for the 202→searchable lag")
	batch := flag.Int("batch", 2000, "posts per request")
	keep := flag.Bool("keep", false, "keep the data folder")
	config := flag.String("config", "", "serve with this configuration (e.g. deploy/yuqing.scaleout.yaml); default the embedded backends")
	notifyTimes := flag.Bool("notify", false, "embedded backends with a webhook on the organisation tree's root (every unit inherits it): measure case → first notification")
	flag.Parse()
	if *notifyTimes && *config != "" {
		fmt.Fprintln(os.Stderr, "--notify uses its own configuration; leave out --config")
		os.Exit(2)
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: replaybench [--bin bin/yuqing] FILE")
		os.Exit(2)
	}
	if err := run(*bin, flag.Arg(0), *config, *notifyTimes, *limit, *every, *batch, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "replaybench:", err)
		os.Exit(1)
	}
}

type sample struct {
	id string
	at time.Time
}

func run(bin, file, config string, notifyTimes bool, limit, every, batch int, keep bool) error {
	ctx := context.Background()
	posts, err := dataset.ReadFile(file, func(e error) { fmt.Fprintln(os.Stderr, "skip:", e) })
	if err != nil {
		return err
	}
	dataset.SortByTime(posts)
	if limit > 0 && limit < len(posts) {
		posts = posts[:limit]
	}
	unique := map[string]bool{}
	for _, p := range posts {
		unique[p.ID] = true
	}
	tmp, err := os.MkdirTemp("", "yuqing-replaybench-")
	if err != nil {
		return err
	}
	if !keep {
		defer os.RemoveAll(tmp)
	}
	addr, err := e2e.FreeAddr()
	if err != nil {
		return err
	}
	var extra []string
	if config != "" {
		extra = []string{"--config", config}
	}
	var hook *webhookTimes
	if notifyTimes {
		if hook, err = startWebhook(); err != nil {
			return err
		}
		defer hook.srv.Close()
		cfg, err := notifyConfig(tmp, hook.url)
		if err != nil {
			return err
		}
		extra = []string{"--config", cfg}
	}
	proc, err := e2e.Start(bin, filepath.Join(tmp, "data"), addr, filepath.Join(tmp, "serve.log"), extra...)
	if err != nil {
		return err
	}
	defer proc.Stop()
	_, startPeak, _ := proc.RSS()

	// websocket watcher: first time an event is seen graded, first time its case is seen
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/api/v1/stream", nil)
	if err != nil {
		return fmt.Errorf("websocket: %w", err)
	}
	var wmu sync.Mutex
	graded := map[string]time.Time{}  // when the dashboard first saw the event graded
	decided := map[string]time.Time{} // when the analyzer graded it (the event's UpdatedAt, server clock)
	// event time from the event's first post to the post that got it graded
	// (and so its case, at the default min_grade IV)
	span := map[string]time.Duration{}
	caseSeen := map[string]time.Time{}
	caseEvent := map[string]string{}
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				return
			}
			now := time.Now()
			var m struct {
				Type string          `json:"type"`
				Data json.RawMessage `json:"data"`
			}
			if json.Unmarshal(data, &m) != nil {
				continue
			}
			wmu.Lock()
			switch m.Type {
			case "event":
				var ev domain.Event
				if json.Unmarshal(m.Data, &ev) == nil && ev.Grade != domain.GradeNone {
					if _, ok := graded[ev.ID]; !ok {
						graded[ev.ID] = now
						decided[ev.ID] = ev.UpdatedAt
						span[ev.ID] = ev.LastAt.Sub(ev.FirstAt)
					}
				}
			case "case":
				var c domain.Case
				if json.Unmarshal(m.Data, &c) == nil {
					if _, ok := caseSeen[c.ID]; !ok {
						caseSeen[c.ID] = now
						caseEvent[c.ID] = c.EventID
					}
				}
			}
			wmu.Unlock()
		}
	}()

	// searchable probes
	probes := make(chan sample, 100000)
	var lags []time.Duration
	var lmu sync.Mutex
	var pwg sync.WaitGroup
	for w := 0; w < 4; w++ {
		pwg.Add(1)
		go func() {
			defer pwg.Done()
			for s := range probes {
				for {
					code, err := e2e.GetJSON(ctx, proc.URL+"/api/v1/posts/"+s.id, nil)
					if err == nil && code == 200 {
						lmu.Lock()
						lags = append(lags, time.Since(s.at))
						lmu.Unlock()
						break
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	n := 0
	start := time.Now()
	fmt.Fprintf(os.Stderr, "replaying %d posts (%d unique ids) into %s\n", len(posts), len(unique), proc.URL)
	st, err := client.New(proc.URL).Replay(ctx, posts, client.ReplayOptions{BatchSize: batch, Progress: os.Stderr,
		OnBatch: func(sent []domain.Post, resp client.Response, at time.Time) {
			for _, id := range resp.IDs {
				if n++; n%every == 0 {
					probes <- sample{id, at}
				}
			}
		}})
	if err != nil {
		return err
	}
	sendWall := st.Wall
	total, err := e2e.WaitTotal(ctx, proc.URL, int64(len(unique)), 120*time.Second)
	if err != nil {
		return err
	}
	endToEnd := time.Since(start)
	close(probes)
	pwg.Wait()
	// let alerting drain: wait until the case count stops moving for 3 s
	var cases struct {
		Cases []domain.Case `json:"cases"`
	}
	last, stable := -1, time.Now()
	for time.Since(stable) < 3*time.Second {
		if _, err := e2e.GetJSON(ctx, proc.URL+"/api/v1/cases?limit=100000", &cases); err != nil {
			return err
		}
		if len(cases.Cases) != last {
			last, stable = len(cases.Cases), time.Now()
		}
		time.Sleep(200 * time.Millisecond)
	}
	rss, peak, _ := proc.RSS()
	searchLat, searchN := searchLatency(ctx, proc.URL)
	var events struct {
		Events []domain.Event `json:"events"`
	}
	e2e.GetJSON(ctx, proc.URL+"/api/v1/events?limit=100000", &events)
	grades := map[domain.Grade]int{}
	for _, e := range events.Events {
		grades[e.Grade]++
	}
	wmu.Lock()
	var caseLags, decidedLags, spans []time.Duration
	for id, at := range caseSeen {
		if d, ok := span[caseEvent[id]]; ok {
			spans = append(spans, d)
		}
		if d, ok := decided[caseEvent[id]]; ok {
			decidedLags = append(decidedLags, at.Sub(d))
		}
		if g, ok := graded[caseEvent[id]]; ok {
			d := at.Sub(g)
			if d < 0 {
				d = 0 // the case came through the bus before the dashboard saw the event
			}
			caseLags = append(caseLags, d)
		}
	}
	wmu.Unlock()
	ws.Close()

	fmt.Println()
	fmt.Println("| figure | value |")
	fmt.Println("|---|---|")
	fmt.Printf("| posts replayed | %d (%d unique ids) |\n", len(posts), len(unique))
	fmt.Printf("| send wall time (all 202s) | %s |\n", sendWall.Round(time.Millisecond))
	fmt.Printf("| ingest rate | %.0f posts/s |\n", float64(len(posts))/sendWall.Seconds())
	fmt.Printf("| all searchable after | %s (%.0f posts/s end to end) |\n", endToEnd.Round(time.Millisecond), float64(len(unique))/endToEnd.Seconds())
	fmt.Printf("| index total | %d |\n", total)
	fmt.Printf("| 202→searchable lag (n=%d) | p50 %s, p99 %s, max %s |\n", len(lags), pct(lags, 50), pct(lags, 99), pct(lags, 100))
	fmt.Printf("| event graded by the analyzer→case on websocket (n=%d) | p50 %s, p99 %s, max %s |\n", len(decidedLags), pct(decidedLags, 50), pct(decidedLags, 99), pct(decidedLags, 100))
	fmt.Printf("| graded event on websocket→case on websocket (n=%d) | p50 %s, p99 %s, max %s |\n", len(caseLags), pct(caseLags, 50), pct(caseLags, 99), pct(caseLags, 100))
	fmt.Printf("| event's first post→the post that got it graded, in event time (n=%d) | p50 %s, p90 %s, p99 %s, max %s |\n", len(spans), pct(spans, 50), pct(spans, 90), pct(spans, 99), pct(spans, 100))
	fmt.Printf("| events | %d (I %d, II %d, III %d, IV %d, below %d) |\n", len(events.Events), grades[1], grades[2], grades[3], grades[4], grades[0])
	fmt.Printf("| cases | %d |\n", len(cases.Cases))
	if hook != nil {
		time.Sleep(3 * time.Second) // the last group's wait
		var notifyLags []time.Duration
		hook.mu.Lock()
		wmu.Lock()
		for id, at := range caseSeen {
			if got, ok := hook.first[id]; ok {
				notifyLags = append(notifyLags, max(got.Sub(at), 0))
			}
		}
		wmu.Unlock()
		hook.mu.Unlock()
		fmt.Printf("| case on websocket→first notification received by the unit's webhook (n=%d of %d cases) | p50 %s, p99 %s, max %s |\n",
			len(notifyLags), len(caseSeen), pct(notifyLags, 50), pct(notifyLags, 99), pct(notifyLags, 100))
	}
	fmt.Printf("| keyword search with all aggregations over the index (n=%d) | p50 %s, p95 %s |\n", searchN, pct(searchLat, 50), pct(searchLat, 95))
	fmt.Printf("| serve RSS after replay | %d MiB (peak %d MiB; at start peak %d MiB) |\n", rss>>20, peak>>20, startPeak>>20)
	return nil
}

func pct(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	if i < 1 {
		i = 1
	}
	if i > len(s) {
		i = len(s)
	}
	return s[i-1].Round(time.Millisecond)
}

// searchWords are keyword queries of the kind staff type.
var searchWords = []string{"医院", "政府", "谣言", "北京", "地震", "警察", "学校", "食品", "城管", "拆迁", "火灾", "官员", "孩子", "死亡", "救援", "微博"}

// searchLatency times keyword searches with every aggregation through the
// HTTP API, after one warm-up round.
func searchLatency(ctx context.Context, base string) ([]time.Duration, int) {
	var lat []time.Duration
	for round := 0; round < 6; round++ {
		for _, w := range searchWords {
			start := time.Now()
			if code, err := e2e.GetJSON(ctx, base+"/api/v1/search?size=20&q="+url.QueryEscape(w), nil); err != nil || code != 200 {
				continue
			}
			if round > 0 {
				lat = append(lat, time.Since(start))
			}
		}
	}
	return lat, len(lat)
}

// webhookTimes is a unit's webhook: when each case's first notification came.
type webhookTimes struct {
	srv   *http.Server
	url   string
	mu    sync.Mutex
	first map[string]time.Time
}

func startWebhook() (*webhookTimes, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	h := &webhookTimes{url: "http://" + ln.Addr().String() + "/hook", first: map[string]time.Time{}}
	h.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		var p notify.WebhookPayload
		if err := json.NewDecoder(r.Body).Decode(&p); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		h.mu.Lock()
		for _, m := range p.Messages {
			if _, ok := h.first[m.CaseID]; !ok && m.CaseID != "" {
				h.first[m.CaseID] = now
			}
		}
		h.mu.Unlock()
	}), ReadHeaderTimeout: 10 * time.Second}
	go h.srv.Serve(ln)
	return h, nil
}

// notifyConfig writes the embedded backends' configuration with the default
// organisation tree whose root notifies the webhook.
func notifyConfig(dir, hook string) (string, error) {
	tree := string(orgtree.DefaultYAML())
	i := strings.Index(tree, "\nchildren:")
	if i < 0 {
		return "", fmt.Errorf("the default tree has no children list")
	}
	tree = tree[:i] + "\nnotify: [{type: webhook, url: \"" + hook + "\", name: 基准接收}]" + tree[i:]
	units := filepath.Join(dir, "units.yaml")
	if err := os.WriteFile(units, []byte(tree), 0o644); err != nil {
		return "", err
	}
	cfg := filepath.Join(dir, "config.yaml")
	body := "units: " + units + "\nbus: {sqlite: {}}\nindex: {bleve: {}}\nstore: {sqlite: {}}\n"
	return cfg, os.WriteFile(cfg, []byte(body), 0o644)
}
