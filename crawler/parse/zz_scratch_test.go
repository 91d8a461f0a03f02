package parse

import (
	"strings"
	"testing"
	"time"
)

func TestScratch(t *testing.T) {
	for _, p := range []string{"<div>", "<b>", "<a href=/1234.html>新闻标题新闻标题", "<table>", "<p><b>", "<b><p>", "<i><b><u>x</i>", "<font>", "<li>", "<select>", "<svg>", "<math><mi>", "<td>", "<tr>", "<a>", "x", "<a href=1>下一页</a>"} {
		body := strings.Repeat(p, 200000/len(p))
		st := time.Now()
		a, n, err := Links([]byte(body), "https://www.example.cn/news/list.html", LinkSpec{})
		t.Logf("%-30q %d bytes: %v (%d, %q, %v)", p, len(body), time.Since(st), len(a), n, err)
		st = time.Now()
		StripHTML(body)
		t.Logf("    strip %v", time.Since(st))
	}
}
