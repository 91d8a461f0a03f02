package orgtree

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"yuqing/domain"
)

// mergeBase is withDepts with districts among Ningbo's places and a channel
// on Ningbo.
const mergeBase = `
id: root
name: 国务院办公厅政务公开办公室
children:
  - id: zj
    name: 浙江省人民政府办公厅
    places: [浙江, 浙江省]
    children:
      - id: nb
        name: 宁波市人民政府办公厅
        places: [宁波, 宁波市, 鄞州区, 海曙区]
        contact: 0574-00000000
        notify: [{type: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=y"}]
        children:
          - {id: nb-amr, name: 宁波市市场监督管理局, kind: department, categories: [食品药品]}
          - {id: nb-edu, name: 宁波市教育局, kind: department, categories: [教育]}
      - id: hz
        name: 杭州市人民政府办公厅
        places: [杭州, 杭州市]
      - {id: zj-amr, name: 浙江省市场监督管理局, kind: department, categories: [食品药品]}
  - id: gd
    name: 广东省人民政府办公厅
    places: [广东, 广东省]
`

func TestMerge(t *testing.T) {
	yz := domain.Unit{ID: "nb-yz", Name: "鄞州区人民政府办公室", ParentID: "nb", Places: []string{"鄞州区", "鄞州"}}
	tests := []struct {
		name  string
		units []domain.Unit
		check func(t *testing.T, tr *Tree)
	}{
		{"a new county takes the place its city also lists", []domain.Unit{yz}, func(t *testing.T, tr *Tree) {
			d := tr.RouteFor(Query{Places: []string{"宁波鄞州区某小区电梯困人"}})
			if d.Unit.ID != "nb-yz" || d.Reason != "正文提到“鄞州区”，属地为鄞州区人民政府办公室" {
				t.Errorf("RouteFor = %s (%s)", d.Unit.ID, d.Reason)
			}
			if d := tr.RouteFor(Query{Places: []string{"海曙区某地"}}); d.Unit.ID != "nb" {
				t.Errorf("海曙区 = %s", d.Unit.ID)
			}
			u, _ := tr.Get("nb-yz")
			if u.ParentID != "nb" || u.Kind != KindGovernment || u.Source != SourceAPI {
				t.Errorf("Get = %+v", u)
			}
			// channels inherited from the city; the file's units stay the file's
			if chs, owner := tr.Channels("nb-yz"); owner != "nb" || len(chs) != 1 {
				t.Errorf("Channels = %v from %s", chs, owner)
			}
			if u, _ := tr.Get("nb"); u.Source != SourceFile {
				t.Errorf("nb = %+v", u)
			}
		}},
		{"a new department with a category", []domain.Unit{{ID: "hz-edu", Name: "杭州市教育局", ParentID: "hz", Kind: KindDepartment, Categories: []string{"教育"}}}, func(t *testing.T, tr *Tree) {
			d := tr.RouteFor(Query{Places: []string{"杭州某学校"}, Category: "教育"})
			if d.Unit.ID != "hz-edu" || d.Place.ID != "hz" || !strings.Contains(d.Reason, "杭州市人民政府办公厅所属的杭州市教育局主管该类舆情") {
				t.Errorf("RouteFor = %s / %s (%s)", d.Unit.ID, d.Place.ID, d.Reason)
			}
			if !slices.Equal(tr.Categories("hz-edu"), []string{"教育"}) || tr.Kind("hz-edu") != KindDepartment {
				t.Errorf("hz-edu: %s %q", tr.Kind("hz-edu"), tr.Categories("hz-edu"))
			}
		}},
		{"children before their parent in the batch", []domain.Unit{
			{ID: "nb-yz-zgm", Name: "钟公庙街道办事处", ParentID: "nb-yz", Places: []string{"钟公庙街道"}}, yz,
		}, func(t *testing.T, tr *Tree) {
			if d := tr.RouteFor(Query{Places: []string{"鄞州区钟公庙街道一小区"}}); d.Unit.ID != "nb-yz-zgm" {
				t.Errorf("RouteFor = %s (%s)", d.Unit.ID, d.Reason)
			}
			if p, _ := tr.Parent("nb-yz-zgm"); p.ID != "nb-yz" {
				t.Errorf("Parent = %s", p.ID)
			}
		}},
		{"a known id replaces the unit in its place", []domain.Unit{{ID: "nb", Name: "宁波市人民政府", Places: []string{"宁波", "甬城"}}}, func(t *testing.T, tr *Tree) {
			u, _ := tr.Get("nb")
			if u.Name != "宁波市人民政府" || u.ParentID != "zj" || u.Contact != "" || !slices.Equal(u.Places, []string{"宁波", "甬城"}) || u.Source != SourceAPI {
				t.Errorf("Get = %+v", u)
			}
			if d := tr.RouteFor(Query{Places: []string{"甬城某超市"}, Category: "食品药品"}); d.Unit.ID != "nb-amr" {
				t.Errorf("its departments stay: %s (%s)", d.Unit.ID, d.Reason)
			}
			if d := tr.RouteFor(Query{Places: []string{"鄞州区某地"}}); d.Unit.ID != "root" {
				t.Errorf("places are replaced, not added: %s", d.Unit.ID)
			}
			if _, owner := tr.Channels("nb"); owner != "nb" {
				t.Errorf("channels stay: %s", owner)
			}
		}},
		{"a known id without kind keeps its kind", []domain.Unit{{ID: "nb-edu", Name: "宁波市教育局", Categories: []string{"教育", "就业与社会保障"}}}, func(t *testing.T, tr *Tree) {
			if tr.Kind("nb-edu") != KindDepartment || !slices.Equal(tr.Categories("nb-edu"), []string{"教育", "就业与社会保障"}) {
				t.Errorf("nb-edu: %s %q", tr.Kind("nb-edu"), tr.Categories("nb-edu"))
			}
			if u, ok := tr.Department("nb", "就业与社会保障"); !ok || u.ID != "nb-edu" {
				t.Errorf("Department = %+v", u)
			}
		}},
		{"parent_id moves a known unit with its children", []domain.Unit{{ID: "nb", Name: "宁波市人民政府办公厅", ParentID: "gd", Places: []string{"宁波"}}}, func(t *testing.T, tr *Tree) {
			if p, _ := tr.Parent("nb"); p.ID != "gd" || !tr.IsAncestor("gd", "nb-amr") || tr.IsAncestor("zj", "nb") {
				t.Errorf("Parent(nb) = %s", p.ID)
			}
			if d := tr.RouteFor(Query{Places: []string{"宁波", "杭州"}}); d.Unit.ID != "root" {
				t.Errorf("common superior = %s", d.Unit.ID)
			}
		}},
		{"the same parent_id keeps the place", []domain.Unit{{ID: "hz", Name: "杭州市人民政府办公厅", ParentID: "zj", Places: []string{"杭州"}}}, func(t *testing.T, tr *Tree) {
			units := tr.Units()
			i := slices.IndexFunc(units, func(u domain.Unit) bool { return u.ID == "hz" })
			if i < 0 || units[i-1].ID != "nb-edu" {
				t.Errorf("order = %v", units)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := mustLoad(t, mergeBase)
			tr, errs := base.Merge(tc.units)
			if len(errs) > 0 {
				t.Fatalf("Merge: %v", errs)
			}
			if tr.Len() != base.Len()+len(tc.units)-countKnown(base, tc.units) {
				t.Errorf("Len = %d", tr.Len())
			}
			tc.check(t, tr)
			// the file's tree is unchanged
			if u, _ := base.Get("nb"); u.Name != "宁波市人民政府办公厅" || base.Len() != 8 {
				t.Errorf("base changed: %+v, %d units", u, base.Len())
			}
		})
	}
}

func countKnown(tr *Tree, units []domain.Unit) int {
	n := 0
	for _, u := range units {
		if _, ok := tr.Get(u.ID); ok {
			n++
		}
	}
	return n
}

func TestMergeErrors(t *testing.T) {
	tests := []struct {
		name  string
		units []domain.Unit
		want  []string // one error each, in order
		kept  []string // the new units merged nonetheless
	}{
		{"no id", []domain.Unit{{Name: "某单位", ParentID: "nb"}}, []string{"无法加入单位 \"\"（某单位）：缺少 id"}, nil},
		{"no name", []domain.Unit{{ID: "x", ParentID: "nb"}}, []string{"无法加入单位 \"x\"：缺少 name"}, nil},
		{"new unit without parent", []domain.Unit{{ID: "x", Name: "某县"}}, []string{"新单位须给出 parent_id（上级单位 id）：组织机构树只有一个根单位 \"root\"（国务院办公厅政务公开办公室）"}, nil},
		{"unknown parent", []domain.Unit{{ID: "x", Name: "某县", ParentID: "nope"}}, []string{"无法加入单位 \"x\"（某县）：上级单位 \"nope\" 不存在"}, nil},
		{"its own parent", []domain.Unit{{ID: "x", Name: "某县", ParentID: "x"}}, []string{"不能是自己的上级"}, nil},
		{"the root with a parent", []domain.Unit{{ID: "root", Name: "国务院办公厅政务公开办公室", ParentID: "gd"}}, []string{"根单位不能有上级"}, nil},
		{"the root as a department", []domain.Unit{{ID: "root", Name: "某部", Kind: KindDepartment}}, []string{"根单位 \"root\"（某部）不能是部门"}, nil},
		{"under its own subordinate", []domain.Unit{{ID: "zj", Name: "浙江省人民政府办公厅", ParentID: "nb", Places: []string{"浙江"}}}, []string{"不能移到自己的下级 \"nb\"（宁波市人民政府办公厅）之下"}, nil},
		{"a loop in the batch", []domain.Unit{{ID: "a", Name: "甲", ParentID: "b"}, {ID: "b", Name: "乙", ParentID: "a"}},
			[]string{"无法加入单位 \"a\"（甲）：上级关系形成循环（a → b → a）", "无法加入单位 \"b\"（乙）：上级关系形成循环（a → b → a）"}, nil},
		{"twice in the batch", []domain.Unit{{ID: "x", Name: "某县", ParentID: "nb"}, {ID: "x", Name: "某县", ParentID: "hz"}}, []string{"与同一批的第 1 个单位 id 重复"}, []string{"x"}},
		{"department with places", []domain.Unit{{ID: "d", Name: "杭州市教育局", ParentID: "hz", Kind: KindDepartment, Places: []string{"西湖区"}, Categories: []string{"教育"}}},
			[]string{"部门 \"d\"（杭州市教育局）不能有地名（places）"}, nil},
		{"under a department", []domain.Unit{{ID: "x", Name: "某科室", ParentID: "nb-edu", Kind: KindDepartment}}, []string{"部门 \"nb-edu\"（宁波市教育局）不能有下级单位"}, nil},
		{"two departments in charge", []domain.Unit{{ID: "d", Name: "宁波市药品监督管理局", ParentID: "nb", Kind: KindDepartment, Categories: []string{"食品药品"}}},
			[]string{"类别“食品药品”在宁波市人民政府办公厅之下由宁波市市场监督管理局和宁波市药品监督管理局两个部门主管，只能有一个"}, nil},
		{"unknown category", []domain.Unit{{ID: "d", Name: "杭州市教育局", ParentID: "hz", Kind: KindDepartment, Categories: []string{"学校"}}}, []string{"类别 \"学校\" 不在舆情分类中"}, nil},
		{"unknown kind", []domain.Unit{{ID: "d", Name: "杭州市教育局", ParentID: "hz", Kind: "bureau"}}, []string{"kind \"bureau\" 无效"}, nil},
		{"categories on a government unit", []domain.Unit{{ID: "x", Name: "某县", ParentID: "hz", Categories: []string{"教育"}}}, []string{"不是部门，不能设 categories"}, nil},
		{"empty place", []domain.Unit{{ID: "x", Name: "某县", ParentID: "hz", Places: []string{" "}}}, []string{"有空的地名"}, nil},
		{"a place of an unrelated unit", []domain.Unit{{ID: "x", Name: "某县", ParentID: "gd", Places: []string{"某县", "宁波"}}},
			[]string{"地名“宁波”已属于宁波市人民政府办公厅（nb），两者互不隶属"}, nil},
		{"the bad one is left out, the others kept", []domain.Unit{
			{ID: "x", Name: "某县", ParentID: "nope"}, {ID: "y", Name: "某区", ParentID: "hz", Places: []string{"某区"}}, {ID: "z", Name: "某镇", ParentID: "x"},
		}, []string{"\"x\"（某县）：上级单位 \"nope\" 不存在", "\"z\"（某镇）：上级单位 \"x\" 不存在"}, []string{"y"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			base := mustLoad(t, mergeBase)
			tr, errs := base.Merge(tc.units)
			if len(errs) != len(tc.want) {
				t.Fatalf("errors %v, want %d", errs, len(tc.want))
			}
			for i, want := range tc.want {
				if !strings.Contains(errs[i].Error(), want) {
					t.Errorf("error %q\nwant it to contain %q", errs[i], want)
				}
			}
			// nothing of a refused unit is in the tree
			var kept []string
			for _, u := range tr.Units() {
				if _, known := base.Get(u.ID); !known {
					kept = append(kept, u.ID)
				}
			}
			if !slices.Equal(kept, tc.kept) || tr.Len() != base.Len()+len(tc.kept) {
				t.Errorf("new units %q, want %q", kept, tc.kept)
			}
			for _, u := range tc.units {
				if got, ok := tr.Get(u.ID); ok && got.Source == SourceAPI && !slices.Contains(tc.kept, u.ID) {
					t.Errorf("refused unit %s is in the tree: %+v", u.ID, got)
				}
			}
			// With refuses the batch
			if _, err := base.With(tc.units); err == nil || err.Error() != errs[0].Error() {
				t.Errorf("With = %v, want %v", err, errs[0])
			}
		})
	}
}

// TestReplace swaps trees under concurrent readers: each call sees one
// whole tree (run with -race).
func TestReplace(t *testing.T) {
	base := mustLoad(t, mergeBase)
	merged, err := base.With([]domain.Unit{{ID: "nb-yz", Name: "鄞州区人民政府办公室", ParentID: "nb", Places: []string{"鄞州区"}}})
	if err != nil {
		t.Fatal(err)
	}
	live := mustLoad(t, mergeBase)
	var wg sync.WaitGroup
	var calls atomic.Int64
	stop := make(chan struct{})
	errc := make(chan error, 8)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				d := live.RouteFor(Query{Places: []string{"宁波鄞州区某超市"}, Category: "食品药品"})
				switch {
				case d.Place.ID == "nb" && d.Unit.ID == "nb-amr", d.Place.ID == "nb-yz" && d.Unit.ID == "nb-yz":
				default:
					errc <- fmt.Errorf("mixed decision: %s / %s (%s)", d.Unit.ID, d.Place.ID, d.Reason)
					return
				}
				if n := live.Len(); n != 8 && n != 9 {
					errc <- fmt.Errorf("Len %d", n)
					return
				}
				live.Get("nb-yz")
				live.Find("鄞州区人民政府办公室")
				calls.Add(1)
			}
		}()
	}
	for i := 0; i < 2000 || calls.Load() < 2000; i++ {
		if i%2 == 0 {
			live.Replace(merged)
		} else {
			live.Replace(base)
		}
	}
	live.Replace(merged)
	close(stop)
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if u, ok := live.Get("nb-yz"); !ok || u.ParentID != "nb" {
		t.Errorf("after Replace: %+v, %v", u, ok)
	}
	// Replacing with itself or nil changes nothing.
	live.Replace(live)
	live.Replace(nil)
	if live.Len() != 9 {
		t.Errorf("Len = %d", live.Len())
	}
}

// TestSamePlaceDeeperWins: a name two units of one line give goes to the
// deeper unit, whatever the file's order.
func TestSamePlaceDeeperWins(t *testing.T) {
	tr := mustLoad(t, `
id: root
name: 根
children:
  - id: nb
    name: 宁波市人民政府办公厅
    places: [宁波, 鄞州区]
    children:
      - {id: yz, name: 鄞州区人民政府办公室, places: [鄞州区]}
`)
	if u, _ := tr.Route("", "", []string{"鄞州区某地"}); u.ID != "yz" {
		t.Errorf("Route = %s", u.ID)
	}
}
