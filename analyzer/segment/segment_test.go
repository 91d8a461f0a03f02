package segment

import (
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"

	"github.com/yanyiwu/gojieba"
)

func TestCutChinese(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	got := s.Cut("我来到北京清华大学")
	want := []string{"我", "来到", "北京", "清华大学"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Cut = %q, want %q", got, want)
	}
	if !s.IsStop("的") || s.IsStop("北京") {
		t.Fatal("stop words not loaded")
	}
	if s.IDF("清华大学") <= 0 || s.IDF("不存在的词xyz") != s.medianIDF {
		t.Fatal("idf not loaded")
	}
}

func TestAddWords(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const text = "鄞州区钟公庙街道发生事故"
	before := s.Cut(text)
	if slices.Contains(before, "钟公庙街道") {
		t.Skipf("already a word: %q", before)
	}
	if n := s.AddWords([]string{"钟公庙街道", " ", "有 空格", "钟公庙街道"}); n != 1 {
		t.Fatalf("AddWords = %d, want 1", n)
	}
	if got := s.Cut(text); !slices.Contains(got, "钟公庙街道") {
		t.Fatalf("after AddWords: %q", got)
	}
	// the product vocabulary is loaded with the dictionaries
	if got := s.Cut("收到舆情督办函"); !slices.Contains(got, "舆情督办函") {
		t.Fatalf("vocabulary not loaded: %q", got)
	}
}

func TestAddWordsDuringCuts(t *testing.T) {
	s, err := New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 200 {
				s.Cut("宁波市鄞州区某小区发生火灾，消防到场处置")
				s.Tokenize("宁波市鄞州区某小区发生火灾", gojieba.SearchMode, true)
			}
		})
	}
	for i := range 50 {
		s.AddWords([]string{fmt.Sprintf("测试单位%d号", i)})
	}
	wg.Wait()
}
