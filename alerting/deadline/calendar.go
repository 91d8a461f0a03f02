package deadline

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"

	"yuqing/domain"
)

// chinaTime is China Standard Time, UTC+8 (no daylight saving since 1991).
// Working days, holidays and the "end of a day" are all reckoned in it.
var chinaTime = domain.China

// dateLayout is how schedules write days: 2027-02-14.
const dateLayout = "2006-01-02"

// dayKey is a civil day in China, yyyymmdd.
type dayKey int32

func keyOf(y int, m time.Month, d int) dayKey { return dayKey(y*10000 + int(m)*100 + d) }

func (k dayKey) year() int { return int(k) / 10000 }

// dayInfo is what a schedule says about one day: a day off in a holiday, or a
// make-up working day (调休上班).
type dayInfo struct {
	name string
	work bool
}

// Calendar says which days are working days in China: Monday–Friday, minus the
// official holidays, plus the make-up workdays (调休), from lunar-go's
// HolidayUtil (which carries the State Council's yearly schedules — v1.4.7
// through 2027), overridden by schedules the operator adds for later years.
//
// An operator schedule for a year replaces everything lunar-go says about the
// days of that year (if an operator gives 2027, lunar-go's 2027 data is
// ignored, holidays and make-up days alike). Days a schedule lists in the
// previous December (元旦 has reached back there, e.g. the 2019 schedule:
// 2018-12-29 worked, 2018-12-30 off) replace what is known about those days
// only. Years neither lunar-go nor the operator covers are Monday–Friday
// only: see Covers.
//
// All times are converted to China time (UTC+8) before their day is taken.
// A Calendar is immutable and safe for concurrent use.
type Calendar struct {
	base  *baseCalendar
	days  map[dayKey]dayInfo // from operator schedules
	years map[int]bool       // years the operator schedules govern
}

// baseCalendar is lunar-go's data, read once per process into a map (its own
// look-ups scan a string on every call).
type baseCalendar struct {
	days  map[dayKey]dayInfo
	years map[int]bool
}

var lunarCalendar = sync.OnceValue(func() *baseCalendar {
	b := &baseCalendar{days: map[dayKey]dayInfo{}, years: map[int]bool{}}
	// The library's data starts with the 2002 schedule (whose 元旦 reaches
	// into December 2001); 2100 is well past anything it will carry.
	for y := 2001; y <= 2100; y++ {
		l := HolidayUtil.GetHolidaysByYear(y)
		for e := l.Front(); e != nil; e = e.Next() {
			h := e.Value.(*HolidayUtil.Holiday)
			d, err := time.Parse(dateLayout, h.GetDay())
			if err != nil {
				continue // never in the library's data
			}
			b.days[keyOf(d.Date())] = dayInfo{name: h.GetName(), work: h.IsWork()}
			// A year counts as covered once its own schedule is there:
			// a December entry belonging to the next year's 元旦 does not
			// make that December's year covered, but it has its own
			// schedule anyway.
			if t, err := time.Parse(dateLayout, h.GetTarget()); err == nil {
				b.years[t.Year()] = true
			}
		}
	}
	return b
})

// YearSchedule is one year's official schedule as the State Council publishes
// it (国务院办公厅关于某年部分节假日安排的通知).
type YearSchedule struct {
	Year     int        `yaml:"year"`
	Holidays []DayRange `yaml:"holidays"` // days off, e.g. {from: 2027-02-05, to: 2027-02-13, name: 春节}
	Workdays []string   `yaml:"workdays"` // make-up working days (weekend days that are worked), "2027-02-14"
}

// DayRange is a run of days off, both ends included.
type DayRange struct {
	From string `yaml:"from"`
	To   string `yaml:"to"`
	Name string `yaml:"name"`
}

// defaultHolidayName is given to an operator's holiday range without a name.
const defaultHolidayName = "节假日"

// NewCalendar gives the official working-day calendar: lunar-go's schedules,
// with the extra schedules replacing lunar-go's for their years.
//
// NewCalendar panics if the extra schedules are invalid; check operator input
// with ValidateSchedules first (Parse and Load do).
func NewCalendar(extra ...YearSchedule) *Calendar {
	c, err := buildCalendar(extra)
	if err != nil {
		panic("deadline.NewCalendar: " + err.Error())
	}
	return c
}

// ValidateSchedules checks operator schedules: the year is given once, every
// date is a real YYYY-MM-DD day within its year (or that year's preceding
// December), each range runs from <= to, no day is listed twice, and every
// make-up workday is a Saturday or Sunday.
func ValidateSchedules(extra ...YearSchedule) error {
	_, err := buildCalendar(extra)
	return err
}

func buildCalendar(extra []YearSchedule) (*Calendar, error) {
	c := &Calendar{base: lunarCalendar()}
	if len(extra) == 0 {
		return c, nil
	}
	c.days = map[dayKey]dayInfo{}
	c.years = map[int]bool{}
	var errs []error
	for i, ys := range extra {
		if err := ys.add(c); err != nil {
			errs = append(errs, fmt.Errorf("calendar[%d] (year %d): %w", i, ys.Year, err))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// add checks the schedule and adds its days to c.
func (ys YearSchedule) add(c *Calendar) error {
	if ys.Year < 1949 || ys.Year > 9999 {
		return fmt.Errorf("year %d is not a plausible schedule year", ys.Year)
	}
	if c.years[ys.Year] {
		return fmt.Errorf("year %d is given twice", ys.Year)
	}
	c.years[ys.Year] = true
	var errs []error
	put := func(k dayKey, info dayInfo, what string) {
		if prev, dup := c.days[k]; dup {
			kind := "a holiday"
			if prev.work {
				kind = "a make-up workday"
			}
			errs = append(errs, fmt.Errorf("%s: %s is already listed as %s", what, fmtKey(k), kind))
			return
		}
		c.days[k] = info
	}
	for j, h := range ys.Holidays {
		what := fmt.Sprintf("holidays[%d]", j)
		if h.Name != "" {
			what += " (" + h.Name + ")"
		}
		from, err := ys.parseDay(h.From, "from")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
			continue
		}
		to, err := ys.parseDay(h.To, "to")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
			continue
		}
		if to.Before(from) {
			errs = append(errs, fmt.Errorf("%s: to %s is before from %s", what, h.To, h.From))
			continue
		}
		name := strings.TrimSpace(h.Name)
		if name == "" {
			name = defaultHolidayName
		}
		for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
			put(keyOf(d.Date()), dayInfo{name: name}, what)
		}
	}
	for j, w := range ys.Workdays {
		what := fmt.Sprintf("workdays[%d]", j)
		d, err := ys.parseDay(w, "day")
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", what, err))
			continue
		}
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			errs = append(errs, fmt.Errorf("%s: %s is a %s; a make-up workday is a Saturday or Sunday that is worked", what, w, wd))
			continue
		}
		put(keyOf(d.Date()), dayInfo{name: "调休上班", work: true}, what)
	}
	return errors.Join(errs...)
}

// parseDay parses a schedule date and checks it lies in the schedule's year or
// the December before it.
func (ys YearSchedule) parseDay(s, field string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("%s is missing (want YYYY-MM-DD)", field)
	}
	d, err := time.Parse(dateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s %q is not a date (want YYYY-MM-DD)", field, s)
	}
	if d.Year() != ys.Year && (d.Year() != ys.Year-1 || d.Month() != time.December) {
		return time.Time{}, fmt.Errorf("%s %s is outside %d (only the days of %d and of December %d may be listed)", field, s, ys.Year, ys.Year, ys.Year-1)
	}
	return d, nil
}

func fmtKey(k dayKey) string {
	return fmt.Sprintf("%04d-%02d-%02d", int(k)/10000, int(k)/100%100, int(k)%100)
}

// lookup says what the schedules say about a day, if anything.
func (c *Calendar) lookup(k dayKey) (dayInfo, bool) {
	if c.days != nil {
		if info, ok := c.days[k]; ok {
			return info, true
		}
		if c.years[k.year()] {
			return dayInfo{}, false
		}
	}
	info, ok := c.base.days[k]
	return info, ok
}

// workday reports whether the civil day y-m-d (normalised) is worked.
func (c *Calendar) workday(d time.Time) bool {
	if info, ok := c.lookup(keyOf(d.Date())); ok {
		return info.work
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// chinaDay gives midnight in China time of the day t falls on there.
func chinaDay(t time.Time) time.Time {
	y, m, d := t.In(chinaTime).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, chinaTime)
}

// IsWorkday reports whether the day is a working day, taking the day in China
// time (UTC+8): an official holiday is not, a make-up workday (调休) is,
// otherwise Monday to Friday are.
func (c *Calendar) IsWorkday(day time.Time) bool { return c.workday(chinaDay(day)) }

// HolidayName gives the name of the official holiday whose days off include
// the day (in China time), e.g. 春节. Ordinary weekends and make-up workdays
// give false.
func (c *Calendar) HolidayName(day time.Time) (string, bool) {
	info, ok := c.lookup(keyOf(day.In(chinaTime).Date()))
	if !ok || info.work {
		return "", false
	}
	return info.name, true
}

// Covers reports whether the calendar knows the official schedule of the
// year, from lunar-go or from an operator schedule. For a year it does not
// cover, the calendar counts Monday–Friday only, so deadlines there may fall
// on holidays: add the State Council's schedule for it (published each
// November for the next year).
func (c *Calendar) Covers(year int) bool { return c.years[year] || c.base.years[year] }

// AddWorkdays returns the end of the n-th working day after t's day (n >= 1),
// as Chinese administrative law counts periods: the day t falls on (in China
// time) is not counted, whatever the hour and whether or not it is itself a
// working day; counting starts on the next day and skips days that are not
// working days; the period ends at 24:00 China time of the n-th working day,
// which is returned as 00:00 of the following day (in t's location). A
// deadline is met by anything done strictly before the returned instant.
//
// The convention is the one for periods in days (《民法典》第二百零一条: 开始
// 的当日不计入，自下一日开始计算; 《民事诉讼法》on 期间, applied to
// administrative litigation by 《行政诉讼法》第一百零一条: 期间开始的时和日，
// 不计算在期间内), with periods counted in working days not including
// official holidays (as 《政府信息公开条例》counts its 工作日).
//
// For example, a policy published on Friday 2026-09-25 (中秋节) with n=3 is
// due at the end of Wednesday 2026-09-30 (Monday 28th, Tuesday 29th and
// Wednesday 30th are the three working days), i.e. 2026-10-01 00:00 +08:00.
// For n < 1 AddWorkdays returns t.
func (c *Calendar) AddWorkdays(t time.Time, n int) time.Time {
	if n < 1 {
		return t
	}
	d := chinaDay(t)
	for n > 0 {
		d = d.AddDate(0, 0, 1)
		if c.workday(d) {
			n--
		}
	}
	return d.AddDate(0, 0, 1).In(t.Location())
}

// WorkdaysBetween counts the working days in (a, b] by day (in China time):
// the days after a's day up to and including b's day. It gives 0 when b's day
// is not after a's. A deadline from AddWorkdays(a, n) is the instant after the
// n-th working day, so WorkdaysBetween(a, due.Add(-time.Nanosecond)) == n.
func (c *Calendar) WorkdaysBetween(a, b time.Time) int {
	da, db := chinaDay(a), chinaDay(b)
	n := 0
	for d := da.AddDate(0, 0, 1); !d.After(db); d = d.AddDate(0, 0, 1) {
		if c.workday(d) {
			n++
		}
	}
	return n
}
