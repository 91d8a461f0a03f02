package crawler

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"yuqing/domain"
)

// Source statuses.
const (
	StatusNew    = "new"    // not run yet
	StatusOK     = "ok"     // runs and yields items as its history says it should
	StatusSilent = "silent" // runs, but no new item for much longer than usual
	StatusBroken = "broken" // the last runs failed
)

// brokenAfter is the number of failed runs in a row that makes a source
// broken, once it has worked; a source that never worked is broken at once.
const brokenAfter = 3

// Health is a source's schedule and health, kept in the crawler's state so
// that a restart keeps both.
type Health struct {
	Source            string        `json:"source"`
	Status            string        `json:"status"`
	Reason            string        `json:"reason,omitempty"`
	Interval          time.Duration `json:"interval_ns"` // current adaptive interval
	NextRun           time.Time     `json:"next_run,omitzero"`
	FirstRun          time.Time     `json:"first_run,omitzero"`
	LastRun           time.Time     `json:"last_run,omitzero"`
	LastSuccess       time.Time     `json:"last_success,omitzero"`
	LastNew           time.Time     `json:"last_new,omitzero"`
	LastError         string        `json:"last_error,omitempty"`
	ConsecutiveErrors int           `json:"consecutive_errors"`
	Runs              int64         `json:"runs"`
	FailedRuns        int64         `json:"failed_runs"`
	ErrorRate         float64       `json:"error_rate"` // share of failed runs, recent runs weighing more
	Items             int64         `json:"items"`      // posts emitted since the first run
	MeanGap           time.Duration `json:"mean_gap_ns"`
	Daily             []DayCount    `json:"daily,omitempty"` // posts per day, last 14 days
}

// DayCount is the posts a source gave on one day (China time).
type DayCount struct {
	Day string `json:"day"`
	N   int64  `json:"n"`
}

// ItemsPerDay is the mean of the last 7 days' counts, today excluded.
func (h *Health) ItemsPerDay(now time.Time) float64 {
	today := now.In(china).Format("2006-01-02")
	var sum int64
	days := 0
	for _, d := range h.Daily {
		if d.Day != today {
			sum += d.N
			days++
		}
	}
	if days == 0 {
		return 0
	}
	return float64(sum) / float64(days)
}

var china = domain.China

// record updates health and the adaptive schedule after a run: the
// interval halves when the run found new items and grows by half when it
// did not (doubling on failure), within the source's bounds.
func (h *Health) record(res Result, l Limits, now time.Time) {
	if h.FirstRun.IsZero() {
		h.FirstRun = now
	}
	if h.Interval <= 0 {
		h.Interval = l.Interval
	}
	h.Runs++
	h.LastRun = now
	failed := res.Failed
	rate := 0.0
	if failed {
		rate = 1
		h.FailedRuns++
		h.ConsecutiveErrors++
		h.Interval *= 2
	} else {
		h.ConsecutiveErrors = 0
		h.LastSuccess = now
		if res.New > 0 {
			h.Interval /= 2
		} else {
			h.Interval = h.Interval * 3 / 2
		}
	}
	h.ErrorRate = 0.8*h.ErrorRate + 0.2*rate
	if len(res.Errors) > 0 {
		h.LastError = res.Errors[len(res.Errors)-1]
	} else if !failed {
		h.LastError = ""
	}
	if res.New > 0 {
		if !h.LastNew.IsZero() {
			gap := now.Sub(h.LastNew)
			if h.MeanGap == 0 {
				h.MeanGap = gap
			} else {
				h.MeanGap = time.Duration(0.7*float64(h.MeanGap) + 0.3*float64(gap))
			}
		}
		h.LastNew = now
		h.Items += int64(res.New)
		h.addDaily(now, int64(res.New))
	}
	h.Interval = min(max(h.Interval, l.MinInterval), l.MaxInterval)
	h.NextRun = now.Add(h.Interval)
	h.evaluate(l, now)
}

func (h *Health) addDaily(now time.Time, n int64) {
	day := now.In(china).Format("2006-01-02")
	if k := len(h.Daily); k > 0 && h.Daily[k-1].Day == day {
		h.Daily[k-1].N += n
	} else {
		h.Daily = append(h.Daily, DayCount{Day: day, N: n})
	}
	sort.Slice(h.Daily, func(i, j int) bool { return h.Daily[i].Day < h.Daily[j].Day })
	if len(h.Daily) > 14 {
		h.Daily = h.Daily[len(h.Daily)-14:]
	}
}

// SilentAfter is how long without a new item makes this source silent: the
// configured value, else four times its usual gap between new items
// (between 1 hour and 3 days), else a day.
func (h *Health) SilentAfter(l Limits) time.Duration {
	switch {
	case l.SilentAfter > 0:
		return l.SilentAfter
	case h.MeanGap > 0:
		return min(max(4*h.MeanGap, time.Hour), 72*time.Hour)
	}
	return 24 * time.Hour
}

// evaluate sets Status and Reason from the history, as of now.
func (h *Health) evaluate(l Limits, now time.Time) {
	switch {
	case h.Runs == 0:
		h.Status, h.Reason = StatusNew, "尚未运行"
	case h.ConsecutiveErrors >= brokenAfter:
		h.Status = StatusBroken
		h.Reason = fmt.Sprintf("连续 %d 次抓取失败：%s", h.ConsecutiveErrors, clip(h.LastError, 300))
	case h.ConsecutiveErrors > 0 && h.LastSuccess.IsZero():
		h.Status = StatusBroken // it never worked: no reason to wait for more failures
		h.Reason = fmt.Sprintf("从未抓取成功（%d 次）：%s", h.ConsecutiveErrors, clip(h.LastError, 300))
	default:
		since := h.LastNew
		if since.IsZero() {
			since = h.FirstRun
		}
		limit := h.SilentAfter(l)
		if now.Sub(since) > limit {
			h.Status = StatusSilent
			what := "最近一条新内容在 " + h.LastNew.In(china).Format("2006-01-02 15:04")
			if h.LastNew.IsZero() {
				what = "自首次运行以来没有任何新内容"
			}
			h.Reason = fmt.Sprintf("已 %s 没有新内容（通常不超过 %s）；%s。请确认信息源是否改版或被屏蔽，不要把沉默当作平静",
				roundDur(now.Sub(since)), roundDur(limit), what)
		} else {
			h.Status, h.Reason = StatusOK, ""
		}
	}
}

func roundDur(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%.1f 天", d.Hours()/24)
	case d >= time.Hour:
		return fmt.Sprintf("%.1f 小时", d.Hours())
	}
	return strings.TrimSuffix(d.Round(time.Second).String(), "0s")
}
