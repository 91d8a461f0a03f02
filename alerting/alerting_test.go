package alerting

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"yuqing/alerting/orgtree"
	"yuqing/alerting/store"
	"yuqing/alerting/store/sqlitestore"
	"yuqing/domain"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

var t0 = time.Date(2024, 7, 1, 9, 0, 0, 0, time.FixedZone("CST", 8*3600))

// clock is a settable time source.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlitestore.Open(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func newAlerter(t *testing.T, cfg Config) (*Alerter, *clock, store.Store) {
	t.Helper()
	clk := &clock{now: t0}
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	st := openStore(t)
	return New(st, orgtree.MustDefault(), cfg), clk, st
}

func event(id string, g domain.Grade, heat float64) domain.Event {
	return domain.Event{
		ID:       id,
		Title:    "网友反映宁波某小区电梯多次故障困人",
		Keywords: []string{"电梯", "困人", "物业"},
		FirstAt:  t0.Add(-3 * time.Hour),
		LastAt:   t0,
		Posts:    300,
		Heat:     heat,
		Grade:    g,
		Reasons:  []string{"负面占比62%", "单小时发帖120条"},
	}
}

func TestHandleEventThresholds(t *testing.T) {
	tests := []struct {
		name  string
		cfg   Config
		grade domain.Grade
		heat  float64
		open  bool
	}{
		{"ungraded never opens", Config{}, domain.GradeNone, 1000, false},
		{"default opens any graded event", Config{}, domain.GradeIV, 0, true},
		{"grade I", Config{}, domain.GradeI, 5, true},
		{"below MinGrade", Config{MinGrade: domain.GradeII}, domain.GradeIII, 100, false},
		{"at MinGrade", Config{MinGrade: domain.GradeII}, domain.GradeII, 100, true},
		{"above MinGrade", Config{MinGrade: domain.GradeII}, domain.GradeI, 100, true},
		{"below MinHeat", Config{MinHeat: 50}, domain.GradeIII, 49.9, false},
		{"at MinHeat", Config{MinHeat: 50}, domain.GradeIII, 50, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, _, st := newAlerter(t, tc.cfg)
			c, created, err := a.HandleEvent(context.Background(), event("e1", tc.grade, tc.heat))
			if err != nil {
				t.Fatal(err)
			}
			if created != tc.open || (c.ID != "") != tc.open {
				t.Errorf("created = %v (case %q), want %v", created, c.ID, tc.open)
			}
			_, err = st.CaseForEvent(context.Background(), "e1")
			if tc.open != (err == nil) {
				t.Errorf("stored case: %v, want stored = %v", err, tc.open)
			}
		})
	}
}

func TestHandleEventOpensRoutedCase(t *testing.T) {
	ctx := context.Background()
	a, _, st := newAlerter(t, Config{})
	ev := event("e1", domain.GradeIII, 42)
	c, created, err := a.HandleEvent(ctx, ev)
	if err != nil || !created {
		t.Fatalf("HandleEvent = %v, %v", created, err)
	}
	if c.ID != "case-e1" || c.EventID != "e1" || c.Status != domain.CaseOpen || c.Grade != domain.GradeIII ||
		c.ProposedGrade != domain.GradeIII || c.GradeConfirmed || c.Heat != 42 {
		t.Errorf("case = %+v", c)
	}
	if c.UnitID != "zhejiang-ningbo" || c.UnitName != "宁波市人民政府办公厅" {
		t.Errorf("routed to %s %s", c.UnitID, c.UnitName)
	}
	if c.RouteReason != "正文提到“宁波”，属地为宁波市人民政府办公厅" {
		t.Errorf("route reason %q", c.RouteReason)
	}
	if !c.CreatedAt.Equal(t0) || !c.FirstPostAt.Equal(ev.FirstAt) || strings.Join(c.Reasons, "|") != "负面占比62%|单小时发帖120条" {
		t.Errorf("case times/reasons = %v %v %v", c.CreatedAt, c.FirstPostAt, c.Reasons)
	}
	if len(c.Actions) != 1 || c.Actions[0].Kind != domain.ActOpen || c.Actions[0].Actor != SystemActor || !c.Actions[0].At.Equal(t0) {
		t.Errorf("first action = %+v", c.Actions)
	}
	stored, err := st.GetCase(ctx, "case-e1")
	if err != nil || stored.UnitID != c.UnitID || len(stored.Actions) != 1 {
		t.Errorf("stored = %+v, %v", stored, err)
	}
	// Same snapshot again: nothing new, no write.
	again, created, err := a.HandleEvent(ctx, ev)
	if err != nil || created || again.ID != "case-e1" {
		t.Errorf("second HandleEvent = %+v, %v, %v", again.ID, created, err)
	}
	if s, _ := st.GetCase(ctx, "case-e1"); len(s.Actions) != 1 {
		t.Errorf("second HandleEvent wrote: %d actions", len(s.Actions))
	}

	// Routing by region wins; an unknown place falls back to the analyzer's unit, then the root.
	tests := []struct {
		ev       domain.Event
		wantUnit string
	}{
		{domain.Event{ID: "r1", Title: "宁波一小区", Region: "广东", Grade: domain.GradeIV}, "guangdong"},
		{domain.Event{ID: "r2", Title: "某地一小区", Unit: "jiangsu-suzhou", Grade: domain.GradeIV}, "jiangsu-suzhou"},
		{domain.Event{ID: "r3", Title: "某地一小区", Grade: domain.GradeIV}, "cn"},
		{domain.Event{ID: "r4", Title: "两地", Keywords: []string{"宁波", "广州"}, Grade: domain.GradeIV}, "cn"},
		// the category gives the department in charge (谁主管谁负责)
		{domain.Event{ID: "r5", Title: "宁波一小区月饼过期", Category: "食品药品", Grade: domain.GradeIV}, "zhejiang-ningbo-amr"},
		{domain.Event{ID: "r6", Title: "宁波一小学", Category: "教育", Grade: domain.GradeIV}, "zhejiang-ningbo-edu"},
		{domain.Event{ID: "r7", Title: "宁波一小区", Category: "就业与社会保障", Grade: domain.GradeIV}, "zhejiang-ningbo"},
		{domain.Event{ID: "r8", Title: "浙江某地", Region: "浙江", Category: "食品药品", Grade: domain.GradeIV}, "zhejiang-amr"},
	}
	for _, tc := range tests {
		c, _, err := a.HandleEvent(ctx, tc.ev)
		if err != nil || c.UnitID != tc.wantUnit {
			t.Errorf("event %s routed to %s (%s), %v; want %s", tc.ev.ID, c.UnitID, c.RouteReason, err, tc.wantUnit)
		}
	}
}

func TestClocks(t *testing.T) {
	tests := []struct {
		grade domain.Grade
		kinds []string
		hours []int
	}{
		{domain.GradeI, []string{domain.ClockRelease, domain.ClockConference}, []int{5, 24}},
		{domain.GradeII, []string{domain.ClockRelease, domain.ClockConference}, []int{5, 24}},
		{domain.GradeIII, []string{domain.ClockResponse}, []int{48}},
		{domain.GradeIV, []string{domain.ClockResponse}, []int{48}},
	}
	for _, tc := range tests {
		t.Run(tc.grade.String(), func(t *testing.T) {
			a, _, _ := newAlerter(t, Config{})
			ev := event("e1", tc.grade, 10)
			c, _, err := a.HandleEvent(context.Background(), ev)
			if err != nil {
				t.Fatal(err)
			}
			if len(c.Clocks) != len(tc.kinds) {
				t.Fatalf("clocks = %+v", c.Clocks)
			}
			for i, k := range c.Clocks {
				due := t0.Add(time.Duration(tc.hours[i]) * time.Hour)
				if k.Kind != tc.kinds[i] || k.Hours != tc.hours[i] || !k.StartedAt.Equal(t0) || !k.DueAt.Equal(due) ||
					!k.FirstPostAt.Equal(ev.FirstAt) || k.StoppedAt != nil {
					t.Errorf("clock %d = %+v, want %s %dh due %v", i, k, tc.kinds[i], tc.hours[i], due)
				}
			}
		})
	}
}

func TestEventRaisesGrade(t *testing.T) {
	ctx := context.Background()
	a, clk, st := newAlerter(t, Config{})
	if _, _, err := a.HandleEvent(ctx, event("e1", domain.GradeIV, 10)); err != nil {
		t.Fatal(err)
	}
	clk.Add(2 * time.Hour)
	ev := event("e1", domain.GradeII, 300)
	ev.Reasons = []string{"单小时发帖2000条"}
	c, created, err := a.HandleEvent(ctx, ev)
	if err != nil || created {
		t.Fatalf("HandleEvent = %v, %v", created, err)
	}
	if c.Grade != domain.GradeII || c.ProposedGrade != domain.GradeII || c.Heat != 300 || c.Reasons[0] != "单小时发帖2000条" {
		t.Errorf("case after raise = %+v", c)
	}
	if len(c.Clocks) != 2 || c.Clocks[0].Kind != domain.ClockRelease || !c.Clocks[0].StartedAt.Equal(t0) ||
		!c.Clocks[0].DueAt.Equal(t0.Add(5*time.Hour)) || !c.Clocks[1].DueAt.Equal(t0.Add(24*time.Hour)) {
		t.Errorf("clocks after raise = %+v (must keep the original start %v)", c.Clocks, t0)
	}
	last := c.Actions[len(c.Actions)-1]
	if last.Kind != domain.ActEscalate || last.Actor != SystemActor || !last.At.Equal(t0.Add(2*time.Hour)) ||
		!strings.Contains(last.Note, "分级由IV级（一般）升为II级（重大）") {
		t.Errorf("escalate action = %+v", last)
	}
	stored, _ := st.GetCase(ctx, c.ID)
	if stored.Grade != domain.GradeII || len(stored.Actions) != 2 {
		t.Errorf("stored = grade %v, %d actions", stored.Grade, len(stored.Actions))
	}
	// A less severe snapshot changes nothing.
	if _, _, err := a.HandleEvent(ctx, event("e1", domain.GradeIII, 20)); err != nil {
		t.Fatal(err)
	}
	// Same class: II → I keeps the clocks.
	if c, _, err = a.HandleEvent(ctx, event("e1", domain.GradeI, 900)); err != nil || c.Grade != domain.GradeI || !c.Clocks[0].StartedAt.Equal(t0) {
		t.Fatalf("II → I: %+v, %v", c, err)
	}
	// Once staff assessed, the analyzer no longer changes the grade.
	if _, err := a.Act(ctx, c.ID, ActionRequest{Kind: domain.ActAssess, Actor: "李四", Grade: domain.GradeIII}); err != nil {
		t.Fatal(err)
	}
	ev2 := event("e2", domain.GradeIV, 1)
	if _, _, err := a.HandleEvent(ctx, ev2); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Act(ctx, "case-e2", ActionRequest{Kind: domain.ActAssess, Actor: "李四", Grade: domain.GradeIV}); err != nil {
		t.Fatal(err)
	}
	c, _, err = a.HandleEvent(ctx, event("e2", domain.GradeI, 900))
	if err != nil || c.Grade != domain.GradeIV || c.ProposedGrade != domain.GradeIV {
		t.Errorf("assessed case changed by the analyzer: %+v, %v", c, err)
	}
	stored, _ = st.GetCase(ctx, "case-e2")
	if len(stored.Actions) != 2 {
		t.Errorf("assessed case: %d actions, want 2", len(stored.Actions))
	}
}

func TestHandleEventConcurrent(t *testing.T) {
	ctx := context.Background()
	// Two alerters on one store: the store's atomic CreateCase, not only the
	// in-process lock, must hold.
	st := openStore(t)
	tree := orgtree.MustDefault()
	as := []*Alerter{New(st, tree, Config{}), New(st, tree, Config{})}
	var wg sync.WaitGroup
	var mu sync.Mutex
	created := 0
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, ok, err := as[i%2].HandleEvent(ctx, event("e1", domain.GradeII, 50))
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				created++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if created != 1 {
		t.Errorf("%d cases created, want 1", created)
	}
	if l, err := st.ListCases(ctx, store.CaseFilter{}); err != nil || len(l) != 1 {
		t.Errorf("%d cases stored, %v", len(l), err)
	}
}

// step is one action in a scenario with its expected outcome.
type step struct {
	req     ActionRequest
	advance time.Duration
	err     error  // nil, ErrInvalid, ErrConflict or store.ErrNotFound
	msg     string // part of the Chinese message
	status  string // expected status after a successful step
	check   func(t *testing.T, c domain.Case)
}

func stopped(kind string) func(t *testing.T, c domain.Case) {
	return func(t *testing.T, c domain.Case) {
		t.Helper()
		for _, k := range c.Clocks {
			if k.Kind == kind {
				if k.StoppedAt == nil || k.EvidenceURL == "" {
					t.Errorf("clock %s not stopped with evidence: %+v", kind, k)
				}
				return
			}
		}
		t.Errorf("no clock %s in %+v", kind, c.Clocks)
	}
}

func TestActions(t *testing.T) {
	const url = "https://www.ningbo.gov.cn/art/2024/7/1/art_1.html"
	sign := ActionRequest{Kind: domain.ActSign, Actor: "宁波市政府办 张三"}
	tests := []struct {
		name  string
		grade domain.Grade
		steps []step
	}{
		{"full workflow III", domain.GradeIII, []step{
			{req: sign, status: domain.CaseSigned},
			{req: sign, err: ErrConflict, msg: "只有待签收的案件可以签收"},
			{req: ActionRequest{Kind: domain.ActAssess, Actor: "李四", Grade: domain.GradeIII, ResponseType: "解决困难"}, status: domain.CaseAssessed,
				check: func(t *testing.T, c domain.Case) {
					if !c.GradeConfirmed || c.ResponseType != "解决困难" || len(c.Clocks) != 1 {
						t.Errorf("after assess: %+v", c)
					}
				}},
			{req: ActionRequest{Kind: domain.ActEvaluate, Actor: "王五", Note: "效果好"}, err: ErrConflict, msg: "尚未回应"},
			{req: ActionRequest{Kind: domain.ActRespond, Actor: "张三", EvidenceURL: url}, advance: 3 * time.Hour, status: domain.CaseAnswered, check: stopped(domain.ClockResponse)},
			{req: ActionRequest{Kind: domain.ActRespond, Actor: "张三", EvidenceURL: url + "?2"}, status: domain.CaseAnswered,
				check: func(t *testing.T, c domain.Case) {
					if c.Clocks[0].EvidenceURL != url || !strings.Contains(c.Actions[len(c.Actions)-1].Note, "补充回应") {
						t.Errorf("a second response moved the stopped clock: %+v", c.Clocks[0])
					}
				}},
			{req: ActionRequest{Kind: domain.ActEvaluate, Actor: "王五", Note: "负面声量下降80%"}, status: domain.CaseAnswered},
			{req: ActionRequest{Kind: domain.ActClose, Actor: "王五"}, status: domain.CaseClosed},
			{req: ActionRequest{Kind: domain.ActClose, Actor: "王五"}, err: ErrConflict, msg: "已关闭"},
			{req: sign, err: ErrConflict, msg: "请先重新打开"},
			{req: ActionRequest{Kind: domain.ActReopen, Actor: "王五", Note: "舆情反复"}, status: domain.CaseAnswered},
			{req: ActionRequest{Kind: domain.ActReopen, Actor: "王五"}, err: ErrConflict, msg: "案件未关闭"},
		}},
		{"major: respond and conference", domain.GradeII, []step{
			{req: ActionRequest{Kind: domain.ActRespond, Actor: "张三", EvidenceURL: url}, advance: 4 * time.Hour, status: domain.CaseOpen, check: stopped(domain.ClockRelease)},
			{req: sign, status: domain.CaseSigned},
			{req: ActionRequest{Kind: domain.ActConference, Actor: "张三", EvidenceURL: url}, advance: 20 * time.Hour, status: domain.CaseAnswered, check: func(t *testing.T, c domain.Case) {
				stopped(domain.ClockConference)(t, c)
				for _, k := range c.Clocks {
					if k.Overdue(c.UpdatedAt) {
						t.Errorf("clock %s overdue: %+v", k.Kind, k)
					}
				}
			}},
		}},
		{"late response is overdue", domain.GradeI, []step{
			{req: ActionRequest{Kind: domain.ActRespond, Actor: "张三", EvidenceURL: url}, advance: 6 * time.Hour, status: domain.CaseOpen, check: func(t *testing.T, c domain.Case) {
				if !c.Clocks[0].Overdue(c.UpdatedAt) {
					t.Errorf("release after 6h not overdue: %+v", c.Clocks[0])
				}
			}},
		}},
		{"conference on a III case answers it", domain.GradeIII, []step{
			{req: ActionRequest{Kind: domain.ActConference, Actor: "张三", EvidenceURL: url}, status: domain.CaseAnswered, check: stopped(domain.ClockResponse)},
		}},
		{"assess switches clocks keeping the start", domain.GradeIV, []step{
			{req: ActionRequest{Kind: domain.ActAssess, Actor: "李四", Grade: domain.GradeI, ResponseType: "权威信息"}, advance: time.Hour, status: domain.CaseAssessed,
				check: func(t *testing.T, c domain.Case) {
					if c.Grade != domain.GradeI || c.ProposedGrade != domain.GradeIV || len(c.Clocks) != 2 ||
						!c.Clocks[0].StartedAt.Equal(t0) || !c.Clocks[0].DueAt.Equal(t0.Add(5*time.Hour)) {
						t.Errorf("after assess I: grade %v clocks %+v", c.Grade, c.Clocks)
					}
					if n := c.Actions[len(c.Actions)-1].Note; !strings.Contains(n, "研判为I级（特别重大）") || !strings.Contains(n, "回应方式：权威信息") {
						t.Errorf("assess note %q", n)
					}
				}},
			{req: ActionRequest{Kind: domain.ActRespond, Actor: "张三", EvidenceURL: url}, status: domain.CaseAssessed, check: stopped(domain.ClockRelease)},
			{req: ActionRequest{Kind: domain.ActAssess, Actor: "李四", Grade: domain.GradeII}, status: domain.CaseAssessed,
				check: func(t *testing.T, c domain.Case) {
					if c.Clocks[0].StoppedAt == nil {
						t.Error("I → II replaced the clocks (same class must keep them)")
					}
				}},
			// down to III: the 48h clock, answered by the release already on record
			{req: ActionRequest{Kind: domain.ActAssess, Actor: "李四", Grade: domain.GradeIII}, status: domain.CaseAnswered,
				check: func(t *testing.T, c domain.Case) {
					if len(c.Clocks) != 1 || c.Clocks[0].Kind != domain.ClockResponse || !c.Clocks[0].DueAt.Equal(t0.Add(48*time.Hour)) ||
						c.Clocks[0].StoppedAt == nil || c.Clocks[0].EvidenceURL != url {
						t.Errorf("after assess III: %+v", c.Clocks)
					}
				}},
		}},
		{"close with running clocks needs a note", domain.GradeIV, []step{
			{req: ActionRequest{Kind: domain.ActClose, Actor: "王五"}, err: ErrInvalid, msg: "回应关切"},
			{req: ActionRequest{Kind: domain.ActClose, Actor: "王五", Note: "经核实为误报"}, status: domain.CaseClosed},
			{req: ActionRequest{Kind: domain.ActReopen, Actor: "王五"}, status: domain.CaseOpen},
		}},
		{"escalate up to the root", domain.GradeIV, []step{
			{req: sign, status: domain.CaseSigned},
			// the superior has it now and must sign for it
			{req: ActionRequest{Kind: domain.ActEscalate, Actor: "张三", Note: "涉及省级政策"}, status: domain.CaseOpen,
				check: func(t *testing.T, c domain.Case) {
					if c.UnitID != "zhejiang" || c.UnitName != "浙江省人民政府办公厅" || !strings.Contains(c.RouteReason, "由宁波市人民政府办公厅上报至浙江省人民政府办公厅") {
						t.Errorf("after escalate: %s %s %q", c.UnitID, c.UnitName, c.RouteReason)
					}
				}},
			{req: ActionRequest{Kind: domain.ActEscalate, Actor: "赵六"}, status: domain.CaseOpen},
			{req: ActionRequest{Kind: domain.ActEscalate, Actor: "赵六"}, err: ErrConflict, msg: "已是最高一级单位"},
		}},
		{"invalid requests", domain.GradeIV, []step{
			{req: ActionRequest{Kind: domain.ActSign}, err: ErrInvalid, msg: "操作人"},
			{req: ActionRequest{Kind: domain.ActSign, Actor: "   "}, err: ErrInvalid, msg: "操作人"},
			{req: ActionRequest{Kind: "approve", Actor: "张三"}, err: ErrInvalid, msg: "不支持的操作"},
			{req: ActionRequest{Kind: domain.ActOpen, Actor: "张三"}, err: ErrInvalid, msg: "不支持的操作"},
			{req: ActionRequest{Kind: domain.ActAssess, Actor: "李四"}, err: ErrInvalid, msg: "研判须给出分级"},
			{req: ActionRequest{Kind: domain.ActAssess, Actor: "李四", Grade: 5}, err: ErrInvalid, msg: "研判须给出分级"},
			{req: ActionRequest{Kind: domain.ActAssess, Actor: "李四", Grade: domain.GradeII, ResponseType: "删帖"}, err: ErrInvalid, msg: "回应方式"},
			{req: ActionRequest{Kind: domain.ActRespond, Actor: "张三"}, err: ErrInvalid, msg: "evidence_url"},
			{req: ActionRequest{Kind: domain.ActConference, Actor: "张三"}, err: ErrInvalid, msg: "evidence_url"},
			{req: ActionRequest{Kind: domain.ActEvaluate, Actor: "王五"}, err: ErrInvalid, msg: "评估意见"},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			a, clk, st := newAlerter(t, Config{})
			c, _, err := a.HandleEvent(ctx, event("e1", tc.grade, 10))
			if err != nil {
				t.Fatal(err)
			}
			trail := 1
			for i, s := range tc.steps {
				clk.Add(s.advance)
				got, err := a.Act(ctx, c.ID, s.req)
				if s.err != nil {
					if !errors.Is(err, s.err) || !strings.Contains(err.Error(), s.msg) {
						t.Fatalf("step %d %s: error %v, want %v containing %q", i, s.req.Kind, err, s.err, s.msg)
					}
					continue
				}
				if err != nil {
					t.Fatalf("step %d %s: %v", i, s.req.Kind, err)
				}
				trail++
				if got.Status != s.status {
					t.Errorf("step %d %s: status %s, want %s", i, s.req.Kind, got.Status, s.status)
				}
				last := got.Actions[len(got.Actions)-1]
				if len(got.Actions) != trail || last.Kind != s.req.Kind || last.Actor != strings.TrimSpace(s.req.Actor) ||
					!last.At.Equal(clk.Now()) || last.ID == 0 {
					t.Errorf("step %d: trail %d actions, last %+v", i, len(got.Actions), last)
				}
				if s.check != nil {
					s.check(t, got)
				}
				stored, err := st.GetCase(ctx, c.ID)
				if err != nil || stored.Status != got.Status || len(stored.Actions) != trail || stored.Grade != got.Grade || stored.UnitID != got.UnitID {
					t.Errorf("step %d: stored %s/%d actions, returned %s/%d (%v)", i, stored.Status, len(stored.Actions), got.Status, trail, err)
				}
			}
		})
	}
}

func TestActNotFound(t *testing.T) {
	a, _, _ := newAlerter(t, Config{})
	_, err := a.Act(context.Background(), "case-nope", ActionRequest{Kind: domain.ActSign, Actor: "张三"})
	if !errors.Is(err, store.ErrNotFound) || errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "不存在") {
		t.Errorf("err = %v, want store.ErrNotFound in Chinese", err)
	}
}

func TestActConcurrentSign(t *testing.T) {
	ctx := context.Background()
	a, _, st := newAlerter(t, Config{})
	c, _, err := a.HandleEvent(ctx, event("e1", domain.GradeIV, 1))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 6)
	for i := range 6 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := a.Act(ctx, c.ID, ActionRequest{Kind: domain.ActSign, Actor: fmt.Sprintf("人员%d", i)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	ok := 0
	for err := range errs {
		if err == nil {
			ok++
		} else if !errors.Is(err, ErrConflict) {
			t.Error(err)
		}
	}
	if ok != 1 {
		t.Errorf("%d signs succeeded, want 1", ok)
	}
	stored, _ := st.GetCase(ctx, c.ID)
	if len(stored.Actions) != 2 {
		t.Errorf("%d actions stored, want 2", len(stored.Actions))
	}
}

func BenchmarkHandleEventExisting(b *testing.B) {
	st, err := sqlitestore.Open(filepath.Join(b.TempDir(), "store.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	a := New(st, orgtree.MustDefault(), Config{})
	ctx := context.Background()
	ev := event("e1", domain.GradeIII, 10)
	if _, _, err := a.HandleEvent(ctx, ev); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := a.HandleEvent(ctx, ev); err != nil {
			b.Fatal(err)
		}
	}
}
