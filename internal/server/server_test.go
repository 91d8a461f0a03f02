package server

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"go.uber.org/goleak"

	"yuqing/alerting"
	"yuqing/domain"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		// bleve's analysis queue is started at package init and lives for the process
		goleak.IgnoreTopFunction("github.com/blevesearch/bleve_index_api.AnalysisWorker"),
	)
}

// startServer runs a whole server on a temporary data folder and a free port.
func startServer(t *testing.T, mutate func(*Config)) (string, func()) {
	t.Helper()
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	if mutate != nil {
		mutate(&cfg)
	}
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for s.Addr() == nil || !s.ready.Load() {
		if time.Now().After(deadline) {
			t.Fatal("server did not start")
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "http://" + s.Addr().String(), func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server stopped with %v", err)
		}
	}
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	res, err := http.Post(url, "application/x-ndjson", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out map[string]any
	data, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatalf("answer is not JSON: %s", data)
	}
	return res.StatusCode, out
}

func get(t *testing.T, url string, v any) int {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if v != nil {
		if err := json.NewDecoder(res.Body).Decode(v); err != nil {
			t.Fatalf("%s: %v", url, err)
		}
	}
	return res.StatusCode
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	waitForUpTo(t, 30*time.Second, what, cond)
}

// waitForUpTo is waitFor with its own limit, for the slow steps of a loaded
// CI machine.
func waitForUpTo(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestPostsBadInputKeepsGoodItems(t *testing.T) {
	base, stop := startServer(t, func(c *Config) { c.MaxBody = 64 << 10 })
	defer stop()
	body := strings.Join([]string{
		`{"id":"good-1","text":"宁波市某医院发生医疗纠纷，家属聚集","published_at":"2024-05-01T08:30:00+08:00","region":"浙江"}`,
		`{"id":"bad-json","text":"缺了括号"`,
		`{"id":"no-text","text":"  "}`,
		"{\"id\":\"bad-utf8\",\"text\":\"\xc3\x28\"}",
		`{"id":"repost-1","parent_id":"good-1","published_at":"2024-05-01T08:31:00+08:00"}`,
		`{"id":"good-1","text":"同一批里重复"}`,
	}, "\n")
	code, out := post(t, base+"/api/v1/posts", body)
	if code != 400 {
		t.Fatalf("mixed batch answered %d, want 400: %v", code, out)
	}
	if ids := fmt.Sprint(out["ids"]); ids != "[good-1 repost-1]" {
		t.Fatalf("ids taken %s", ids)
	}
	errs := out["errors"].([]any)
	if len(errs) != 4 {
		t.Fatalf("errors %v", errs)
	}
	for _, e := range errs {
		m := e.(map[string]any)
		if m["error"] == "" || m["item"] == nil {
			t.Fatalf("error without item or text: %v", m)
		}
	}
	// the same id in a later batch is one post
	if code, out := post(t, base+"/api/v1/posts", `{"id":"good-1","text":"宁波市某医院发生医疗纠纷，家属聚集","region":"浙江"}`); code != 202 {
		t.Fatalf("resend answered %d %v", code, out)
	}
	waitFor(t, "posts searchable", func() bool {
		return get(t, base+"/api/v1/posts/good-1", nil) == 200 && get(t, base+"/api/v1/posts/repost-1", nil) == 200
	})
	var res struct {
		Total int64 `json:"total"`
	}
	waitFor(t, "resend processed", func() bool {
		var m map[string]float64
		_ = m
		return get(t, base+"/api/v1/search?q=医院", &res) == 200 && res.Total == 1
	})
	// a body over the limit
	big := `{"text":"` + strings.Repeat("大", 30<<10) + `"}`
	if code, out := post(t, base+"/api/v1/posts", big); code != http.StatusRequestEntityTooLarge || !strings.Contains(fmt.Sprint(out["message"]), "上限") {
		t.Fatalf("over-limit body answered %d %v", code, out)
	}
	// search filters and aggregations answer
	var sr map[string]any
	if code := get(t, base+"/api/v1/search?q=医院&from=2024-01-01&to=2025-01-01&size=5", &sr); code != 200 || sr["aggregations"] == nil {
		t.Fatalf("search answered %d %v", code, sr)
	}
	if code := get(t, base+"/api/v1/search?from=yesterday", &sr); code != 400 {
		t.Fatalf("bad from answered %d", code)
	}
}

// TestHotCascadeOpensCaseAndActions pushes one original post with a burst of
// reposts, waits for its case on the websocket and in the API, then signs and
// answers it through the actions endpoint.
func TestHotCascadeOpensCaseAndActions(t *testing.T) {
	base, stop := startServer(t, nil)
	defer stop()
	ws, _, err := websocket.DefaultDialer.Dial(strings.Replace(base, "http", "ws", 1)+"/api/v1/stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	caseSeen := make(chan domain.Case, 16)
	go func() {
		for {
			_, data, err := ws.ReadMessage()
			if err != nil {
				close(caseSeen)
				return
			}
			var m struct {
				Type string      `json:"type"`
				Data domain.Case `json:"data"`
			}
			if json.Unmarshal(data, &m) == nil && m.Type == "case" {
				select {
				case caseSeen <- m.Data:
				default:
				}
			}
		}
	}()

	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	root := domain.Post{ID: "hot-root", Source: "weibo", Text: "宁波市某化工厂发生爆炸，现场浓烟滚滚，多人受伤送医，周边居民紧急疏散", PublishedAt: t0,
		Region: "浙江", Author: domain.Author{Name: "现场网友", Followers: 3_000_000}}
	enc.Encode(root)
	for i := 0; i < 6000; i++ {
		enc.Encode(domain.Post{ID: fmt.Sprintf("hot-rp-%d", i), ParentID: "hot-root", RootID: "hot-root",
			Text:        []string{"太可怕了，希望伤者平安", "官方怎么还不回应？", "", "求真相，到底死了多少人"}[i%4],
			PublishedAt: t0.Add(time.Duration(i) * 600 * time.Millisecond), Author: domain.Author{Followers: 20000}})
	}
	if code, out := post(t, base+"/api/v1/posts", buf.String()); code != 202 {
		t.Fatalf("cascade answered %d %v", code, out)
	}
	var c domain.Case
	select {
	case c = <-caseSeen:
	case <-time.After(60 * time.Second):
		t.Fatal("no case on the websocket")
	}
	if c.EventID != "ev-hot-root" || c.UnitName == "" || !strings.Contains(c.UnitName, "宁波") || len(c.Clocks) == 0 {
		t.Fatalf("case %+v", c)
	}
	// The case opens while the cascade is still being analysed; as the
	// event grows its grade may rise, which the system records on the case
	// as "escalate". Wait until the whole cascade is in the event and the
	// case has caught up with the event's grade before acting on it.
	waitForUpTo(t, 90*time.Second, "the whole cascade in the event and its case", func() bool {
		var ev struct {
			Event domain.Event `json:"event"`
			Case  domain.Case  `json:"case"`
		}
		return get(t, base+"/api/v1/events/ev-hot-root", &ev) == 200 && ev.Event.Posts == 6001 &&
			ev.Case.ID != "" && ev.Case.ProposedGrade != domain.GradeNone &&
			(ev.Event.Grade == domain.GradeNone || ev.Event.Grade >= ev.Case.ProposedGrade)
	})
	var listed struct {
		Cases []domain.Case `json:"cases"`
	}
	get(t, base+"/api/v1/cases?open=1", &listed)
	if len(listed.Cases) != 1 || listed.Cases[0].ID != c.ID {
		t.Fatalf("open cases %+v", listed.Cases)
	}
	act := func(body string) (int, map[string]any) {
		res, err := http.Post(base+"/api/v1/cases/"+c.ID+"/actions", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		return res.StatusCode, out
	}
	if code, out := act(`{"action":"sign","actor":"宁波市政府办 张三"}`); code != 200 {
		t.Fatalf("sign: %d %v", code, out)
	}
	if code, _ := act(`{"action":"respond","actor":"张三"}`); code != 400 {
		t.Fatalf("respond without evidence answered %d, want 400", code)
	}
	if code, _ := act(`{"action":"fly","actor":"张三"}`); code != 400 {
		t.Fatalf("unknown action answered %d, want 400", code)
	}
	if code, out := act(`{"action":"respond","actor":"张三","evidence_url":"https://www.ningbo.gov.cn/notice/1"}`); code != 200 {
		t.Fatalf("respond: %d %v", code, out)
	}
	var got struct {
		Case domain.Case `json:"case"`
	}
	if code := get(t, base+"/api/v1/cases/"+c.ID, &got); code != 200 {
		t.Fatalf("get case %d", code)
	}
	stopped := 0
	for _, cl := range got.Case.Clocks {
		if cl.StoppedAt != nil && cl.EvidenceURL != "" {
			stopped++
		}
	}
	if stopped == 0 {
		t.Fatalf("respond stopped no clock: %+v", got.Case.Clocks)
	}
	kinds := []string{}
	for _, a := range got.Case.Actions {
		if a.Actor == "" || a.At.IsZero() {
			t.Fatalf("action without actor or time: %+v", a)
		}
		if a.Kind == domain.ActEscalate && a.Actor == alerting.SystemActor {
			continue // the grade raised as the cascade grew
		}
		kinds = append(kinds, a.Kind)
	}
	if strings.Join(kinds, ",") != "open,sign,respond" {
		t.Fatalf("audit trail %v", kinds)
	}
	if code := get(t, base+"/api/v1/cases/nope", nil); code != 404 {
		t.Fatalf("missing case answered %d", code)
	}
	var ev map[string]any
	if code := get(t, base+"/api/v1/events/ev-hot-root", &ev); code != 200 || ev["case"] == nil {
		t.Fatalf("event answered %d %v", code, ev)
	}
}
