package alerting

import (
	"context"
	"testing"
	"time"

	"yuqing/alerting/deadline"
	"yuqing/domain"
)

func TestManualCasesTakeTheirKindsClocks(t *testing.T) {
	ctx := context.Background()
	a, clk, _ := newAlerter(t, Config{})
	stated := t0.Add(6 * time.Hour)
	notice, created, err := a.Open(ctx, ManualCase{Kind: deadline.KindNotice, Title: "关于网传某小区电梯困人事件的舆情通报", UnitID: "zhejiang-ningbo", StatedAt: stated, Actor: "省网信办"})
	if err != nil || !created || len(notice.Clocks) != 1 || !notice.Clocks[0].DueAt.Equal(stated) || notice.Kind != deadline.KindNotice {
		t.Fatalf("notice: %+v %v %v", notice.Clocks, created, err)
	}
	if again, created, _ := a.Open(ctx, ManualCase{Kind: deadline.KindNotice, Title: "关于网传某小区电梯困人事件的舆情通报", UnitID: "zhejiang-ningbo", StatedAt: stated, Actor: "省网信办"}); created || again.ID != notice.ID {
		t.Errorf("the same notice opened twice: %s", again.ID)
	}
	letter, _, err := a.Open(ctx, ManualCase{Kind: deadline.KindSupervision, Title: "督办函〔2024〕12号", UnitID: "zhejiang-ningbo", Actor: "省网信办"})
	if err != nil || len(letter.Clocks) != 1 || letter.Clocks[0].DueAt.Sub(clk.Now()) != 48*time.Hour {
		t.Fatalf("letter without a stated deadline: %+v %v", letter.Clocks, err)
	}
	// a request: 15 working days, extended once
	req, _, err := a.Open(ctx, ManualCase{Kind: deadline.KindRequest, Title: "申请公开某小区电梯维保记录", UnitID: "zhejiang-ningbo", Actor: "受理窗口"})
	if err != nil || len(req.Clocks) != 1 || req.Clocks[0].Kind != deadline.ClockRequest {
		t.Fatalf("request: %+v %v", req.Clocks, err)
	}
	if _, err := a.Act(ctx, req.ID, ActionRequest{Kind: domain.ActExtend, Actor: "受理窗口"}); err == nil {
		t.Fatal("an extension without a reason was accepted")
	}
	req, err = a.Act(ctx, req.ID, ActionRequest{Kind: domain.ActExtend, Actor: "受理窗口", Note: "需征求第三方意见"})
	if err != nil || len(req.Clocks) != 2 || req.Clocks[0].StoppedAt == nil || req.Clocks[1].Kind != deadline.ClockRequestExtension || !req.Clocks[1].DueAt.After(req.Clocks[0].DueAt) {
		t.Fatalf("extended: %+v %v", req.Clocks, err)
	}
	if _, err := a.Act(ctx, req.ID, ActionRequest{Kind: domain.ActExtend, Actor: "受理窗口", Note: "再延"}); err == nil {
		t.Fatal("extended twice")
	}
	req, err = a.Act(ctx, req.ID, ActionRequest{Kind: domain.ActRespond, Actor: "受理窗口", EvidenceURL: "https://www.ningbo.gov.cn/reply/1.pdf"})
	if err != nil || req.Clocks[1].StoppedAt == nil || req.Status != domain.CaseAnswered {
		t.Fatalf("answered: %+v %s %v", req.Clocks, req.Status, err)
	}
	// an assessment does not swap a request's clocks for an event's
	if c, err := a.Act(ctx, letter.ID, ActionRequest{Kind: domain.ActAssess, Actor: "主任", Grade: domain.GradeII}); err != nil || c.Clocks[0].Kind != deadline.ClockSupervision {
		t.Fatalf("assessed letter: %+v %v", c.Clocks, err)
	}
	for _, bad := range []ManualCase{{Kind: "event", Title: "x", UnitID: "zhejiang", Actor: "a"}, {Kind: deadline.KindNotice, UnitID: "zhejiang", Actor: "a"}, {Kind: deadline.KindNotice, Title: "x", UnitID: "nowhere", Actor: "a"}} {
		if _, _, err := a.Open(ctx, bad); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func TestManualCaseRetriedIsOneCase(t *testing.T) {
	a, clk, _ := newAlerter(t, Config{})
	m := ManualCase{Kind: deadline.KindSupervision, Title: "督办函〔2024〕13号", UnitID: "zhejiang-ningbo", Actor: "省网信办"}
	first, _, err := a.Open(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	clk.Add(time.Minute) // the client retries a minute later, still without a start
	again, created, err := a.Open(context.Background(), m)
	if err != nil || created || again.ID != first.ID {
		t.Fatalf("retry opened %s (created %v, %v), want %s", again.ID, created, err, first.ID)
	}
}
