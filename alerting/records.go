package alerting

import (
	"sort"
	"strings"
	"time"
	"unicode"

	"yuqing/alerting/deadline"
	"yuqing/domain"
)

// RecordMatch is a government record that bears on a case: its policy, an
// interpretation, or — published after the case opened, by its unit or
// one above — a response that can serve as evidence and stop a clock.
type RecordMatch struct {
	Record   domain.Record `json:"record"`
	Score    float64       `json:"score"`
	Reasons  []string      `json:"reasons"`
	Evidence string        `json:"evidence,omitempty"` // the clock it is proposed to stop
}

// MatchRecords ranks records against a case and the keywords of its event:
// shared keywords and title overlap count, the case's unit (or a unit
// above or below it) adds to the score, and a record of the unit's line
// published after the case opened is proposed as evidence for its first
// running clock. Only matches scoring at least 0.3 are returned, best first.
func (a *Alerter) MatchRecords(c domain.Case, keywords []string, records []domain.Record) []RecordMatch {
	var out []RecordMatch
	caseGrams := bigrams(c.Title)
	for _, r := range records {
		text := r.Title + "\n" + r.Text
		var shared []string
		for _, k := range keywords {
			if len([]rune(k)) >= 2 && strings.Contains(text, k) {
				shared = append(shared, k)
			}
		}
		score := 0.0
		var reasons []string
		if len(keywords) > 0 && len(shared) > 0 {
			score += 0.6 * float64(len(shared)) / float64(min(len(keywords), 5))
			reasons = append(reasons, "共同关键词："+strings.Join(shared, "、"))
		}
		if sim := jaccard(caseGrams, bigrams(r.Title)); sim > 0.1 {
			score += sim
			reasons = append(reasons, "标题相近")
		}
		related := r.UnitID != "" && (r.UnitID == c.UnitID || a.tree.IsAncestor(r.UnitID, c.UnitID) || a.tree.IsAncestor(c.UnitID, r.UnitID))
		if related && score > 0 {
			score += 0.2
			reasons = append(reasons, "同一责任单位系统")
		}
		if score < 0.3 {
			continue
		}
		m := RecordMatch{Record: r, Score: min(score, 1), Reasons: reasons}
		if related && r.Kind == domain.RecordDisclosure && !r.PublishedAt.Before(c.CreatedAt) {
			for _, k := range c.Clocks {
				if k.StoppedAt == nil {
					m.Evidence = k.Kind
					m.Reasons = append(m.Reasons, "立案后由本单位系统发布，可作为“"+k.Name+"”的证据")
					break
				}
			}
		}
		out = append(out, m)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Score > out[j].Score })
	return out
}

// Uninterpreted is a policy published without an interpretation within
// the legal period (3 working days by the default policy).
type Uninterpreted struct {
	Policy domain.Record `json:"policy"`
	DueAt  time.Time     `json:"due_at"`
}

// policyWords mark a disclosure record as a policy document.
var policyWords = []string{"通知", "办法", "规定", "意见", "方案", "条例", "细则", "决定", "规划", "措施"}

// UninterpretedPolicies lists the policies among records whose
// interpretation is overdue as of now: no interpretation record whose
// title shares most of the policy's title (its core, without the words
// every policy and interpretation title carries).
func (a *Alerter) UninterpretedPolicies(records []domain.Record, now time.Time) []Uninterpreted {
	var interps []map[string]bool // the interpretations' title cores, once
	for _, r := range records {
		if r.Kind == domain.RecordInterpretation {
			interps = append(interps, bigrams(policyCore(r.Title)))
		}
	}
	var out []Uninterpreted
	for _, r := range records {
		if r.Kind != domain.RecordDisclosure || !isPolicy(r.Title) {
			continue
		}
		clocks := a.cfg.Policy.Clocks(deadline.Subject{Kind: deadline.KindPolicy, Start: r.PublishedAt})
		if len(clocks) == 0 || now.Before(clocks[0].DueAt) {
			continue
		}
		core := bigrams(policyCore(r.Title))
		found := false
		for _, in := range interps {
			if jaccard(core, in) >= 0.5 {
				found = true
				break
			}
		}
		if !found {
			out = append(out, Uninterpreted{Policy: r, DueAt: clocks[0].DueAt})
		}
	}
	return out
}

func isPolicy(title string) bool {
	for _, w := range policyWords {
		if strings.Contains(title, w) {
			return true
		}
	}
	return false
}

// policyCore strips the words every policy and interpretation title
// carries, leaving what it is about.
func policyCore(title string) string {
	for _, w := range []string{"关于", "印发", "政策解读", "解读", "的", "图解", "一图读懂", "问答", "答记者问"} {
		title = strings.ReplaceAll(title, w, "")
	}
	for _, w := range policyWords {
		title = strings.ReplaceAll(title, w, "")
	}
	return title
}

// bigrams are the character pairs of the letters and digits of s.
func bigrams(s string) map[string]bool {
	var rs []rune
	for _, r := range s {
		if unicode.IsLetter(r) || unicode.IsDigit(r) {
			rs = append(rs, r)
		}
	}
	out := map[string]bool{}
	for i := 0; i+1 < len(rs); i++ {
		out[string(rs[i:i+2])] = true
	}
	return out
}

func jaccard(a, b map[string]bool) float64 {
	if len(a) == 0 || len(b) == 0 {
		return 0
	}
	inter := 0
	for k := range a {
		if b[k] {
			inter++
		}
	}
	return float64(inter) / float64(len(a)+len(b)-inter)
}
