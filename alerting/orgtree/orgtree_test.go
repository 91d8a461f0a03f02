package orgtree

import (
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

const small = `
id: root
name: 国务院办公厅政务公开办公室
contact: 010-00000000
children:
  - id: zj
    name: 浙江省人民政府办公厅
    places: [浙江, 浙江省]
    children:
      - id: nb
        name: 宁波市人民政府办公厅
        places: [宁波, 宁波市, 杭州湾新区]
      - id: hz
        name: 杭州市人民政府办公厅
        places: [杭州, 杭州市]
  - id: gd
    name: 广东省人民政府办公厅
    places: [广东, 广东省]
    children:
      - id: gz
        name: 广州市人民政府办公厅
        places: [广州, 广州市]
  - id: jl
    name: 吉林省人民政府办公厅
    places: [吉林, 吉林省]
    children:
      - id: jlc
        name: 吉林市人民政府办公室
        places: [吉林市]
`

func mustLoad(t *testing.T, s string) *Tree {
	t.Helper()
	tr, err := Load(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func TestRoute(t *testing.T) {
	tr := mustLoad(t, small)
	tests := []struct {
		name             string
		region, location string
		places           []string
		want             string
		reason           string
	}{
		{"region wins over text and location", "广东", "浙江 宁波", []string{"杭州某地"}, "gd", "发布地域为“广东”，属地为广东省人民政府办公厅"},
		{"region city", "浙江省宁波市", "", nil, "nb", "发布地域为“浙江省宁波市”，属地为宁波市人民政府办公厅"},
		{"text narrows the region", "浙江", "", []string{"宁波某小区电梯困人"}, "nb", "发布地域为“浙江”，正文提到“宁波”，属地为宁波市人民政府办公厅"},
		{"text outside the region is ignored", "浙江", "", []string{"广州某地"}, "zj", "发布地域为“浙江”，属地为浙江省人民政府办公厅"},
		{"text place", "", "广东 广州", []string{"宁波某小区电梯故障困人"}, "nb", "正文提到“宁波”，属地为宁波市人民政府办公厅"},
		{"text province and city: the city", "", "", []string{"浙江宁波一小区"}, "nb", "正文提到“宁波”，属地为宁波市人民政府办公厅"},
		{"keywords list", "", "", []string{"电梯", "宁波市"}, "nb", "正文提到“宁波市”，属地为宁波市人民政府办公厅"},
		{"longest match: new district", "", "", []string{"宁波杭州湾新区"}, "nb", "正文提到“宁波”“杭州湾新区”，属地为宁波市人民政府办公厅"},
		{"longest match: Jilin city", "", "", []string{"吉林市一工厂"}, "jlc", "正文提到“吉林市”，属地为吉林市人民政府办公室"},
		{"two cities of one province", "", "", []string{"宁波和杭州两地"}, "zj", "正文提到“宁波”“杭州”，分属宁波市人民政府办公厅、杭州市人民政府办公厅，涉及多地，由共同上级浙江省人民政府办公厅回应"},
		{"two provinces: common ancestor", "", "", []string{"宁波", "广州"}, "root", "正文提到“宁波”“广州”，分属宁波市人民政府办公厅、广州市人民政府办公厅，涉及多地，由共同上级国务院办公厅政务公开办公室回应"},
		{"location fallback", "", "广东 广州", []string{"某小区电梯困人"}, "gz", "作者所在地为“广东 广州”，属地为广州市人民政府办公厅"},
		{"unknown region falls through", "海外", "浙江", nil, "zj", "作者所在地为“浙江”，属地为浙江省人民政府办公厅"},
		{"nothing: root", "", "其他", []string{"某地发生一起事故"}, "root", "地域、正文和作者所在地均未提到已知地名，由国务院办公厅政务公开办公室受理"},
		{"empty", "", "", nil, "root", "地域、正文和作者所在地均未提到已知地名，由国务院办公厅政务公开办公室受理"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u, reason := tr.Route(tc.region, tc.location, tc.places)
			if u.ID != tc.want {
				t.Errorf("Route = %s (%s), want %s", u.ID, reason, tc.want)
			}
			if reason != tc.reason {
				t.Errorf("reason = %q\nwant     %q", reason, tc.reason)
			}
		})
	}
}

func TestTreeNavigation(t *testing.T) {
	tr := mustLoad(t, small)
	if tr.Len() != 8 {
		t.Errorf("Len = %d, want 8", tr.Len())
	}
	units := tr.Units()
	var ids []string
	for _, u := range units {
		ids = append(ids, u.ID)
	}
	if got := strings.Join(ids, ","); got != "root,zj,nb,hz,gd,gz,jl,jlc" {
		t.Errorf("Units order = %s", got)
	}
	if units[0].ParentID != "" || units[2].ParentID != "zj" || units[0].Contact != "010-00000000" {
		t.Errorf("units = %+v", units[:3])
	}
	tests := []struct {
		id, parent string
		ok         bool
	}{{"nb", "zj", true}, {"zj", "root", true}, {"root", "", false}, {"nope", "", false}}
	for _, tc := range tests {
		p, ok := tr.Parent(tc.id)
		if ok != tc.ok || p.ID != tc.parent {
			t.Errorf("Parent(%s) = %s, %v; want %s, %v", tc.id, p.ID, ok, tc.parent, tc.ok)
		}
	}
	if u, ok := tr.Get("nb"); !ok || u.Name != "宁波市人民政府办公厅" || len(u.Places) != 3 {
		t.Errorf("Get(nb) = %+v, %v", u, ok)
	}
	if _, ok := tr.Get("nope"); ok {
		t.Error("Get(nope) found a unit")
	}
	if u, ok := tr.Find("广州市人民政府办公厅"); !ok || u.ID != "gz" {
		t.Errorf("Find by name = %+v, %v", u, ok)
	}
	// Callers cannot change the tree.
	u, _ := tr.Get("nb")
	u.Places[0] = "改了"
	if u2, _ := tr.Get("nb"); u2.Places[0] != "宁波" {
		t.Error("Get returned the tree's own slice")
	}
	if tr.Root().ID != "root" {
		t.Errorf("Root = %+v", tr.Root())
	}
}

func TestLoadErrors(t *testing.T) {
	tests := []struct{ name, yaml, want string }{
		{"empty", "", "组织树为空"},
		{"no id", "name: 甲\n", "缺少 id"},
		{"no name", "id: a\n", "缺少 name"},
		{"duplicate id", "id: a\nname: 甲\nchildren:\n  - id: a\n    name: 乙\n", "重复"},
		{"empty place", "id: a\nname: 甲\nplaces: [\"\"]\n", "空的地名"},
		{"unknown field", "id: a\nname: 甲\nplace: [x]\n", "无法解析"},
		{"two roots", "id: a\nname: 甲\n---\nid: b\nname: 乙\n", "一个根单位"},
		{"bad child", "id: a\nname: 甲\nchildren:\n  - name: 乙\n", "甲 的第 1 个下级"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load error = %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestDefaultTree(t *testing.T) {
	tr, err := Default()
	if err != nil {
		t.Fatalf("embedded default_units.yaml: %v", err)
	}
	root := tr.Root()
	if root.Name != "国务院办公厅政务公开办公室" {
		t.Errorf("root = %s", root.Name)
	}
	provinces := 0
	for _, u := range tr.Units() {
		if u.ParentID == root.ID {
			provinces++
		}
	}
	if provinces != 34 {
		t.Errorf("%d provincial-level units, want 34", provinces)
	}
	// No place name may belong to two units.
	owner := map[string]string{}
	for _, u := range tr.Units() {
		if len(u.Places) == 0 && u.ID != root.ID {
			t.Errorf("unit %s has no places", u.ID)
		}
		for _, p := range u.Places {
			if o, ok := owner[p]; ok {
				t.Errorf("place %s belongs to %s and %s", p, o, u.ID)
			}
			owner[p] = u.ID
		}
	}
	tests := []struct {
		region, location string
		places           []string
		want             string
	}{
		{"", "", []string{"宁波某小区电梯困人"}, "宁波市人民政府办公厅"},
		{"浙江", "", nil, "浙江省人民政府办公厅"},
		{"", "", []string{"新疆维吾尔自治区"}, "新疆维吾尔自治区人民政府办公厅"},
		{"", "", []string{"广西"}, "广西壮族自治区人民政府办公厅"},
		{"", "", []string{"深圳福田区"}, "深圳市人民政府办公厅"},
		{"", "", []string{"吉林市"}, "吉林市人民政府办公室"},
		{"", "", []string{"长春和吉林市"}, "吉林省人民政府办公厅"},
		{"", "", []string{"宁波与广州"}, "国务院办公厅政务公开办公室"},
		{"", "辽宁海城", nil, "辽宁省人民政府办公厅"},
		{"", "香港", nil, "香港特别行政区政府政务司司长办公室"},
		{"", "", []string{"一则消息"}, "国务院办公厅政务公开办公室"},
	}
	for _, tc := range tests {
		u, reason := tr.Route(tc.region, tc.location, tc.places)
		if u.Name != tc.want {
			t.Errorf("Route(%q, %q, %q) = %s (%s), want %s", tc.region, tc.location, tc.places, u.Name, reason, tc.want)
		}
	}
}

func BenchmarkRouteTitle(b *testing.B) {
	tr := MustDefault()
	title := "网友反映宁波市鄞州区某小区电梯多次故障困人，物业回应称已联系维保单位，市场监管部门介入调查，相关话题阅读量破亿"
	for b.Loop() {
		if u, _ := tr.Route("", "", []string{title, "电梯", "困人"}); u.ID != "zhejiang-ningbo" {
			b.Fatal(u.ID)
		}
	}
}

func TestChannelsInherit(t *testing.T) {
	tree, err := Load(strings.NewReader(`
id: zj
name: 浙江省人民政府办公厅
notify: [{type: dingtalk, url: "https://oapi.dingtalk.com/robot/send?access_token=x", name: 省值班群}]
children:
  - id: nb
    name: 宁波市人民政府办公厅
    places: [宁波]
    notify: [{type: wecom, url: "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=y"}]
    children:
      - {id: nb-jb, name: 江北区人民政府办公室, places: [江北区]}
  - {id: wz, name: 温州市人民政府办公室, places: [温州]}
`))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[string]string{"nb-jb": "nb", "nb": "nb", "wz": "zj", "zj": "zj", "none": ""} {
		chs, owner := tree.Channels(id)
		if owner != want || (want != "" && len(chs) != 1) {
			t.Errorf("Channels(%s) = %v from %q, want from %q", id, chs, owner, want)
		}
	}
	_, err = Load(strings.NewReader("id: x\nname: 某单位\nnotify: [{type: pager}]\n"))
	if err == nil || !strings.Contains(err.Error(), "notify[0]") {
		t.Errorf("a bad channel: %v", err)
	}
}
