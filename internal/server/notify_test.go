package server

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"yuqing/alerting"
	"yuqing/alerting/notify"
	"yuqing/alerting/orgtree"
	"yuqing/domain"
)

// TestCaseNotifiesItsUnit: a hot cascade opens a case routed to 宁波; the
// unit's webhook (from the organisation tree) gets a signed notification
// through the outbox, with its delivery id, and the delivery is recorded on
// the case.
func TestCaseNotifiesItsUnit(t *testing.T) {
	var mu sync.Mutex
	var bodies, ids []string
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte("s3cret"))
		mac.Write([]byte(r.Header.Get("X-Yuqing-Timestamp") + "." + string(body)))
		if r.Header.Get("X-Yuqing-Signature") != "sha256="+hex.EncodeToString(mac.Sum(nil)) {
			http.Error(w, "bad signature", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		bodies = append(bodies, string(body))
		ids = append(ids, r.Header.Get("X-Yuqing-Delivery"))
		mu.Unlock()
	}))
	defer hook.Close()
	units := filepath.Join(t.TempDir(), "units.yaml")
	tree := fmt.Sprintf(`id: cn
name: 国务院办公厅政务公开办公室
children:
  - id: zhejiang
    name: 浙江省人民政府办公厅
    places: [浙江, 浙江省]
    children:
      - id: zhejiang-ningbo
        name: 宁波市人民政府办公厅
        places: [宁波, 宁波市]
        notify: [{type: webhook, url: %q, secret: s3cret, name: 宁波值班系统}]
`, hook.URL)
	if err := os.WriteFile(units, []byte(tree), 0o644); err != nil {
		t.Fatal(err)
	}
	base, stop := startServer(t, func(c *Config) { c.Units = units })
	defer stop()

	t0 := time.Date(2024, 5, 1, 8, 0, 0, 0, time.FixedZone("CST", 8*3600))
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.Encode(domain.Post{ID: "n-root", Source: "weibo", Text: "宁波市某化工厂发生爆炸，现场浓烟滚滚，多人受伤送医，周边居民紧急疏散", PublishedAt: t0,
		Region: "浙江", Author: domain.Author{Name: "现场网友", Followers: 3_000_000}})
	for i := 0; i < 6000; i++ {
		enc.Encode(domain.Post{ID: fmt.Sprintf("n-rp-%d", i), ParentID: "n-root", RootID: "n-root", Text: "官方怎么还不回应？",
			PublishedAt: t0.Add(time.Duration(i) * 600 * time.Millisecond), Author: domain.Author{Followers: 20000}})
	}
	if code, out := post(t, base+"/api/v1/posts", buf.String()); code != 202 {
		t.Fatalf("cascade answered %d %v", code, out)
	}
	waitFor(t, "the unit's webhook", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(bodies) > 0
	})
	mu.Lock()
	first, id := bodies[0], ids[0]
	mu.Unlock()
	if !strings.Contains(first, "新的舆情案件") || !strings.Contains(first, "case-ev-n-root") {
		t.Errorf("webhook body %s", first)
	}
	if !strings.HasPrefix(id, "d-") || !strings.Contains(first, `"delivery":"`+id+`"`) {
		t.Errorf("delivery id %q, body %s", id, first)
	}
	waitFor(t, "the delivery on the case", func() bool {
		var got struct {
			Case domain.Case `json:"case"`
		}
		get(t, base+"/api/v1/cases/case-ev-n-root", &got)
		for _, a := range got.Case.Actions {
			if a.Kind == domain.ActNotify && strings.Contains(a.Note, "宁波值班系统") {
				return true
			}
		}
		return false
	})
	// and in the case's deliveries, sent, with the channel's name
	var withDeliveries struct {
		Deliveries []delivery `json:"deliveries"`
	}
	get(t, base+"/api/v1/cases/case-ev-n-root", &withDeliveries)
	sent := 0
	for _, d := range withDeliveries.Deliveries {
		if d.Status == "sent" && d.DoneAt != nil && d.Attempts >= 1 && d.Name == "宁波值班系统" && d.Type == "webhook" {
			sent++
		}
	}
	if sent == 0 {
		t.Errorf("no sent delivery to 宁波值班系统 in %+v", withDeliveries.Deliveries)
	}
	proposedEvidence(t, base, "case-ev-n-root")
	reportsAndFilters(t, base, "case-ev-n-root")
}

// proposedEvidence posts the unit's own notice and expects the case to
// propose it as evidence.
func proposedEvidence(t *testing.T, base, caseID string) {
	t.Helper()
	code, out := post(t, base+"/api/v1/records", `{"kind":"disclosure","title":"关于宁波市某化工厂爆炸情况的通报","text":"宁波市某化工厂发生爆炸，伤者已送医救治，周边居民已妥善安置，事故原因正在调查。","unit_id":"zhejiang-ningbo","url":"https://www.ningbo.gov.cn/art/2024/5/1/art_1.html"}`)
	if code != 201 {
		t.Fatalf("POST /records: %d %v", code, out)
	}
	var got struct {
		Records []struct {
			Record   domain.Record `json:"record"`
			Evidence string        `json:"evidence"`
			Reasons  []string      `json:"reasons"`
		} `json:"records"`
	}
	get(t, base+"/api/v1/cases/"+caseID, &got)
	if len(got.Records) == 0 || got.Records[0].Evidence == "" || !strings.Contains(got.Records[0].Record.URL, "ningbo.gov.cn") {
		t.Fatalf("matching records: %+v", got.Records)
	}
	var flagged map[string]any
	if code := get(t, base+"/api/v1/records?uninterpreted=1", &flagged); code != 200 || flagged["uninterpreted"] == nil {
		t.Fatalf("uninterpreted: %d %v", code, flagged)
	}
}

// reportsAndFilters checks the case report and the filters of GET /cases.
func reportsAndFilters(t *testing.T, base, caseID string) {
	t.Helper()
	var one struct {
		Case   domain.Case `json:"case"`
		Report struct {
			CaseID  string `json:"case_id"`
			Running int    `json:"running"`
		} `json:"report"`
	}
	get(t, base+"/api/v1/cases/"+caseID, &one)
	if one.Report.CaseID != caseID || one.Report.Running == 0 {
		t.Errorf("report = %+v", one.Report)
	}
	count := func(q string) int {
		var l struct {
			Cases []domain.Case `json:"cases"`
		}
		if code := get(t, base+"/api/v1/cases?"+q, &l); code != 200 {
			t.Fatalf("GET /cases?%s: %d", q, code)
		}
		return len(l.Cases)
	}
	if n := count("unit=zhejiang&subtree=1"); n != 1 {
		t.Errorf("zhejiang and below: %d cases", n)
	}
	if n := count("unit=zhejiang"); n != 0 {
		t.Errorf("zhejiang itself: %d cases", n)
	}
	if n := count("overdue=1"); n != 0 {
		t.Errorf("overdue: %d", n)
	}
	if n := count("from=2000-01-01T00:00:00Z&to=2001-01-01T00:00:00Z"); n != 0 {
		t.Errorf("opened in 2000: %d", n)
	}
	if n := count("from=2000-01-01T00:00:00Z&unit=cn&subtree=1&open=1"); n != 1 {
		t.Errorf("opened since 2000, open, anywhere: %d", n)
	}
	if n := count("unit=no-such-unit&subtree=1"); n != 0 {
		t.Errorf("below an unknown unit: %d", n)
	}
	if one.Case.Grade == domain.GradeNone {
		t.Errorf("the case has no grade: %+v", one.Case)
	}
	for _, g := range []domain.Grade{domain.GradeI, domain.GradeII, domain.GradeIII, domain.GradeIV} {
		want := 0
		if g == one.Case.Grade {
			want = 1
		}
		if n := count("grade=" + g.String()); n != want {
			t.Errorf("grade %s: %d cases, want %d (the case is at %s)", g, n, want, one.Case.Grade)
		}
	}
	var units struct {
		Units []struct {
			UnitID string `json:"unit_id"`
			Cases  int    `json:"cases"`
		} `json:"units"`
	}
	if code := get(t, base+"/api/v1/reports/units?unit=cn&subtree=1", &units); code != 200 || len(units.Units) != 1 || units.Units[0].UnitID != "zhejiang-ningbo" {
		t.Errorf("unit report: %d %+v", code, units)
	}
}

// TestNoticesToTheOutbox: what alerting tells becomes one outbox row per
// channel — the unit's (inherited from the tree), and at an overdue clock
// the propaganda department's too — with the text staff read and no secret.
func TestNoticesToTheOutbox(t *testing.T) {
	tree, err := orgtree.Load(strings.NewReader(`id: cn
name: 国务院办公厅政务公开办公室
children:
  - id: zhejiang
    name: 浙江省人民政府办公厅
    places: [浙江]
    notify: [{type: webhook, url: "https://zj.example.gov.cn/hook", secret: zj-secret, name: 浙江值班}]
    children:
      - id: zhejiang-ningbo
        name: 宁波市人民政府办公厅
        places: [宁波]
`))
	if err != nil {
		t.Fatal(err)
	}
	prop := notify.ChannelConfig{Type: "webhook", URL: "https://xcb.example.gov.cn/hook", Secret: "xcb-secret", Name: "宣传部"}
	s := &Server{Tree: tree, cfg: Config{Listen: "127.0.0.1:8080", Notify: NotifyConfig{Propaganda: []notify.ChannelConfig{prop}, BaseURL: "https://yq.example.gov.cn/"}}}
	nb, _ := tree.Get("zhejiang-ningbo")
	zj, _ := tree.Get("zhejiang")
	now := time.Date(2024, 5, 1, 9, 0, 0, 0, chinaZone)
	c := domain.Case{ID: "case-1", Title: "宁波某化工厂爆炸", Grade: domain.GradeII, UnitID: nb.ID, RouteReason: "属地为宁波",
		Clocks: domain.ClocksFor(domain.GradeII, now, now)}

	opened := s.notices(alerting.Notice{Case: c, Key: "case-1/opened", Kind: alerting.NoticeOpened, Units: []domain.Unit{nb}, At: now})
	if len(opened) != 1 || opened[0].Key != "case-1/opened|"+notify.ChannelRef(notify.ChannelConfig{Type: "webhook", URL: "https://zj.example.gov.cn/hook"}) ||
		!opened[0].NextAt.Equal(now) || opened[0].CaseID != "case-1" {
		t.Fatalf("opened: %+v", opened)
	}
	for _, want := range []string{"【新的舆情案件】宁波某化工厂爆炸", "II级", "属地为宁波", "https://yq.example.gov.cn/#case=case-1", "宁波市人民政府办公厅"} {
		if !strings.Contains(opened[0].Data, want) {
			t.Errorf("opened row lacks %q: %s", want, opened[0].Data)
		}
	}
	// overdue: the unit and its superior share 浙江值班 (one row, both named), and the propaganda department
	over := s.notices(alerting.Notice{Case: c, Key: "case-1/release@1/overdue", Kind: alerting.NoticeOverdue, Note: "已超时", Units: []domain.Unit{nb, zj}, At: now})
	if len(over) != 2 || !strings.Contains(over[0].Data, "浙江省人民政府办公厅") || !strings.Contains(over[1].Data, "宣传部门") {
		t.Fatalf("overdue: %+v", over)
	}
	for _, r := range append(opened, over...) {
		if strings.Contains(r.Data+r.Channel+r.Key, "secret") {
			t.Errorf("a secret in the outbox: %+v", r)
		}
	}
	if rows := s.notices(alerting.Notice{Case: c, Key: "k", Kind: alerting.NoticeRemind, Units: []domain.Unit{{ID: "nowhere"}}}); len(rows) != 0 {
		t.Errorf("a unit without channels: %+v", rows)
	}
}
