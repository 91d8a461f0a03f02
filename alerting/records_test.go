package alerting

import (
	"context"
	"testing"
	"time"

	"yuqing/domain"
)

func TestMatchRecordsProposesEvidence(t *testing.T) {
	a, clk, _ := newAlerter(t, Config{})
	c, _, err := a.HandleEvent(context.Background(), event("e1", domain.GradeIII, 40))
	if err != nil {
		t.Fatal(err)
	}
	if c.UnitID != "zhejiang-ningbo" {
		t.Fatalf("routed to %s", c.UnitID)
	}
	clk.Add(3 * time.Hour)
	records := []domain.Record{
		{ID: "r1", Kind: domain.RecordDisclosure, Title: "关于某小区电梯故障困人情况的通报", Text: "近日网友反映宁波某小区电梯多次故障困人，市场监管部门已责令物业公司全面检修电梯。",
			UnitID: "zhejiang-ningbo", URL: "https://www.ningbo.gov.cn/art/1.html", PublishedAt: clk.Now()},
		{ID: "r2", Kind: domain.RecordInterpretation, Title: "《宁波市住宅小区物业管理条例》政策解读", Text: "物业服务企业应当对电梯等共用设施设备进行日常维护。",
			UnitID: "zhejiang", PublishedAt: t0.Add(-30 * 24 * time.Hour)},
		{ID: "r3", Kind: domain.RecordDisclosure, Title: "关于2024年城乡居民医保缴费标准的通知", Text: "各区县（市）医疗保障局：现将缴费标准通知如下。",
			UnitID: "zhejiang-ningbo", PublishedAt: clk.Now()},
		{ID: "r4", Kind: domain.RecordDisclosure, Title: "杭州某小区电梯困人事件处置情况通报", Text: "杭州市上城区某小区电梯困人，物业已整改。",
			UnitID: "zhejiang-hangzhou", PublishedAt: clk.Now()},
	}
	got := a.MatchRecords(c, []string{"电梯", "困人", "物业"}, records)
	ids := map[string]RecordMatch{}
	for _, m := range got {
		ids[m.Record.ID] = m
	}
	if _, ok := ids["r3"]; ok {
		t.Errorf("an unrelated record matched: %+v", ids["r3"])
	}
	if m, ok := ids["r1"]; !ok || m.Evidence != domain.ClockResponse || got[0].Record.ID != "r1" {
		t.Fatalf("the unit's own response should come first, proposed as evidence: %+v", got)
	}
	if m, ok := ids["r2"]; !ok || m.Evidence != "" {
		t.Errorf("the older interpretation from the province: %+v", m)
	}
	if m, ok := ids["r4"]; ok && m.Evidence != "" {
		t.Errorf("another city's notice proposed as evidence: %+v", m)
	}
}

func TestUninterpretedPolicies(t *testing.T) {
	a, _, _ := newAlerter(t, Config{})
	// published Friday 2026-09-18; 3 working days end Tuesday 09-22 24:00 (09-20 is a make-up Sunday: counts)
	pub := time.Date(2026, 9, 18, 10, 0, 0, 0, china)
	records := []domain.Record{
		{ID: "p1", Kind: domain.RecordDisclosure, Title: "关于调整城乡居民医保缴费标准的通知", PublishedAt: pub},
		{ID: "p2", Kind: domain.RecordDisclosure, Title: "宁波市住宅小区物业管理办法", PublishedAt: pub},
		{ID: "i1", Kind: domain.RecordInterpretation, Title: "《关于调整城乡居民医保缴费标准的通知》政策解读", PublishedAt: pub.Add(24 * time.Hour)},
		{ID: "n1", Kind: domain.RecordDisclosure, Title: "市政府召开防汛工作新闻发布会", PublishedAt: pub},
	}
	if got := a.UninterpretedPolicies(records, pub.Add(48*time.Hour)); len(got) != 0 {
		t.Fatalf("flagged before the 3 working days ran out: %+v", got)
	}
	got := a.UninterpretedPolicies(records, pub.Add(10*24*time.Hour))
	if len(got) != 1 || got[0].Policy.ID != "p2" {
		t.Fatalf("flagged %+v, want only the policy without interpretation", got)
	}
	if got[0].DueAt.Before(pub.Add(72 * time.Hour)) {
		t.Errorf("due %s", got[0].DueAt)
	}
}
