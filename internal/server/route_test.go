package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"yuqing/domain"
)

// newTestServer builds a server on a temporary data folder (default tree)
// without running it.
func newTestServer(t *testing.T) *Server {
	t.Helper()
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data = t.TempDir()
	cfg.Listen = "127.0.0.1:0"
	s, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		s.Hub.Close()
		s.closeBackends()
	})
	return s
}

func TestRouteExplain(t *testing.T) {
	s := newTestServer(t)
	ctx := context.Background()
	at := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	events := []domain.Event{
		{ID: "ev-food", RootPostID: "p-food", Title: "某超市售卖过期食品被曝光", Keywords: []string{"宁波", "过期食品"}, Region: "浙江", FirstAt: at, LastAt: at},
		{ID: "ev-bare", RootPostID: "p-missing", Title: "宁波某小区电梯困人", Region: "浙江", FirstAt: at, LastAt: at},
	}
	if err := s.Store.SaveEvents(ctx, events, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.Index.Index(ctx, []domain.IndexedPost{{
		Post:     domain.Post{ID: "p-food", Text: "宁波某超市售卖过期食品被曝光", PublishedAt: at},
		Analysis: domain.Analysis{Category: "食品药品"},
		EventID:  "ev-food",
	}}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name      string
		query     string
		status    int
		unit      string
		place     string
		kind      string
		category  string
		steps     []string // each must appear in the step of the same index
		errorPart string
	}{
		{name: "event: category of its first post", query: "event=ev-food", status: 200,
			unit: "宁波市市场监督管理局", place: "宁波市人民政府办公厅", kind: "department", category: "食品药品",
			steps: []string{"发布地域为“浙江”，正文提到“宁波”，属地为宁波市人民政府办公厅", "宁波市市场监督管理局主管该类舆情"}},
		{name: "event: category asked for", query: "event=ev-food&category=教育", status: 200,
			unit: "宁波市教育局", place: "宁波市人民政府办公厅", kind: "department", category: "教育"},
		{name: "event: first post not indexed, by place alone", query: "event=ev-bare", status: 200,
			unit: "宁波市人民政府办公厅", place: "宁波市人民政府办公厅", kind: "government",
			steps: []string{"发布地域为“浙江”，正文提到“宁波”，属地为宁波市人民政府办公厅"}},
		{name: "unknown event", query: "event=nope", status: 404, errorPart: "事件 nope 不存在"},
		{name: "hypothetical: no department at that level", query: "region=浙江&text=温州某医院收费乱象&category=医疗卫生", status: 200,
			unit: "温州市人民政府办公室", place: "温州市人民政府办公室", kind: "government", category: "医疗卫生",
			steps: []string{"属地为温州市人民政府办公室", "没有主管该类舆情的部门，由温州市人民政府办公室回应（属地管理）"}},
		{name: "hypothetical: several places, the superior's department", query: "text=宁波&text=温州&category=医疗卫生", status: 200,
			unit: "浙江省卫生健康委员会", place: "浙江省人民政府办公厅", kind: "department", category: "医疗卫生",
			steps: []string{"涉及多地，由共同上级浙江省人民政府办公厅回应", "浙江省卫生健康委员会主管该类舆情"}},
		{name: "hypothetical: location only", query: "location=广东 广州", status: 200,
			unit: "广州市人民政府办公厅", place: "广州市人民政府办公厅", kind: "government",
			steps: []string{"作者所在地为“广东 广州”，属地为广州市人民政府办公厅"}},
		{name: "nothing to route", query: "", status: 400, errorPart: "region、location、text"},
		{name: "category alone", query: "category=教育&text=%20", status: 400, errorPart: "至少一项"},
		{name: "unknown category", query: "text=宁波&category=财经", status: 400, errorPart: "可用的类别：突发事件与灾害、"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := url.ParseQuery(tc.query)
			if err != nil {
				t.Fatal(err)
			}
			req := httptest.NewRequest(http.MethodGet, "/api/v1/route?"+q.Encode(), nil)
			rec := httptest.NewRecorder()
			s.routeExplain(rec, req)
			if rec.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", rec.Code, tc.status, rec.Body)
			}
			if tc.status != 200 {
				var e apiError
				if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || !strings.Contains(e.Error, tc.errorPart) {
					t.Fatalf("error %q (%v), want it to contain %q", e.Error, err, tc.errorPart)
				}
				return
			}
			var got routeAnswer
			if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
				t.Fatalf("answer is not JSON: %s", rec.Body)
			}
			if got.Unit.Name != tc.unit || got.PlaceUnit.Name != tc.place || got.UnitKind != tc.kind || got.Category != tc.category {
				t.Errorf("unit %s (%s), place %s, category %q; want %s (%s), %s, %q\n%s",
					got.Unit.Name, got.UnitKind, got.PlaceUnit.Name, got.Category, tc.unit, tc.kind, tc.place, tc.category, rec.Body)
			}
			if got.Reason != strings.Join(got.Steps, "；") || len(got.Steps) == 0 {
				t.Errorf("reason %q, steps %q", got.Reason, got.Steps)
			}
			if len(got.Steps) < len(tc.steps) {
				t.Fatalf("steps %q, want at least %d", got.Steps, len(tc.steps))
			}
			for i, want := range tc.steps {
				if !strings.Contains(got.Steps[i], want) {
					t.Errorf("step %d = %q, want it to contain %q", i+1, got.Steps[i], want)
				}
			}
			if tc.category == "" && len(got.Steps) != 1 {
				t.Errorf("no category, yet steps %q", got.Steps)
			}
		})
	}
	// The raw JSON uses the names the dashboard reads.
	rec := httptest.NewRecorder()
	s.routeExplain(rec, httptest.NewRequest(http.MethodGet, "/api/v1/route?event=ev-food", nil))
	var raw map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"unit", "place_unit", "steps", "reason"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("answer has no %q: %s", k, rec.Body)
		}
	}
}
