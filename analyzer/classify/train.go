package classify

import (
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"

	"yuqing/analyzer/segment"
	"yuqing/analyzer/textnorm"
)

// Tokenize cleans a text as the analyzer does (textnorm: markup, links and
// emoji out, traditional characters folded, bad bytes repaired) and cuts
// it, so that training and use see the same words.
func Tokenize(seg *segment.Segmenter, text string) []string {
	t := textnorm.Normalize(text)
	return TokenizeClean(seg, t.All())
}

// TrainOptions tune training; the zero value gives each kind's defaults.
type TrainOptions struct {
	Algo        string    // AlgoNB, AlgoLR, or "" to pick the better of both on the validation slice
	MinCount    int       // features seen fewer times in train are dropped (default 2)
	MaxFeatures int       // keep at most this many features, most frequent first (default 60,000)
	Alphas      []float64 // NB smoothing values tried on the validation slice
	// SpreadFeatures (rumor) are the inputs of the spread layer, from
	// DefaultSpreadFeatures when empty; NoSpread trains the text model only.
	SpreadFeatures []string
	NoSpread       bool
}

func (o *TrainOptions) defaults() {
	if o.MinCount <= 0 {
		o.MinCount = 2
	}
	if o.MaxFeatures <= 0 {
		o.MaxFeatures = 60000
	}
	if len(o.Alphas) == 0 {
		o.Alphas = []float64{0.05, 0.1, 0.3, 0.5, 1}
	}
	if len(o.SpreadFeatures) == 0 {
		o.SpreadFeatures = DefaultSpreadFeatures
	}
}

// Train reads the train split of files as kind, trains a model and writes it
// to out as gzip'd JSON, reporting progress to progress (which may be nil).
// A rumor model also gets its spread layer (SpreadLayer), trained on the
// same train split: see trainSpreadLayer.
func Train(kind string, files []string, out string, progress io.Writer) error {
	return TrainWith(kind, files, out, progress, TrainOptions{})
}

// TrainWith is Train with options.
func TrainWith(kind string, files []string, out string, progress io.Writer, opt TrainOptions) error {
	if progress == nil {
		progress = io.Discard
	}
	opt.defaults()
	seg, err := segment.Default()
	if err != nil {
		return fmt.Errorf("classify: segmenter: %w", err)
	}
	var exs []Example
	var cascades []Cascade // rumor: the posts of exs with their reposts and comments
	if kind == KindRumor {
		cascades, err = ReadCascades(files, SplitTrain)
		exs = examplesOf(cascades)
	} else {
		exs, err = ReadExamples(kind, files, SplitTrain)
	}
	if err != nil {
		return err
	}
	if len(exs) == 0 {
		return fmt.Errorf("classify: no %s training rows in %s", kind, strings.Join(files, ", "))
	}
	classes := classNames(exs)
	fmt.Fprintf(progress, "读取 %d 行训练数据 (rows=%d), 类别 %d 个 (classes): %s\n", len(exs), len(exs), len(classes), strings.Join(classes, ", "))
	if len(classes) < 2 {
		return fmt.Errorf("classify: %s training data has only class %q; need two or more", kind, classes[0])
	}
	docs := make([]doc, len(exs))
	for i, e := range exs {
		docs[i] = doc{tokens: Tokenize(seg, e.Text), label: slices.Index(classes, e.Label), valid: inValidation(e.group), key: textHash(e.group)}
		if (i+1)%5000 == 0 {
			fmt.Fprintf(progress, "已分词 %d/%d\n", i+1, len(docs))
		}
	}
	var fit, valid []doc
	for _, d := range docs {
		if d.valid {
			valid = append(valid, d)
		} else {
			fit = append(fit, d)
		}
	}
	fmt.Fprintf(progress, "训练 %d 行, 验证 %d 行 (validation slice of train)\n", len(fit), len(valid))

	// Tune on the validation slice with a model fitted on the rest of train.
	vocab := buildVocab(fit, seg, opt)
	best, bestAcc, bestAlgo := opt.Alphas[0], -1.0, AlgoNB
	var bestModel *Model
	if opt.Algo != AlgoLR {
		for _, a := range opt.Alphas {
			m := fitModel(kind, classes, vocab, fit, a, AlgoNB)
			acc := accuracy(m, valid)
			fmt.Fprintf(progress, "naive_bayes alpha=%g 验证准确率 %.4f\n", a, acc)
			if acc > bestAcc {
				best, bestAcc, bestModel = a, acc, m
			}
		}
	}
	if opt.Algo != AlgoNB {
		m := fitModel(kind, classes, vocab, fit, 0, AlgoLR)
		acc := accuracy(m, valid)
		fmt.Fprintf(progress, "logistic_regression 验证准确率 %.4f\n", acc)
		if acc > bestAcc {
			best, bestAcc, bestModel, bestAlgo = 0, acc, m, AlgoLR
		}
	}
	fmt.Fprintf(progress, "选用 %s (验证准确率 %.4f)\n", bestAlgo, bestAcc)
	temp := calibrate(bestModel, valid)
	bestModel.Temperature = temp
	threshold := 0.0
	if kind == KindSentiment {
		threshold = neutralThreshold(bestModel, valid, progress)
	}

	// Refit on the whole train split with the chosen settings.
	vocab = buildVocab(docs, seg, opt)
	m := fitModel(kind, classes, vocab, docs, best, bestAlgo)
	m.Temperature = temp
	m.NeutralThreshold = threshold
	m.Info = map[string]string{
		"rows":        strconv.Itoa(len(docs)),
		"algo":        bestAlgo,
		"alpha":       strconv.FormatFloat(best, 'g', -1, 64),
		"min_count":   strconv.Itoa(opt.MinCount),
		"valid_acc":   strconv.FormatFloat(bestAcc, 'f', 4, 64),
		"split":       splitInfo(kind),
		"data":        strings.Join(baseNames(files), ","),
		"temperature": strconv.FormatFloat(temp, 'g', -1, 64),
	}
	fmt.Fprintf(progress, "算法 %s, 特征 %d 个 (词 %d, 双字 %d), alpha=%g, 温度=%g", bestAlgo, len(m.Words)+len(m.Bigrams), len(m.Words), len(m.Bigrams), best, temp)
	if kind == KindSentiment {
		fmt.Fprintf(progress, ", 中性阈值=%.2f", threshold)
	}
	fmt.Fprintln(progress)

	if kind == KindRumor && !opt.NoSpread {
		if m.Spread, err = trainSpreadLayer(classes, docs, cascades, seg, opt, best, bestAlgo, temp, progress); err != nil {
			return err
		}
	}

	if dir := filepath.Dir(out); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("classify: %w", err)
		}
	}
	f, err := os.Create(out)
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	if err := m.Save(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("classify: write %s: %w", out, err)
	}
	fmt.Fprintf(progress, "模型已写入 %s\n", out)
	return nil
}

func baseNames(files []string) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = filepath.Base(f)
	}
	return out
}

type doc struct {
	tokens []string
	label  int
	valid  bool
	key    uint64 // textHash of the example's group: its fold
}

func splitInfo(kind string) string {
	if kind == KindRumor {
		return "fnv64a(near-duplicate group text)%10<8"
	}
	return "fnv64a(text)%10<8"
}

func classNames(exs []Example) []string {
	seen := map[string]bool{}
	var out []string
	for _, e := range exs {
		if !seen[e.Label] {
			seen[e.Label] = true
			out = append(out, e.Label)
		}
	}
	sort.Strings(out)
	return out
}

type vocabulary struct {
	words, bigrams []string
}

// buildVocab counts words (not stop words, with a letter or digit in them)
// and character bigrams and keeps the frequent ones.
func buildVocab(docs []doc, seg *segment.Segmenter, opt TrainOptions) vocabulary {
	wc := map[string]int{}
	bc := map[string]int{}
	for _, d := range docs {
		var prev rune = -1
		for _, t := range d.tokens {
			if !seg.IsStop(t) && strings.IndexFunc(t, isWordRune) >= 0 {
				wc[t]++
			}
			for _, r := range t {
				if !isWordRune(r) {
					prev = -1
					continue
				}
				if prev >= 0 {
					bc[string([]rune{prev, r})]++
				}
				prev = r
			}
		}
	}
	type fc struct {
		s    string
		word bool
		n    int
	}
	var all []fc
	for s, n := range wc {
		if n >= opt.MinCount {
			all = append(all, fc{s, true, n})
		}
	}
	for s, n := range bc {
		if n >= opt.MinCount {
			all = append(all, fc{s, false, n})
		}
	}
	slices.SortFunc(all, func(a, b fc) int {
		if a.n != b.n {
			return b.n - a.n
		}
		if a.word != b.word {
			if a.word {
				return -1
			}
			return 1
		}
		return strings.Compare(a.s, b.s)
	})
	if len(all) > opt.MaxFeatures {
		all = all[:opt.MaxFeatures]
	}
	var v vocabulary
	for _, f := range all {
		if f.word {
			v.words = append(v.words, f.s)
		} else {
			v.bigrams = append(v.bigrams, f.s)
		}
	}
	sort.Strings(v.words)
	sort.Strings(v.bigrams)
	return v
}

// fitModel trains a model of the given algorithm over vocab on docs.
func fitModel(kind string, classes []string, v vocabulary, docs []doc, alpha float64, algo string) *Model {
	c := len(classes)
	n := len(v.words) + len(v.bigrams)
	m := &Model{Kind: kind, Algo: algo, Classes: classes, Words: v.words, Bigrams: v.bigrams,
		Weights: make([]float32, n*c), Bias: make([]float32, c), Temperature: 1}
	if err := m.init(); err != nil {
		panic(err) // classes ≥ 2 and sizes are ours: a bug if this fails
	}
	if algo == AlgoLR {
		fitLR(m, docs)
		return m
	}
	counts := make([]float64, n*c)
	totals := make([]float64, c)
	prior := make([]float64, c)
	for _, d := range docs {
		prior[d.label]++
		m.forEachFeature(d.tokens, func(f int32) {
			counts[int(f)*c+d.label]++
			totals[d.label]++
		})
	}
	for k := range c {
		m.Bias[k] = float32(round4(math.Log((prior[k] + 1) / (float64(len(docs)) + float64(c)))))
		den := math.Log(totals[k] + alpha*float64(n))
		for f := range n {
			m.Weights[f*c+k] = float32(round4(math.Log(counts[f*c+k]+alpha) - den))
		}
	}
	return m
}

// fitLR trains softmax regression with plain SGD and L2 decay over
// length-normalised feature counts, the same scoring Probs uses.
func fitLR(m *Model, docs []doc) {
	c := len(m.Classes)
	type sparse struct {
		f     []int32
		scale float64
		label int
	}
	xs := make([]sparse, len(docs))
	for i, d := range docs {
		var fs []int32
		m.forEachFeature(d.tokens, func(f int32) { fs = append(fs, f) })
		s := 0.0
		if len(fs) > 0 {
			s = 1 / math.Sqrt(float64(len(fs)))
		}
		xs[i] = sparse{fs, s, d.label}
	}
	w := make([]float64, len(m.Weights))
	b := make([]float64, c)
	p := make([]float64, c)
	const epochs, lambda = 12, 1e-6
	rate := 0.5
	order := make([]int, len(xs))
	for i := range order {
		order[i] = i
	}
	rng := uint64(88172645463325252)
	for ep := range epochs {
		for i := len(order) - 1; i > 0; i-- { // deterministic shuffle (xorshift)
			rng ^= rng << 13
			rng ^= rng >> 7
			rng ^= rng << 17
			j := int(rng % uint64(i+1))
			order[i], order[j] = order[j], order[i]
		}
		lr := rate / (1 + float64(ep))
		for _, i := range order {
			x := xs[i]
			copy(p, b)
			for _, f := range x.f {
				for k := range c {
					p[k] += w[int(f)*c+k] * x.scale
				}
			}
			softmax(p)
			p[x.label]--
			for k := range c {
				b[k] -= lr * p[k]
			}
			for _, f := range x.f {
				for k := range c {
					g := p[k]*x.scale + lambda*w[int(f)*c+k]
					w[int(f)*c+k] -= lr * g
				}
			}
		}
	}
	for i, v := range w {
		m.Weights[i] = float32(round4(v))
	}
	for k, v := range b {
		m.Bias[k] = float32(round4(v))
	}
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

func accuracy(m *Model, docs []doc) float64 {
	if len(docs) == 0 {
		return 0
	}
	var ok int
	var buf []float64
	for _, d := range docs {
		buf = m.Probs(d.tokens, buf)
		if argmax(buf) == d.label {
			ok++
		}
	}
	return float64(ok) / float64(len(docs))
}

// calibrate picks the softmax temperature that minimises log-loss on the
// validation slice, so probabilities (and thresholds on them) mean something.
func calibrate(m *Model, valid []doc) float64 {
	if len(valid) == 0 {
		return 1
	}
	best, bestLoss := 1.0, math.Inf(1)
	var buf []float64
	for _, t := range []float64{0.25, 0.35, 0.5, 0.7, 1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64} {
		m.Temperature = t
		loss := 0.0
		for _, d := range valid {
			buf = m.Probs(d.tokens, buf)
			loss -= math.Log(max(buf[d.label], 1e-12))
		}
		if loss < bestLoss {
			best, bestLoss = t, loss
		}
	}
	m.Temperature = best
	return best
}

// neutralThreshold picks the lowest top-probability threshold at which the
// sentiment predictions kept are at least 92% precise on the validation
// slice, between 0.6 and 0.9: below it the text is called neutral. Reviews
// are the training text; on news and Weibo posts the model is less sure, so
// the bar is set where it removes the guesses without silencing clear cases.
func neutralThreshold(m *Model, valid []doc, progress io.Writer) float64 {
	type pr struct {
		p  float64
		ok bool
	}
	var ps []pr
	var buf []float64
	for _, d := range valid {
		buf = m.Probs(d.tokens, buf)
		k := argmax(buf)
		ps = append(ps, pr{buf[k], k == d.label})
	}
	chosen := 0.9
	for t := 0.6; t <= 0.9001; t += 0.05 {
		var kept, ok int
		for _, x := range ps {
			if x.p >= t {
				kept++
				if x.ok {
					ok++
				}
			}
		}
		prec := float64(ok) / float64(max(kept, 1))
		fmt.Fprintf(progress, "阈值 %.2f: 保留 %.1f%%, 精确率 %.4f\n", t, 100*float64(kept)/float64(max(len(ps), 1)), prec)
		if prec >= 0.92 && chosen == 0.9 {
			chosen = math.Round(t*100) / 100
		}
	}
	return chosen
}
