package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"

	"yuqing/alerting"
	"yuqing/alerting/notify"
	"yuqing/alerting/store"
	"yuqing/analyzer/index"
	"yuqing/analyzer/places"
	"yuqing/dashboard"
	"yuqing/domain"
)

// Routes is the whole HTTP surface: the API under /api/v1, health and
// metrics, and the dashboard page at /.
func (s *Server) Routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /api/v1/posts", s.ingest)
	mux.HandleFunc("GET /api/v1/posts/{id}", s.getPost)
	mux.HandleFunc("GET /api/v1/search", s.search)
	mux.HandleFunc("GET /api/v1/events", s.listEvents)
	mux.HandleFunc("GET /api/v1/events/{id}", s.getEvent)
	mux.HandleFunc("GET /api/v1/cases", s.listCases)
	mux.HandleFunc("GET /api/v1/cases/{id}", s.getCase)
	mux.HandleFunc("POST /api/v1/cases", s.openCase)
	mux.HandleFunc("POST /api/v1/cases/{id}/actions", s.caseAction)
	mux.HandleFunc("GET /api/v1/reports/units", s.unitReport)
	mux.HandleFunc("GET /api/v1/reports/summary", s.summaryReport)
	mux.HandleFunc("GET /report", s.reportPage)
	mux.HandleFunc("GET /api/v1/route", s.routeExplain)
	mux.HandleFunc("GET /api/v1/units", s.listUnits)
	mux.HandleFunc("POST /api/v1/units", s.postUnits)
	mux.HandleFunc("DELETE /api/v1/units/{id}", s.deleteUnit)
	mux.HandleFunc("GET /api/v1/records", s.listRecords)
	mux.HandleFunc("POST /api/v1/records", s.postRecord)
	mux.HandleFunc("GET /api/v1/sources", s.listSources)
	mux.HandleFunc("GET /api/v1/stream", s.Hub.ServeWS)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { writeJSON(w, 200, map[string]string{"status": "ok"}) })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	if os.Getenv("YUQING_PPROF") == "1" {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	}
	mux.Handle("/", dashboard.Handler())
	return mux
}

// listSources is the health of every crawled source, in the processes
// that crawl.
func (s *Server) listSources(w http.ResponseWriter, r *http.Request) {
	if s.crawl == nil {
		writeJSON(w, 200, map[string]any{"sources": []any{}, "message": "本进程未运行采集（配置 crawler.sources 并以 all 或 crawler 角色运行）"})
		return
	}
	writeJSON(w, 200, map[string]any{"sources": s.crawl.Health()})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting or stopping"})
		return
	}
	if _, err := s.Index.Count(r.Context()); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "index: " + err.Error()})
		return
	}
	writeJSON(w, 200, map[string]string{"status": "ready"})
}

type apiError struct {
	Error string `json:"error"`
}

func fail(w http.ResponseWriter, status int, format string, args ...any) {
	writeJSON(w, status, apiError{Error: fmt.Sprintf(format, args...)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) search(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := index.Query{Q: v.Get("q"), Sentiment: v.Get("sentiment"), Category: v.Get("category"),
		Region: v.Get("region"), Unit: v.Get("unit"), EventID: v.Get("event"),
		Place: searchPlace(v.Get("place")), Keyword: v.Get("keyword"), Author: v.Get("author")}
	var err error
	if q.MinRisk, err = queryRisk(v.Get("min_risk")); err != nil {
		fail(w, 400, "参数 min_risk: %v", err)
		return
	}
	if q.From, err = queryTime(v.Get("from")); err != nil {
		fail(w, 400, "参数 from: %v", err)
		return
	}
	if q.To, err = queryTime(v.Get("to")); err != nil {
		fail(w, 400, "参数 to: %v", err)
		return
	}
	if q.Size, err = queryInt(v.Get("size"), 20); err != nil {
		fail(w, 400, "参数 size: %v", err)
		return
	}
	if q.Offset, err = queryInt(v.Get("offset"), 0); err != nil {
		fail(w, 400, "参数 offset: %v", err)
		return
	}
	if wantsCSV(r) {
		s.searchCSV(w, r, q)
		return
	}
	res, err := s.Index.Search(r.Context(), q.Normalize())
	if err != nil {
		fail(w, 500, "搜索失败: %v", err)
		return
	}
	writeJSON(w, 200, res)
}

// getPost gives one indexed post with its analysis and event (an extension
// of the contract, used by probes that wait for a post to become searchable).
func (s *Server) getPost(w http.ResponseWriter, r *http.Request) {
	p, ok, err := s.Index.Get(r.Context(), r.PathValue("id"))
	switch {
	case err != nil:
		fail(w, 500, "读取帖子失败: %v", err)
	case !ok:
		fail(w, 404, "帖子 %s 尚未入索引或不存在", r.PathValue("id"))
	default:
		writeJSON(w, 200, p)
	}
}

func queryTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, domain.China); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q 不是 RFC 3339 时间或 2006-01-02 日期", s)
}

// divisionSuffixes end the name of a division (宁波市, 鄞州区); a place
// asked without one is a short form. 州 alone is not one: 杭州 is short.
var divisionSuffixes = []string{"省", "市", "区", "县", "旗", "盟", "自治州", "镇", "乡", "街道"}

// searchPlace gives the place a search asks for: a division's name as it
// is (浙江省, 宁波市, 鄞州区, 浙江省宁波市), and a short form (宁波, 浙江)
// as the full name the gazetteer gives it (浙江省宁波市, 浙江省), which the
// index knows.
func searchPlace(s string) string {
	s = strings.TrimSpace(s)
	for _, suf := range divisionSuffixes {
		if strings.HasSuffix(s, suf) {
			return s
		}
	}
	if p, ok := places.Normalize(s); ok && p != places.Overseas && p.Name != "" {
		return p.Name
	}
	return s
}

// queryRisk reads a false-information probability: a number from 0 to 1
// (empty is 0, no filter).
func queryRisk(s string) (float64, error) {
	if s == "" {
		return 0, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || !(f >= 0 && f <= 1) {
		return 0, fmt.Errorf("%q 不是 0 到 1 之间的数", s)
	}
	return f, nil
}

func queryInt(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("%q 不是非负整数", s)
	}
	return n, nil
}

// listEvents lists events from the store by heat or recency (limit,
// min_grade, since, sort); with a search parameter (q, category, region,
// unit, place, min_heat, from, to, size, offset) it searches the index
// instead (searchEvents).
func (s *Server) listEvents(w http.ResponseWriter, r *http.Request) {
	if wantsEventSearch(r) {
		s.searchEvents(w, r)
		return
	}
	v := r.URL.Query()
	f := store.EventFilter{}
	switch sort := v.Get("sort"); sort {
	case "", "heat":
	case "recent", index.EventsByLast:
		f.Sort = "recent"
	default:
		fail(w, 400, "参数 sort: %q 无效，应为 heat（按热度）或 recent（按最近活动）", sort)
		return
	}
	var err error
	limit := 50
	if wantsCSV(r) {
		limit = maxExportEvents
	}
	if f.Limit, err = queryInt(v.Get("limit"), limit); err != nil {
		fail(w, 400, "参数 limit: %v", err)
		return
	}
	if g := v.Get("min_grade"); g != "" {
		if f.MinGrade, err = ParseGrade(g); err != nil {
			fail(w, 400, "参数 min_grade: %v", err)
			return
		}
	}
	if f.Since, err = queryTime(v.Get("since")); err != nil {
		fail(w, 400, "参数 since: %v", err)
		return
	}
	evs, err := s.Store.ListEvents(r.Context(), f)
	if err != nil {
		fail(w, 500, "读取事件失败: %v", err)
		return
	}
	if wantsCSV(r) {
		eventsCSV(w, evs)
		return
	}
	for i := range evs {
		evs[i].Hourly = nil // large and only needed for the event's own page
	}
	writeJSON(w, 200, map[string]any{"events": evs})
}

func (s *Server) getEvent(w http.ResponseWriter, r *http.Request) {
	ev, err := s.Store.GetEvent(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		fail(w, 404, "事件 %s 不存在", r.PathValue("id"))
		return
	} else if err != nil {
		fail(w, 500, "读取事件失败: %v", err)
		return
	}
	out := map[string]any{"event": ev}
	if c, err := s.Store.CaseForEvent(r.Context(), ev.ID); err == nil {
		out["case"] = c
	}
	writeJSON(w, 200, out)
}

func (s *Server) listCases(w http.ResponseWriter, r *http.Request) {
	if q := r.URL.Query(); wantsCSV(r) && q.Get("limit") == "" {
		q.Set("limit", strconv.Itoa(maxCases)) // an export holds every case the filters select
		r.URL.RawQuery = q.Encode()
	}
	cs, ok := s.filteredCases(w, r)
	if !ok {
		return
	}
	if wantsCSV(r) {
		casesCSV(w, cs)
		return
	}
	writeJSON(w, 200, map[string]any{"cases": cs, "now": time.Now().UTC()})
}

// filteredCases reads the cases GET /cases and the reports ask for:
// status, unit (with subtree=1, the units below it too), grade (in force),
// overdue=1 (a clock past its deadline), open=1, from/to (opened in the
// period), limit.
func (s *Server) filteredCases(w http.ResponseWriter, r *http.Request) ([]domain.Case, bool) {
	v := r.URL.Query()
	limit, err := queryInt(v.Get("limit"), 100)
	if err != nil {
		fail(w, 400, "参数 limit: %v", err)
		return nil, false
	}
	if limit > maxCases {
		fail(w, 400, "参数 limit 最大为 %d", maxCases)
		return nil, false
	}
	from, err := queryTime(v.Get("from"))
	if err != nil {
		fail(w, 400, "参数 from: %v", err)
		return nil, false
	}
	to, err := queryTime(v.Get("to"))
	if err != nil {
		fail(w, 400, "参数 to: %v", err)
		return nil, false
	}
	var grade domain.Grade
	if g := v.Get("grade"); g != "" {
		if grade, err = ParseGrade(g); err != nil {
			fail(w, 400, "参数 grade: %v", err)
			return nil, false
		}
	}
	unit, overdue := v.Get("unit"), v.Get("overdue") == "1"
	f := store.CaseFilter{Status: v.Get("status"), UnitID: unit, Open: v.Get("open") == "1" || v.Get("open") == "true",
		Grade: grade, From: from, To: to, Limit: limit}
	if v.Get("subtree") == "1" && unit != "" {
		f.UnitID, f.Units = "", s.Tree.Subtree(unit)
		if f.Units == nil {
			f.Units = []string{unit} // a unit no longer in the tree keeps its cases
		}
	}
	if overdue {
		f.Limit = maxCases // the clocks are read here, then the list is cut to limit
	}
	cs, err := s.Store.ListCases(r.Context(), f)
	if err != nil {
		fail(w, 500, "读取案件失败: %v", err)
		return nil, false
	}
	if !overdue {
		return cs, true
	}
	now := time.Now()
	out := cs[:0]
	for _, c := range cs {
		if anyOverdue(c.Clocks, now) {
			out = append(out, c)
			if len(out) == limit {
				break
			}
		}
	}
	return out, true
}

// maxCases bounds one page of GET /cases.
const maxCases = 100_000

func anyOverdue(cl []domain.Clock, now time.Time) bool {
	for _, k := range cl {
		if k.StoppedAt == nil && k.Overdue(now) {
			return true
		}
	}
	return false
}

// unitReport is GET /reports/units: by unit, the on-time rate and median
// times to sign and to answer, over the cases the filters of GET /cases
// select (from/to for a period, unit with subtree=1 for a line).
func (s *Server) unitReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("limit") == "" {
		q.Set("limit", "100000")
		r.URL.RawQuery = q.Encode()
	}
	cs, ok := s.filteredCases(w, r)
	if !ok {
		return
	}
	units := alerting.UnitReport(cs, time.Now())
	if wantsCSV(r) {
		unitReportCSV(w, units)
		return
	}
	writeJSON(w, 200, map[string]any{"units": units, "case_count": len(cs)})
}

func (s *Server) getCase(w http.ResponseWriter, r *http.Request) {
	c, err := s.Store.GetCase(r.Context(), r.PathValue("id"))
	if errors.Is(err, store.ErrNotFound) {
		fail(w, 404, "案件 %s 不存在", r.PathValue("id"))
		return
	} else if err != nil {
		fail(w, 500, "读取案件失败: %v", err)
		return
	}
	var ev *domain.Event
	var keywords []string
	if e, err := s.Store.GetEvent(r.Context(), c.EventID); err == nil {
		ev, keywords = &e, e.Keywords
	}
	writeJSON(w, 200, map[string]any{"case": c, "report": alerting.Report(c, ev, time.Now()), "records": s.caseRecords(r, c, keywords),
		"deliveries": s.caseDeliveries(r, c.ID), "now": time.Now().UTC()})
}

// delivery is a notification of a case as GET /cases/{id} shows it: where
// it went and what became of it (not its message: the trail has the note).
type delivery struct {
	Channel   string     `json:"channel"`        // the outbox's name of it (type:hash)
	Name      string     `json:"name,omitempty"` // its name in the configuration (宁波值班系统)
	Type      string     `json:"type,omitempty"` // webhook, dingtalk, wecom, feishu, email, dashboard
	Status    string     `json:"status"`         // pending, sent, failed
	Attempts  int        `json:"attempts"`
	CreatedAt time.Time  `json:"created_at"`
	NextAt    *time.Time `json:"next_at,omitempty"` // a pending one's next attempt
	DoneAt    *time.Time `json:"done_at,omitempty"`
	LastError string     `json:"last_error,omitempty"`
}

// caseDeliveries lists the case's notifications still in the outbox (sent
// and failed ones leave it after notify.retention_days), oldest first.
func (s *Server) caseDeliveries(r *http.Request, caseID string) []delivery {
	ns, err := s.Store.ListNotifications(r.Context(), store.NotificationFilter{CaseID: caseID, Limit: 500})
	if err != nil {
		s.log.Warn("读取案件的通知失败", "case", caseID, "err", err)
	}
	out := make([]delivery, 0, len(ns))
	var named map[string]notify.ChannelConfig
	if len(ns) > 0 {
		named = s.channelsByRef()
	}
	for _, n := range ns {
		d := delivery{Channel: n.Channel, Status: n.Status, Attempts: n.Attempts, CreatedAt: n.CreatedAt.UTC(), LastError: n.LastError}
		if ch, ok := named[n.Channel]; ok {
			d.Name, d.Type = ch.Name, ch.Type
		}
		if n.Status == store.NotifyPending && !n.NextAt.IsZero() {
			t := n.NextAt.UTC()
			d.NextAt = &t
		}
		if !n.DoneAt.IsZero() {
			t := n.DoneAt.UTC()
			d.DoneAt = &t
		}
		out = append(out, d)
	}
	return out
}

// caseRecords are the government records that match a case (its policy,
// interpretations, responses proposed as evidence). A view: a failure to
// read them leaves the list empty.
func (s *Server) caseRecords(r *http.Request, c domain.Case, keywords []string) []alerting.RecordMatch {
	recs, err := s.Store.ListRecords(r.Context(), store.RecordFilter{Limit: 2000})
	if err != nil {
		s.log.Warn("读取记录失败", "case", c.ID, "err", err)
		return []alerting.RecordMatch{}
	}
	m := s.Alerter.MatchRecords(c, keywords, recs)
	if len(m) > 10 {
		m = m[:10]
	}
	if m == nil {
		m = []alerting.RecordMatch{}
	}
	return m
}

// actionBody is the JSON of POST /cases/{id}/actions.
type actionBody struct {
	Action       string `json:"action"`
	Actor        string `json:"actor"`
	Note         string `json:"note"`
	EvidenceURL  string `json:"evidence_url"`
	Grade        string `json:"grade"`
	ResponseType string `json:"response_type"`
	UnitID       string `json:"unit_id"` // transfer
	Into         string `json:"into"`    // merge
}

// openCase is POST /cases: a case opened by hand — a notice from the
// cyberspace office, a supervision letter (with the deadline it states), a
// policy awaiting interpretation, information to disclose, a disclosure
// request — with the clocks the deadline policy gives its kind.
func (s *Server) openCase(w http.ResponseWriter, r *http.Request) {
	var m alerting.ManualCase
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		fail(w, 400, "请求体 JSON 无效: %v", err)
		return
	}
	if m.Actor == "" {
		m.Actor = r.Header.Get("X-Yuqing-User")
	}
	m.Origin = origin(r)
	c, created, err := s.Alerter.Open(r.Context(), m)
	switch {
	case errors.Is(err, alerting.ErrInvalid):
		fail(w, 400, "%v", err)
		return
	case err != nil:
		fail(w, 500, "登记案件失败: %v", err)
		return
	}
	status := 200
	if created {
		status = 201
		s.casesOpened.Inc()
		s.Hub.Publish("case", c)
		s.shareCase(r.Context(), c)
		unit, _ := s.Tree.Get(c.UnitID)
		s.notifyCase(r.Context(), c, c.ID+"/opened", "opened", clockSummary(c.Clocks), []domain.Unit{unit})
	}
	writeJSON(w, status, map[string]any{"case": c, "created": created})
}

// origin is where a request came from, for the audit trail: the client's
// address, and the address a proxy says it forwarded for.
func origin(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if fwd := strings.TrimSpace(r.Header.Get("X-Forwarded-For")); fwd != "" {
		if r := []rune(fwd); len(r) > 100 {
			fwd = string(r[:100])
		}
		host += "（转发自 " + fwd + "）"
	}
	return host
}

func (s *Server) caseAction(w http.ResponseWriter, r *http.Request) {
	var b actionBody
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&b); err != nil {
		fail(w, 400, "请求体 JSON 无效: %v", err)
		return
	}
	if b.Actor == "" {
		b.Actor = r.Header.Get("X-Yuqing-User")
	}
	req := alerting.ActionRequest{Kind: strings.TrimSpace(b.Action), Actor: strings.TrimSpace(b.Actor), Note: b.Note,
		EvidenceURL: strings.TrimSpace(b.EvidenceURL), ResponseType: b.ResponseType,
		UnitID: strings.TrimSpace(b.UnitID), Into: strings.TrimSpace(b.Into), Origin: origin(r)}
	if b.Grade != "" {
		g, err := ParseGrade(b.Grade)
		if err != nil {
			fail(w, 400, "grade: %v", err)
			return
		}
		req.Grade = g
	}
	c, err := s.Alerter.Act(r.Context(), r.PathValue("id"), req)
	switch {
	case errors.Is(err, store.ErrNotFound):
		fail(w, 404, "案件 %s 不存在", r.PathValue("id"))
		return
	case errors.Is(err, alerting.ErrInvalid):
		fail(w, 400, "%v", err)
		return
	case errors.Is(err, alerting.ErrConflict):
		fail(w, 409, "%v", err)
		return
	case err != nil:
		fail(w, 500, "操作失败: %v", err)
		return
	}
	s.Hub.Publish("case", c)
	s.shareCase(r.Context(), c)
	if req.Kind == domain.ActTransfer || req.Kind == domain.ActEscalate {
		// the unit that has it now hears of it
		unit, _ := s.Tree.Get(c.UnitID)
		key := fmt.Sprintf("%s/%s/%s", c.ID, req.Kind, c.UnitID)
		s.notifyCase(r.Context(), c, key, "transferred", c.RouteReason+"；"+clockSummary(c.Clocks), []domain.Unit{unit})
	}
	writeJSON(w, 200, map[string]any{"case": c})
}

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	f := store.RecordFilter{Kind: v.Get("kind"), CaseID: v.Get("case"), UnitID: v.Get("unit")}
	var err error
	if f.Limit, err = queryInt(v.Get("limit"), 100); err != nil {
		fail(w, 400, "参数 limit: %v", err)
		return
	}
	if v.Get("uninterpreted") != "" {
		// policies whose interpretation is overdue (3 working days by default)
		f.Kind, f.Limit = "", max(f.Limit, 5000)
		rs, err := s.Store.ListRecords(r.Context(), f)
		if err != nil {
			fail(w, 500, "读取记录失败: %v", err)
			return
		}
		flagged := s.Alerter.UninterpretedPolicies(rs, time.Now())
		if flagged == nil {
			flagged = []alerting.Uninterpreted{}
		}
		writeJSON(w, 200, map[string]any{"uninterpreted": flagged})
		return
	}
	rs, err := s.Store.ListRecords(r.Context(), f)
	if err != nil {
		fail(w, 500, "读取记录失败: %v", err)
		return
	}
	writeJSON(w, 200, map[string]any{"records": rs})
}

func (s *Server) postRecord(w http.ResponseWriter, r *http.Request) {
	var rec domain.Record
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&rec); err != nil {
		fail(w, 400, "请求体 JSON 无效: %v", err)
		return
	}
	if rec.Kind != domain.RecordDisclosure && rec.Kind != domain.RecordInterpretation {
		fail(w, 400, "kind 应为 disclosure（政务公开）或 interpretation（政策解读），而不是 %q", rec.Kind)
		return
	}
	if strings.TrimSpace(rec.Title) == "" {
		fail(w, 400, "title 不能为空")
		return
	}
	now := time.Now().UTC()
	if rec.ID == "" {
		rec.ID = fmt.Sprintf("rec-%d", now.UnixNano())
	}
	if rec.PublishedAt.IsZero() {
		rec.PublishedAt = now
	}
	rec.CreatedAt = now
	if err := s.Store.PutRecord(r.Context(), rec); err != nil {
		fail(w, 500, "写入记录失败: %v", err)
		return
	}
	writeJSON(w, 201, map[string]any{"record": rec})
}
