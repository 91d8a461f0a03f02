package textnorm

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"", "今天天气不错", "太惨了[蜡烛] 底层民众！[泪]", "#话题# @张三: 好 http://t.cn/abc//@李四：原文[哈哈]",
		"回复@王剑云68:还有故宫", "轉發微博。", "乾淨的餅乾，乾坤", "ＡＢＣ１２３！", "中\xe6\x96文\x00",
		"\xed\xa0\xbd\xed\xb8\x80", "👨\u200d👩\u200d👧👍🏽🇨🇳1️⃣©️", "a@b.com", "[[泪]哈]", "#a##b#", "//@//@x:",
		"http:完", "www.x.cn/a.", "不可貲計", "\uf900\u3000\u200b", "@-a-@b @c",
		"乾坤@張三 乾", "#臺灣#//@a:說[淚]", "1\ufe0f@b", "©\ufe0e@b", "http://a//@b", "#a #b#c#", "@⃣0",
		"上鍊蒜薹很貴", "回复@a:回复@b:hi", "t.cn/x//@名字：转发微博", "＃话题＃＠名字：ＵＲＬ",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Normalize(s)
		invariants(t, s, got) // valid UTF-8 everywhere, trimmed, idempotent on Own and quotes
		var x Text
		NormalizeTo(&x, s)
		if x.Own != got.Own || len(x.Quoted) != len(got.Quoted) || len(x.Emoticons) != len(got.Emoticons) {
			t.Fatalf("NormalizeTo(%q) differs from Normalize", s)
		}
		if plain(s) && got.Own != s {
			t.Fatalf("plain(%q) but Own = %q", s, got.Own)
		}
		if utf8.ValidString(s) {
			f1 := Fold(s)
			if !utf8.ValidString(f1) || Fold(f1) != f1 {
				t.Fatalf("Fold(%q) = %q, folded again %q", s, f1, Fold(f1))
			}
			if utf8.RuneCountInString(f1) != utf8.RuneCountInString(s) {
				t.Fatalf("Fold(%q) = %q changes the length", s, f1)
			}
			if !strings.ContainsRune(s, utf8.RuneError) && got.Repaired == 0 && strings.ContainsRune(got.Own, utf8.RuneError) {
				t.Fatalf("Normalize(%q) made U+FFFD without repairing", s)
			}
		}
	})
}
