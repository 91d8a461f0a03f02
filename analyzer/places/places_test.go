package places

import (
	"reflect"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGazetteerSize(t *testing.T) {
	if n := len(Provinces()); n != 34 {
		t.Fatalf("%d provincial-level divisions, want 34", n)
	}
	if n := len(Cities()); n < 330 {
		t.Fatalf("only %d cities", n)
	}
	seen := map[string]bool{}
	for _, c := range Cities() {
		if seen[c.Name] {
			t.Errorf("city %s listed twice", c.Name)
		}
		seen[c.Name] = true
	}
}

func names(ps []Place) []string {
	var out []string
	for _, p := range ps {
		out = append(out, p.Name)
	}
	return out
}

func TestFind(t *testing.T) {
	tests := []struct {
		name   string
		tokens []string
		want   []string
	}{
		{"short city", []string{"今天", "下午", "宁波", "妇儿", "医院"}, []string{"浙江省宁波市"}},
		{"city split from suffix", []string{"在", "宁波", "市", "江北区"}, []string{"浙江省宁波市"}},
		{"province only", []string{"湖北", "暴雨"}, []string{"湖北省"}},
		{"province dropped for its city", []string{"浙江省", "杭州市", "和", "湖北省"}, []string{"浙江省杭州市", "湖北省"}},
		{"municipality", []string{"北京", "下雪", "了", "北京"}, []string{"北京市"}},
		{"ambiguous short form ignored", []string{"朝阳", "升起", "白银", "价格"}, nil},
		{"ambiguous full name found", []string{"辽宁省", "朝阳", "市"}, []string{"辽宁省朝阳市"}},
		{"autonomous prefecture short", []string{"延边", "大学"}, []string{"吉林省延边朝鲜族自治州"}},
		{"nothing", []string{"今天", "天气", "很", "好"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := names(Find(tt.tokens, "")); !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Find(%q) = %q, want %q", tt.tokens, got, tt.want)
			}
		})
	}
}

func TestFindText(t *testing.T) {
	got := names(Find(nil, "人间惨剧：今天下午约14点，宁波妇儿医院，湖北武汉也有"))
	want := []string{"浙江省宁波市", "湖北省武汉市"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestNormalize(t *testing.T) {
	tests := []struct {
		in   string
		want Place
		ok   bool
	}{
		{"上海", Place{"上海市", "上海市", "上海市"}, true},
		{"浙江 宁波", Place{"浙江省宁波市", "浙江省", "宁波市"}, true},
		{"浙江省宁波市", Place{"浙江省宁波市", "浙江省", "宁波市"}, true},
		{"北京 朝阳区", Place{"北京市", "北京市", "北京市"}, true},
		{"辽宁 朝阳", Place{"辽宁省朝阳市", "辽宁省", "朝阳市"}, true},
		{"吉林 吉林", Place{"吉林省吉林市", "吉林省", "吉林市"}, true},
		{"广东", Place{"广东省", "广东省", ""}, true},
		{"湖北省", Place{"湖北省", "湖北省", ""}, true},
		{"宁波", Place{"浙江省宁波市", "浙江省", "宁波市"}, true},
		{"台湾 台北市", Place{"台湾省台北市", "台湾省", "台北市"}, true},
		{"香港 其他", Place{"香港特别行政区", "香港特别行政区", ""}, true},
		{"海外 美国", Overseas, true},
		{"海外", Overseas, true},
		{"其他", Place{}, false},
		{"", Place{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, ok := Normalize(tt.in)
			if got != tt.want || ok != tt.ok {
				t.Fatalf("Normalize(%q) = %+v, %v; want %+v, %v", tt.in, got, ok, tt.want, tt.ok)
			}
		})
	}
}

func BenchmarkFind(b *testing.B) {
	toks := []string{"人间", "惨剧", "：", "今天下午", "约", "14", "点", "，", "宁波", "妇儿", "医院", "，", "一", "妇女", "携带", "一", "婴儿", "在", "住院", "楼", "跳楼"}
	for b.Loop() {
		Find(toks, "")
	}
}
