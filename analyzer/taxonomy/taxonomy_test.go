package taxonomy

import (
	"slices"
	"strings"
	"testing"
)

func TestDefaultFollowsDesign(t *testing.T) {
	want := []string{"突发事件与灾害", "公共安全", "食品药品", "生态环境", "医疗卫生", "教育",
		"住房与土地", "就业与社会保障", "金融与非法集资", "执法与司法", "政府作为与政策", "其他"}
	d := Default()
	if got := d.Names(); !slices.Equal(got, want) {
		t.Fatalf("default categories %v, want %v", got, want)
	}
	if d.Other() != "其他" || !d.Has("食品药品") || d.Has("体育") {
		t.Fatal("Other/Has wrong")
	}
	if len(d.Words()) < 200 {
		t.Fatalf("only %d keywords", len(d.Words()))
	}
}

func TestClassify(t *testing.T) {
	d := Default()
	cases := []struct {
		name       string
		tokens     []string
		class      string
		prob       float64
		want       string
		wantReason string
	}{
		{"one strong keyword", []string{"宁波", "小区", "发生", "爆炸"}, "society", 0.9, "突发事件与灾害", "关键词：爆炸（得分 2，门槛 2）"},
		{"two weak keywords", []string{"孩子", "外卖", "中毒"}, "", 0, "食品药品", "关键词：外卖、中毒（得分 2，门槛 2）"},
		{"one weak keyword is not enough", []string{"今天", "外卖", "好吃"}, "", 0, "其他", "关键词不足，无新闻分类结果，归入其他"},
		{"repeated keyword counts once", []string{"外卖", "外卖", "外卖"}, "", 0, "其他", ""},
		{"best score wins", []string{"城管", "打人", "医院", "小区"}, "", 0, "执法与司法", "关键词：城管、打人（得分 3，门槛 2）"},
		{"tie goes to the category listed first", []string{"地震", "学校"}, "", 0, "突发事件与灾害", ""},
		{"model class maps", []string{"房价", "上涨"}, "realty", 0.95, "住房与土地", ""},
		{"model class maps when keywords fail", []string{"楼市", "调控"}, "realty", 0.9, "住房与土地", ""},
		{"model sure of a mapped class", []string{"会议", "召开"}, "politics", 0.8, "政府作为与政策", "关键词不足；新闻分类模型判为时政（概率 0.80），对应政府作为与政策"},
		{"model unsure", []string{"会议", "召开"}, "politics", 0.5, "其他", "关键词不足；新闻分类模型判为时政（概率 0.50），低于 0.70，归入其他"},
		{"model class unmapped", []string{"比赛", "进球"}, "sports", 0.99, "其他", "关键词不足；新闻分类模型判为体育（概率 0.99），不对应任何舆情类别，归入其他"},
	}
	zh := func(c string) string {
		return map[string]string{"politics": "时政", "sports": "体育", "realty": "房产"}[c]
	}
	var sc Scratch
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := d.Classify(c.tokens, c.class, c.prob, &sc)
			if r.Category != c.want {
				t.Fatalf("category %q, want %q (%+v)", r.Category, c.want, r)
			}
			if why := d.Reason(r, zh); c.wantReason != "" && why != c.wantReason {
				t.Fatalf("reason %q, want %q", why, c.wantReason)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	cases := map[string]string{
		"":                         "为空",
		"categories: []":           "没有任何类别",
		"colour: red":              "无法解析",
		"categories: [{name: 甲}]":  "缺少兜底类别",
		"categories: [{name: ''}]": "没有名称",
		"categories: [{name: 其他}, {name: 其他}]":                                        "重复",
		"categories: [{name: 其他, strong: [a, a]}]":                                    "关键词 \"a\" 重复",
		"categories: [{name: 其他, weak: ['a b']}]":                                     "无效",
		"categories: [{name: 甲, model_classes: [x]}, {name: 其他, model_classes: [x]}]": "同时归入",
		"min_model_prob: 2\ncategories: [{name: 其他}]":                                 "超出",
	}
	for in, want := range cases {
		_, err := Load(strings.NewReader(in))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load(%q) = %v, want an error with %q", in, err, want)
		}
	}
	tx, err := Load(strings.NewReader("other: 杂项\ncategories: [{name: 交通, strong: [拥堵]}, {name: 杂项}]"))
	if err != nil {
		t.Fatal(err)
	}
	if r := tx.Classify([]string{"拥堵"}, "", 0, nil); r.Category != "交通" {
		t.Fatalf("custom taxonomy: %+v", r)
	}
	if r := tx.Classify([]string{"晴天"}, "", 0, nil); r.Category != "杂项" {
		t.Fatalf("custom other: %+v", r)
	}
}

func BenchmarkClassify(b *testing.B) {
	d := Default()
	tokens := strings.Fields("今天 下午 宁波 某 小区 发生 火灾 ， 消防 到达 现场 救援 ， 暂无 人员 伤亡 ， 起火 原因 正在 调查 中 。 网友 称 物业 管理 混乱")
	var sc Scratch
	b.ReportAllocs()
	for b.Loop() {
		d.Classify(tokens, "society", 0.8, &sc)
	}
}
