package segment

import (
	"reflect"
	"testing"
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
