package alerting

import (
	"context"
	"testing"
	"time"

	"yuqing/alerting/store"
	"yuqing/domain"
)

func TestReportsOfCasesAndUnits(t *testing.T) {
	ctx := context.Background()
	a, clk, st := newAlerter(t, Config{})
	// case 1 (宁波, grade II): signed after 20 min, release after 4h (met), press conference after 30h (missed)
	c1, _, err := a.HandleEvent(ctx, event("e1", domain.GradeII, 90))
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(20 * time.Minute)
	if _, err := a.Act(ctx, c1.ID, ActionRequest{Kind: domain.ActSign, Actor: "李四"}); err != nil {
		t.Fatal(err)
	}
	clk.Add(3*time.Hour + 40*time.Minute)
	if _, err := a.Act(ctx, c1.ID, ActionRequest{Kind: domain.ActRespond, Actor: "李四", EvidenceURL: "https://www.ningbo.gov.cn/art/1.html"}); err != nil {
		t.Fatal(err)
	}
	clk.Add(26 * time.Hour)
	if _, err := a.Act(ctx, c1.ID, ActionRequest{Kind: domain.ActConference, Actor: "李四", EvidenceURL: "https://www.ningbo.gov.cn/art/2.html"}); err != nil {
		t.Fatal(err)
	}
	c1, _ = st.GetCase(ctx, c1.ID)
	// the event calmed down after the release: 600 posts/h before, 100/h after
	ev := event("e1", domain.GradeII, 90)
	ev.Hourly = map[int64]int64{}
	rel := *c1.Clocks[0].StoppedAt
	for i := int64(-6); i <= 6; i++ {
		n := int64(600)
		if i >= 0 {
			n = 100
		}
		ev.Hourly[rel.Unix()/3600+i] = n
	}
	r := Report(c1, &ev, clk.Now())
	if r.SignedMinutes != 20 || r.Met != 1 || r.Missed != 1 || r.Running != 0 {
		t.Fatalf("report = %+v", r)
	}
	if e := r.Clocks[0].Effect; e == nil || e.Before != 3600 || e.After != 700 || e.Change > -0.8 {
		t.Fatalf("effect = %+v", e)
	}
	if !r.Clocks[0].Met || r.Clocks[1].Met || !r.Clocks[1].Overdue || r.Clocks[0].Minutes != 240 {
		t.Errorf("clocks = %+v", r.Clocks)
	}
	// case 2 (same unit, grade IV), never signed, still running
	if _, _, err := a.HandleEvent(ctx, event("e2", domain.GradeIV, 10)); err != nil {
		t.Fatal(err)
	}
	cases, err := st.ListCases(ctx, storeFilterAll())
	if err != nil {
		t.Fatal(err)
	}
	units := UnitReport(cases, clk.Now())
	if len(units) != 1 {
		t.Fatalf("units = %+v", units)
	}
	u := units[0]
	if u.Cases != 2 || u.Signed != 1 || u.Met != 1 || u.Missed != 1 || u.Running != 1 || u.OnTimeRate != 0.5 || u.MedianSignMin != 20 || u.MedianAnswerMin != (240+1800)/2 {
		t.Errorf("unit = %+v", u)
	}
}

func storeFilterAll() store.CaseFilter { return store.CaseFilter{Limit: 1000} }
