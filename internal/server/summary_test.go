package server

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"yuqing/domain"
)

// TestSummaryReport: the period report counts the period's posts, events,
// cases and deadlines, lists the overdue cases, and its page escapes what
// was crawled.
func TestSummaryReport(t *testing.T) {
	ctx := context.Background()
	s, _ := openServer(t, t.TempDir(), "", nil)
	now := time.Now()
	from, to := now.Add(-72*time.Hour), now.Add(time.Minute)
	evil := `<script>alert("x")</script>`
	var docs []domain.IndexedPost
	for i := range 12 {
		p := domain.IndexedPost{Post: domain.Post{ID: fmt.Sprintf("p%d", i), Text: "宁波暴雨", PublishedAt: now.Add(-time.Duration(i) * time.Hour), Region: "浙江"}}
		p.Analysis.Sentiment.Label, p.Analysis.Category = domain.Negative, "突发事件与灾害"
		if i%3 == 0 {
			p.Analysis.Sentiment.Label = domain.Neutral
		}
		docs = append(docs, p)
	}
	docs = append(docs, domain.IndexedPost{Post: domain.Post{ID: "old", Text: "旧闻", PublishedAt: now.Add(-30 * 24 * time.Hour)}})
	if err := s.Index.Index(ctx, docs); err != nil {
		t.Fatal(err)
	}
	if err := s.Index.IndexEvents(ctx, []domain.Event{
		{ID: "ev-hot", Title: evil, Name: "宁波·暴雨", Grade: domain.GradeII, Heat: 70, Posts: 10, Negative: 8, FirstAt: now.Add(-10 * time.Hour), LastAt: now.Add(-time.Hour), Version: 1},
		{ID: "ev-calm", Title: "杭州晴天", Grade: domain.GradeIV, Heat: 40, Posts: 2, FirstAt: now.Add(-5 * time.Hour), LastAt: now.Add(-5 * time.Hour), Version: 1},
		{ID: "ev-old", Title: "旧事件", Heat: 90, Posts: 2, FirstAt: now.Add(-40 * 24 * time.Hour), LastAt: now.Add(-40 * 24 * time.Hour), Version: 1},
	}); err != nil {
		t.Fatal(err)
	}
	opened := now.Add(-30 * time.Hour)
	late := domain.Case{ID: "case-late", EventID: "ev-hot", Title: evil, Status: domain.CaseSigned, ProposedGrade: domain.GradeII, Grade: domain.GradeII,
		UnitID: "zhejiang-ningbo", UnitName: "宁波市人民政府办公厅", CreatedAt: opened, FirstPostAt: opened, UpdatedAt: opened,
		Clocks: domain.ClocksFor(domain.GradeII, opened, opened)}
	done := opened.Add(2 * time.Hour)
	late.Clocks[0].StoppedAt = &done // released in time; the press conference is overdue
	calm := domain.Case{ID: "case-calm", EventID: "ev-calm", Title: "杭州晴天", Status: domain.CaseClosed, ProposedGrade: domain.GradeIV, Grade: domain.GradeIV,
		UnitID: "zhejiang-hangzhou", UnitName: "杭州市人民政府办公厅", CreatedAt: now.Add(-5 * time.Hour), FirstPostAt: now.Add(-5 * time.Hour), UpdatedAt: now,
		Clocks: domain.ClocksFor(domain.GradeIV, now.Add(-5*time.Hour), now.Add(-5*time.Hour))}
	answered := now.Add(-4 * time.Hour)
	calm.Clocks[0].StoppedAt = &answered
	old := domain.Case{ID: "case-old", EventID: "ev-old", Title: "旧案", Status: domain.CaseOpen, Grade: domain.GradeIV, CreatedAt: now.Add(-40 * 24 * time.Hour),
		UpdatedAt: now.Add(-40 * 24 * time.Hour), Clocks: domain.ClocksFor(domain.GradeIV, now.Add(-40*24*time.Hour), now.Add(-40*24*time.Hour))}
	for _, c := range []domain.Case{late, calm, old} {
		if _, _, err := s.Store.CreateCase(ctx, c, domain.Action{Kind: domain.ActOpen, Actor: "system", At: c.CreatedAt}); err != nil {
			t.Fatal(err)
		}
	}
	period := "from=" + url.QueryEscape(from.Format(time.RFC3339)) + "&to=" + url.QueryEscape(to.Format(time.RFC3339))

	code, body := call(t, s, http.MethodGet, "/api/v1/reports/summary?"+period, "")
	var sum Summary
	if code != 200 || json.Unmarshal(body, &sum) != nil {
		t.Fatalf("summary: %d %s", code, body)
	}
	if sum.Posts != 12 || sum.Events != 2 || len(sum.TopEvents) != 2 || sum.TopEvents[0].ID != "ev-hot" || sum.Cases != 2 {
		t.Errorf("counts: posts %d, events %d %+v, cases %d", sum.Posts, sum.Events, sum.TopEvents, sum.Cases)
	}
	if sum.Met != 2 || sum.Missed != 1 || sum.Running != 0 || sum.OnTimeRate < 0.66 || sum.OnTimeRate > 0.67 {
		t.Errorf("clocks: met %d missed %d running %d rate %.3f", sum.Met, sum.Missed, sum.Running, sum.OnTimeRate)
	}
	if len(sum.Overdue) != 1 || sum.Overdue[0].ID != "case-late" || sum.ByStatus[domain.CaseSigned] != 1 || sum.ByStatus[domain.CaseClosed] != 1 {
		t.Errorf("overdue %+v, by status %v", sum.Overdue, sum.ByStatus)
	}
	if len(sum.Sentiment) == 0 || len(sum.Units) != 2 || len(sum.Notes) != 0 {
		t.Errorf("sentiment %v, units %+v, notes %v", sum.Sentiment, sum.Units, sum.Notes)
	}

	rec := callRec(t, s, "/report?"+period)
	page := rec.Body.String()
	if rec.Code != 200 || !strings.HasPrefix(rec.Header().Get("Content-Type"), "text/html") || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("report page: %d %v", rec.Code, rec.Header())
	}
	if strings.Contains(page, "<script") || !strings.Contains(page, "&lt;script&gt;") {
		t.Errorf("the crawled title is not escaped:\n%s", page)
	}
	for _, want := range []string{"舆情与回应报告", "监测到信息 <b>12</b> 条", "活跃事件 <b>2</b> 个（I级 0、II级 1、III级 0、IV级 1）", "按时率 <b>66.7%</b>",
		"尚有 1 件案件超时未办结", "立案 <b>2</b> 件（已签收 1、已关闭 1）", "召开新闻发布会（截止 ", "宁波·暴雨", "宁波市人民政府办公厅"} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	// the default period is the last 7 days; a reversed period is refused
	if code, body := call(t, s, http.MethodGet, "/api/v1/reports/summary", ""); code != 200 || !strings.Contains(string(body), `"cases":2`) {
		t.Errorf("default period: %d %.200s", code, body)
	}
	if code, body := call(t, s, http.MethodGet, "/api/v1/reports/summary?from=2025-02-01&to=2025-01-01", ""); code != 400 || !strings.Contains(string(body), "不早于") {
		t.Errorf("reversed period: %d %s", code, body)
	}
	// days=N: the N days up to now (a monthly report); wrong or doubled, refused
	if code, body := call(t, s, http.MethodGet, "/api/v1/reports/summary?days=30", ""); code != 200 || json.Unmarshal(body, &sum) != nil ||
		sum.To.Sub(sum.From) < 29*24*time.Hour || sum.To.Sub(sum.From) > 31*24*time.Hour || sum.Cases != 2 {
		t.Errorf("days=30: %d %s→%s, %d cases", code, sum.From, sum.To, sum.Cases)
	}
	for _, q := range []string{"days=0", "days=x", "days=7&from=2025-01-01"} {
		if code, body := call(t, s, http.MethodGet, "/api/v1/reports/summary?"+q, ""); code != 400 || !strings.Contains(string(body), "days") {
			t.Errorf("%s: %d %s", q, code, body)
		}
	}
	if rec := callRec(t, s, "/report?from=yesterday"); rec.Code != 400 {
		t.Errorf("bad from on the page: %d", rec.Code)
	}
}

// callRec runs one GET through the server's routes and gives the recorder.
func callRec(t *testing.T, s *Server, target string) *httptest.ResponseRecorder {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Routes().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, target, nil))
	return rec
}
