package deadline

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"yuqing/domain"
)

var allGrades = []domain.Grade{domain.GradeI, domain.GradeII, domain.GradeIII, domain.GradeIV}

// TestDefaultMatchesClocksFor: the alerting code uses domain.ClocksFor today;
// the default policy must give events exactly the same clocks.
func TestDefaultMatchesClocksFor(t *testing.T) {
	p := Default()
	starts := []time.Time{
		utc(2026, 9, 30, 22, 0, 0),
		cst(2026, 2, 14, 23, 59, 59),
		time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC),
	}
	for _, g := range allGrades {
		for _, start := range starts {
			for _, kind := range []string{KindEvent, ""} {
				// The brief's form: no first post given.
				want := domain.ClocksFor(g, start, start)
				got := p.Clocks(Subject{Kind: kind, Grade: g, Start: start})
				if len(got) != len(want) {
					t.Fatalf("grade %s kind %q: %d clocks, ClocksFor gives %d", g, kind, len(got), len(want))
				}
				for i := range want {
					w, c := want[i], got[i].Clock
					if c.Kind != w.Kind || c.Name != w.Name || c.Hours != w.Hours || !c.StartedAt.Equal(w.StartedAt) || !c.DueAt.Equal(w.DueAt) {
						t.Errorf("grade %s clock %d: got %s %s %dh due %s, ClocksFor %s %s %dh due %s",
							g, i, c.Kind, c.Name, c.Hours, c.DueAt, w.Kind, w.Name, w.Hours, w.DueAt)
					}
				}
				// With the first post's time, the embedded domain.Clock is
				// identical field for field.
				first := start.Add(-3 * time.Hour)
				want = domain.ClocksFor(g, start, first)
				got = p.Clocks(Subject{Kind: kind, Grade: g, Start: start, FirstPostAt: first})
				for i := range want {
					if !reflect.DeepEqual(got[i].Clock, want[i]) {
						t.Errorf("grade %s clock %d: %+v, ClocksFor %+v", g, i, got[i].Clock, want[i])
					}
				}
			}
		}
	}
}

func TestDefaultRules(t *testing.T) {
	p := Default()
	t0 := utc(2026, 9, 30, 22, 0, 0) // 22:00 China time, the eve of National Day
	stated := cst(2026, 10, 2, 12, 0, 0)
	received := utc(2026, 9, 14, 10, 0, 0) // a Monday
	type want struct {
		rule, kind, name string
		hours, workdays  int
		stated           bool
		due              time.Time
	}
	release := want{"grade-major-release", domain.ClockRelease, "发布权威信息", 5, 0, false, t0.Add(5 * time.Hour)}
	conference := want{"grade-major-conference", domain.ClockConference, "召开新闻发布会", 24, 0, false, t0.Add(24 * time.Hour)}
	response := want{"grade-minor-response", domain.ClockResponse, "回应关切", 48, 0, false, t0.Add(48 * time.Hour)}
	tests := []struct {
		name string
		s    Subject
		want []want
	}{
		{"grade I event", Subject{Kind: KindEvent, Grade: domain.GradeI, Start: t0}, []want{release, conference}},
		{"grade II event", Subject{Kind: KindEvent, Grade: domain.GradeII, Start: t0}, []want{release, conference}},
		{"grade III event", Subject{Kind: KindEvent, Grade: domain.GradeIII, Start: t0}, []want{response}},
		{"grade IV event, kind left empty", Subject{Grade: domain.GradeIV, Start: t0}, []want{response}},
		{"ungraded event", Subject{Kind: KindEvent, Start: t0}, nil},
		{"notice with a stated deadline", Subject{Kind: KindNotice, Start: t0, Stated: stated},
			[]want{{"notice-reply", ClockNotice, "回复网信部门通报", 0, 0, true, stated}}},
		{"notice without one: 48h", Subject{Kind: KindNotice, Start: t0},
			[]want{{"notice-reply", ClockNotice, "回复网信部门通报", 48, 0, false, t0.Add(48 * time.Hour)}}},
		{"notice of a grade I event: the grade does not matter", Subject{Kind: KindNotice, Grade: domain.GradeI, Start: t0, Stated: stated},
			[]want{{"notice-reply", ClockNotice, "回复网信部门通报", 0, 0, true, stated}}},
		{"supervision letter with a stated deadline", Subject{Kind: KindSupervision, Start: t0, Stated: stated},
			[]want{{"supervision-report", ClockSupervision, "函报督办办理情况", 0, 0, true, stated}}},
		{"supervision letter without one: 48h", Subject{Kind: KindSupervision, Start: t0},
			[]want{{"supervision-report", ClockSupervision, "函报督办办理情况", 48, 0, false, t0.Add(48 * time.Hour)}}},
		// Published Wednesday 09-30: National Day 10-01..07, then 10-08,
		// 10-09 and the make-up Saturday 10-10.
		{"policy interpretation across National Day", Subject{Kind: KindPolicy, Start: utc(2026, 9, 30, 9, 0, 0)},
			[]want{{"policy-interpretation", ClockInterpretation, "发布政策解读", 0, 3, false, cst(2026, 10, 11, 0, 0, 0)}}},
		// Published Thursday 02-12: 02-13, the make-up Saturday 02-14, then
		// Spring Festival to 02-23, then 02-24.
		{"policy interpretation across Spring Festival", Subject{Kind: KindPolicy, Start: utc(2026, 2, 12, 16, 0, 0)},
			[]want{{"policy-interpretation", ClockInterpretation, "发布政策解读", 0, 3, false, cst(2026, 2, 25, 0, 0, 0)}}},
		{"proactive disclosure, 20 working days", Subject{Kind: KindDisclosure, Start: received},
			[]want{{"proactive-disclosure", ClockDisclosure, "主动公开政府信息", 0, 20, false, cst(2026, 10, 17, 0, 0, 0)}}},
		{"disclosure request, 15 working days", Subject{Kind: KindRequest, Start: received},
			[]want{{"request-reply", ClockRequest, "答复政府信息公开申请", 0, 15, false, cst(2026, 10, 11, 0, 0, 0)}}},
		{"extended request, 30 working days from receipt", Subject{Kind: KindRequest, Start: received, Extended: true},
			[]want{
				{"request-reply", ClockRequest, "答复政府信息公开申请", 0, 15, false, cst(2026, 10, 11, 0, 0, 0)},
				{"request-reply-extended", ClockRequestExtension, "延期答复政府信息公开申请", 0, 30, false, cst(2026, 10, 31, 0, 0, 0)},
			}},
		{"unknown kind", Subject{Kind: "complaint", Start: t0}, nil},
	}
	used := map[string]bool{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := p.Clocks(tt.s)
			if len(got) != len(tt.want) {
				t.Fatalf("%d clocks %v, want %d", len(got), ruleIDs(got), len(tt.want))
			}
			for i, w := range tt.want {
				c := got[i]
				used[c.RuleID] = true
				if c.RuleID != w.rule || c.Kind != w.kind || c.Name != w.name || c.Hours != w.hours || c.Workdays != w.workdays || c.Stated != w.stated {
					t.Errorf("clock %d = %s %s %s %dh %dwd stated=%v, want %s %s %s %dh %dwd stated=%v",
						i, c.RuleID, c.Kind, c.Name, c.Hours, c.Workdays, c.Stated, w.rule, w.kind, w.name, w.hours, w.workdays, w.stated)
				}
				if !c.DueAt.Equal(w.due) {
					t.Errorf("%s due %s, want %s", c.RuleID, c.DueAt.In(chinaTime), w.due.In(chinaTime))
				}
				if !c.StartedAt.Equal(tt.s.Start) || c.Source == "" {
					t.Errorf("%s: started %s (want %s), source %q", c.RuleID, c.StartedAt, tt.s.Start, c.Source)
				}
				if len(c.Reminders) != 2 {
					t.Errorf("%s: %d reminders, want the default 2", c.RuleID, len(c.Reminders))
				}
			}
		})
	}
	for _, r := range p.Rules {
		if !used[r.ID] {
			t.Errorf("default rule %s is not exercised by this table", r.ID)
		}
	}
}

func ruleIDs(cs []Clock) []string {
	var ids []string
	for _, c := range cs {
		ids = append(ids, c.RuleID)
	}
	return ids
}

func TestDefaultPolicyText(t *testing.T) {
	p := Default()
	if len(p.Rules) != 9 {
		t.Errorf("%d default rules, want 9", len(p.Rules))
	}
	for _, r := range p.Rules {
		if !hasHan(r.Name) {
			t.Errorf("%s: name %q is not Chinese", r.ID, r.Name)
		}
		if !hasHan(r.Source) || !strings.ContainsAny(r.Source, "《〔") {
			t.Errorf("%s: source %q does not cite a document", r.ID, r.Source)
		}
	}
	// A fresh copy each call.
	q := Default()
	q.Rules[0].Hours = 99
	if Default().Rules[0].Hours == 99 {
		t.Error("Default shares its rules between calls")
	}
	if _, err := Parse(DefaultYAML()); err != nil {
		t.Errorf("DefaultYAML does not parse: %v", err)
	}
}

func hasHan(s string) bool {
	for _, r := range s {
		if unicode.Is(unicode.Han, r) {
			return true
		}
	}
	return false
}

func TestReminders(t *testing.T) {
	p := Default()
	t0 := cst(2026, 9, 30, 22, 0, 0)
	clocks := p.Clocks(Subject{Grade: domain.GradeII, Start: t0})
	wantRem := map[string][]time.Time{
		domain.ClockRelease:    {t0.Add(150 * time.Minute), t0.Add(4 * time.Hour)},
		domain.ClockConference: {t0.Add(12 * time.Hour), t0.Add(19*time.Hour + 12*time.Minute)},
	}
	for _, c := range clocks {
		if !slices.EqualFunc(c.Reminders, wantRem[c.Kind], time.Time.Equal) {
			t.Errorf("%s reminders %v, want %v", c.Kind, c.Reminders, wantRem[c.Kind])
		}
	}

	// A working-day period: fractions of the clock time from receipt
	// (09-14 10:00) to due (10-11 00:00), 638 hours, holidays included.
	req := p.Clocks(Subject{Kind: KindRequest, Start: cst(2026, 9, 14, 10, 0, 0)})[0]
	want := []time.Time{cst(2026, 9, 27, 17, 0, 0), cst(2026, 10, 5, 16, 24, 0)}
	if !slices.EqualFunc(req.Reminders, want, time.Time.Equal) {
		t.Errorf("request reminders %v, want %v", req.Reminders, want)
	}

	// Rule-given fractions are sorted; an empty list means none; a stated
	// deadline already past gives none.
	custom := mustParse(t, `
rules:
  - {id: a, name: 甲, clock: notice, when: {kind: notice}, from_stated: true, hours: 10, reminders: [0.9, 0.25], source: s}
  - {id: b, name: 乙, clock: notice, when: {kind: notice}, hours: 10, reminders: [], source: s}
`)
	got := custom.Clocks(Subject{Kind: KindNotice, Start: t0})
	if w := []time.Time{t0.Add(150 * time.Minute), t0.Add(9 * time.Hour)}; !slices.EqualFunc(got[0].Reminders, w, time.Time.Equal) {
		t.Errorf("custom reminders %v, want %v", got[0].Reminders, w)
	}
	if len(got[1].Reminders) != 0 {
		t.Errorf("reminders: [] gave %v", got[1].Reminders)
	}
	got = custom.Clocks(Subject{Kind: KindNotice, Start: t0, Stated: t0.Add(-time.Hour)})
	if !got[0].Stated || !got[0].DueAt.Equal(t0.Add(-time.Hour)) || len(got[0].Reminders) != 0 {
		t.Errorf("past stated deadline: %+v", got[0])
	}
	// From the stated deadline, fractions of the time from start to it.
	got = custom.Clocks(Subject{Kind: KindNotice, Start: t0, Stated: t0.Add(4 * time.Hour)})
	if w := []time.Time{t0.Add(time.Hour), t0.Add(3*time.Hour + 36*time.Minute)}; !slices.EqualFunc(got[0].Reminders, w, time.Time.Equal) {
		t.Errorf("stated reminders %v, want %v", got[0].Reminders, w)
	}
}

func TestFromStatedWithoutPeriod(t *testing.T) {
	p := mustParse(t, `
rules:
  - {id: letter, name: 函报, clock: supervision, when: {kind: supervision}, from_stated: true, source: s}
`)
	t0 := cst(2026, 3, 2, 9, 0, 0)
	if got := p.Clocks(Subject{Kind: KindSupervision, Start: t0}); len(got) != 0 {
		t.Errorf("no stated deadline and no period gave %v", ruleIDs(got))
	}
	if got := p.Clocks(Subject{Kind: KindSupervision, Start: t0, Stated: t0.Add(72 * time.Hour)}); len(got) != 1 || !got[0].DueAt.Equal(t0.Add(72*time.Hour)) {
		t.Errorf("stated deadline gave %+v", got)
	}
}

func TestPolicyCalendar(t *testing.T) {
	p := mustParse(t, `
rules:
  - {id: interp, name: 解读, clock: interpretation, when: {kind: policy}, workdays: 3, source: s}
calendar:
  - year: 2027
    holidays:
      - {from: 2027-02-06, to: 2027-02-14, name: 春节}
    workdays: [2027-02-20]
`)
	// From Friday 02-05: 02-15, 16, 17 under this schedule (lunar-go's would
	// count the make-up Sunday 02-14).
	got := p.Clocks(Subject{Kind: KindPolicy, Start: cst(2027, 2, 5, 10, 0, 0)})
	if want := cst(2027, 2, 18, 0, 0, 0); !got[0].DueAt.Equal(want) {
		t.Errorf("due %s, want %s", got[0].DueAt, want)
	}
	if !p.WorkCalendar().Covers(2027) || p.WorkCalendar().IsWorkday(cst(2027, 2, 14, 12, 0, 0)) {
		t.Error("the policy's calendar is not the operator's 2027")
	}

	// A policy built by hand works too.
	hand := &Policy{Rules: []Rule{{ID: "x", Name: "解读", Clock: ClockInterpretation, When: Match{Kind: KindPolicy}, Workdays: 3, Source: "s"}}}
	got = hand.Clocks(Subject{Kind: KindPolicy, Start: utc(2026, 9, 30, 9, 0, 0)})
	if want := cst(2026, 10, 11, 0, 0, 0); len(got) != 1 || !got[0].DueAt.Equal(want) {
		t.Errorf("hand-built policy: %+v, want due %s", got, want)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(path, DefaultYAML(), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(p.Rules, Default().Rules) {
		t.Error("loaded default differs from Default()")
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("rules: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "no rules") {
		t.Errorf("Load(bad) = %v, want an error naming the file", err)
	}
	if _, err := Load(filepath.Join(dir, "missing.yaml")); err == nil {
		t.Error("Load of a missing file gave no error")
	}
}

func mustParse(t *testing.T, raw string) *Policy {
	t.Helper()
	p, err := Parse([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseErrors(t *testing.T) {
	const first = `rules:
  - {id: ok, name: 回应, clock: response, hours: 48, source: 国办发〔2016〕61号}
`
	tests := []struct {
		name string
		raw  string // with first prepended unless it starts with "!"
		want []string
	}{
		{"missing id", `  - {name: 甲, clock: response, hours: 1, source: s}`, []string{"rules[1] (no id): id: missing"}},
		{"duplicate id", `  - {id: ok, name: 甲, clock: response, hours: 1, source: s}`, []string{"rules[1] (ok): id: also the id of rules[0]"}},
		{"id with space", `  - {id: "a b", name: 甲, clock: response, hours: 1, source: s}`, []string{"rules[1] (a b): id:", "white space"}},
		{"missing name", `  - {id: x, clock: response, hours: 1, source: s}`, []string{"rules[1] (x): name: missing"}},
		{"unknown clock", `  - {id: x, name: 甲, clock: reply, hours: 1, source: s}`, []string{"rules[1] (x): clock:", `"reply" is not a clock kind`}},
		{"missing clock", `  - {id: x, name: 甲, hours: 1, source: s}`, []string{"rules[1] (x): clock:", `"" is not a clock kind`}},
		{"unknown case kind", `  - {id: x, name: 甲, clock: response, when: {kind: complaint}, hours: 1, source: s}`, []string{"rules[1] (x): when.kind:", `"complaint" is not a case kind`}},
		{"bad grade", `  - {id: x, name: 甲, clock: response, when: {grades: [III, V]}, hours: 1, source: s}`, []string{"rules[1] (x): when.grades:", `"V" is not a grade`}},
		{"grade twice", `  - {id: x, name: 甲, clock: response, when: {grades: [III, III]}, hours: 1, source: s}`, []string{"rules[1] (x): when.grades: III is given twice"}},
		{"extended outside requests", `  - {id: x, name: 甲, clock: response, when: {extended: true}, hours: 1, source: s}`, []string{"rules[1] (x): when.extended: only requests"}},
		{"extension clock for every request", `  - {id: x, name: 甲, clock: request_extension, when: {kind: request}, workdays: 30, source: s}`, []string{"rules[1] (x): when.extended:", "set extended: true"}},
		{"hours and workdays", `  - {id: x, name: 甲, clock: response, hours: 1, workdays: 1, source: s}`, []string{"rules[1] (x): hours/workdays: both given"}},
		{"hours and workdays with from_stated", `  - {id: x, name: 甲, clock: notice, when: {kind: notice}, from_stated: true, hours: 1, workdays: 1, source: s}`, []string{"rules[1] (x): hours/workdays: both given"}},
		{"no period", `  - {id: x, name: 甲, clock: response, source: s}`, []string{"rules[1] (x): hours/workdays: no period"}},
		{"negative hours", `  - {id: x, name: 甲, clock: response, hours: -5, source: s}`, []string{"rules[1] (x): hours: -5 is negative"}},
		{"negative workdays", `  - {id: x, name: 甲, clock: request, when: {kind: request}, workdays: -1, source: s}`, []string{"rules[1] (x): workdays: -1 is negative"}},
		{"reminder 1", `  - {id: x, name: 甲, clock: response, hours: 1, reminders: [0.5, 1], source: s}`, []string{"rules[1] (x): reminders: 1 is not a fraction"}},
		{"reminder 0", `  - {id: x, name: 甲, clock: response, hours: 1, reminders: [0], source: s}`, []string{"rules[1] (x): reminders: 0 is not a fraction"}},
		{"reminder negative", `  - {id: x, name: 甲, clock: response, hours: 1, reminders: [-0.2], source: s}`, []string{"rules[1] (x): reminders: -0.2 is not a fraction"}},
		{"reminder twice", `  - {id: x, name: 甲, clock: response, hours: 1, reminders: [0.5, 0.5], source: s}`, []string{"rules[1] (x): reminders: 0.5 is given twice"}},
		{"missing source", `  - {id: x, name: 甲, clock: response, hours: 1}`, []string{"rules[1] (x): source: missing"}},
		{"blank source", `  - {id: x, name: 甲, clock: response, hours: 1, source: "  "}`, []string{"rules[1] (x): source: missing"}},
		{"several problems at once", `  - {id: x, clock: reply, hours: 1}`, []string{"rules[1] (x): name:", "rules[1] (x): clock:", "rules[1] (x): source:"}},
		{"unknown rule field", `  - {id: x, name: 甲, clock: response, hour: 1, source: s}`, []string{"field hour not found"}},
		{"unknown match field", `  - {id: x, name: 甲, clock: response, when: {grade: [I]}, hours: 1, source: s}`, []string{"field grade not found"}},
		{"hours not a number", `  - {id: x, name: 甲, clock: response, hours: five, source: s}`, []string{"deadline policy:", "five"}},
		{"bad calendar", "calendar:\n  - {year: 2027, workdays: [2027-02-15]}", []string{"calendar[0] (year 2027)", "workdays[0]", "Monday"}},
		{"unknown top-level field", "clocks: []", []string{"field clocks not found"}},
		{"!empty", "", []string{"deadline policy: empty document"}},
		{"!no rules", "rules: []\n", []string{"deadline policy: no rules"}},
		{"!two documents", first + "---\n" + first, []string{"more than one YAML document"}},
	}
	for _, tt := range tests {
		t.Run(strings.TrimPrefix(tt.name, "!"), func(t *testing.T) {
			raw := tt.raw
			if !strings.HasPrefix(tt.name, "!") {
				raw = first + raw + "\n"
			}
			p, err := Parse([]byte(raw))
			if err == nil {
				t.Fatalf("no error; parsed %+v", p)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	// The base rule on its own, and a from_stated rule with no period, are valid.
	mustParse(t, first)
	mustParse(t, first+`  - {id: y, name: 甲, clock: notice, when: {kind: notice}, from_stated: true, source: s}`+"\n")
}

func BenchmarkClocks(b *testing.B) {
	p := Default()
	start := utc(2026, 9, 14, 10, 0, 0)
	b.Run("grade-II-event", func(b *testing.B) {
		s := Subject{Kind: KindEvent, Grade: domain.GradeII, Start: start, FirstPostAt: start.Add(-time.Hour)}
		for b.Loop() {
			p.Clocks(s)
		}
	})
	b.Run("request", func(b *testing.B) {
		s := Subject{Kind: KindRequest, Start: start}
		for b.Loop() {
			p.Clocks(s)
		}
	})
	b.Run("extended-request", func(b *testing.B) {
		s := Subject{Kind: KindRequest, Start: start, Extended: true}
		for b.Loop() {
			p.Clocks(s)
		}
	})
}

// TestConcurrentClocks: a parsed policy is read-only and shared by every
// goroutine of the alerting side.
func TestConcurrentClocks(t *testing.T) {
	p := Default()
	start := utc(2026, 9, 14, 10, 0, 0)
	want := p.Clocks(Subject{Kind: KindRequest, Start: start, Extended: true})
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 50 {
				got := p.Clocks(Subject{Kind: KindRequest, Start: start, Extended: true})
				if !reflect.DeepEqual(got, want) {
					t.Error("concurrent Clocks differ")
					return
				}
				p.Clocks(Subject{Grade: domain.GradeI, Start: start})
			}
		})
	}
	wg.Wait()
}
