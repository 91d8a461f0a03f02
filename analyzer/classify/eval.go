package classify

import (
	"fmt"
	"io"
	"os"
	"strings"

	"yuqing/analyzer/segment"
)

// Eval scores the model at modelPath on the test split of files and prints
// accuracy, per-class precision/recall/F1, a confusion matrix and, last, the
// line "accuracy=0.xxxx macro_f1=0.xxxx". A rumor model with a spread layer
// is scored twice, on the text alone and then with the first hour of each
// post's spread; the last line is then that of the second.
func Eval(kind, modelPath string, files []string, w io.Writer) error {
	return EvalSplit(kind, modelPath, files, SplitTest, w)
}

// EvalSplit is Eval on a chosen split: SplitTest, SplitTrain or SplitAll.
func EvalSplit(kind, modelPath string, files []string, split string, w io.Writer) error {
	f, err := os.Open(modelPath)
	if err != nil {
		return fmt.Errorf("classify: %w", err)
	}
	m, err := Load(f)
	f.Close()
	if err != nil {
		return fmt.Errorf("classify: %s: %w", modelPath, err)
	}
	if m.Kind != kind {
		return fmt.Errorf("classify: %s is a %q model, not %q", modelPath, m.Kind, kind)
	}
	var exs []Example
	var cascades []Cascade
	if kind == KindRumor {
		cascades, err = ReadCascades(files, split)
		exs = examplesOf(cascades)
	} else {
		exs, err = ReadExamples(kind, files, split)
	}
	if err != nil {
		return err
	}
	if len(exs) == 0 {
		return fmt.Errorf("classify: no %s rows in the %s split of %s", kind, split, strings.Join(files, ", "))
	}
	seg, err := segment.Default()
	if err != nil {
		return fmt.Errorf("classify: segmenter: %w", err)
	}
	withSpread := kind == KindRumor && m.Spread != nil && len(m.Classes) == 2 && m.Class("rumor") >= 0
	c := len(m.Classes)
	conf, confSpread := newConfusion(c), newConfusion(c)
	var buf []float64
	unknown := 0
	for i, e := range exs {
		truth := m.Class(e.Label)
		if truth < 0 {
			unknown++
			continue
		}
		buf = m.Probs(Tokenize(seg, e.Text), buf)
		conf[truth][argmax(buf)]++
		if withSpread {
			rumor := m.Class("rumor")
			p, _ := m.RiskWithSpread(buf[rumor], cascades[i].Spread())
			pred := 1 - rumor
			if p >= 0.5 {
				pred = rumor
			}
			confSpread[truth][pred]++
		}
	}
	fmt.Fprintf(w, "模型 %s (%s), 数据 %s, 划分 %s, 样本 %d", modelPath, m.Kind, strings.Join(baseNames(files), ","), split, len(exs)-unknown)
	if unknown > 0 {
		fmt.Fprintf(w, ", 模型未知类别跳过 %d", unknown)
	}
	fmt.Fprintln(w)
	r := Score(conf)
	if withSpread {
		fmt.Fprintf(w, "\n== 只用正文 (text only) ==\n")
		printReport(w, m.Classes, conf, r)
		fmt.Fprintf(w, "text_only accuracy=%.4f macro_f1=%.4f rumor_f1=%.4f\n", r.Accuracy, r.MacroF1, r.F1[m.Class("rumor")])
		fmt.Fprintf(w, "\n== 正文 + 首小时传播 (text + first hour of spread: %s) ==\n", spreadSummary(m.Spread))
		r = Score(confSpread)
		printReport(w, m.Classes, confSpread, r)
		fmt.Fprintf(w, "with_first_hour accuracy=%.4f macro_f1=%.4f rumor_f1=%.4f\n", r.Accuracy, r.MacroF1, r.F1[m.Class("rumor")])
	} else {
		printReport(w, m.Classes, conf, r)
	}
	_, err = fmt.Fprintf(w, "accuracy=%.4f macro_f1=%.4f\n", r.Accuracy, r.MacroF1)
	return err
}

func spreadSummary(l *SpreadLayer) string {
	return strings.Join(l.Features, ",")
}

func newConfusion(c int) [][]int {
	conf := make([][]int, c)
	for i := range conf {
		conf[i] = make([]int, c)
	}
	return conf
}

// printReport prints accuracy, per-class precision/recall/F1 and the
// confusion matrix.
func printReport(w io.Writer, classes []string, conf [][]int, r Report) {
	fmt.Fprintf(w, "准确率 accuracy: %.4f\n\n", r.Accuracy)
	width := 9
	for _, n := range classes {
		width = max(width, len(n)+1)
	}
	fmt.Fprintf(w, "%-*s %9s %9s %9s %7s\n", width, "class", "precision", "recall", "f1", "support")
	for i, n := range classes {
		fmt.Fprintf(w, "%-*s %9.4f %9.4f %9.4f %7d\n", width, n, r.Precision[i], r.Recall[i], r.F1[i], r.Support[i])
	}
	fmt.Fprintf(w, "macro_f1 %.4f\n", r.MacroF1)
	fmt.Fprintf(w, "\n混淆矩阵 confusion matrix (行=真实 true, 列=预测 predicted)\n%-*s", width, "")
	for _, n := range classes {
		fmt.Fprintf(w, " %*s", width, n)
	}
	fmt.Fprintln(w)
	for i, n := range classes {
		fmt.Fprintf(w, "%-*s", width, n)
		for j := range len(classes) {
			fmt.Fprintf(w, " %*d", width, conf[i][j])
		}
		fmt.Fprintln(w)
	}
}

// Report holds the scores computed from a confusion matrix.
type Report struct {
	Accuracy, MacroF1     float64
	Precision, Recall, F1 []float64
	Support               []int
}

// Score computes accuracy and per-class and macro scores from a confusion
// matrix whose rows are true classes and columns predicted ones.
func Score(conf [][]int) Report {
	c := len(conf)
	r := Report{Precision: make([]float64, c), Recall: make([]float64, c), F1: make([]float64, c), Support: make([]int, c)}
	var total, ok int
	colSum := make([]int, c)
	for i := range c {
		for j := range c {
			total += conf[i][j]
			r.Support[i] += conf[i][j]
			colSum[j] += conf[i][j]
		}
		ok += conf[i][i]
	}
	for i := range c {
		if colSum[i] > 0 {
			r.Precision[i] = float64(conf[i][i]) / float64(colSum[i])
		}
		if r.Support[i] > 0 {
			r.Recall[i] = float64(conf[i][i]) / float64(r.Support[i])
		}
		if p, q := r.Precision[i], r.Recall[i]; p+q > 0 {
			r.F1[i] = 2 * p * q / (p + q)
		}
		r.MacroF1 += r.F1[i] / float64(c)
	}
	if total > 0 {
		r.Accuracy = float64(ok) / float64(total)
	}
	return r
}
