package deadline

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/6tail/lunar-go/HolidayUtil"
	"gopkg.in/yaml.v3"
)

// cst gives a China-time instant.
func cst(y int, m time.Month, d, h, min, s int) time.Time {
	return time.Date(y, m, d, h, min, s, 0, chinaTime)
}

// utc gives the same instant as cst, expressed in UTC (inputs in UTC).
func utc(y int, m time.Month, d, h, min, s int) time.Time { return cst(y, m, d, h, min, s).UTC() }

// day parses a YYYY-MM-DD day as China midnight.
func day(t *testing.T, s string) time.Time {
	t.Helper()
	d, err := time.ParseInLocation(dateLayout, s, chinaTime)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// TestLunarData checks the facts the other tests rely on against lunar-go's
// own data, rather than assuming them: the 2026 Spring Festival, Mid-Autumn
// and National Day schedules (国办发明电〔2025〕7号 as the library carries it).
func TestLunarData(t *testing.T) {
	tests := []struct {
		day  string
		name string
		work bool
	}{
		{"2026-02-14", "春节", true}, // Saturday worked
		{"2026-02-15", "春节", false},
		{"2026-02-17", "春节", false},
		{"2026-02-23", "春节", false},
		{"2026-02-28", "春节", true},  // Saturday worked
		{"2026-09-20", "国庆节", true}, // Sunday worked
		{"2026-09-25", "中秋节", false},
		{"2026-09-27", "中秋节", false},
		{"2026-10-01", "国庆节", false},
		{"2026-10-07", "国庆节", false},
		{"2026-10-10", "国庆节", true}, // Saturday worked
	}
	for _, tt := range tests {
		h := HolidayUtil.GetHoliday(tt.day)
		if h == nil {
			t.Errorf("lunar-go has nothing for %s", tt.day)
			continue
		}
		if h.GetName() != tt.name || h.IsWork() != tt.work {
			t.Errorf("lunar-go %s = %s work=%v, want %s work=%v", tt.day, h.GetName(), h.IsWork(), tt.name, tt.work)
		}
	}
	// The Spring Festival days off are exactly 02-15..02-23, National Day's
	// exactly 10-01..10-07: nothing else in those months.
	for _, span := range [][2]string{{"2026-02-01", "2026-03-31"}, {"2026-09-01", "2026-10-31"}} {
		for d := day(t, span[0]); !d.After(day(t, span[1])); d = d.AddDate(0, 0, 1) {
			s := d.Format(dateLayout)
			h := HolidayUtil.GetHoliday(s)
			off := h != nil && !h.IsWork()
			wantOff := (s >= "2026-02-15" && s <= "2026-02-23") || (s >= "2026-09-25" && s <= "2026-09-27") || (s >= "2026-10-01" && s <= "2026-10-07")
			if off != wantOff {
				t.Errorf("lunar-go: %s off=%v, want %v", s, off, wantOff)
			}
		}
	}
}

func TestIsWorkday(t *testing.T) {
	c := NewCalendar()
	tests := []struct {
		name string
		at   time.Time
		want bool
	}{
		{"ordinary Friday before Spring Festival", utc(2026, 2, 13, 9, 0, 0), true},
		{"make-up Saturday 02-14", utc(2026, 2, 14, 9, 0, 0), true},
		{"Spring Festival Sunday 02-15", utc(2026, 2, 15, 9, 0, 0), false},
		{"Spring Festival Monday 02-16", utc(2026, 2, 16, 9, 0, 0), false},
		{"Spring Festival last day Monday 02-23", utc(2026, 2, 23, 23, 59, 59), false},
		{"Tuesday after Spring Festival", utc(2026, 2, 24, 0, 0, 0), true},
		{"make-up Saturday 02-28", utc(2026, 2, 28, 12, 0, 0), true},
		{"ordinary Sunday 03-01", utc(2026, 3, 1, 12, 0, 0), false},
		{"ordinary Saturday 03-07", utc(2026, 3, 7, 12, 0, 0), false},
		{"ordinary Monday 03-09", utc(2026, 3, 9, 12, 0, 0), true},
		{"make-up Sunday 09-20", utc(2026, 9, 20, 12, 0, 0), true},
		{"Mid-Autumn Friday 09-25", utc(2026, 9, 25, 12, 0, 0), false},
		{"Wednesday 09-30", utc(2026, 9, 30, 12, 0, 0), true},
		{"National Day 10-01", utc(2026, 10, 1, 0, 0, 0), false},
		{"National Day Monday 10-05", utc(2026, 10, 5, 12, 0, 0), false},
		{"National Day last day 10-07", utc(2026, 10, 7, 23, 59, 59), false},
		{"Thursday after National Day", utc(2026, 10, 8, 0, 0, 0), true},
		{"make-up Saturday 10-10", utc(2026, 10, 10, 12, 0, 0), true},
		{"ordinary Sunday 10-11", utc(2026, 10, 11, 12, 0, 0), false},
		// The day is China's: 16:00 UTC is already the next day there.
		{"UTC 02-13 16:00 is CST 02-14 00:00 (make-up)", time.Date(2026, 2, 13, 16, 0, 0, 0, time.UTC), true},
		{"UTC 02-14 15:59:59 is CST 02-14 23:59:59", time.Date(2026, 2, 14, 15, 59, 59, 0, time.UTC), true},
		{"UTC 02-14 16:00 is CST 02-15 (holiday)", time.Date(2026, 2, 14, 16, 0, 0, 0, time.UTC), false},
		{"UTC 10-07 16:00 is CST 10-08", time.Date(2026, 10, 7, 16, 0, 0, 0, time.UTC), true},
		{"year lunar-go does not cover: weekday", utc(2099, 1, 1, 12, 0, 0), true},
		{"year lunar-go does not cover: weekend", utc(2099, 1, 3, 12, 0, 0), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.IsWorkday(tt.at); got != tt.want {
				t.Errorf("IsWorkday(%s) = %v, want %v", tt.at.In(chinaTime), got, tt.want)
			}
		})
	}
}

func TestHolidayName(t *testing.T) {
	c := NewCalendar()
	tests := []struct {
		at     time.Time
		want   string
		wantOK bool
	}{
		{utc(2026, 2, 17, 10, 0, 0), "春节", true},
		{utc(2026, 2, 23, 10, 0, 0), "春节", true},
		{utc(2026, 2, 14, 10, 0, 0), "", false}, // make-up workday
		{utc(2026, 3, 7, 10, 0, 0), "", false},  // ordinary weekend
		{utc(2026, 9, 26, 10, 0, 0), "中秋节", true},
		{utc(2026, 10, 3, 10, 0, 0), "国庆节", true},
		{time.Date(2026, 9, 30, 16, 0, 0, 0, time.UTC), "国庆节", true}, // CST 10-01 00:00
		{time.Date(2026, 9, 30, 15, 59, 0, 0, time.UTC), "", false},
	}
	for _, tt := range tests {
		got, ok := c.HolidayName(tt.at)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("HolidayName(%s) = %q, %v; want %q, %v", tt.at.In(chinaTime), got, ok, tt.want, tt.wantOK)
		}
	}
}

func TestAddWorkdays(t *testing.T) {
	c := NewCalendar()
	tests := []struct {
		name string
		t    time.Time
		n    int
		want time.Time // 00:00 China time the day after the n-th working day
	}{
		// 02-13 Fri (1), 02-14 make-up Sat (2), holiday to 02-23, 02-24 Tue (3).
		{"3 from the Thursday before Spring Festival", utc(2026, 2, 12, 10, 0, 0), 3, cst(2026, 2, 25, 0, 0, 0)},
		// 02-14 (1), 02-24 (2), 02-25 (3).
		{"3 from Friday evening before Spring Festival", utc(2026, 2, 13, 20, 0, 0), 3, cst(2026, 2, 26, 0, 0, 0)},
		// From inside the holiday: 02-24, 25, 26.
		{"3 from inside Spring Festival", utc(2026, 2, 18, 10, 0, 0), 3, cst(2026, 2, 27, 0, 0, 0)},
		// The brief's example: published on the Mid-Autumn Friday; 09-28, 29, 30.
		{"3 from Friday 09-25 (中秋节)", utc(2026, 9, 25, 10, 0, 0), 3, cst(2026, 10, 1, 0, 0, 0)},
		// 10-08 Thu (1), 10-09 Fri (2), 10-10 make-up Sat (3).
		{"3 across National Day", utc(2026, 9, 30, 9, 0, 0), 3, cst(2026, 10, 11, 0, 0, 0)},
		// 09-20 make-up Sun (1), 09-21 (2), 09-22 (3).
		{"3 from the Saturday before a make-up Sunday", utc(2026, 9, 19, 9, 0, 0), 3, cst(2026, 9, 23, 0, 0, 0)},
		// The start day, a make-up Saturday, is not counted: 03-02 Mon (1).
		{"1 from make-up Saturday 02-28", utc(2026, 2, 28, 10, 0, 0), 1, cst(2026, 3, 3, 0, 0, 0)},
		{"3 from make-up Saturday 02-28", utc(2026, 2, 28, 10, 0, 0), 3, cst(2026, 3, 5, 0, 0, 0)},
		// An ordinary Friday evening: 03-09, 10, 11.
		{"3 from Friday evening", utc(2026, 3, 6, 21, 30, 0), 3, cst(2026, 3, 12, 0, 0, 0)},
		// The day is China's: one second moves the start to the next day.
		{"1 from Thursday 23:59:59", utc(2026, 3, 5, 23, 59, 59), 1, cst(2026, 3, 7, 0, 0, 0)},
		{"1 from Friday 00:00:00", utc(2026, 3, 6, 0, 0, 0), 1, cst(2026, 3, 10, 0, 0, 0)},
		{"1 from Thursday 23:59 given as UTC 15:59", time.Date(2026, 3, 5, 15, 59, 0, 0, time.UTC), 1, cst(2026, 3, 7, 0, 0, 0)},
		{"1 from Friday 00:00 given as UTC 16:00 Thursday", time.Date(2026, 3, 5, 16, 0, 0, 0, time.UTC), 1, cst(2026, 3, 10, 0, 0, 0)},
		// 09-15..18 (4), 09-20 make-up (5), 09-21..24 (9), 09-28..30 (12),
		// 10-08, 10-09 (14), 10-10 make-up (15).
		{"15 across Mid-Autumn and National Day", utc(2026, 9, 14, 10, 0, 0), 15, cst(2026, 10, 11, 0, 0, 0)},
		// ... 10-12..16 (20).
		{"20 across Mid-Autumn and National Day", utc(2026, 9, 14, 10, 0, 0), 20, cst(2026, 10, 17, 0, 0, 0)},
		// ... 10-19..23 (25), 10-26..30 (30).
		{"30 across Mid-Autumn and National Day", utc(2026, 9, 14, 10, 0, 0), 30, cst(2026, 10, 31, 0, 0, 0)},
		// 02-03..06 (4), 02-09..13 (9), 02-14 make-up (10), 02-24..27 (14),
		// 02-28 make-up (15), 03-02..06 (20).
		{"20 across Spring Festival", utc(2026, 2, 2, 10, 0, 0), 20, cst(2026, 3, 7, 0, 0, 0)},
		{"15 across Spring Festival", utc(2026, 2, 2, 10, 0, 0), 15, cst(2026, 3, 1, 0, 0, 0)},
		// 12-31 Thu (1), 01-01..03 元旦, 01-04 make-up Sunday (2), 01-05 (3).
		{"3 across New Year 2026", utc(2025, 12, 30, 10, 0, 0), 3, cst(2026, 1, 6, 0, 0, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.AddWorkdays(tt.t, tt.n)
			if !got.Equal(tt.want) {
				t.Errorf("AddWorkdays(%s, %d) = %s, want %s", tt.t.In(chinaTime), tt.n, got.In(chinaTime), tt.want)
			}
			if got.Location() != tt.t.Location() {
				t.Errorf("result in %s, want the input's %s", got.Location(), tt.t.Location())
			}
			if n := c.WorkdaysBetween(tt.t, got.Add(-time.Nanosecond)); n != tt.n {
				t.Errorf("WorkdaysBetween(start, due-1ns) = %d, want %d", n, tt.n)
			}
			if !c.IsWorkday(got.Add(-time.Nanosecond)) {
				t.Errorf("the last day of the period, %s, is not a working day", got.Add(-time.Nanosecond).In(chinaTime))
			}
		})
	}
	if got := c.AddWorkdays(utc(2026, 3, 5, 10, 0, 0), 0); !got.Equal(utc(2026, 3, 5, 10, 0, 0)) {
		t.Errorf("AddWorkdays(t, 0) = %s, want t", got)
	}
}

// TestAddWorkdaysOracle counts working days straight from lunar-go's data
// for random starts and periods in 2002–2027, and compares.
func TestAddWorkdaysOracle(t *testing.T) {
	c := NewCalendar()
	oracleWorkday := func(d time.Time) bool {
		if h := HolidayUtil.GetHoliday(d.Format(dateLayout)); h != nil {
			return h.IsWork()
		}
		return d.Weekday() != time.Saturday && d.Weekday() != time.Sunday
	}
	rng := rand.New(rand.NewPCG(1, 2))
	lo, hi := cst(2002, 1, 1, 0, 0, 0).Unix(), cst(2027, 11, 1, 0, 0, 0).Unix()
	for range 300 {
		start := time.Unix(lo+rng.Int64N(hi-lo), 0).UTC()
		n := 1 + rng.IntN(40)
		d := chinaDay(start)
		for k := n; k > 0; {
			d = d.AddDate(0, 0, 1)
			if oracleWorkday(d) {
				k--
			}
		}
		want := d.AddDate(0, 0, 1)
		if got := c.AddWorkdays(start, n); !got.Equal(want) {
			t.Fatalf("AddWorkdays(%s, %d) = %s, oracle %s", start.In(chinaTime), n, got.In(chinaTime), want)
		}
	}
}

func TestWorkdaysBetween(t *testing.T) {
	c := NewCalendar()
	tests := []struct {
		name string
		a, b time.Time
		want int
	}{
		{"same day", utc(2026, 3, 5, 9, 0, 0), utc(2026, 3, 5, 18, 0, 0), 0},
		{"b before a", utc(2026, 3, 6, 9, 0, 0), utc(2026, 3, 5, 18, 0, 0), 0},
		{"Thursday to Friday", utc(2026, 3, 5, 23, 0, 0), utc(2026, 3, 6, 0, 30, 0), 1},
		{"over a weekend", utc(2026, 3, 6, 9, 0, 0), utc(2026, 3, 9, 9, 0, 0), 1},
		{"Spring Festival", utc(2026, 2, 12, 9, 0, 0), utc(2026, 2, 24, 9, 0, 0), 3},
		{"all of October 2026", utc(2026, 9, 30, 9, 0, 0), utc(2026, 10, 31, 9, 0, 0), 18},
		{"end of b's day counts", utc(2026, 3, 5, 9, 0, 0), utc(2026, 3, 6, 23, 59, 59), 1},
	}
	for _, tt := range tests {
		if got := c.WorkdaysBetween(tt.a, tt.b); got != tt.want {
			t.Errorf("%s: WorkdaysBetween = %d, want %d", tt.name, got, tt.want)
		}
	}
}

// fictional2027 is a made-up schedule for 2027, different from the one
// lunar-go carries (Spring Festival 02-05..02-13, 02-14 and 01-31 worked,
// National Day 10-01..07), to show that an operator's year replaces the
// library's entirely.
var fictional2027 = YearSchedule{
	Year:     2027,
	Holidays: []DayRange{{From: "2027-02-06", To: "2027-02-14", Name: "春节"}},
	Workdays: []string{"2027-02-20"},
}

func TestOperatorSchedule(t *testing.T) {
	lunar := NewCalendar()
	op := NewCalendar(fictional2027)
	tests := []struct {
		day        string
		lunar, op  bool
		opName     string
		opHasName  bool
		lunarNamed bool
	}{
		{"2027-02-05", false, true, "", false, true},    // Friday: lunar-go's holiday, not the operator's
		{"2027-02-06", false, false, "春节", true, true},  // both off
		{"2027-02-14", true, false, "春节", true, false},  // lunar-go's make-up Sunday, the operator's holiday
		{"2027-02-20", false, true, "", false, false},   // the operator's make-up Saturday
		{"2027-01-31", true, false, "", false, false},   // lunar-go's make-up Sunday is gone
		{"2027-01-01", false, true, "", false, true},    // 元旦 not in the operator's year: a Friday
		{"2027-10-01", false, true, "", false, true},    // nor National Day
		{"2026-02-14", true, true, "", false, false},    // 2026 untouched
		{"2026-10-01", false, false, "国庆节", true, true}, // 2026 untouched
	}
	for _, tt := range tests {
		d := day(t, tt.day)
		if got := lunar.IsWorkday(d); got != tt.lunar {
			t.Errorf("lunar-go %s: IsWorkday = %v, want %v", tt.day, got, tt.lunar)
		}
		if got := op.IsWorkday(d); got != tt.op {
			t.Errorf("operator %s: IsWorkday = %v, want %v", tt.day, got, tt.op)
		}
		if name, ok := op.HolidayName(d); name != tt.opName || ok != tt.opHasName {
			t.Errorf("operator %s: HolidayName = %q, %v; want %q, %v", tt.day, name, ok, tt.opName, tt.opHasName)
		}
		if _, ok := lunar.HolidayName(d); ok != tt.lunarNamed {
			t.Errorf("lunar-go %s: HolidayName ok = %v, want %v", tt.day, ok, tt.lunarNamed)
		}
	}
	// From 02-05: under the operator's schedule 02-15, 16, 17; under
	// lunar-go's 02-14 (make-up Sunday), 15, 16.
	if got, want := op.AddWorkdays(day(t, "2027-02-05"), 3), day(t, "2027-02-18"); !got.Equal(want) {
		t.Errorf("operator AddWorkdays(02-05, 3) = %s, want %s", got, want)
	}
	if got, want := lunar.AddWorkdays(day(t, "2027-02-05"), 3), day(t, "2027-02-17"); !got.Equal(want) {
		t.Errorf("lunar-go AddWorkdays(02-05, 3) = %s, want %s", got, want)
	}

	for _, y := range []int{2002, 2026, 2027} {
		if !lunar.Covers(y) {
			t.Errorf("lunar-go calendar does not cover %d", y)
		}
	}
	if lunar.Covers(2099) {
		t.Error("lunar-go calendar claims to cover 2099")
	}

	// A schedule for 2099 whose 元旦 starts in the previous December
	// (as 2019's did): those December days are governed by it, the rest of
	// 2098 stays Monday–Friday.
	y2099 := YearSchedule{
		Year:     2099,
		Holidays: []DayRange{{From: "2098-12-31", To: "2099-01-02", Name: "元旦"}},
		Workdays: []string{"2098-12-27"},
	}
	c := NewCalendar(y2099)
	if !c.Covers(2099) || c.Covers(2098) {
		t.Errorf("Covers(2099) = %v, Covers(2098) = %v; want true, false", c.Covers(2099), c.Covers(2098))
	}
	for _, tt := range []struct {
		day  string
		want bool
	}{{"2098-12-27", true}, {"2098-12-30", true}, {"2098-12-31", false}, {"2099-01-01", false}, {"2099-01-02", false}, {"2099-01-05", true}} {
		if got := c.IsWorkday(day(t, tt.day)); got != tt.want {
			t.Errorf("2099 schedule: IsWorkday(%s) = %v, want %v", tt.day, got, tt.want)
		}
	}
}

func TestScheduleYAML(t *testing.T) {
	// Dates as operators write them, unquoted.
	raw := `
year: 2027
holidays:
  - {from: 2027-02-06, to: 2027-02-14, name: 春节}
workdays: [2027-02-20]
`
	var ys YearSchedule
	if err := yaml.Unmarshal([]byte(raw), &ys); err != nil {
		t.Fatal(err)
	}
	if ys.Holidays[0].From != "2027-02-06" || ys.Holidays[0].To != "2027-02-14" || ys.Workdays[0] != "2027-02-20" {
		t.Fatalf("decoded %+v", ys)
	}
	if err := ValidateSchedules(ys); err != nil {
		t.Fatal(err)
	}
}

func TestValidateSchedules(t *testing.T) {
	tests := []struct {
		name string
		in   []YearSchedule
		want []string // substrings of the error
	}{
		{"bad date", []YearSchedule{{Year: 2027, Holidays: []DayRange{{From: "2027-2-5", To: "2027-02-13", Name: "春节"}}}},
			[]string{"calendar[0] (year 2027)", "holidays[0] (春节)", `from "2027-2-5" is not a date`}},
		{"impossible date", []YearSchedule{{Year: 2027, Workdays: []string{"2027-02-30"}}},
			[]string{"workdays[0]", `"2027-02-30" is not a date`}},
		{"from after to", []YearSchedule{{Year: 2027, Holidays: []DayRange{{From: "2027-02-13", To: "2027-02-05", Name: "春节"}}}},
			[]string{"holidays[0] (春节)", "to 2027-02-05 is before from 2027-02-13"}},
		{"missing to", []YearSchedule{{Year: 2027, Holidays: []DayRange{{From: "2027-02-13"}}}},
			[]string{"holidays[0]:", "to is missing"}},
		{"outside the year", []YearSchedule{{Year: 2027, Holidays: []DayRange{{From: "2028-01-01", To: "2028-01-01", Name: "元旦"}}}},
			[]string{"from 2028-01-01 is outside 2027"}},
		{"before the previous December", []YearSchedule{{Year: 2027, Workdays: []string{"2026-11-28"}}},
			[]string{"workdays[0]", "2026-11-28 is outside 2027"}},
		{"make-up day on a weekday", []YearSchedule{{Year: 2027, Workdays: []string{"2027-02-15"}}},
			[]string{"workdays[0]", "2027-02-15 is a Monday", "Saturday or Sunday"}},
		{"overlapping holidays", []YearSchedule{{Year: 2027, Holidays: []DayRange{
			{From: "2027-02-05", To: "2027-02-13", Name: "春节"}, {From: "2027-02-13", To: "2027-02-14", Name: "x"}}}},
			[]string{"holidays[1] (x)", "2027-02-13 is already listed as a holiday"}},
		{"workday inside a holiday", []YearSchedule{{Year: 2027, Holidays: []DayRange{{From: "2027-02-05", To: "2027-02-14", Name: "春节"}}, Workdays: []string{"2027-02-14"}}},
			[]string{"workdays[0]", "2027-02-14 is already listed as a holiday"}},
		{"year twice", []YearSchedule{{Year: 2027}, {Year: 2027}},
			[]string{"calendar[1] (year 2027)", "given twice"}},
		{"no year", []YearSchedule{{Holidays: []DayRange{{From: "2027-02-05", To: "2027-02-13"}}}},
			[]string{"calendar[0] (year 0)", "not a plausible schedule year"}},
		{"two problems reported together", []YearSchedule{{Year: 2027, Workdays: []string{"2027-02-15", "x"}}},
			[]string{"workdays[0]", "workdays[1]"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateSchedules(tt.in...)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			defer func() {
				if recover() == nil {
					t.Error("NewCalendar did not panic on an invalid schedule")
				}
			}()
			NewCalendar(tt.in...)
		})
	}
	if err := ValidateSchedules(fictional2027); err != nil {
		t.Errorf("valid schedule: %v", err)
	}
}

func BenchmarkAddWorkdays20(b *testing.B) {
	c := NewCalendar()
	start := utc(2026, 9, 14, 10, 0, 0)
	for b.Loop() {
		c.AddWorkdays(start, 20)
	}
}
