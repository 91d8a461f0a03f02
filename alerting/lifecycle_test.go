package alerting

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"yuqing/domain"
)

// TestFullLifecycleAuditTrail walks a case through 预警 → 签收 → 研判
// (regraded: its clocks restart) → 回应 → 发布会 → 评估 → 办结 → 次生舆情
// (reopened by the event itself) → 转办 → 合并, and checks the trail: who,
// when, what, from where.
func TestFullLifecycleAuditTrail(t *testing.T) {
	ctx := context.Background()
	a, clk, st := newAlerter(t, Config{})
	ev := event("e1", domain.GradeIII, 40)
	c, _, err := a.HandleEvent(ctx, ev)
	if err != nil {
		t.Fatal(err)
	}
	step := func(req ActionRequest) domain.Case {
		t.Helper()
		clk.Add(10 * time.Minute)
		req.Origin = "10.0.0.8"
		out, err := a.Act(ctx, c.ID, req)
		if err != nil {
			t.Fatalf("%s: %v", req.Kind, err)
		}
		return out
	}
	step(ActionRequest{Kind: domain.ActSign, Actor: "宁波值班员"})
	c = step(ActionRequest{Kind: domain.ActAssess, Actor: "网信办主任", Grade: domain.GradeII, ResponseType: "权威信息"})
	if len(c.Clocks) != 2 || c.Clocks[0].Kind != domain.ClockRelease {
		t.Fatalf("regraded to II: clocks %+v", c.Clocks)
	}
	step(ActionRequest{Kind: domain.ActRespond, Actor: "宁波值班员", EvidenceURL: "https://www.ningbo.gov.cn/art/1.html"})
	step(ActionRequest{Kind: domain.ActConference, Actor: "新闻发言人", EvidenceURL: "https://www.ningbo.gov.cn/art/2.html"})
	step(ActionRequest{Kind: domain.ActEvaluate, Actor: "网信办主任", Note: "发布后负面声量下降七成"})
	c = step(ActionRequest{Kind: domain.ActClose, Actor: "网信办主任"})
	if c.Status != domain.CaseClosed {
		t.Fatalf("closed: %s", c.Status)
	}
	// the same heat again: nothing; a secondary wave: reopened, new clocks from now
	if _, _, err := a.HandleEvent(ctx, ev); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.GetCase(ctx, c.ID); got.Status != domain.CaseClosed {
		t.Fatalf("reopened without a secondary wave: %s", got.Status)
	}
	clk.Add(3 * 24 * time.Hour)
	wave := ev
	wave.Heat = 200
	c, _, err = a.HandleEvent(ctx, wave)
	if err != nil {
		t.Fatal(err)
	}
	if c.Status == domain.CaseClosed || !c.Clocks[0].StartedAt.Equal(clk.Now()) || c.Clocks[0].StoppedAt != nil {
		t.Fatalf("after the secondary wave: %s %+v", c.Status, c.Clocks)
	}
	if _, ok, _ := st.NextDue(ctx); !ok {
		t.Fatal("the reopened case has no reminders scheduled")
	}
	c = step(ActionRequest{Kind: domain.ActTransfer, Actor: "浙江省网信办", UnitID: "zhejiang", Note: "涉及省属企业，由省里牵头"})
	if c.UnitID != "zhejiang" || !strings.Contains(c.RouteReason, "省属企业") {
		t.Fatalf("transfer: %s %q", c.UnitID, c.RouteReason)
	}
	other, _, err := a.HandleEvent(ctx, event("e2", domain.GradeIV, 10))
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute)
	if _, err := a.Act(ctx, other.ID, ActionRequest{Kind: domain.ActMerge, Actor: "浙江省网信办", Into: c.ID, Origin: "10.0.0.9"}); err != nil {
		t.Fatal(err)
	}
	merged, _ := st.GetCase(ctx, other.ID)
	if merged.Status != domain.CaseClosed || merged.MergedInto != c.ID {
		t.Fatalf("merged case: %s into %q", merged.Status, merged.MergedInto)
	}
	full, _ := st.GetCase(ctx, c.ID)
	var kinds []string
	for _, act := range full.Actions {
		kinds = append(kinds, act.Kind)
		if act.Actor != SystemActor && act.Origin == "" {
			t.Errorf("%s by %s has no origin", act.Kind, act.Actor)
		}
		if act.At.IsZero() || act.Actor == "" {
			t.Errorf("incomplete action %+v", act)
		}
	}
	want := []string{"open", "sign", "assess", "respond", "press_conference", "evaluate", "close", "reopen", "transfer", "merged"}
	if !slices.Equal(kinds, want) {
		t.Fatalf("trail %v\nwant  %v", kinds, want)
	}
	// a merged case does not come back on its own
	hot := event("e2", domain.GradeIV, 500)
	if got, _, _ := a.HandleEvent(ctx, hot); got.Status != domain.CaseClosed {
		t.Errorf("a merged case reopened: %s", got.Status)
	}
	// bad requests say what is missing
	for _, req := range []ActionRequest{{Kind: domain.ActTransfer, Actor: "x", UnitID: "zhejiang"}, {Kind: domain.ActMerge, Actor: "x"}, {Kind: domain.ActTransfer, Actor: "x", UnitID: "nowhere", Note: "n"}} {
		if _, err := a.Act(ctx, c.ID, req); err == nil {
			t.Errorf("%+v accepted", req)
		}
	}
}
