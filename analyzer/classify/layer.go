package classify

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// SpreadLayer is the rumor model's second stage: a logistic regression over
// the text model's rumor probability (as log-odds) and the first-hour spread
// features of a post (Spread), each standardised by its training mean and
// spread. It is a dozen weights, deterministic, and explains itself: a
// feature's weight times its standardised value is its share of the
// log-odds against an average training post. A feature that is unknown (no
// author, no picture count, no root time) counts as that average.
type SpreadLayer struct {
	Features []string          `json:"features"`
	Mean     []float64         `json:"mean"`
	Scale    []float64         `json:"scale"`
	Weights  []float64         `json:"weights"`
	Bias     float64           `json:"bias"`
	Info     map[string]string `json:"info,omitempty"`

	feats []*spreadFeature
}

// spreadFeature is one input of the layer: its raw value (ok false when
// unknown) and a Chinese phrase saying what was seen.
type spreadFeature struct {
	name     string
	value    func(p float64, s *Spread) (float64, bool)
	describe func(p float64, s *Spread) string
}

// DefaultSpreadFeatures are the inputs a trained layer uses, in order:
// those that backward elimination on the train split's cross-validated
// log-loss kept (TestRumorCompare); it dropped users (distinct-user share),
// nested (share reposting a repost) and first (delay of the first child).
//
//	text        log-odds of the text model's rumor probability
//	children    log(1+reposts and comments in the first hour)
//	with_text   share of them with words of their own
//	doubt       log(1+children with a doubt word: 真的吗, 求证 …)
//	refute      log(1+children with a refutation word: 谣言, 辟谣 …)
//	doubt_share share of the children with words of their own that doubt
//	            or refute
//	tenth       log(1+seconds to the 10th child), an hour if fewer
//	verified    the author is verified
//	followers   log(1+the author's followers)
//	pics        the post has pictures
var DefaultSpreadFeatures = []string{"text", "children", "with_text", "doubt", "refute", "doubt_share", "tenth", "verified", "followers", "pics"}

var slowest = math.Log1p(SpreadWindow.Seconds())

func share(n, of int) (float64, bool) {
	if of <= 0 {
		return 0, false
	}
	return float64(n) / float64(of), true
}

func delay(d time.Duration, known bool) (float64, bool) {
	if !known {
		return 0, false
	}
	if d < 0 {
		return slowest, true
	}
	return math.Log1p(min(d.Seconds(), SpreadWindow.Seconds())), true
}

func logit(p float64) float64 {
	p = min(max(p, 1e-4), 1-1e-4)
	return math.Log(p / (1 - p))
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

var spreadFeatures = []*spreadFeature{
	{"text", func(p float64, s *Spread) (float64, bool) { return logit(p), true },
		func(p float64, s *Spread) string { return fmt.Sprintf("正文虚假信息概率 %.2f", p) }},
	{"children", func(p float64, s *Spread) (float64, bool) { return math.Log1p(float64(s.Children)), s.Known },
		func(p float64, s *Spread) string { return fmt.Sprintf("首小时转评 %d 条", s.Children) }},
	{"users", func(p float64, s *Spread) (float64, bool) { return share(s.Users, s.Children) },
		func(p float64, s *Spread) string {
			return fmt.Sprintf("首小时 %d 条转评来自 %d 人", s.Children, s.Users)
		}},
	{"with_text", func(p float64, s *Spread) (float64, bool) { return share(s.WithText, s.Children) },
		func(p float64, s *Spread) string {
			return fmt.Sprintf("首小时转评带评论 %d%%", percent(s.WithText, s.Children))
		}},
	{"nested", func(p float64, s *Spread) (float64, bool) { return share(s.Nested, s.Children) },
		func(p float64, s *Spread) string {
			return fmt.Sprintf("首小时转评经二次转发 %d%%", percent(s.Nested, s.Children))
		}},
	{"doubt", func(p float64, s *Spread) (float64, bool) { return math.Log1p(float64(s.Doubt)), s.Known },
		func(p float64, s *Spread) string {
			if s.Doubt == 0 {
				return "首小时转评无人质疑真伪"
			}
			return fmt.Sprintf("首小时 %d 条转评质疑真伪%s", s.Doubt, cueList(s.Cues, doubtWords))
		}},
	{"refute", func(p float64, s *Spread) (float64, bool) { return math.Log1p(float64(s.Refute)), s.Known },
		func(p float64, s *Spread) string {
			if s.Refute == 0 {
				return "首小时转评无人称不实"
			}
			return fmt.Sprintf("首小时 %d 条转评称不实或辟谣%s", s.Refute, cueList(s.Cues, refuteWords))
		}},
	{"doubt_share", func(p float64, s *Spread) (float64, bool) { return share(s.Cued, s.WithText) },
		func(p float64, s *Spread) string {
			return fmt.Sprintf("首小时带评论的转评中 %d%% 质疑或辟谣", percent(s.Cued, s.WithText))
		}},
	{"tenth", func(p float64, s *Spread) (float64, bool) { return delay(s.Tenth, s.Known) },
		func(p float64, s *Spread) string {
			if s.Tenth < 0 {
				return "首小时转评不足 10 条"
			}
			return "第 10 条转评用时 " + zhDuration(s.Tenth)
		}},
	{"first", func(p float64, s *Spread) (float64, bool) { return delay(s.First, s.Known) },
		func(p float64, s *Spread) string {
			if s.First < 0 {
				return "首小时无转评"
			}
			return "首条转评用时 " + zhDuration(s.First)
		}},
	{"verified", func(p float64, s *Spread) (float64, bool) { return b2f(s.Verified), s.AuthorKnown },
		func(p float64, s *Spread) string {
			if s.Verified {
				return "作者已认证"
			}
			return "作者未认证"
		}},
	{"followers", func(p float64, s *Spread) (float64, bool) {
		return math.Log1p(float64(max(s.Followers, 0))), s.AuthorKnown
	},
		func(p float64, s *Spread) string { return "作者粉丝 " + zhCount(s.Followers) }},
	{"pics", func(p float64, s *Spread) (float64, bool) { return b2f(s.Pics > 0), s.PicsKnown },
		func(p float64, s *Spread) string {
			if s.Pics > 0 {
				return "带图"
			}
			return "无图"
		}},
}

// experimentalFeatures are for TestRumorCompare only: a model file naming
// one does not load.
var experimentalFeatures = []*spreadFeature{
	{"experiment", func(p float64, s *Spread) (float64, bool) { return logit(s.experiment), s.experiment > 0 },
		func(p float64, s *Spread) string { return fmt.Sprintf("实验特征 %.2f", s.experiment) }},
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func percent(n, of int) int {
	if of <= 0 {
		return 0
	}
	return int(math.Round(100 * float64(n) / float64(of)))
}

// cueList gives "（w1、w2）" for the cues that are in list, or "".
func cueList(cues, list []string) string {
	var in []string
	for _, c := range cues {
		if slices.Contains(list, c) {
			in = append(in, c)
		}
	}
	if len(in) == 0 {
		return ""
	}
	return "（" + strings.Join(in, "、") + "）"
}

func zhDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + " 秒"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " 分钟"
	}
	return strconv.FormatFloat(d.Hours(), 'f', 1, 64) + " 小时"
}

func zhCount(n int64) string {
	if n >= 10000 {
		return strconv.FormatFloat(float64(n)/10000, 'f', 1, 64) + " 万"
	}
	return strconv.FormatInt(n, 10)
}

// spreadFeatureByName gives the feature of a name, or nil; experimental
// features only when asked for.
func spreadFeatureByName(name string, experimental bool) *spreadFeature {
	for _, f := range spreadFeatures {
		if f.name == name {
			return f
		}
	}
	if experimental {
		for _, f := range experimentalFeatures {
			if f.name == name {
				return f
			}
		}
	}
	return nil
}

func (l *SpreadLayer) init() error {
	d := len(l.Features)
	if d == 0 || len(l.Mean) != d || len(l.Scale) != d || len(l.Weights) != d {
		return fmt.Errorf("classify: spread layer has %d features, %d means, %d scales, %d weights", d, len(l.Mean), len(l.Scale), len(l.Weights))
	}
	l.feats = make([]*spreadFeature, d)
	for i, n := range l.Features {
		if l.feats[i] = spreadFeatureByName(n, false); l.feats[i] == nil {
			return fmt.Errorf("classify: spread layer feature %q is unknown to this build", n)
		}
		if !(l.Scale[i] > 0) {
			return fmt.Errorf("classify: spread layer feature %q has scale %v", n, l.Scale[i])
		}
	}
	return nil
}

// standardise writes the layer's standardised inputs into z.
func (l *SpreadLayer) standardise(p float64, s *Spread, z []float64) {
	for i, f := range l.feats {
		v, ok := f.value(p, s)
		if ok {
			z[i] = (v - l.Mean[i]) / l.Scale[i]
		} else {
			z[i] = 0
		}
	}
}

// prob gives the layer's rumor probability, and each feature's contribution
// to the log-odds in contrib when it is not nil.
func (l *SpreadLayer) prob(p float64, s *Spread, contrib []float64) float64 {
	var buf [16]float64
	z := buf[:0]
	z = slices.Grow(z, len(l.feats))[:len(l.feats)]
	l.standardise(p, s, z)
	x := l.Bias
	for i, w := range l.Weights {
		x += w * z[i]
		if contrib != nil {
			contrib[i] = w * z[i]
		}
	}
	return sigmoid(x)
}

// HasSpread reports whether the model holds a spread layer (rumor models
// trained since spread features came; older files have none).
func (m *Model) HasSpread() bool { return m.Spread != nil }

// RiskWithSpread gives the false-information risk of a post from the text
// model's rumor probability (the root post's Analysis.Risk) and the first
// hour of its spread, with the reasons: up to four Chinese phrases naming
// what weighed most, strongest first, each with its share of the log-odds
// against an average post, e.g. "首小时 3 条转评质疑真伪（真的吗、求证）（+0.85）".
// A model without a spread layer gives textProb and no reasons.
func (m *Model) RiskWithSpread(textProb float64, s Spread) (float64, []string) {
	l := m.Spread
	if l == nil {
		return textProb, nil
	}
	var buf [16]float64
	contrib := slices.Grow(buf[:0], len(l.feats))[:len(l.feats)]
	risk := l.prob(textProb, &s, contrib)
	order := make([]int, len(contrib))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		x, y := math.Abs(contrib[a]), math.Abs(contrib[b])
		switch {
		case x > y:
			return -1
		case x < y:
			return 1
		}
		return 0
	})
	var reasons []string
	for _, i := range order[:min(4, len(order))] {
		c := contrib[i]
		if math.Abs(c) < 0.1 {
			break
		}
		if _, ok := l.feats[i].value(textProb, &s); !ok {
			continue
		}
		reasons = append(reasons, fmt.Sprintf("%s（%+.2f）", l.feats[i].describe(textProb, &s), c))
	}
	return risk, reasons
}

// layerRow is one training post of the layer.
type layerRow struct {
	p float64 // the text model's rumor probability, out of fold
	s Spread
	y float64 // 1 rumor, 0 not
}

// fitSpreadLayer fits the layer over names by L2-penalised logistic
// regression (Newton's method, the bias unpenalised) on rows.
func fitSpreadLayer(names []string, rows []layerRow, lambda float64) (*SpreadLayer, error) {
	d := len(names)
	l := &SpreadLayer{Features: slices.Clone(names), Mean: make([]float64, d), Scale: make([]float64, d), Weights: make([]float64, d)}
	l.feats = make([]*spreadFeature, d)
	for i, n := range names {
		if l.feats[i] = spreadFeatureByName(n, true); l.feats[i] == nil {
			return nil, fmt.Errorf("classify: unknown spread feature %q", n)
		}
	}
	// standardisation over the known values
	for i, f := range l.feats {
		var n, sum, sq float64
		for r := range rows {
			if v, ok := f.value(rows[r].p, &rows[r].s); ok {
				n++
				sum += v
				sq += v * v
			}
		}
		mean, sd := 0.0, 1.0
		if n > 0 {
			mean = sum / n
			if v := sq/n - mean*mean; v > 1e-12 {
				sd = math.Sqrt(v)
			}
		}
		l.Mean[i], l.Scale[i] = round6(mean), round6(sd)
		if !(l.Scale[i] > 0) {
			l.Scale[i] = 1
		}
	}
	x := make([][]float64, len(rows))
	y := make([]float64, len(rows))
	for r := range rows {
		x[r] = make([]float64, d)
		l.standardise(rows[r].p, &rows[r].s, x[r])
		y[r] = rows[r].y
	}
	w, b := newtonLR(x, y, lambda)
	for i := range w {
		l.Weights[i] = round4(w[i])
	}
	l.Bias = round4(b)
	return l, nil
}

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// newtonLR minimises Σ logloss + λ/2·|w|² over standardised x by Newton's
// method; the bias is not penalised. It is exact and deterministic for the
// few features of the layer.
func newtonLR(x [][]float64, y []float64, lambda float64) ([]float64, float64) {
	d := 0
	if len(x) > 0 {
		d = len(x[0])
	}
	k := d + 1 // the bias is the last parameter
	theta := make([]float64, k)
	g := make([]float64, k)
	h := make([][]float64, k)
	for i := range h {
		h[i] = make([]float64, k)
	}
	xi := make([]float64, k)
	for range 100 {
		for i := range k {
			g[i] = 0
			clear(h[i])
		}
		for r := range x {
			copy(xi, x[r])
			xi[d] = 1
			s := 0.0
			for i, v := range xi {
				s += theta[i] * v
			}
			p := sigmoid(s)
			wt := max(p*(1-p), 1e-12)
			for i, vi := range xi {
				g[i] += (p - y[r]) * vi
				for j := 0; j <= i; j++ {
					h[i][j] += wt * vi * xi[j]
				}
			}
		}
		for i := range k {
			for j := 0; j < i; j++ {
				h[j][i] = h[i][j]
			}
			if i < d {
				g[i] += lambda * theta[i]
				h[i][i] += lambda
			} else {
				h[i][i] += 1e-9
			}
		}
		step := solve(h, g)
		done := true
		for i := range theta {
			theta[i] -= step[i]
			if math.Abs(step[i]) > 1e-10 {
				done = false
			}
		}
		if done {
			break
		}
	}
	return theta[:d], theta[d]
}

// solve gives a solution of a·x = b for a small symmetric positive-definite
// a, by Gaussian elimination with partial pivoting; a and b are not changed.
func solve(a [][]float64, b []float64) []float64 {
	n := len(b)
	m := make([][]float64, n)
	for i := range m {
		m[i] = append(slices.Clone(a[i]), b[i])
	}
	for c := range n {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(m[r][c]) > math.Abs(m[p][c]) {
				p = r
			}
		}
		m[c], m[p] = m[p], m[c]
		if m[c][c] == 0 {
			continue
		}
		for r := c + 1; r < n; r++ {
			f := m[r][c] / m[c][c]
			for j := c; j <= n; j++ {
				m[r][j] -= f * m[c][j]
			}
		}
	}
	out := make([]float64, n)
	for i := n - 1; i >= 0; i-- {
		s := m[i][n]
		for j := i + 1; j < n; j++ {
			s -= m[i][j] * out[j]
		}
		if m[i][i] != 0 {
			out[i] = s / m[i][i]
		}
	}
	return out
}
