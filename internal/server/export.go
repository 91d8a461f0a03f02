package server

import (
	"encoding/csv"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"yuqing/alerting"
	"yuqing/analyzer/index"
	"yuqing/domain"
)

// CSV exports, for the people who read reports in a spreadsheet (WPS,
// Excel): GET /cases?format=csv and GET /reports/units?format=csv give the
// rows of their JSON with Chinese headers and China times, as UTF-8 with a
// byte-order mark so that the spreadsheet reads the Chinese right. A cell a
// spreadsheet would take for a formula (starting with = + - @, a tab or a
// carriage return) gets a leading ' : titles come from crawled posts, and a
// crafted title must not run as a formula on a leader's desk.

// wantsCSV reports whether the request asks for CSV (format=csv).
func wantsCSV(r *http.Request) bool { return strings.EqualFold(r.URL.Query().Get("format"), "csv") }

// csvCell makes s safe as a spreadsheet cell.
func csvCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// writeCSV answers with a CSV file named name (Chinese allowed) and the
// day, for the browser to save.
func writeCSV(w http.ResponseWriter, name string, header []string, rows [][]string) {
	file := name + "-" + time.Now().In(domain.China).Format("20060102") + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="export.csv"; filename*=UTF-8''%s`, url.PathEscape(file)))
	w.WriteHeader(200)
	_, _ = w.Write([]byte("\uFEFF"))
	cw := csv.NewWriter(w)
	_ = cw.Write(header)
	for _, row := range rows {
		for i := range row {
			row[i] = csvCell(row[i])
		}
		_ = cw.Write(row)
	}
	cw.Flush()
}

// chinaTime formats t in China time to the minute; "" for no time.
func chinaTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(domain.China).Format("2006-01-02 15:04")
}

func chinaTimePtr(t *time.Time) string {
	if t == nil {
		return ""
	}
	return chinaTime(*t)
}

// casesCSV writes cases, one row each, with their clocks in one cell.
func casesCSV(w http.ResponseWriter, cases []domain.Case) {
	now := time.Now()
	rows := make([][]string, 0, len(cases))
	for _, c := range cases {
		grade := c.Grade.Label()
		if c.GradeConfirmed {
			grade += "（已确认）"
		}
		clocks := make([]string, 0, len(c.Clocks))
		overdue := "否"
		for _, k := range c.Clocks {
			state := "截止 " + chinaTime(k.DueAt)
			switch {
			case k.StoppedAt != nil && k.StoppedAt.After(k.DueAt):
				state = "超时完成 " + chinaTime(*k.StoppedAt) + "，截止 " + chinaTime(k.DueAt)
				overdue = "是"
			case k.StoppedAt != nil:
				state = "按时完成 " + chinaTime(*k.StoppedAt)
			case c.Status == domain.CaseClosed && !c.UpdatedAt.After(k.DueAt):
				state = "到期前已办结，截止 " + chinaTime(k.DueAt)
			case k.Overdue(now):
				state = "已超时，截止 " + chinaTime(k.DueAt)
				overdue = "是"
			}
			clocks = append(clocks, k.Name+"："+state)
		}
		rows = append(rows, []string{c.ID, c.Title, grade, alerting.StatusZh(c.Status), c.UnitName, c.UnitID,
			chinaTime(c.FirstPostAt), chinaTime(c.CreatedAt), chinaTimePtr(c.SignedAt), strings.Join(clocks, "；"), overdue,
			c.ResponseType, strconv.FormatFloat(c.Heat, 'f', 1, 64), c.EventID, c.RouteReason})
	}
	writeCSV(w, "案件", []string{"编号", "标题", "级别", "状态", "责任单位", "单位编号", "首帖时间", "立案时间", "签收时间",
		"时限", "是否超时", "回应方式", "热度", "事件编号", "分派依据"}, rows)
}

// unitReportCSV writes the units' timeliness, one row per unit.
func unitReportCSV(w http.ResponseWriter, units []alerting.UnitStats) {
	rows := make([][]string, 0, len(units))
	num := func(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }
	for _, u := range units {
		rate := ""
		if u.Met+u.Missed > 0 {
			rate = num(100*u.OnTimeRate) + "%"
		}
		rows = append(rows, []string{u.UnitName, u.UnitID, strconv.Itoa(u.Cases), strconv.Itoa(u.Signed), strconv.Itoa(u.Met),
			strconv.Itoa(u.Missed), strconv.Itoa(u.Running), rate, num(u.MedianSignMin), num(u.MedianAnswerMin)})
	}
	writeCSV(w, "各单位回应时效", []string{"单位", "单位编号", "案件数", "已签收", "按时完成时限", "超时时限", "进行中时限", "按时率",
		"签收用时中位数（分钟）", "回应用时中位数（分钟）"}, rows)
}

// maxExportPosts bounds GET /search?format=csv: the newest (or most
// relevant) posts first.
const maxExportPosts = index.MaxExportSize

// maxExportEvents bounds GET /events?format=csv likewise.
const maxExportEvents = 10_000

var sentimentZh = map[string]string{domain.Positive: "正面", domain.Neutral: "中性", domain.Negative: "负面"}

// searchCSV writes the posts a search selects, up to maxExportPosts.
func (s *Server) searchCSV(w http.ResponseWriter, r *http.Request, q index.Query) {
	q.Size, q.Offset, q.NoAggs = maxExportPosts, 0, true // one page: the index's largest
	res, err := s.Index.Search(r.Context(), q)
	if err != nil {
		fail(w, 500, "搜索失败: %v", err)
		return
	}
	rows := make([][]string, 0, len(res.Hits))
	for _, p := range res.Hits {
		a := p.Analysis
		rows = append(rows, []string{p.ID, p.Source, p.Title, domain.Clip(p.Text, 500), p.Author.Name, chinaTime(p.PublishedAt), p.Region,
			sentimentZh[a.Sentiment.Label], a.Category, strconv.FormatFloat(a.Risk, 'f', 2, 64), strings.Join(a.Places, "、"), a.Unit,
			p.EventID, p.URL})
	}
	writeCSV(w, "检索结果", []string{"编号", "来源", "标题", "正文（前 500 字）", "作者", "发布时间", "地区", "情感", "分类", "谣言风险",
		"地点", "责任单位", "事件编号", "链接"}, rows)
}

// eventsCSV writes events, one row each.
func eventsCSV(w http.ResponseWriter, events []domain.Event) {
	rows := make([][]string, 0, len(events))
	for _, e := range events {
		neg := ""
		if e.Posts > 0 {
			neg = strconv.FormatFloat(100*float64(e.Negative)/float64(e.Posts), 'f', 1, 64) + "%"
		}
		name := e.Name
		if name == "" {
			name = e.Title
		}
		rows = append(rows, []string{e.ID, name, e.Title, e.Grade.Label(), strconv.FormatFloat(e.Heat, 'f', 1, 64), strconv.FormatInt(e.Posts, 10), neg,
			e.Category, e.Region, e.Unit, chinaTime(e.FirstAt), chinaTime(e.LastAt), strings.Join(e.Keywords, "、"), strings.Join(e.Reasons, "；")})
	}
	writeCSV(w, "事件", []string{"编号", "名称", "标题", "级别", "热度", "帖子数", "负面占比", "分类", "地区", "责任单位", "首帖时间", "最近活动",
		"关键词", "分级理由"}, rows)
}
