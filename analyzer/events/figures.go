package events

import (
	"fmt"
	"hash/fnv"
	"math"
	"math/bits"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"yuqing/domain"
)

// Rate gives an event's heat (0–100, one decimal), proposed grade and the
// reasons behind both, in Chinese.
//
// Heat is a weighted mean of three log-scaled terms, each 0 for nothing and
// 1 at its *Full value: volume (posts), growth (the posts by which the
// strongest spike exceeded mean + SpikeK·σ of the event's own trailing hours
// and of the source's usual rate; 0 without a spike) and reach (followers capped per post,
// posts by verified authors, reposts reported), plus points for the most
// authoritative source and for a high negative share. The grading score is
// the heat plus a bonus for a high rumour risk; the grade is the highest
// whose threshold the score reaches, and none below GradeIV or below
// MinPosts posts (which get no points or bonus either).
func (c Config) Rate(e domain.Event) (heat float64, grade domain.Grade, reasons []string) {
	v := logTerm(float64(e.Posts), c.VolumeFull)
	spike, spiked := c.Spike(e)
	var gr float64
	if spiked {
		gr = logTerm(spike.Excess, c.GrowthFull)
	}
	rf := logTerm(float64(e.Reach), c.ReachFull)
	rv := logTerm(float64(e.Verified), c.VerifiedFull)
	rr := logTerm(float64(e.Reposts), c.RepostsFull)
	r := (c.WFollowers*rf + c.WVerified*rv + c.WReposts*rr) / (c.WFollowers + c.WVerified + c.WReposts)
	heat = 100 * (c.WVolume*v + c.WGrowth*gr + c.WReach*r) / (c.WVolume + c.WGrowth + c.WReach)

	var negShare float64
	if e.Posts > 0 {
		negShare = float64(e.Negative) / float64(e.Posts)
	}
	graded := e.Posts >= c.MinPosts
	reasons = []string{
		fmt.Sprintf("帖文及转评 %s 条", thousands(e.Posts)),
		fmt.Sprintf("峰值 1 小时 %s 条", thousands(e.PeakHourly)),
		c.growthReason(e, spike, spiked),
	}
	reach := fmt.Sprintf("覆盖粉丝约 %s", approx(e.Reach))
	if e.Verified > 0 {
		reach += fmt.Sprintf("，认证作者发帖 %s 条", thousands(e.Verified))
	}
	if e.Reposts > 0 {
		reach += fmt.Sprintf("，来源显示转发 %s 次", thousands(e.Reposts))
	}
	reasons = append(reasons, reach)
	if e.Authority > 0 && e.Authority < len(c.AuthorityPoints) {
		if p := c.AuthorityPoints[e.Authority]; graded && p > 0 {
			heat += p
			reasons = append(reasons, fmt.Sprintf("来源权威：%s，热度 +%.1f", e.AuthorityBy, p))
		} else {
			reasons = append(reasons, fmt.Sprintf("来源权威：%s", e.AuthorityBy))
		}
	}
	reasons = append(reasons, fmt.Sprintf("负面占比 %d%%", int(math.Round(negShare*100))))
	if graded && negShare > c.NegHigh {
		b := c.NegWeight * clamp01((negShare-c.NegHigh)/0.4)
		heat += b
		reasons = append(reasons, fmt.Sprintf("负面占比高（超过 %d%%），热度 +%.1f", int(math.Round(c.NegHigh*100)), b))
	}
	heat = math.Round(math.Min(100, heat)*10) / 10

	if sp := e.Spread; sp != nil && sp.Done {
		why := ""
		if len(sp.Reasons) > 0 {
			why = "：" + strings.Join(sp.Reasons, "；")
		}
		reasons = append(reasons, fmt.Sprintf("谣言风险 %.2f（正文 %.2f，结合首小时传播%s）", e.Risk, sp.TextRisk, why))
	} else {
		reasons = append(reasons, fmt.Sprintf("谣言风险 %.2f", e.Risk))
	}
	score := heat
	if graded && e.Risk > c.RiskHigh {
		b := c.RiskWeight * clamp01((e.Risk-c.RiskHigh)/(1-c.RiskHigh))
		score += b
		reasons = append(reasons, fmt.Sprintf("谣言风险高，加权 +%.1f", b))
	}
	score = math.Round(score*10) / 10
	switch {
	case !graded:
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
	case !graded:
		reasons = append(reasons, fmt.Sprintf("热度 %.1f；帖文不足 %d 条，未达分级", heat, c.MinPosts))
	case grade == domain.GradeNone:
		reasons = append(reasons, fmt.Sprintf("热度 %.1f，综合分 %.1f，低于 IV 级阈值 %s，未达分级", heat, score, num(c.GradeIV)))
	default:
		reasons = append(reasons, fmt.Sprintf("热度 %.1f，综合分 %.1f ≥ %s 级阈值 %s，拟定 %s 级（%s）", heat, score, grade, num(c.threshold(grade)), grade, grade.Zh()))
	}
	return heat, grade, reasons
}

// growthReason says whether and where the event spiked, against which
// baseline: "突增：… 每小时 120 条，超过该事件此前 24 小时均值 8.0 + 3σ（阈值 26.4）".
func (c Config) growthReason(e domain.Event, s Spike, ok bool) string {
	k := num(c.SpikeK)
	src := e.Source
	if src == "" {
		src = "该来源"
	} else {
		src = "来源 " + src
	}
	srcPart := fmt.Sprintf("%s通常每小时均值 %.1f + %sσ（%.1f）", src, s.SourceMean, k, s.SourceMean+c.SpikeK*s.SourceStd)
	if !ok {
		rate := c.sourceRate(e.Source)
		return fmt.Sprintf("无突增：没有一小时超过此前均值 + %sσ 及%s通常每小时均值 %.1f + %sσ（%.1f）",
			k, strings.TrimPrefix(src, "该"), rate.Mean, k, rate.Mean+c.SpikeK*rate.Std)
	}
	at := time.Unix(s.Hour*3600, 0).In(domain.China).Format("2006-01-02 15 时")
	if !s.Own {
		return fmt.Sprintf("突增：%s每小时 %s 条，超过%s，超出 %.0f 条（事件不足 %d 小时，尚无自身基线）",
			at, thousands(s.Count), srcPart, s.Excess, c.MinBaselineHours)
	}
	own := fmt.Sprintf("该事件此前 %d 小时均值 %.1f + %sσ（%.1f）", c.BaselineHours, s.OwnMean, k, s.OwnMean+c.SpikeK*s.OwnStd)
	return fmt.Sprintf("突增：%s每小时 %s 条，超过%s及%s，超出 %.0f 条", at, thousands(s.Count), own, srcPart, s.Excess)
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
		x := mix64(h.Sum64())
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

// mix64 is MurmurHash3's finaliser: FNV-1a alone barely changes its high
// bits when only a word's last byte differs (词1001, 词1002; 北京市, 北京站),
// so words alike in spelling would pull fingerprints together.
func mix64(x uint64) uint64 {
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
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

// Jaccard gives the words two sets share and their Jaccard index. (The
// grouping weighs shared words by their rarity instead: see Config.)
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
