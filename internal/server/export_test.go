package server

import (
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"yuqing/domain"
)

// TestCSVExports: GET /cases?format=csv and GET /reports/units?format=csv
// give spreadsheet files (BOM, Chinese headers, China times, every case of
// the filters), and a crafted title never becomes a formula.
func TestCSVExports(t *testing.T) {
	ctx := context.Background()
	s, _ := openServer(t, t.TempDir(), "", nil)
	now := time.Now()
	opened := now.Add(-30 * time.Hour)
	late := domain.Case{ID: "case-late", EventID: "ev-late", Title: `=HYPERLINK("http://evil.example","点我") 宁波暴雨`, Status: domain.CaseSigned,
		ProposedGrade: domain.GradeII, Grade: domain.GradeII, UnitID: "zhejiang-ningbo", UnitName: "宁波市人民政府办公厅",
		RouteReason: "正文提到“宁波”", Heat: 71.25, CreatedAt: opened, FirstPostAt: opened.Add(-time.Hour), UpdatedAt: opened,
		Clocks: domain.ClocksFor(domain.GradeII, opened, opened.Add(-time.Hour))}
	stopped := opened.Add(3 * time.Hour)
	late.Clocks[0].StoppedAt = &stopped // released in time; the conference is overdue
	calm := domain.Case{ID: "case-calm", EventID: "ev-calm", Title: "-1 杭州地铁延长运营", Status: domain.CaseOpen,
		ProposedGrade: domain.GradeIV, Grade: domain.GradeIV, UnitID: "zhejiang-hangzhou", UnitName: "杭州市人民政府办公厅",
		CreatedAt: now, FirstPostAt: now, UpdatedAt: now, Clocks: domain.ClocksFor(domain.GradeIV, now, now)}
	for _, c := range []domain.Case{late, calm} {
		if _, _, err := s.Store.CreateCase(ctx, c, domain.Action{Kind: domain.ActOpen, Actor: "system", At: c.CreatedAt}); err != nil {
			t.Fatal(err)
		}
	}
	get := func(target string) (*httptest.ResponseRecorder, [][]string) {
		t.Helper()
		rec := callRec(t, s, target)
		body := rec.Body.String()
		if rec.Code != 200 || !strings.HasPrefix(body, "\uFEFF") {
			t.Fatalf("GET %s: %d %q", target, rec.Code, body)
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(body, "\uFEFF"))).ReadAll()
		if err != nil {
			t.Fatalf("GET %s: not CSV: %v\n%s", target, err, body)
		}
		return rec, rows
	}

	rec, rows := get("/api/v1/cases?format=csv")
	if ct, cd := rec.Header().Get("Content-Type"), rec.Header().Get("Content-Disposition"); ct != "text/csv; charset=utf-8" ||
		!strings.Contains(cd, "attachment") || !strings.Contains(cd, "filename*=UTF-8''%E6%A1%88%E4%BB%B6-") {
		t.Errorf("headers: %q, %q", ct, cd)
	}
	if len(rows) != 3 || rows[0][0] != "编号" || rows[0][1] != "标题" || rows[0][9] != "时限" {
		t.Fatalf("rows %q", rows)
	}
	byID := map[string][]string{}
	for _, r := range rows[1:] {
		byID[r[0]] = r
	}
	l := byID["case-late"]
	if l[1] != `'=HYPERLINK("http://evil.example","点我") 宁波暴雨` || byID["case-calm"][1] != "'-1 杭州地铁延长运营" {
		t.Errorf("titles not defused: %q, %q", l[1], byID["case-calm"][1])
	}
	if l[2] != "II级 重大" || l[3] != "已签收" || l[4] != "宁波市人民政府办公厅" || l[7] != opened.In(domain.China).Format("2006-01-02 15:04") || l[10] != "是" || l[12] != "71.2" && l[12] != "71.3" {
		t.Errorf("late case row %q", l)
	}
	if !strings.Contains(l[9], "发布权威信息：按时完成") || !strings.Contains(l[9], "召开新闻发布会：已超时") {
		t.Errorf("clocks cell %q", l[9])
	}
	if c := byID["case-calm"]; c[10] != "否" || !strings.Contains(c[9], "：截止 ") {
		t.Errorf("calm case row %q", c)
	}
	// the filters of GET /cases apply; without limit an export holds them all
	if _, rows := get("/api/v1/cases?format=csv&overdue=1"); len(rows) != 2 || rows[1][0] != "case-late" {
		t.Errorf("overdue export %q", rows)
	}
	if _, rows := get("/api/v1/cases?format=CSV&unit=zhejiang&subtree=1&grade=IV"); len(rows) != 2 || rows[1][0] != "case-calm" {
		t.Errorf("grade IV under Zhejiang %q", rows)
	}

	_, rows = get("/api/v1/reports/units?format=csv")
	if len(rows) != 3 || rows[0][0] != "单位" || rows[0][7] != "按时率" {
		t.Fatalf("unit report %q", rows)
	}
	for _, r := range rows[1:] {
		if r[1] == "zhejiang-ningbo" && (r[0] != "宁波市人民政府办公厅" || r[2] != "1" || r[4] != "1" || r[5] != "1" || r[7] != "50.0%") {
			t.Errorf("Ningbo's row %q", r)
		}
	}
	// JSON stays the default
	if code, body := call(t, s, http.MethodGet, "/api/v1/cases", ""); code != 200 || !strings.HasPrefix(string(body), `{"cases":`) {
		t.Errorf("JSON: %d %.40s", code, body)
	}
}

func TestCSVCell(t *testing.T) {
	for in, want := range map[string]string{"": "", "宁波": "宁波", "=1+1": "'=1+1", "+86": "'+86", "-5": "'-5", "@SUM(A1)": "'@SUM(A1)",
		"\t=1": "'\t=1", "\r=1": "'\r=1", "a=1": "a=1"} {
		if got := csvCell(in); got != want {
			t.Errorf("csvCell(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestSearchAndEventsCSV: GET /search?format=csv pages through every match
// (more than one page of the index), GET /events?format=csv exports both
// the store's listing and an event search; hostile cells are defused.
func TestSearchAndEventsCSV(t *testing.T) {
	ctx := context.Background()
	s, _ := openServer(t, t.TempDir(), "", nil)
	t0 := time.Date(2024, 7, 1, 8, 0, 0, 0, domain.China)
	long := strings.Repeat("长", 600)
	var docs []domain.IndexedPost
	for i := range 2300 {
		p := domain.IndexedPost{Post: domain.Post{ID: fmt.Sprintf("p%04d", i), Source: "weibo", Text: fmt.Sprintf("宁波暴雨积水第%d条", i),
			PublishedAt: t0.Add(time.Duration(i) * time.Second), Region: "浙江"}}
		p.Analysis.Sentiment.Label = domain.Negative
		docs = append(docs, p)
	}
	docs[7].Title, docs[7].Text = "@SUM(1+1)*cmd", "宁波暴雨 "+long
	docs = append(docs, domain.IndexedPost{Post: domain.Post{ID: "other", Text: "杭州晴天", PublishedAt: t0}})
	if err := s.Index.Index(ctx, docs); err != nil {
		t.Fatal(err)
	}
	read := func(target string) [][]string {
		t.Helper()
		code, body := call(t, s, http.MethodGet, target, "")
		if code != 200 {
			t.Fatalf("GET %s: %d %s", target, code, body)
		}
		rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(body), "\uFEFF"))).ReadAll()
		if err != nil {
			t.Fatalf("GET %s: %v", target, err)
		}
		return rows
	}
	rows := read("/api/v1/search?format=csv&q=暴雨")
	if len(rows) != 2301 || rows[0][3] != "正文（前 500 字）" {
		t.Fatalf("%d rows, header %q", len(rows), rows[0])
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		seen[r[0]] = true
		if r[0] == "p0007" && (r[2] != "'@SUM(1+1)*cmd" || len([]rune(r[3])) != 501 || r[7] != "负面") {
			t.Errorf("p0007: title %q, %d characters, sentiment %q", r[2], len([]rune(r[3])), r[7])
		}
	}
	if len(seen) != 2300 || seen["other"] {
		t.Errorf("%d distinct posts exported (other: %v), want the 2300 matches", len(seen), seen["other"])
	}

	events := []domain.Event{
		{ID: "ev-1", Title: "+宁波暴雨", Name: "宁波·暴雨", Grade: domain.GradeIII, Heat: 65, Posts: 40, Negative: 30, Category: "突发事件与灾害",
			FirstAt: t0, LastAt: t0.Add(time.Hour), Keywords: []string{"暴雨", "积水"}, Reasons: []string{"热度 65"}},
		{ID: "ev-2", Title: "杭州晴天", Heat: 10, Posts: 3, FirstAt: t0, LastAt: t0},
	}
	if err := s.Store.SaveEvents(ctx, events, nil); err != nil {
		t.Fatal(err)
	}
	stored, err := s.Store.GetEvents(ctx, []string{"ev-1", "ev-2"})
	if err != nil || len(stored) != 2 {
		t.Fatal(stored, err)
	}
	if err := s.Index.IndexEvents(ctx, []domain.Event{stored["ev-1"], stored["ev-2"]}); err != nil {
		t.Fatal(err)
	}
	for _, target := range []string{"/api/v1/events?format=csv", "/api/v1/events?format=csv&q=暴雨"} {
		rows := read(target)
		if rows[0][1] != "名称" || rows[1][0] != "ev-1" || rows[1][1] != "宁波·暴雨" || rows[1][2] != "'+宁波暴雨" || rows[1][3] != "III级 较大" ||
			rows[1][6] != "75.0%" || rows[1][12] != "暴雨、积水" {
			t.Errorf("%s: %q", target, rows)
		}
		if want := map[bool]int{true: 2, false: 3}[strings.Contains(target, "q=")]; len(rows) != want {
			t.Errorf("%s: %d rows, want %d", target, len(rows), want)
		}
	}
}
