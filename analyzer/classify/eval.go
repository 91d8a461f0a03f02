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
// line "accuracy=0.xxxx macro_f1=0.xxxx".
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
	exs, err := ReadExamples(kind, files, split)
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
	c := len(m.Classes)
	conf := make([][]int, c)
	for i := range conf {
		conf[i] = make([]int, c)
	}
	var buf []float64
	unknown := 0
	for _, e := range exs {
		truth := m.Class(e.Label)
		if truth < 0 {
			unknown++
			continue
		}
		buf = m.Probs(Tokenize(seg, e.Text), buf)
		conf[truth][argmax(buf)]++
	}
	r := Score(conf)
	fmt.Fprintf(w, "模型 %s (%s), 数据 %s, 划分 %s, 样本 %d", modelPath, m.Kind, strings.Join(baseNames(files), ","), split, len(exs)-unknown)
	if unknown > 0 {
		fmt.Fprintf(w, ", 模型未知类别跳过 %d", unknown)
	}
	fmt.Fprintf(w, "\n准确率 accuracy: %.4f\n\n", r.Accuracy)
	width := 9
	for _, n := range m.Classes {
		width = max(width, len(n)+1)
	}
	fmt.Fprintf(w, "%-*s %9s %9s %9s %7s\n", width, "class", "precision", "recall", "f1", "support")
	for i, n := range m.Classes {
		fmt.Fprintf(w, "%-*s %9.4f %9.4f %9.4f %7d\n", width, n, r.Precision[i], r.Recall[i], r.F1[i], r.Support[i])
	}
	fmt.Fprintf(w, "\n混淆矩阵 confusion matrix (行=真实 true, 列=预测 predicted)\n%-*s", width, "")
	for _, n := range m.Classes {
		fmt.Fprintf(w, " %*s", width, n)
	}
	fmt.Fprintln(w)
	for i, n := range m.Classes {
		fmt.Fprintf(w, "%-*s", width, n)
		for j := range c {
			fmt.Fprintf(w, " %*d", width, conf[i][j])
		}
		fmt.Fprintln(w)
	}
	_, err = fmt.Fprintf(w, "accuracy=%.4f macro_f1=%.4f\n", r.Accuracy, r.MacroF1)
	return err
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
