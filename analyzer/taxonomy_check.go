package analyzer

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"

	"yuqing/domain"
)

// TaxonomyConfusion categorises every post of a hand-labelled check file
// (one "category<TAB>id<TAB>text" a line; lines starting with # are
// comments) and gives the confusion matrix over the taxonomy's categories:
// rows the labels, columns the analyzer's categories. A label that is not a
// category is an error naming its line.
func (a *Analyzer) TaxonomyConfusion(r io.Reader) (names []string, conf [][]int, err error) {
	names = a.tax.Names()
	conf = make([][]int, len(names))
	for i := range conf {
		conf[i] = make([]int, len(names))
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.TrimSpace(line) == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.SplitN(line, "\t", 3)
		if len(f) != 3 {
			return nil, nil, fmt.Errorf("analyzer: 核对集第 %d 行应为“类别<TAB>id<TAB>正文”", n)
		}
		truth := slices.Index(names, f[0])
		if truth < 0 {
			return nil, nil, fmt.Errorf("analyzer: 核对集第 %d 行的类别 %q 不在舆情分类中", n, f[0])
		}
		res := a.Analyze(&domain.Post{ID: f[1], Text: f[2]})
		got := slices.Index(names, res.Category)
		if got < 0 {
			got = slices.Index(names, a.tax.Other())
		}
		conf[truth][got]++
	}
	return names, conf, sc.Err()
}
