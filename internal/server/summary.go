package server

import (
	"context"
	_ "embed"
	"fmt"
	"html/template"
	"net/http"
	"slices"
	"strconv"
	"time"

	"yuqing/alerting"
	"yuqing/alerting/store"
	"yuqing/analyzer/index"
	"yuqing/domain"
)

// The period report (舆情与回应报告) is what leaders read: for a period
// (the last 7 days unless from/to say otherwise), how much was said and how
// people felt, the hottest events and their grades, the cases opened, how
// many deadlines were met, the units' timeliness and the cases still overdue.
// GET /api/v1/reports/summary gives it as JSON, GET /report as a printable
// Chinese page (html/template: crawled titles are escaped).

// Summary is the period report.
type Summary struct {
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// Posts counts the posts published in the period, with their
	// sentiment, category and region.
	Posts      int64             `json:"posts"`
	Sentiment  []index.TermCount `json:"by_sentiment"`
	Categories []index.TermCount `json:"by_category"`
	Regions    []index.TermCount `json:"by_region"`
	// Events counts the events active in the period, by grade; TopEvents
	// are the hottest of them.
	Events        int64             `json:"events"`
	EventsByGrade []index.TermCount `json:"events_by_grade"`
	TopEvents     []domain.Event    `json:"top_events"`
	// Cases opened in the period, by status; their clocks met, missed and
	// running as of now; the on-time rate over the decided clocks.
	Cases      int                  `json:"cases"`
	ByStatus   map[string]int       `json:"by_status"`
	Met        int                  `json:"met"`
	Missed     int                  `json:"missed"`
	Running    int                  `json:"running"`
	OnTimeRate float64              `json:"on_time_rate"`
	Units      []alerting.UnitStats `json:"units"`
	Overdue    []domain.Case        `json:"overdue"` // opened in the period, a clock past its deadline, not closed
	Generated  time.Time            `json:"generated_at"`
	Notes      []string             `json:"notes,omitempty"` // what could not be read, said rather than hidden
}

// summaryTopEvents is how many of the hottest events the report lists.
const summaryTopEvents = 10

// periodOf reads from/to, or days (the days up to to; 7 by default: a
// weekly report, days=30 a monthly one).
func periodOf(r *http.Request) (from, to time.Time, err error) {
	v := r.URL.Query()
	if from, err = queryTime(v.Get("from")); err != nil {
		return from, to, fmt.Errorf("参数 from: %v", err)
	}
	if to, err = queryTime(v.Get("to")); err != nil {
		return from, to, fmt.Errorf("参数 to: %v", err)
	}
	days := 7
	if d := v.Get("days"); d != "" {
		if days, err = strconv.Atoi(d); err != nil || days < 1 || days > 3660 {
			return from, to, fmt.Errorf("参数 days: %q 应为 1 到 3660 之间的整数", d)
		}
		if !from.IsZero() {
			return from, to, fmt.Errorf("参数 days 与 from 只能给一个")
		}
	}
	if to.IsZero() {
		to = time.Now()
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -days)
	}
	if !from.Before(to) {
		return from, to, fmt.Errorf("起始时间 %s 不早于结束时间 %s", chinaTime(from), chinaTime(to))
	}
	return from, to, nil
}

// summarize builds the report; a part whose backend fails is left empty
// with a note, so that the rest still reaches the reader.
func (s *Server) summarize(ctx context.Context, from, to time.Time) (Summary, error) {
	now := time.Now()
	sum := Summary{From: from, To: to, Generated: now, ByStatus: map[string]int{}}
	if res, err := s.Index.Search(ctx, index.Query{From: from, To: to, Size: 1}.Normalize()); err != nil {
		sum.Notes = append(sum.Notes, "信息统计暂不可用: "+err.Error())
	} else {
		sum.Posts, sum.Sentiment, sum.Categories, sum.Regions = res.Total, res.Aggs.BySentiment, res.Aggs.ByCategory, res.Aggs.ByRegion
	}
	if res, err := s.Index.SearchEvents(ctx, index.EventQuery{From: from, To: to, Size: summaryTopEvents}.Normalize()); err != nil {
		sum.Notes = append(sum.Notes, "事件统计暂不可用: "+err.Error())
	} else {
		sum.Events, sum.EventsByGrade, sum.TopEvents = res.Total, res.Aggs.ByGrade, res.Hits
	}
	cases, err := s.Store.ListCases(ctx, store.CaseFilter{From: from, To: to, Limit: maxCases})
	if err != nil {
		return sum, err // the cases are the report's core: no report without them
	}
	sum.Cases = len(cases)
	for _, c := range cases {
		sum.ByStatus[c.Status]++
		if c.Status != domain.CaseClosed && anyOverdue(c.Clocks, now) {
			sum.Overdue = append(sum.Overdue, c)
		}
	}
	// every case is in one unit's line: the units' clocks add up to the period's
	sum.Units = alerting.UnitReport(cases, now)
	for _, u := range sum.Units {
		sum.Met, sum.Missed, sum.Running = sum.Met+u.Met, sum.Missed+u.Missed, sum.Running+u.Running
	}
	if d := sum.Met + sum.Missed; d > 0 {
		sum.OnTimeRate = float64(sum.Met) / float64(d)
	}
	slices.SortFunc(sum.Overdue, func(a, b domain.Case) int { return a.CreatedAt.Compare(b.CreatedAt) })
	return sum, nil
}

// summaryReport is GET /api/v1/reports/summary.
func (s *Server) summaryReport(w http.ResponseWriter, r *http.Request) {
	from, to, err := periodOf(r)
	if err != nil {
		fail(w, 400, "%v", err)
		return
	}
	sum, err := s.summarize(r.Context(), from, to)
	if err != nil {
		fail(w, 500, "读取案件失败: %v", err)
		return
	}
	writeJSON(w, 200, sum)
}

//go:embed report.html.tmpl
var reportHTML string

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"time":   chinaTime,
	"timep":  chinaTimePtr,
	"pct":    func(x float64) string { return fmt.Sprintf("%.1f%%", 100*x) },
	"heat":   func(x float64) string { return fmt.Sprintf("%.1f", x) },
	"minute": func(x float64) string { return fmt.Sprintf("%.0f 分钟", x) },
	"statuses": func(by map[string]int) string {
		out := ""
		for _, st := range []string{domain.CaseOpen, domain.CaseSigned, domain.CaseAssessed, domain.CaseAnswered, domain.CaseClosed} {
			if by[st] > 0 {
				if out != "" {
					out += "、"
				}
				out += fmt.Sprintf("%s %d", alerting.StatusZh(st), by[st])
			}
		}
		return out
	},
	"grade": domain.Grade.Label,
	"sentiment": func(s string) string {
		if z, ok := sentimentZh[s]; ok {
			return z
		}
		return s
	},
	"negshare": func(e domain.Event) string {
		if e.Posts == 0 {
			return "—"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(e.Negative)/float64(e.Posts))
	},
	"gradecount": func(sum Summary, g int) int64 {
		for _, b := range sum.EventsByGrade {
			if b.Term == domain.Grade(g).String() {
				return b.Count
			}
		}
		return 0
	},
	"overdueclocks": func(c domain.Case) string {
		now := time.Now()
		out := ""
		for _, k := range c.Clocks {
			if k.StoppedAt == nil && k.Overdue(now) {
				if out != "" {
					out += "；"
				}
				out += k.Name + "（截止 " + chinaTime(k.DueAt) + "）"
			}
		}
		return out
	},
	"orDash": func(s string) string {
		if s == "" {
			return "—"
		}
		return s
	},
}).Parse(reportHTML))

// reportPage is GET /report: the period report as a printable page.
func (s *Server) reportPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'self'")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	from, to, err := periodOf(r)
	if err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	sum, err := s.summarize(r.Context(), from, to)
	if err != nil {
		http.Error(w, "读取案件失败: "+err.Error(), 500)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := reportTmpl.Execute(w, sum); err != nil {
		s.log.Warn("报告页面生成失败", "err", err)
	}
}
