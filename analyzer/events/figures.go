package events

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"yuqing/domain"
)

// Rate gives an event's heat (0–100, one decimal), proposed grade and the
// reasons behind both, in Chinese.
//
// Heat is a weighted sum of three log-scaled terms, each 0 for nothing and 1
// at its *Full value: volume (posts), growth (posts in the busiest hour of
// event time) and reach (followers). The grading score is the heat plus a
// bonus for a high rumour risk and one for a high negative share; the grade
// is the highest whose threshold the score reaches, and none below GradeIV
// or below MinPosts posts.
func (c Config) Rate(e domain.Event) (heat float64, grade domain.Grade, reasons []string) {
	v := logTerm(float64(e.Posts), c.VolumeFull)
	gr := logTerm(float64(e.PeakHourly), c.GrowthFull)
	r := logTerm(float64(e.Reach), c.ReachFull)
	heat = 100 * (c.WVolume*v + c.WGrowth*gr + c.WReach*r) / (c.WVolume + c.WGrowth + c.WReach)
	heat = math.Round(heat*10) / 10

	var negShare float64
	if e.Posts > 0 {
		negShare = float64(e.Negative) / float64(e.Posts)
	}
	reasons = []string{
		fmt.Sprintf("帖文及转评 %s 条", thousands(e.Posts)),
		fmt.Sprintf("峰值 1 小时 %s 条", thousands(e.PeakHourly)),
		fmt.Sprintf("覆盖粉丝约 %s", approx(e.Reach)),
		fmt.Sprintf("负面占比 %d%%", int(math.Round(negShare*100))),
		fmt.Sprintf("谣言风险 %.2f", e.Risk),
	}
	score := heat
	if e.Posts >= c.MinPosts {
		if e.Risk > c.RiskHigh {
			b := c.RiskWeight * clamp01((e.Risk-c.RiskHigh)/(1-c.RiskHigh))
			score += b
			reasons = append(reasons, fmt.Sprintf("谣言风险高，加权 +%.1f", b))
		}
		if negShare > c.NegHigh {
			b := c.NegWeight * clamp01((negShare-c.NegHigh)/0.4)
			score += b
			reasons = append(reasons, fmt.Sprintf("负面占比高，加权 +%.1f", b))
		}
	}
	score = math.Round(score*10) / 10
	switch {
	case e.Posts < c.MinPosts:
		grade = domain.GradeNone
	case score >= c.GradeI:
		grade = domain.GradeI
	case score >= c.GradeII:
		grade = domain.GradeII
	case score >= c.GradeIII:
		grade = domain.GradeIII
	case score >= c.GradeIV:
		grade = domain.GradeIV
	}
	switch {
	case e.Posts < c.MinPosts:
		reasons = append(reasons, fmt.Sprintf("热度 %.1f；帖文不足 %d 条，未达分级", heat, c.MinPosts))
	case grade == domain.GradeNone:
		reasons = append(reasons, fmt.Sprintf("热度 %.1f，综合分 %.1f，低于 IV 级阈值 %s，未达分级", heat, score, num(c.GradeIV)))
	default:
		reasons = append(reasons, fmt.Sprintf("热度 %.1f，综合分 %.1f ≥ %s 级阈值 %s，拟定 %s 级（%s）", heat, score, grade, num(c.threshold(grade)), grade, grade.Zh()))
	}
	return heat, grade, reasons
}

func (c Config) threshold(g domain.Grade) float64 {
	switch g {
	case domain.GradeI:
		return c.GradeI
	case domain.GradeII:
		return c.GradeII
	case domain.GradeIII:
		return c.GradeIII
	default:
		return c.GradeIV
	}
}

func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

func logTerm(x, full float64) float64 {
	if x <= 0 || full <= 0 {
		return 0
	}
	return clamp01(math.Log1p(x) / math.Log1p(full))
}

func clamp01(x float64) float64 { return math.Max(0, math.Min(1, x)) }

// thousands writes 1234567 as "1,234,567".
func thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, ch := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(ch)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// approx writes a count the Chinese way: 9,876, 22.7 万, 1.3 亿.
func approx(n int64) string {
	switch {
	case n >= 100_000_000:
		return strconv.FormatFloat(float64(n)/1e8, 'f', 1, 64) + " 亿"
	case n >= 10_000:
		return strconv.FormatFloat(float64(n)/1e4, 'f', 1, 64) + " 万"
	default:
		return thousands(n)
	}
}

// Simhash is the 64-bit SimHash of a text's words (those with a letter or a
// digit, each occurrence weighing one). Texts with fewer than minDistinct
// distinct words get 0, which means "no fingerprint".
func Simhash(tokens []string, minDistinct int) uint64 {
	var acc [64]int32
	distinct := make(map[string]struct{}, len(tokens))
	for _, t := range tokens {
		if !wordy(t) {
			continue
		}
		distinct[t] = struct{}{}
		h := fnv.New64a()
		h.Write([]byte(t))
		x := h.Sum64()
		for i := 0; i < 64; i++ {
			if x&(1<<uint(i)) != 0 {
				acc[i]++
			} else {
				acc[i]--
			}
		}
	}
	if len(distinct) < minDistinct || len(distinct) == 0 {
		return 0
	}
	var out uint64
	for i := 0; i < 64; i++ {
		if acc[i] > 0 {
			out |= 1 << uint(i)
		}
	}
	if out == 0 {
		out = 1 // 0 is reserved for "none"
	}
	return out
}

// Hamming is the number of differing bits.
func Hamming(a, b uint64) int { return bits.OnesCount64(a ^ b) }

func wordy(t string) bool {
	for _, r := range t {
		if unicode.IsLetter(r) || unicode.IsNumber(r) {
			return true
		}
	}
	return false
}

// topWords gives the n heaviest keywords' words, sorted alphabetically.
func topWords(kws []domain.Keyword, n int) []string {
	if len(kws) == 0 {
		return nil
	}
	k := append([]domain.Keyword(nil), kws...)
	sort.SliceStable(k, func(a, b int) bool {
		if k[a].Weight != k[b].Weight {
			return k[a].Weight > k[b].Weight
		}
		return k[a].Word < k[b].Word
	})
	out := make([]string, 0, n)
	seen := map[string]struct{}{}
	for _, kw := range k {
		if len(out) == n {
			break
		}
		w := strings.TrimSpace(kw.Word)
		if w == "" {
			continue
		}
		if _, ok := seen[w]; ok {
			continue
		}
		seen[w] = struct{}{}
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// Jaccard gives the words two sets share and their Jaccard index.
func Jaccard(a, b []string) (shared int, j float64) {
	if len(a) == 0 || len(b) == 0 {
		return 0, 0
	}
	for _, x := range a {
		for _, y := range b {
			if x == y {
				shared++
				break
			}
		}
	}
	return shared, float64(shared) / float64(len(a)+len(b)-shared)
}

// provinces are China's provincial-level divisions, short name → full name.
var provinces = [][2]string{
	{"北京", "北京市"}, {"天津", "天津市"}, {"上海", "上海市"}, {"重庆", "重庆市"},
	{"河北", "河北省"}, {"山西", "山西省"}, {"辽宁", "辽宁省"}, {"吉林", "吉林省"},
	{"黑龙江", "黑龙江省"}, {"江苏", "江苏省"}, {"浙江", "浙江省"}, {"安徽", "安徽省"},
	{"福建", "福建省"}, {"江西", "江西省"}, {"山东", "山东省"}, {"河南", "河南省"},
	{"湖北", "湖北省"}, {"湖南", "湖南省"}, {"广东", "广东省"}, {"海南", "海南省"},
	{"四川", "四川省"}, {"贵州", "贵州省"}, {"云南", "云南省"}, {"陕西", "陕西省"},
	{"甘肃", "甘肃省"}, {"青海", "青海省"}, {"台湾", "台湾省"},
	{"内蒙古", "内蒙古自治区"}, {"广西", "广西壮族自治区"}, {"西藏", "西藏自治区"},
	{"宁夏", "宁夏回族自治区"}, {"新疆", "新疆维吾尔自治区"},
	{"香港", "香港特别行政区"}, {"澳门", "澳门特别行政区"},
}

// regionOf gives the post's region, else the province of its first place
// (the place itself when it names no province).
func regionOf(d *domain.IndexedPost) string {
	if r := strings.TrimSpace(d.Region); r != "" {
		return r
	}
	if len(d.Analysis.Places) == 0 {
		return ""
	}
	return Province(d.Analysis.Places[0])
}

// Province gives the full name of the province a place name starts with, or
// the place itself when it starts with none.
func Province(place string) string {
	place = strings.TrimSpace(place)
	for _, p := range provinces {
		if strings.HasPrefix(place, p[0]) {
			return p[1]
		}
	}
	return place
}
