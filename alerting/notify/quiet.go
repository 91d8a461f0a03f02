package notify

import (
	"fmt"
	"strings"
	"time"

	"yuqing/domain"
)

// China is China Standard Time (UTC+8, no daylight saving since 1991). A
// fixed zone needs no time-zone database on the host.
var China = domain.China

// QuietHours hold back notifications of grades III/IV (and ungraded) between
// From and To, China time ("22:00" to "07:00" wraps past midnight), and
// deliver them when the quiet period ends; grade I/II always go at once.
type QuietHours struct {
	From string `yaml:"from" json:"from"`
	To   string `yaml:"to" json:"to"`
}

// Validate reports whether From and To are two different "HH:MM" times.
func (q QuietHours) Validate() error {
	_, err := q.parse()
	return err
}

type quietPeriod struct{ from, to time.Duration } // since midnight, China time

func (q QuietHours) parse() (*quietPeriod, error) {
	from, err := clockTime(q.From)
	if err != nil {
		return nil, fmt.Errorf("notify: quiet hours from: %w", err)
	}
	to, err := clockTime(q.To)
	if err != nil {
		return nil, fmt.Errorf("notify: quiet hours to: %w", err)
	}
	if from == to {
		return nil, fmt.Errorf("notify: quiet hours from and to are both %s", q.From)
	}
	return &quietPeriod{from: from, to: to}, nil
}

func clockTime(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("want HH:MM, got %q", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}

func midnight(t time.Time) time.Time {
	c := t.In(China)
	return time.Date(c.Year(), c.Month(), c.Day(), 0, 0, 0, 0, China)
}

// contains reports whether t falls in the quiet period.
func (p *quietPeriod) contains(t time.Time) bool {
	d := t.Sub(midnight(t))
	if p.from < p.to {
		return d >= p.from && d < p.to
	}
	return d >= p.from || d < p.to
}

// end gives the first end of a quiet period after t.
func (p *quietPeriod) end(t time.Time) time.Time {
	e := midnight(t).Add(p.to)
	if !e.After(t) {
		e = e.AddDate(0, 0, 1)
	}
	return e
}
