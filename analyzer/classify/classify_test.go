package classify

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"go.uber.org/goleak"

	"yuqing/analyzer/segment"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

var lastLine = regexp.MustCompile(`^accuracy=0\.\d{4}|^accuracy=1\.0000`)
var lastLineFull = regexp.MustCompile(`^accuracy=[01]\.\d{4} macro_f1=[01]\.\d{4}$`)

// smallCSV writes a sentiment CSV whose texts are easy to tell apart, with
// enough rows that both splits hold both classes.
func smallCSV(t *testing.T) string {
	t.Helper()
	pos := []string{"非常好", "很满意", "干净舒适", "服务热情", "味道不错", "推荐", "好吃", "快速送达"}
	neg := []string{"太差了", "很失望", "又脏又乱", "态度恶劣", "难吃", "不推荐", "送餐太慢", "退款"}
	var b strings.Builder
	b.WriteString("label,review\n")
	for i := range 400 {
		p := pos[i%len(pos)] + "，" + pos[(i/len(pos))%len(pos)]
		n := neg[i%len(neg)] + "，" + neg[(i/len(neg))%len(neg)]
		fmt.Fprintf(&b, "1,\"%s 第%d次\"\n0,%s 第%d次\n", p, i, n, i)
	}
	path := filepath.Join(t.TempDir(), "small.csv")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestTrainEvalRoundTrip(t *testing.T) {
	data := smallCSV(t)
	for _, algo := range []string{"", AlgoNB, AlgoLR} {
		t.Run("algo="+algo, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "m", "sentiment.model.gz")
			var progress bytes.Buffer
			if err := TrainWith(KindSentiment, []string{data}, out, &progress, TrainOptions{Algo: algo}); err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(progress.String(), "rows=") || !strings.Contains(progress.String(), "negative, positive") {
				t.Fatalf("progress lacks rows and classes:\n%s", progress.String())
			}
			var w bytes.Buffer
			if err := Eval(KindSentiment, out, []string{data}, &w); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimRight(w.String(), "\n"), "\n")
			last := lines[len(lines)-1]
			if !lastLineFull.MatchString(last) {
				t.Fatalf("last line %q does not match %s\n%s", last, lastLineFull, w.String())
			}
			var acc, f1 float64
			fmt.Sscanf(last, "accuracy=%f macro_f1=%f", &acc, &f1)
			if acc < 0.95 || f1 < 0.95 {
				t.Fatalf("easy data scored %s", last)
			}
			for _, want := range []string{"precision", "recall", "f1", "混淆矩阵", "negative", "positive"} {
				if !strings.Contains(w.String(), want) {
					t.Fatalf("eval output lacks %q:\n%s", want, w.String())
				}
			}
			f, err := os.Open(out)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			m, err := Load(f)
			if err != nil {
				t.Fatal(err)
			}
			seg := segment.MustDefault()
			for _, tc := range []struct{ text, want string }{{"服务热情，非常好", "positive"}, {"太差了，态度恶劣", "negative"}, {"房间干净，早餐丰富，服务热情周到，就是隔音太差了，半夜被吵醒，前台态度恶劣，下次不会再来了", "negative"}} {
				label, probs := m.Predict(Tokenize(seg, tc.text))
				if label != tc.want || probs[label] <= 0.5 {
					t.Errorf("Predict(%q) = %s %v, want %s", tc.text, label, probs, tc.want)
				}
				j := NewJoint(m, m)
				var r JointResult
				toks := Tokenize(seg, tc.text)
				j.Score(toks, &r)
				direct := m.Probs(toks, nil)
				for i := range direct {
					if d := direct[i] - r.Probs[1][i]; d > 1e-6 || d < -1e-6 {
						t.Errorf("Joint probs %v differ from Probs %v", r.Probs[1], direct)
					}
				}
				// the top-k of Joint against the full sort of Model, every limit
				for _, c := range m.Classes {
					for limit := 1; limit <= 6; limit++ {
						if a, b := strings.Join(j.Evidence(&r, 0, m.Class(c), limit), ","), strings.Join(m.Evidence(toks, m.Class(c), limit), ","); a != b {
							t.Errorf("Joint evidence %q, Model evidence %q (class %s, limit %d)", a, b, c, limit)
						}
					}
				}
			}
			if m.NeutralThreshold < 0.6 || m.NeutralThreshold > 0.9 {
				t.Errorf("neutral threshold %v outside [0.6, 0.9]", m.NeutralThreshold)
			}
		})
	}
}

func TestSplitDeterministic(t *testing.T) {
	var train, test int
	for i := range 10000 {
		s := fmt.Sprintf("文本%d", i)
		if InSplit(s, SplitTrain) == InSplit(s, SplitTest) {
			t.Fatalf("%q in both or neither split", s)
		}
		if InSplit(s, SplitTrain) {
			train++
		} else {
			test++
		}
		if !InSplit(s, SplitAll) {
			t.Fatal("all split misses a text")
		}
	}
	if train < 7700 || train > 8300 {
		t.Fatalf("train %d / test %d, want about 80/20", train, test)
	}
}

func TestReadErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("label,review\n2,什么\n"), 0o644)
	tsv := filepath.Join(dir, "t.txt")
	os.WriteFile(tsv, []byte("标题\t0\n"), 0o644)
	tests := []struct {
		kind  string
		files []string
		want  string
	}{
		{KindSentiment, []string{bad}, "neither 1 nor 0"},
		{KindCategory, []string{tsv}, "thucnews_class.txt"},
		{"weather", []string{bad}, "unknown kind"},
		{KindSentiment, nil, "no data files"},
		{KindRumor, []string{filepath.Join(dir, "missing.jsonl.gz")}, "missing.jsonl.gz"},
	}
	for _, tt := range tests {
		_, err := ReadExamples(tt.kind, tt.files, SplitAll)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ReadExamples(%s, %v) error %v, want it to mention %q", tt.kind, tt.files, err, tt.want)
		}
	}
}

func TestReadSharedFormats(t *testing.T) {
	data := filepath.Join("..", "..", "..", "shared", "data")
	if _, err := os.Stat(data); err != nil {
		t.Skip("shared formats: ../shared/data absent")
	}
	tests := []struct {
		kind    string
		file    string
		min     int
		classes int
	}{
		{KindSentiment, "sentiment/waimai_10k.csv", 11000, 2},
		{KindCategory, "topics/thucnews_dev.txt", 9000, 10},
		{KindRumor, "weibo/ced_dev.jsonl.gz", 1900, 2},
	}
	for _, tt := range tests {
		exs, err := ReadExamples(tt.kind, []string{filepath.Join(data, tt.file)}, SplitAll)
		if err != nil {
			t.Fatal(err)
		}
		if len(exs) < tt.min || len(classNames(exs)) != tt.classes {
			t.Errorf("%s: %d rows, classes %v", tt.file, len(exs), classNames(exs))
		}
	}
}

func TestScore(t *testing.T) {
	r := Score([][]int{{8, 2}, {1, 9}})
	if r.Accuracy != 0.85 || r.Support[0] != 10 {
		t.Fatalf("%+v", r)
	}
	if p := r.Precision[0]; p < 0.888 || p > 0.889 {
		t.Fatalf("precision %v", p)
	}
	if !lastLine.MatchString(fmt.Sprintf("accuracy=%.4f", r.Accuracy)) {
		t.Fatal("format")
	}
}

// TestIsWordRuneFastPath checks isWordRune against the Unicode tables it skips.
func TestIsWordRuneFastPath(t *testing.T) {
	for r := rune(0); r <= 0x10FFFF; r++ {
		if want := unicode.IsLetter(r) || unicode.IsDigit(r); isWordRune(r) != want {
			t.Fatalf("isWordRune(%U) = %v, want %v", r, !want, want)
		}
	}
}
