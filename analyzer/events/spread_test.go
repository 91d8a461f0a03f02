package events

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"yuqing/analyzer/classify"
	"yuqing/analyzer/models"
	"yuqing/domain"
)

// The first hour of a cascade re-rates its original post's rumour risk
// with the shipped model's spread layer, once an hour has passed, and not
// again after; any batch size gives the same.
func TestSpreadRisk(t *testing.T) {
	m, err := models.Load(models.Rumor)
	if err != nil {
		t.Fatal(err)
	}
	if m.Spread == nil {
		t.Fatal("the shipped rumour model has no spread layer")
	}
	cfg := Config{SpreadRisk: func(p float64, s *domain.SpreadState) (float64, []string) {
		return m.RiskWithSpread(p, spreadOf(s))
	}}
	stream := []spec{{id: "root", min: 0, text: textB, risk: 0.5, followers: 300}}
	doubts := []string{"假的吧，求证", "这是谣言", "已辟谣了，别传了", "真的吗？", "不实消息"}
	for i := range 30 {
		stream = append(stream, spec{id: fmt.Sprintf("c%02d", i), parent: "root", min: 1 + i, text: doubts[i%len(doubts)]})
	}
	stream = append(stream, spec{id: "late", parent: "root", min: 61, text: "求证"}, spec{id: "later", parent: "root", min: 200, text: "谣言"})

	var risks []float64
	for _, batch := range []int{1, 7, len(stream)} {
		g := New(openStore(t), cfg)
		ds := docs(stream...)
		for lo := 0; lo < len(ds); lo += batch {
			p := planCommit(t, g, ds[lo:min(lo+batch, len(ds))])
			if lo+batch < 31 {
				// within the first hour: the text risk stands
				for _, ev := range p.Events {
					if ev.ID == EventID("root") && (ev.Risk != 0.5 || ev.Spread == nil || ev.Spread.Done) {
						t.Fatalf("batch %d at %d: risk %v spread %+v before the hour is over", batch, lo, ev.Risk, ev.Spread)
					}
				}
			}
		}
		ev, err := g.Store().GetEvent(context.Background(), EventID("root"))
		if err != nil {
			t.Fatal(err)
		}
		if ev.Spread == nil || !ev.Spread.Done || ev.Spread.Children != 30 || ev.Spread.Doubt == 0 || ev.Spread.Refute == 0 {
			t.Fatalf("batch %d: spread %+v", batch, ev.Spread)
		}
		if ev.Risk <= 0.5 || len(ev.Spread.Reasons) == 0 {
			t.Errorf("batch %d: 30 doubting comments in the first hour left the risk at %v (%v)", batch, ev.Risk, ev.Spread.Reasons)
		}
		if !strings.Contains(strings.Join(ev.Reasons, "|"), "结合首小时传播") {
			t.Errorf("batch %d: reasons %q", batch, ev.Reasons)
		}
		t.Logf("batch %d: risk %.3f, %s", batch, ev.Risk, strings.Join(ev.Spread.Reasons, "；"))
		risks = append(risks, ev.Risk)
	}
	if risks[0] != risks[1] || risks[1] != risks[2] {
		t.Errorf("risk depends on the batch size: %v", risks)
	}
}

func spreadOf(s *domain.SpreadState) classify.Spread { return classify.SpreadFromState(s).Spread() }
