package classify_test

import (
	"os"
	"testing"

	"yuqing/analyzer/classify"
)

const D = "/work/shared/data/"

func TestRun(t *testing.T) {
	algo := os.Getenv("ALGO")
	sets := map[string][]string{
		"sentiment": {D + "sentiment/chnsenticorp_htl_all.csv", D + "sentiment/waimai_10k.csv"},
		"category":  {D + "topics/thucnews_dev.txt"},
		"rumor":     {D + "weibo/ced_dev.jsonl.gz"},
	}
	for _, k := range []string{"sentiment", "category", "rumor"} {
		if os.Getenv("KIND") != "" && os.Getenv("KIND") != k { continue }
		out := "/tmp/clsrun/" + k + "." + algo + ".model.gz"
		if err := classify.TrainWith(k, sets[k], out, os.Stdout, classify.TrainOptions{Algo: algo}); err != nil {
			t.Fatal(err)
		}
		if err := classify.Eval(k, out, sets[k], os.Stdout); err != nil {
			t.Fatal(err)
		}
	}
}
