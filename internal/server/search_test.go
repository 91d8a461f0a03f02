package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"yuqing/analyzer/index"
	"yuqing/analyzer/index/bleveindex"
	"yuqing/analyzer/index/indextest"
)

// TestSearchAnalysisParams checks the search parameters on the analysis
// (place, keyword, min_risk, author), their errors, and the aggregations
// by place, unit and risk, on the conformance fixture in a Bleve index.
func TestSearchAnalysisParams(t *testing.T) {
	ix, err := bleveindex.Open(filepath.Join(t.TempDir(), "idx"))
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	if err := ix.Index(context.Background(), indextest.Fixture()); err != nil {
		t.Fatal(err)
	}
	s := &Server{Index: ix}
	call := func(params url.Values) (int, map[string]json.RawMessage) {
		t.Helper()
		rec := httptest.NewRecorder()
		s.search(rec, httptest.NewRequest(http.MethodGet, "/api/v1/search?"+params.Encode(), nil))
		var out map[string]json.RawMessage
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
			t.Fatalf("%v: answer is not JSON: %s", params, rec.Body.String())
		}
		return rec.Code, out
	}
	hitIDs := func(out map[string]json.RawMessage) []string {
		var hits []struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(out["hits"], &hits); err != nil {
			t.Fatal(err)
		}
		ids := []string{}
		for _, h := range hits {
			ids = append(ids, h.ID)
		}
		sort.Strings(ids)
		return ids
	}
	for _, tc := range []struct {
		params url.Values
		want   string
	}{
		{url.Values{"place": {"宁波市"}}, "p1 p2"},
		{url.Values{"place": {"宁波"}}, "p1 p2"},
		{url.Values{"place": {" 浙江 "}}, "p1 p2 p4 p5"},
		{url.Values{"place": {"鄞州区"}}, "p2"},
		{url.Values{"place": {"杭州"}}, "p4 p5"},
		{url.Values{"place": {"火星"}}, ""},
		{url.Values{"place": {"浙江省"}, "sentiment": {"negative"}}, "p1 p4"},
		{url.Values{"keyword": {"医院"}}, "p1 p2"},
		{url.Values{"min_risk": {"0.7"}}, "p4 p5 p6"},
		{url.Values{"min_risk": {"0"}}, "p1 p2 p3 p4 p5 p6"},
		{url.Values{"min_risk": {"1"}}, "p5"},
		{url.Values{"author": {"网友p3"}}, "p3"},
		{url.Values{"place": {"浙江省"}, "keyword": {"住房"}, "min_risk": {".9"}, "author": {"网友p5"}, "q": {"住房"}}, "p5"},
		{url.Values{"event": {"e1"}, "min_risk": {"0.2"}}, "p2"},
	} {
		code, out := call(tc.params)
		if code != 200 {
			t.Errorf("%v: status %d %s", tc.params, code, out["error"])
			continue
		}
		if got := strings.Join(hitIDs(out), " "); got != tc.want {
			t.Errorf("%v: hits %q, want %q", tc.params, got, tc.want)
		}
	}

	// The aggregations gain by_place, by_unit and by_risk beside the others.
	code, out := call(url.Values{})
	if code != 200 {
		t.Fatalf("status %d", code)
	}
	var aggs map[string]json.RawMessage
	if err := json.Unmarshal(out["aggregations"], &aggs); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"over_time", "interval", "by_sentiment", "by_category", "by_region", "top_keywords", "by_place", "by_unit", "by_risk"} {
		if _, ok := aggs[k]; !ok {
			t.Errorf("aggregations lack %s: %s", k, out["aggregations"])
		}
	}
	var risk []index.RiskCount
	if err := json.Unmarshal(aggs["by_risk"], &risk); err != nil {
		t.Fatal(err)
	}
	if b, _ := json.Marshal(risk); string(b) != `[{"band":"low","from":0,"to":0.3,"count":1},{"band":"medium","from":0.3,"to":0.7,"count":2},{"band":"high","from":0.7,"to":1,"count":3}]` {
		t.Errorf("by_risk = %s", b)
	}
	var units []index.TermCount
	if err := json.Unmarshal(aggs["by_unit"], &units); err != nil || len(units) != 3 || units[0].Count != 2 {
		t.Errorf("by_unit = %s (%v)", aggs["by_unit"], err)
	}
	var places []index.TermCount
	if err := json.Unmarshal(aggs["by_place"], &places); err != nil || len(places) != 6 {
		t.Errorf("by_place = %s (%v)", aggs["by_place"], err)
	}

	// Bad values: 400, in Chinese, naming the parameter.
	for _, bad := range []string{"abc", "-0.1", "1.5", "NaN", "Inf", "0,5"} {
		code, out := call(url.Values{"min_risk": {bad}})
		var msg string
		_ = json.Unmarshal(out["error"], &msg)
		if code != 400 || !strings.Contains(msg, "参数 min_risk") || !strings.Contains(msg, "0 到 1") {
			t.Errorf("min_risk=%s: status %d, error %q", bad, code, msg)
		}
	}
}
