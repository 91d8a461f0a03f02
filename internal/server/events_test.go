package server

import (
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"yuqing/analyzer/index"
	"yuqing/domain"
)

type eventSearch struct {
	Events []domain.Event         `json:"events"`
	Total  int64                  `json:"total"`
	Aggs   index.EventAggregation `json:"aggregations"`
}

// TestEventSearch: events are searchable by words and filters through GET
// /api/v1/events, the store's listing stays as it was, bad parameters get
// a clear 400, and a data folder whose index lacks the events (an upgrade)
// gets them back at the next start.
func TestEventSearch(t *testing.T) {
	data := t.TempDir()
	base, stop := startServer(t, func(c *Config) { c.Data = data })
	body := `{"id":"ev-a","text":"宁波市某化工厂发生爆炸，周边居民紧急疏散","region":"浙江","published_at":"2024-05-01T08:00:00+08:00"}
{"id":"ev-b","text":"南京暴雨导致多处道路内涝，地铁站临时关闭","region":"江苏","published_at":"2024-05-02T08:00:00+08:00"}
`
	if code, out := post(t, base+"/api/v1/posts", body); code != 202 {
		t.Fatalf("posts answered %d %v", code, out)
	}
	var res eventSearch
	search := func(base, params string) int {
		res = eventSearch{}
		return get(t, base+"/api/v1/events?"+params, &res)
	}
	waitFor(t, "both events searchable", func() bool {
		return search(base, "size=10") == 200 && res.Total == 2
	})
	if search(base, "q="+url.QueryEscape("化工厂爆炸")) != 200 || res.Total != 1 || res.Events[0].RootPostID != "ev-a" {
		t.Fatalf("q=化工厂爆炸: %+v", res)
	}
	if len(res.Aggs.ByGrade) != 5 || res.Events[0].Hourly != nil {
		t.Errorf("aggregations %+v, hourly %v", res.Aggs, res.Events[0].Hourly)
	}
	if search(base, "region="+url.QueryEscape("江苏")) != 200 || res.Total != 1 || res.Events[0].RootPostID != "ev-b" {
		t.Errorf("region=江苏: %+v", res)
	}
	if search(base, "from=2024-05-02T00:00:00%2B08:00&sort=last") != 200 || res.Total != 1 || res.Events[0].RootPostID != "ev-b" {
		t.Errorf("from 2 May: %+v", res)
	}
	// the store's listing, as before
	var listed struct {
		Events []domain.Event `json:"events"`
	}
	if get(t, base+"/api/v1/events?limit=5", &listed) != 200 || len(listed.Events) != 2 {
		t.Errorf("listing: %+v", listed)
	}
	for _, bad := range []string{"min_heat=hot", "sort=random", "from=yesterday", "min_grade=V", "size=-1x"} {
		var e map[string]any
		if code := get(t, base+"/api/v1/events?"+bad, &e); code != 400 || e["error"] == nil {
			t.Errorf("%s answered %d %v", bad, code, e)
		}
	}
	stop()

	// Lose the events' index (as a data folder from before events were
	// indexed): the next start indexes the store's events again.
	if err := os.RemoveAll(filepath.Join(data, "index", "events")); err != nil {
		t.Fatal(err)
	}
	base, stop = startServer(t, func(c *Config) { c.Data = data })
	defer stop()
	waitFor(t, "events back in the index", func() bool {
		return search(base, "q="+url.QueryEscape("内涝")) == 200 && res.Total == 1
	})
}
