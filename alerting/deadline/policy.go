// Package deadline is the deadline policy as data: every legal period the
// alerting side enforces (the 5h / 24h / 48h public-opinion clocks, the
// deadlines stated by cyberspace-office notices and supervision letters,
// policy interpretation within 3 working days, proactive disclosure within 20
// working days, disclosure requests within 15, extendable once by 15) is a
// rule in YAML citing its source, and periods in working days are counted on
// China's official calendar, holidays and make-up workdays (调休) included.
//
// Default gives the embedded policy (default_policy.yaml); Load and Parse read
// an operator's. Policy.Clocks gives the clocks a case carries with their due
// times and reminder moments.
package deadline

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"yuqing/domain"
)

// Case kinds, for Match.Kind and Subject.Kind.
const (
	KindEvent       = "event"       // a public-opinion event, graded I–IV (the default)
	KindNotice      = "notice"      // a notice from the cyberspace office (网信部门通报)
	KindSupervision = "supervision" // a public-opinion supervision letter (舆情督办函)
	KindPolicy      = "policy"      // a published policy awaiting its interpretation (政策解读)
	KindDisclosure  = "disclosure"  // information to be disclosed proactively (主动公开)
	KindRequest     = "request"     // a government-information disclosure request (依申请公开)
)

// Clock kinds beyond domain.ClockRelease, domain.ClockConference and
// domain.ClockResponse.
const (
	ClockNotice           = "notice"            // reply to a cyberspace-office notice
	ClockSupervision      = "supervision"       // report on a supervision letter, by formal letter
	ClockInterpretation   = "interpretation"    // publish the policy's interpretation
	ClockDisclosure       = "disclosure"        // disclose proactively
	ClockRequest          = "request"           // answer a disclosure request (or notify its extension)
	ClockRequestExtension = "request_extension" // answer a request whose period was extended
)

var caseKinds = []string{KindEvent, KindNotice, KindSupervision, KindPolicy, KindDisclosure, KindRequest}

var clockKinds = []string{
	domain.ClockRelease, domain.ClockConference, domain.ClockResponse,
	ClockNotice, ClockSupervision, ClockInterpretation, ClockDisclosure, ClockRequest, ClockRequestExtension,
}

var grades = map[string]domain.Grade{"I": domain.GradeI, "II": domain.GradeII, "III": domain.GradeIII, "IV": domain.GradeIV}

// defaultReminders are the fractions of a period at which the unit is
// reminded when a rule gives none.
var defaultReminders = []float64{0.5, 0.8}

// Rule is one legal deadline.
type Rule struct {
	ID    string `yaml:"id"`    // e.g. grade-major-release
	Name  string `yaml:"name"`  // Chinese, shown to staff: 发布权威信息
	Clock string `yaml:"clock"` // clock kind: authoritative_release, press_conference, response, notice, supervision, interpretation, disclosure, request, request_extension
	When  Match  `yaml:"when"`  // which cases it applies to
	// The period: hours of clock time, or working days on the official
	// calendar (see Calendar.AddWorkdays for how they are counted). Exactly
	// one is given, except that a from_stated rule may give none.
	Hours    int `yaml:"hours,omitempty"`
	Workdays int `yaml:"workdays,omitempty"`
	// FromStated: the deadline stated in the notice or supervision letter
	// (Subject.Stated) wins; the period, if any, applies when none is stated.
	FromStated bool `yaml:"from_stated,omitempty"`
	// Reminders are the fractions of the period, each in (0, 1), at which the
	// unit is reminded. Left out, they are 0.5 and 0.8 of the period;
	// an empty list means no reminders. For working-day periods the fraction
	// is of the clock time from the start to the due time (holidays included).
	Reminders []float64 `yaml:"reminders"`
	Source    string    `yaml:"source"` // the rule's legal source, e.g. 《关于在政务公开工作中进一步做好政务舆情回应的通知》（国办发〔2016〕61号）
}

// Match says which cases a rule applies to.
type Match struct {
	Grades []string `yaml:"grades,omitempty"` // "I","II","III","IV"; none = every grade (and ungraded)
	Kind   string   `yaml:"kind,omitempty"`   // case kind: event (default), notice, supervision, policy, disclosure, request
	// Extended: only requests whose answer period was extended (Subject.Extended).
	Extended bool `yaml:"extended,omitempty"`
}

// Policy is the set of deadline rules with the operator's calendar additions.
type Policy struct {
	Rules []Rule `yaml:"rules"`
	// Calendar adds official schedules for years lunar-go does not carry
	// yet, or corrects one it does (a schedule replaces lunar-go's year).
	Calendar []YearSchedule `yaml:"calendar"`

	cal *Calendar // built by Parse
}

//go:embed default_policy.yaml
var defaultPolicyYAML []byte

// DefaultYAML gives the embedded default policy's YAML, for operators to start
// their own from.
func DefaultYAML() []byte { return slices.Clone(defaultPolicyYAML) }

// Default gives the embedded default policy (default_policy.yaml): the rules
// of DESIGN.md §1 with their sources. Each call gives a fresh copy.
func Default() *Policy {
	p, err := Parse(defaultPolicyYAML)
	if err != nil {
		panic("deadline: embedded default policy: " + err.Error()) // tested
	}
	return p
}

// Load reads and checks a policy file.
func Load(path string) (*Policy, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("deadline policy: %w", err)
	}
	p, err := Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return p, nil
}

// Parse reads a policy from YAML, strictly (an unknown field is an error), and
// checks it: every rule has an id (unique), a name, a known clock kind, a
// known case kind and valid grades, exactly one of hours and workdays (at
// most one if from_stated), reminders in (0, 1), and a source; calendar
// schedules are valid (see ValidateSchedules). Errors name the rule by index
// and id, and the field.
func Parse(raw []byte) (*Policy, error) {
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	var p Policy
	if err := dec.Decode(&p); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("deadline policy: empty document")
		}
		return nil, fmt.Errorf("deadline policy: %w", err)
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("deadline policy: more than one YAML document")
	}
	if err := p.validate(); err != nil {
		return nil, err
	}
	cal, err := buildCalendar(p.Calendar)
	if err != nil {
		return nil, fmt.Errorf("deadline policy: %w", err)
	}
	p.cal = cal
	return &p, nil
}

// validate checks the rules and the calendar, reporting every problem.
func (p *Policy) validate() error {
	var errs []error
	if len(p.Rules) == 0 {
		errs = append(errs, errors.New("deadline policy: no rules"))
	}
	seen := map[string]int{}
	for i := range p.Rules {
		r := &p.Rules[i]
		bad := func(field, format string, args ...any) {
			id := r.ID
			if id == "" {
				id = "no id"
			}
			errs = append(errs, fmt.Errorf("deadline policy: rules[%d] (%s): %s: %s", i, id, field, fmt.Sprintf(format, args...)))
		}
		switch {
		case strings.TrimSpace(r.ID) == "":
			bad("id", "missing")
		case strings.ContainsAny(r.ID, " \t\r\n"):
			bad("id", "%q contains white space", r.ID)
		default:
			if j, dup := seen[r.ID]; dup {
				bad("id", "also the id of rules[%d]", j)
			} else {
				seen[r.ID] = i
			}
		}
		if strings.TrimSpace(r.Name) == "" {
			bad("name", "missing (the Chinese name shown to staff)")
		}
		if !slices.Contains(clockKinds, r.Clock) {
			bad("clock", "%q is not a clock kind (want one of %s)", r.Clock, strings.Join(clockKinds, ", "))
		}
		if r.When.Kind != "" && !slices.Contains(caseKinds, r.When.Kind) {
			bad("when.kind", "%q is not a case kind (want one of %s)", r.When.Kind, strings.Join(caseKinds, ", "))
		}
		for j, g := range r.When.Grades {
			if _, ok := grades[g]; !ok {
				bad("when.grades", "%q is not a grade (want I, II, III or IV)", g)
			} else if slices.Index(r.When.Grades, g) != j {
				bad("when.grades", "%s is given twice", g)
			}
		}
		if r.When.Extended && r.When.Kind != KindRequest {
			bad("when.extended", "only requests are extended (set kind: request)")
		}
		if r.Clock == ClockRequestExtension && !r.When.Extended {
			bad("when.extended", "a request_extension clock applies only to extended requests (set extended: true)")
		}
		if r.Hours < 0 {
			bad("hours", "%d is negative", r.Hours)
		}
		if r.Workdays < 0 {
			bad("workdays", "%d is negative", r.Workdays)
		}
		switch {
		case r.Hours > 0 && r.Workdays > 0:
			bad("hours/workdays", "both given; a period is in hours or in working days, not both")
		case r.Hours == 0 && r.Workdays == 0 && !r.FromStated:
			bad("hours/workdays", "no period; give hours or workdays (or from_stated)")
		}
		for j, f := range r.Reminders {
			if !(f > 0 && f < 1) {
				bad("reminders", "%v is not a fraction of the period in (0, 1)", f)
			} else if slices.Index(r.Reminders, f) != j {
				bad("reminders", "%v is given twice", f)
			}
		}
		if strings.TrimSpace(r.Source) == "" {
			bad("source", "missing (cite the rule's legal source)")
		}
	}
	if err := ValidateSchedules(p.Calendar...); err != nil {
		errs = append(errs, fmt.Errorf("deadline policy: %w", err))
	}
	return errors.Join(errs...)
}

// WorkCalendar gives the policy's working-day calendar: lunar-go's schedules
// with the policy's own. (For a Policy built by hand rather than by Parse,
// Load or Default, it is built on each call and panics if p.Calendar is
// invalid.)
func (p *Policy) WorkCalendar() *Calendar {
	if p.cal != nil {
		return p.cal
	}
	return NewCalendar(p.Calendar...)
}

// Subject is what a deadline is computed for.
type Subject struct {
	Kind  string       // as Match.Kind; "" = event
	Grade domain.Grade // for events
	// Start is when the period starts: an event's detection, a notice's or
	// letter's receipt, a policy's publication, the day information was
	// formed or changed (disclosure), a request's receipt.
	Start time.Time
	// Stated is a deadline stated by a notice or supervision letter, if any.
	Stated      time.Time
	FirstPostAt time.Time
	Extended    bool // a request whose period was extended once
}

// Clock is a deadline the policy gives a subject.
type Clock struct {
	domain.Clock             // Kind, Name, Hours (0 for workday and stated deadlines), StartedAt, FirstPostAt, DueAt
	RuleID       string      // the rule that gave it
	Workdays     int         // the period in working days, 0 for hour and stated deadlines
	Stated       bool        // DueAt is the deadline stated by the notice or letter
	Source       string      // the rule's legal source
	Reminders    []time.Time // ascending, after StartedAt and before DueAt
}

// Clocks returns the clocks the policy gives a subject, with DueAt computed
// (hours on the clock, or working days through the calendar, or the stated
// deadline for from_stated rules), and each clock's reminder moments. Rules
// match in file order; every matching rule gives a clock. A from_stated rule
// with no period gives no clock when nothing is stated.
func (p *Policy) Clocks(s Subject) []Clock {
	var cal *Calendar
	var out []Clock
	for i := range p.Rules {
		r := &p.Rules[i]
		if !r.When.matches(s) {
			continue
		}
		if r.Workdays > 0 && cal == nil {
			cal = p.WorkCalendar()
		}
		if c, ok := r.clock(s, cal); ok {
			out = append(out, c)
		}
	}
	return out
}

func (m *Match) matches(s Subject) bool {
	kind, want := s.Kind, m.Kind
	if kind == "" {
		kind = KindEvent
	}
	if want == "" {
		want = KindEvent
	}
	if kind != want || (m.Extended && !s.Extended) {
		return false
	}
	if len(m.Grades) == 0 {
		return true
	}
	for _, g := range m.Grades {
		if grades[g] == s.Grade && s.Grade != domain.GradeNone {
			return true
		}
	}
	return false
}

func (r *Rule) clock(s Subject, cal *Calendar) (Clock, bool) {
	c := Clock{
		Clock:  domain.Clock{Kind: r.Clock, Name: r.Name, StartedAt: s.Start, FirstPostAt: s.FirstPostAt},
		RuleID: r.ID,
		Source: r.Source,
	}
	switch {
	case r.FromStated && !s.Stated.IsZero():
		c.DueAt, c.Stated = s.Stated, true
	case r.Hours > 0:
		c.Hours = r.Hours
		c.DueAt = s.Start.Add(time.Duration(r.Hours) * time.Hour)
	case r.Workdays > 0:
		c.Workdays = r.Workdays
		c.DueAt = cal.AddWorkdays(s.Start, r.Workdays)
	default:
		return Clock{}, false
	}
	fractions := r.Reminders
	if fractions == nil {
		fractions = defaultReminders
	}
	if period := c.DueAt.Sub(s.Start); period > 0 {
		for _, f := range fractions {
			if !(f > 0 && f < 1) {
				continue
			}
			at := s.Start.Add(time.Duration(f * float64(period)))
			if at.After(s.Start) && at.Before(c.DueAt) {
				c.Reminders = append(c.Reminders, at)
			}
		}
		slices.SortFunc(c.Reminders, func(a, b time.Time) int { return a.Compare(b) })
		c.Reminders = slices.CompactFunc(c.Reminders, time.Time.Equal)
	}
	return c, true
}
