package events

import (
	"math"
	"sort"

	"yuqing/domain"
)

// HourlyRate is how many posts an hour of one event usually gets from a
// source: the mean and standard deviation of events' hourly counts.
type HourlyRate struct {
	Mean, Std float64
}

// Spike is the strongest burst in an event's hourly counts (event time): of
// the hours whose count exceeded both the source's usual rate and, once the
// event has run MinBaselineHours, its own trailing baseline, each by SpikeK
// standard deviations, the one that exceeded it by the most posts.
type Spike struct {
	Hour  int64 // unix hour
	Count int64 // posts in that hour
	// Threshold is the count the hour exceeded: the higher of the two
	// baselines' mean + SpikeK·σ.
	Threshold float64
	// Excess is Count − Threshold: what the growth term of the heat counts.
	Excess float64
	// Own reports whether the event's own baseline applied: the mean and σ
	// of its posts per hour in the BaselineHours before (hours without
	// posts count as 0), over at least MinBaselineHours.
	Own             bool
	OwnMean, OwnStd float64
	// Source's usual rate (SourceRates of the event's source).
	SourceMean, SourceStd float64
}

// sourceRate gives the usual hourly rate of a source: its own entry in
// SourceRates, else the "" entry, else one post an hour (σ 2).
func (c Config) sourceRate(source string) HourlyRate {
	if r, ok := c.SourceRates[source]; ok {
		return r
	}
	if r, ok := c.SourceRates[""]; ok {
		return r
	}
	return HourlyRate{Mean: 1, Std: 2}
}

// Spike finds the event's strongest burst (the earliest of equals). It depends only on the event's hourly counts and
// source, so it is the same whatever order the posts came in.
func (c Config) Spike(e domain.Event) (Spike, bool) {
	hours := make([]int64, 0, len(e.Hourly))
	for h, n := range e.Hourly {
		if n > 0 {
			hours = append(hours, h)
		}
	}
	counts := e.Hourly
	if len(hours) == 0 && e.PeakHourly > 0 {
		// an event without hourly counts (figures set by hand): its peak
		// hour alone, against the source's rate
		h := floorDiv(e.FirstAt.Unix(), 3600)
		hours, counts = []int64{h}, map[int64]int64{h: e.PeakHourly}
	}
	if len(hours) == 0 {
		return Spike{}, false
	}
	sort.Slice(hours, func(a, b int) bool { return hours[a] < hours[b] })
	src := c.sourceRate(e.Source)
	k := c.SpikeK
	srcThreshold := src.Mean + k*src.Std
	first := hours[0]
	var best Spike
	found := false
	// sum and sum of squares of the counts of hours[j:i], the posted hours
	// in the trailing window of hours[i]
	var sum, sq float64
	j := 0
	for i, h := range hours {
		if i > 0 {
			x := float64(counts[hours[i-1]])
			sum += x
			sq += x * x
		}
		for j < i && hours[j] < h-int64(c.BaselineHours) {
			x := float64(counts[hours[j]])
			sum -= x
			sq -= x * x
			j++
		}
		n := counts[h]
		if float64(n) <= srcThreshold || (found && float64(n)-srcThreshold <= best.Excess) {
			continue // the own baseline only raises the threshold
		}
		s := Spike{Hour: h, Count: n, Threshold: srcThreshold, SourceMean: src.Mean, SourceStd: src.Std}
		if span := min(h-first, int64(c.BaselineHours)); span >= int64(c.MinBaselineHours) {
			mean := sum / float64(span)
			v := sq/float64(span) - mean*mean
			s.Own, s.OwnMean, s.OwnStd = true, mean, math.Sqrt(math.Max(0, v))
			s.Threshold = math.Max(s.Threshold, s.OwnMean+k*s.OwnStd)
		}
		if s.Excess = float64(n) - s.Threshold; s.Excess > 0 && (!found || s.Excess > best.Excess) {
			best, found = s, true
		}
	}
	return best, found
}
