package classify

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"

	"yuqing/analyzer/segment"
)

// The spread layer is trained on the train split only, on probabilities the
// text model gave posts it did not see: the train split is cut into
// spreadFolds folds by post (by near-duplicate group, like the split), and
// each fold's posts are scored by a text model fitted, with the settings
// chosen for the final model, on the other folds (out-of-fold stacking). The
// layer's penalty is chosen by cross-validation over the same folds.
const spreadFolds = 5

// spreadLambdas are the L2 penalties tried for the layer.
var spreadLambdas = []float64{0.3, 1, 3, 10, 30, 100}

// foldOf gives the fold of a train post from the hash of its group; the bits
// used are not those of the split (%10) or the validation slice (/10%8).
func foldOf(key uint64) int { return int((key / 80) % spreadFolds) }

// oofProbs gives each doc's class-`class` probability from a text model
// fitted on the other folds.
func oofProbs(kind string, classes []string, docs []doc, seg *segment.Segmenter, opt TrainOptions, alpha float64, algo string, temp float64, class int) []float64 {
	p := make([]float64, len(docs))
	for k := range spreadFolds {
		var fit []doc
		var held []int
		for i, d := range docs {
			if foldOf(d.key) == k {
				held = append(held, i)
			} else {
				fit = append(fit, d)
			}
		}
		if len(held) == 0 {
			continue
		}
		m := fitModel(kind, classes, buildVocab(fit, seg, opt), fit, alpha, algo)
		m.Temperature = temp
		var buf []float64
		for _, i := range held {
			buf = m.Probs(docs[i].tokens, buf)
			p[i] = buf[class]
		}
	}
	return p
}

// layerCV fits the layer on all folds but one and scores the one left, for
// each fold: it gives the held-out probabilities and the total log-loss.
func layerCV(names []string, rows []layerRow, folds []int, lambda float64) ([]float64, float64, error) {
	out := make([]float64, len(rows))
	loss := 0.0
	for k := range spreadFolds {
		var fit []layerRow
		for i, r := range rows {
			if folds[i] != k {
				fit = append(fit, r)
			}
		}
		if len(fit) == len(rows) {
			continue
		}
		l, err := fitSpreadLayer(names, fit, lambda)
		if err != nil {
			return nil, 0, err
		}
		for i := range rows {
			if folds[i] == k {
				out[i] = l.prob(rows[i].p, &rows[i].s, nil)
				loss += logLoss(out[i], rows[i].y)
			}
		}
	}
	return out, loss, nil
}

func logLoss(p, y float64) float64 {
	p = min(max(p, 1e-12), 1-1e-12)
	return -(y*math.Log(p) + (1-y)*math.Log(1-p))
}

// binaryScore gives the report of probabilities p of the positive class
// (index pos of 2) against rows' labels, at threshold 0.5.
func binaryScore(p []float64, rows []layerRow, pos int) Report {
	conf := [][]int{{0, 0}, {0, 0}}
	for i, r := range rows {
		truth, pred := 1-pos, 1-pos
		if r.y == 1 {
			truth = pos
		}
		if p[i] >= 0.5 {
			pred = pos
		}
		conf[truth][pred]++
	}
	return Score(conf)
}

// trainSpreadLayer trains the rumor model's spread layer on the train docs
// and their cascades (docs[i] is cascades[i]'s post).
func trainSpreadLayer(classes []string, docs []doc, cascades []Cascade, seg *segment.Segmenter, opt TrainOptions, alpha float64, algo string, temp float64, progress io.Writer) (*SpreadLayer, error) {
	rumor := slices.Index(classes, "rumor")
	if rumor < 0 || len(classes) != 2 {
		return nil, fmt.Errorf("classify: rumor classes %v, want non-rumor and rumor", classes)
	}
	if len(docs) != len(cascades) {
		return nil, fmt.Errorf("classify: %d posts for %d cascades", len(docs), len(cascades))
	}
	p := oofProbs(KindRumor, classes, docs, seg, opt, alpha, algo, temp, rumor)
	rows := make([]layerRow, len(docs))
	folds := make([]int, len(docs))
	for i, d := range docs {
		rows[i] = layerRow{p: p[i], s: cascades[i].Spread(), y: b2f(d.label == rumor)}
		folds[i] = foldOf(d.key)
	}
	text := binaryScore(p, rows, rumor)
	fmt.Fprintf(progress, "传播层: 训练集 %d 帖按帖分 %d 折, 正文模型折外概率 (out-of-fold) 准确率 %.4f macro_f1 %.4f\n", len(rows), spreadFolds, text.Accuracy, text.MacroF1)
	best, bestLoss := spreadLambdas[0], math.Inf(1)
	var bestRep Report
	for _, lambda := range spreadLambdas {
		cv, loss, err := layerCV(opt.SpreadFeatures, rows, folds, lambda)
		if err != nil {
			return nil, err
		}
		r := binaryScore(cv, rows, rumor)
		fmt.Fprintf(progress, "传播层 lambda=%g 交叉验证 log-loss %.4f 准确率 %.4f macro_f1 %.4f\n", lambda, loss/float64(len(rows)), r.Accuracy, r.MacroF1)
		if loss < bestLoss {
			best, bestLoss, bestRep = lambda, loss, r
		}
	}
	l, err := fitSpreadLayer(opt.SpreadFeatures, rows, best)
	if err != nil {
		return nil, err
	}
	l.Info = map[string]string{
		"rows":         strconv.Itoa(len(rows)),
		"window":       SpreadWindow.String(),
		"stacking":     strconv.Itoa(spreadFolds) + "-fold out-of-fold text probabilities, folds by post group",
		"lambda":       strconv.FormatFloat(best, 'g', -1, 64),
		"cv_logloss":   strconv.FormatFloat(bestLoss/float64(len(rows)), 'f', 4, 64),
		"cv_acc":       strconv.FormatFloat(bestRep.Accuracy, 'f', 4, 64),
		"cv_macro_f1":  strconv.FormatFloat(bestRep.MacroF1, 'f', 4, 64),
		"text_oof_acc": strconv.FormatFloat(text.Accuracy, 'f', 4, 64),
		"lexicon":      strconv.Itoa(len(doubtWords)) + " doubt + " + strconv.Itoa(len(refuteWords)) + " refutation words",
	}
	var ws []string
	for i, n := range l.Features {
		ws = append(ws, fmt.Sprintf("%s %+.3f", n, l.Weights[i]))
	}
	fmt.Fprintf(progress, "传播层选用 lambda=%g (交叉验证准确率 %.4f macro_f1 %.4f), 权重: %s, 偏置 %+.3f\n", best, bestRep.Accuracy, bestRep.MacroF1, strings.Join(ws, ", "), l.Bias)
	return l, nil
}
