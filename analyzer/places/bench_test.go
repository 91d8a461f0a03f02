package places

import (
	"runtime"
	"testing"
)

// shortPost is the first Weibo post of the shared data, as gojieba cuts it.
var shortPost = []string{"人间", "惨剧", "：", "今天下午", "约", "14", "点", "，", "宁波", "妇儿", "医院", "，", "一", "妇女", "携带", "一", "婴儿", "在", "住院", "楼", "跳楼"}

// longPost is a longer post naming a province, cities, counties, a town
// and an ambiguous county, as gojieba cuts it.
var longPost = []string{"【", "浙江", "宁波", "鄞州区", "一", "居民楼", "起火", " ", "消防", "全力", "扑救", "】", "今天下午", "3", "点", "左右", "，", "宁波市", "鄞州区", "下应", "街道", "一", "居民楼", "发生", "火灾", "，", "现场", "浓烟滚滚", "。", "据", "目击者", "称", "，", "火势", "从五楼", "蔓延", "至", "六楼", "，", "消防", "部门", "接警", "后", "迅速", "赶到", "现场", "，", "目前", "火势", "已", "得到", "控制", "，", "暂无", "人员伤亡", "报告", "。", "起火", "原因", "正在", "调查", "中", "。", "网友", "纷纷表示", "，", "希望", "相关", "部门", "加强", "高层住宅", "的", "消防", "安全检查", "，", "朝阳区", "和", "海淀区", "的", "居民", "也", "表示", "关注", "。", "[", "蜡烛", "]"}

func BenchmarkFind(b *testing.B) {
	tbl()
	b.ReportAllocs()
	for b.Loop() {
		Find(shortPost, "")
	}
}

func BenchmarkAppendFind(b *testing.B) {
	for _, bc := range []struct {
		name   string
		tokens []string
	}{{"short", shortPost}, {"long", longPost}} {
		b.Run(bc.name, func(b *testing.B) {
			dst := make([]Place, 0, 8)
			tbl()
			b.ReportAllocs()
			for b.Loop() {
				AppendFind(dst[:0], bc.tokens)
			}
		})
	}
}

func BenchmarkAppendFindContext(b *testing.B) {
	dst := make([]Place, 0, 8)
	hints := []Place{{Name: "北京市", Province: "北京市", City: "北京市", Code: "110000", Level: LevelProvince}}
	tbl()
	b.ReportAllocs()
	for b.Loop() {
		AppendFindContext(dst[:0], longPost, hints)
	}
}

var fields = []string{"浙江 宁波", "北京 朝阳区", "浙江省宁波市鄞州区", "海外 美国", "其他", "广东"}

func BenchmarkNormalize(b *testing.B) {
	tbl()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		Normalize(fields[i%len(fields)])
	}
}

// BenchmarkLoad reads the embedded table (done once, on first use), and
// reports the heap that the loaded table holds.
func BenchmarkLoad(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseTable(divisionsGz); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	t, err := parseTable(divisionsGz)
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(t)
	b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "MiB-held")
}
