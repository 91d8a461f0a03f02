package alerting

import (
	"slices"
	"sort"
	"time"

	"yuqing/domain"
)

// ClockReport is how one clock of a case went.
type ClockReport struct {
	Kind      string     `json:"kind"`
	Name      string     `json:"name"`
	DueAt     time.Time  `json:"due_at"`
	StoppedAt *time.Time `json:"stopped_at,omitempty"`
	Minutes   float64    `json:"minutes,omitempty"` // from the clock's start to the response
	Met       bool       `json:"met"`               // answered in time
	Overdue   bool       `json:"overdue"`           // answered late, or still running past the deadline
	Effect    *Effect    `json:"effect,omitempty"`
}

// Effect compares the event's volume in the hours before a response with
// the hours after it (event time): did the response calm things down?
type Effect struct {
	Hours  int     `json:"hours"`
	Before int64   `json:"before"`
	After  int64   `json:"after"`
	Change float64 `json:"change"` // after/before − 1; −0.6 is 60% fewer posts
}

// CaseReport is the evaluation of one case: time to sign, each clock met
// or missed, and the effect of each response.
type CaseReport struct {
	CaseID        string        `json:"case_id"`
	SignedMinutes float64       `json:"signed_minutes,omitempty"`
	Clocks        []ClockReport `json:"clocks"`
	Met           int           `json:"met"`
	Missed        int           `json:"missed"`
	Running       int           `json:"running"`
}

// effectHours is the window on each side of a response.
const effectHours = 6

// Report evaluates a case as of now; ev (may be nil) gives the effect.
func Report(c domain.Case, ev *domain.Event, now time.Time) CaseReport {
	r := CaseReport{CaseID: c.ID}
	if c.SignedAt != nil {
		r.SignedMinutes = c.SignedAt.Sub(c.CreatedAt).Minutes()
	}
	for _, k := range c.Clocks {
		cr := ClockReport{Kind: k.Kind, Name: k.Name, DueAt: k.DueAt, StoppedAt: k.StoppedAt, Overdue: k.Overdue(now)}
		switch {
		case k.StoppedAt != nil:
			cr.Minutes = k.StoppedAt.Sub(k.StartedAt).Minutes()
			cr.Met = !cr.Overdue
			if cr.Met {
				r.Met++
			} else {
				r.Missed++
			}
			if ev != nil && len(ev.Hourly) > 0 {
				cr.Effect = effect(ev.Hourly, *k.StoppedAt)
			}
		case c.Status == domain.CaseClosed && !c.UpdatedAt.After(k.DueAt):
			cr.Overdue = false // closed before its deadline without a reply: neither met nor missed
		case cr.Overdue:
			r.Missed++
		default:
			r.Running++
		}
		r.Clocks = append(r.Clocks, cr)
	}
	return r
}

func effect(hourly map[int64]int64, at time.Time) *Effect {
	h := at.Unix() / 3600
	e := &Effect{Hours: effectHours}
	for i := int64(1); i <= effectHours; i++ {
		e.Before += hourly[h-i]
		e.After += hourly[h+i]
	}
	e.After += hourly[h] // the hour of the response counts after it
	if e.Before > 0 {
		e.Change = float64(e.After)/float64(e.Before) - 1
	}
	return e
}

// UnitStats is how one unit answered its cases in a period.
type UnitStats struct {
	UnitID          string  `json:"unit_id"`
	UnitName        string  `json:"unit_name"`
	Cases           int     `json:"cases"`
	Signed          int     `json:"signed"`
	Met             int     `json:"met"`
	Missed          int     `json:"missed"`
	Running         int     `json:"running"`
	OnTimeRate      float64 `json:"on_time_rate"`      // met / (met + missed); 0 when nothing is decided
	MedianSignMin   float64 `json:"median_sign_min"`   // minutes from opening to signing
	MedianAnswerMin float64 `json:"median_answer_min"` // minutes from opening to each response
}

// UnitReport sums up cases by unit as of now, worst on-time rate first.
func UnitReport(cases []domain.Case, now time.Time) []UnitStats {
	type acc struct {
		UnitStats
		sign, answer []float64
	}
	by := map[string]*acc{}
	for _, c := range cases {
		a := by[c.UnitID]
		if a == nil {
			a = &acc{UnitStats: UnitStats{UnitID: c.UnitID, UnitName: c.UnitName}}
			by[c.UnitID] = a
		}
		r := Report(c, nil, now)
		a.Cases++
		if c.SignedAt != nil {
			a.Signed++
			a.sign = append(a.sign, r.SignedMinutes)
		}
		a.Met, a.Missed, a.Running = a.Met+r.Met, a.Missed+r.Missed, a.Running+r.Running
		for _, k := range r.Clocks {
			if k.StoppedAt != nil {
				a.answer = append(a.answer, k.Minutes)
			}
		}
	}
	out := make([]UnitStats, 0, len(by))
	for _, a := range by {
		if d := a.Met + a.Missed; d > 0 {
			a.OnTimeRate = float64(a.Met) / float64(d)
		}
		a.MedianSignMin, a.MedianAnswerMin = median(a.sign), median(a.answer)
		out = append(out, a.UnitStats)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].OnTimeRate != out[j].OnTimeRate {
			return out[i].OnTimeRate < out[j].OnTimeRate
		}
		return out[i].UnitID < out[j].UnitID
	})
	return out
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	v = slices.Clone(v)
	slices.Sort(v)
	if n := len(v); n%2 == 1 {
		return v[n/2]
	} else {
		return (v[n/2-1] + v[n/2]) / 2
	}
}
