package textnorm_test

import (
	"fmt"

	"yuqing/analyzer/textnorm"
)

func ExampleNormalize() {
	t := textnorm.Normalize("太慘了[蜡烛] #宁波妇儿医院# 詳見http://t.cn/zWxyz//@张三:不实报道，不转发[怒]//@李四: 原文")
	fmt.Printf("Own: %q\n", t.Own)
	for _, q := range t.Quoted {
		fmt.Printf("Quote: %s: %q\n", q.Author, q.Text)
	}
	fmt.Println("Topics:", t.Topics, "Emoticons:", t.Emoticons, "own:", t.OwnEmoticons, "URLs:", t.URLs, "Folded:", t.Folded)
	// Output:
	// Own: "太惨了 宁波妇儿医院 详见"
	// Quote: 张三: "不实报道，不转发"
	// Quote: 李四: "原文"
	// Topics: [宁波妇儿医院] Emoticons: [蜡烛 怒] own: 1 URLs: [http://t.cn/zWxyz] Folded: 3
}

func ExampleFold() {
	fmt.Println(textnorm.Fold("這個乾淨的餅乾，乾坤未定"))
	fmt.Println(textnorm.Fold("干净的饼干，乾坤未定")) // simplified text is left alone
	// Output:
	// 这个干净的饼干，乾坤未定
	// 干净的饼干，乾坤未定
}
