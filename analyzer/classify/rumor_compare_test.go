package classify

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"yuqing/analyzer/segment"
)

// TestRumorCompare compares ways of adding the first hour of spread to the
// text model, on ../shared/data/weibo, when YUQING_RUMOR_COMPARE=1. Choices
// are made on the cross-validation over the train split (the "cv" columns);
// the test columns are printed for the report only.
func TestRumorCompare(t *testing.T) {
	if os.Getenv("YUQING_RUMOR_COMPARE") != "1" {
		t.Skip("set YUQING_RUMOR_COMPARE=1 to compare the spread layer's variants")
	}
	data := filepath.Join("..", "..", "..", "shared", "data", "weibo", "ced_dev.jsonl.gz")
	if _, err := os.Stat(data); err != nil {
		t.Skip("compare: ../shared/data absent")
	}
	out := filepath.Join(t.TempDir(), "text.model.gz")
	if err := TrainWith(KindRumor, []string{data}, out, nil, TrainOptions{NoSpread: true}); err != nil {
		t.Fatal(err)
	}
	f, _ := os.Open(out)
	m, err := Load(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	alpha, _ := strconv.ParseFloat(m.Info["alpha"], 64)
	seg := segment.MustDefault()
	rumor := m.Class("rumor")
	train, err := ReadCascades([]string{data}, SplitTrain)
	if err != nil {
		t.Fatal(err)
	}
	test, _ := ReadCascades([]string{data}, SplitTest)
	var opt TrainOptions
	opt.defaults()
	docsOf := func(cs []Cascade, text func(c *Cascade) string) []doc {
		ds := make([]doc, len(cs))
		for i := range cs {
			ds[i] = doc{tokens: Tokenize(seg, text(&cs[i])), label: m.Class(cs[i].Label), key: textHash(cs[i].group)}
		}
		return ds
	}
	post := func(c *Cascade) string { return c.Text }
	trDocs, teDocs := docsOf(train, post), docsOf(test, post)
	oof := oofProbs(KindRumor, m.Classes, trDocs, seg, opt, alpha, m.Algo, m.Temperature, rumor)
	testP := make([]float64, len(test))
	for i := range teDocs {
		testP[i] = m.Probs(teDocs[i].tokens, nil)[rumor]
	}

	rowsOf := func(cs []Cascade, p []float64, window time.Duration) []layerRow {
		rows := make([]layerRow, len(cs))
		for i := range cs {
			b := SpreadBuilder{window: window}
			b.SetRoot(cs[i].Root)
			for _, k := range cs[i].Children {
				b.Add(k)
			}
			rows[i] = layerRow{p: p[i], s: b.Spread(), y: b2f(cs[i].Label == "rumor")}
		}
		return rows
	}
	withExtra := func(rows []layerRow, x []float64) []layerRow {
		for i := range rows {
			rows[i].s.experiment = x[i]
		}
		return rows
	}
	folds := make([]int, len(train))
	for i := range trDocs {
		folds[i] = foldOf(trDocs[i].key)
	}
	fmt.Printf("%-44s %8s %8s %8s | %8s %8s %8s\n", "variant", "cv_acc", "cv_mf1", "cv_loss", "test_acc", "test_mf1", "test_rf1")
	rt := binaryScore(oof, rowsOf(train, oof, 0), rumor)
	te := binaryScore(testP, rowsOf(test, testP, 0), rumor)
	fmt.Printf("%-44s %8.4f %8.4f %8s | %8.4f %8.4f %8.4f\n", "text only (out-of-fold / final model)", rt.Accuracy, rt.MacroF1, "", te.Accuracy, te.MacroF1, te.F1[rumor])
	run := func(name string, feats []string, trRows, teRows []layerRow) {
		best, bestLoss := 0.0, 1e18
		var bestCV []float64
		for _, lambda := range spreadLambdas {
			cv, loss, err := layerCV(feats, trRows, folds, lambda)
			if err != nil {
				t.Fatal(err)
			}
			if loss < bestLoss {
				best, bestLoss, bestCV = lambda, loss, cv
			}
		}
		r := binaryScore(bestCV, trRows, rumor)
		l, err := fitSpreadLayer(feats, trRows, best)
		if err != nil {
			t.Fatal(err)
		}
		p := make([]float64, len(teRows))
		for i := range teRows {
			p[i] = l.prob(teRows[i].p, &teRows[i].s, nil)
		}
		e := binaryScore(p, teRows, rumor)
		fmt.Printf("%-44s %8.4f %8.4f %8.4f | %8.4f %8.4f %8.4f  λ=%g\n", name, r.Accuracy, r.MacroF1, bestLoss/float64(len(trRows)), e.Accuracy, e.MacroF1, e.F1[rumor], best)
	}
	all := DefaultSpreadFeatures
	without := func(drop ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(s string) bool { return slices.Contains(drop, s) })
	}
	with := func(add ...string) []string { return append(slices.Clone(all), add...) }
	variants := []struct {
		name   string
		feats  []string
		window time.Duration
	}{
		{"text + author and pictures (no spread)", []string{"text", "verified", "followers", "pics"}, 0},
		{"spread only (no text)", without("text"), 0},
		{"text + spread without the lexicon", without("doubt", "refute", "doubt_share"), 0},
		{"text + the lexicon only", []string{"text", "doubt", "refute", "doubt_share"}, 0},
		{"default - doubt_share", without("doubt_share"), 0},
		{"default (shipped)", all, 0},
		{"default + users + nested + first", with("users", "nested", "first"), 0},
		{"default - pics", without("pics"), 0},
		{"default - verified - followers", without("verified", "followers"), 0},
		{"default, first 10 minutes", all, 10 * time.Minute},
		{"default, first 30 minutes", all, 30 * time.Minute},
		{"default, first 24 hours", all, 24 * time.Hour},
		{"default, whole cascade", all, 1e6 * time.Hour},
	}
	for _, v := range variants {
		run(v.name, v.feats, rowsOf(train, oof, v.window), rowsOf(test, testP, v.window))
	}

	// in use posts carry no picture count: the layer takes it as average
	noPics := rowsOf(test, testP, 0)
	for i := range noPics {
		noPics[i].s.PicsKnown, noPics[i].s.Pics = false, 0
	}
	run("default, pictures unknown at test (as in use)", all, rowsOf(train, oof, 0), noPics)

	// backward elimination from every feature, on the train cross-validation
	// log-loss alone
	trRows := rowsOf(train, oof, 0)
	cvLoss := func(feats []string) float64 {
		best := 1e18
		for _, lambda := range spreadLambdas {
			_, loss, _ := layerCV(feats, trRows, folds, lambda)
			best = min(best, loss)
		}
		return best / float64(len(trRows))
	}
	cur := []string{}
	for _, f := range spreadFeatures {
		cur = append(cur, f.name)
	}
	curLoss := cvLoss(cur)
	for len(cur) > 1 {
		drop, dropLoss := -1, curLoss
		for i := range cur {
			l := cvLoss(slices.Delete(slices.Clone(cur), i, i+1))
			if l < dropLoss-1e-4 {
				drop, dropLoss = i, l
			}
		}
		if drop < 0 {
			break
		}
		fmt.Printf("backward elimination: drop %s, cv log-loss %.4f → %.4f\n", cur[drop], curLoss, dropLoss)
		cur, curLoss = slices.Delete(cur, drop, drop+1), dropLoss
	}
	fmt.Printf("backward elimination keeps %v (cv log-loss %.4f)\n", cur, curLoss)
	run("backward elimination's set", cur, trRows, rowsOf(test, testP, 0))

	// the first hour's children's own words as one text per post, with a
	// naive Bayes model of its own (out of fold on train)
	firstHour := func(c *Cascade, fn func(text string)) {
		for _, k := range c.Children {
			if d := k.At.Sub(c.Root.At); !c.Root.At.IsZero() && d < SpreadWindow && ownText(k.Text) {
				fn(ownWords(k.Text))
			}
		}
	}
	kidsText := func(c *Cascade) string {
		var b strings.Builder
		firstHour(c, func(text string) { b.WriteString(text); b.WriteString("。") })
		return b.String()
	}
	trKids, teKids := docsOf(train, kidsText), docsOf(test, kidsText)
	kidsOOF := oofProbs(KindRumor, m.Classes, trKids, seg, opt, 0.5, AlgoNB, 1, rumor)
	km := fitModel(KindRumor, m.Classes, buildVocab(trKids, seg, opt), trKids, 0.5, AlgoNB)
	kidsTest := make([]float64, len(test))
	for i := range teKids {
		kidsTest[i] = km.Probs(teKids[i].tokens, nil)[rumor]
	}
	run("default + children-text NB model", with("experiment"), withExtra(rowsOf(train, oof, 0), kidsOOF), withExtra(rowsOf(test, testP, 0), kidsTest))

	// the text model run over each first-hour child's own words, the
	// log-odds averaged: what the grouper has in each child's Risk
	kidToks := func(cs []Cascade) [][][]string {
		out := make([][][]string, len(cs))
		for i := range cs {
			firstHour(&cs[i], func(text string) { out[i] = append(out[i], Tokenize(seg, text)) })
		}
		return out
	}
	meanRisk := func(m *Model, toks [][]string) float64 {
		if len(toks) == 0 {
			return 0
		}
		sum := 0.0
		for _, t := range toks {
			sum += logit(m.Probs(t, nil)[rumor])
		}
		return sigmoid(sum / float64(len(toks)))
	}
	trKT, teKT := kidToks(train), kidToks(test)
	kidRiskOOF := make([]float64, len(train))
	for k := range spreadFolds {
		var fit []doc
		for _, d := range trDocs {
			if foldOf(d.key) != k {
				fit = append(fit, d)
			}
		}
		fm := fitModel(KindRumor, m.Classes, buildVocab(fit, seg, opt), fit, alpha, m.Algo)
		fm.Temperature = m.Temperature
		for i, d := range trDocs {
			if foldOf(d.key) == k {
				kidRiskOOF[i] = meanRisk(fm, trKT[i])
			}
		}
	}
	kidRiskTest := make([]float64, len(test))
	for i := range test {
		kidRiskTest[i] = meanRisk(m, teKT[i])
	}
	run("default + children's mean text risk", with("experiment"), withExtra(rowsOf(train, oof, 0), kidRiskOOF), withExtra(rowsOf(test, testP, 0), kidRiskTest))
}
