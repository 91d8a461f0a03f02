package orgtree

import (
	"slices"
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
		if len(u.Places) == 0 && u.ID != root.ID && tr.Kind(u.ID) != KindDepartment {
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

// withDepts is small with departments: Zhejiang has a market-regulation and
// an environment department, Ningbo a market-regulation and an education
// bureau, Hangzhou none, and the root a national one.
const withDepts = `
id: root
name: 国务院办公厅政务公开办公室
children:
  - id: samr
    name: 国家市场监督管理总局
    kind: department
    categories: [食品药品]
  - id: zj
    name: 浙江省人民政府办公厅
    places: [浙江, 浙江省]
    children:
      - id: nb
        name: 宁波市人民政府办公厅
        places: [宁波, 宁波市]
        children:
          - {id: nb-amr, name: 宁波市市场监督管理局, kind: department, categories: [食品药品, 食品药品]}
          - {id: nb-edu, name: 宁波市教育局, kind: department, categories: [教育]}
      - id: hz
        name: 杭州市人民政府办公厅
        kind: government
        places: [杭州, 杭州市]
      - {id: zj-amr, name: 浙江省市场监督管理局, kind: department, categories: [食品药品]}
      - {id: zj-eco, name: 浙江省生态环境厅, kind: department, categories: [生态环境, " 突发事件与灾害 "]}
      - {id: zj-office, name: 浙江省人民政府新闻办公室, kind: department}
  - id: gd
    name: 广东省人民政府办公厅
    places: [广东, 广东省]
`

func TestRouteFor(t *testing.T) {
	tr := mustLoad(t, withDepts)
	tests := []struct {
		name string
		q    Query
		unit string
		plc  string
		step []string
	}{
		{"single place, no category", Query{Places: []string{"宁波某小区电梯困人"}}, "nb", "nb",
			[]string{"正文提到“宁波”，属地为宁波市人民政府办公厅"}},
		{"single place, department at that level", Query{Places: []string{"宁波某超市售卖过期食品"}, Category: "食品药品"}, "nb-amr", "nb",
			[]string{"正文提到“宁波”，属地为宁波市人民政府办公厅",
				"类别为“食品药品”，宁波市人民政府办公厅所属的宁波市市场监督管理局主管该类舆情，由其回应（谁主管谁负责）"}},
		{"no department at that level: the government unit, not the province's department", Query{Places: []string{"宁波某河道污染"}, Category: "生态环境"}, "nb", "nb",
			[]string{"正文提到“宁波”，属地为宁波市人民政府办公厅",
				"类别为“生态环境”，宁波市人民政府办公厅所属部门中没有主管该类舆情的部门，由宁波市人民政府办公厅回应（属地管理）"}},
		{"city without departments", Query{Region: "浙江", Places: []string{"杭州某学校"}, Category: "教育"}, "hz", "hz",
			[]string{"发布地域为“浙江”，正文提到“杭州”，属地为杭州市人民政府办公厅",
				"类别为“教育”，杭州市人民政府办公厅所属部门中没有主管该类舆情的部门，由杭州市人民政府办公厅回应（属地管理）"}},
		{"several places: the superior's department", Query{Places: []string{"宁波和杭州两地餐馆食物中毒"}, Category: "食品药品"}, "zj-amr", "zj",
			[]string{"正文提到“宁波”“杭州”，分属宁波市人民政府办公厅、杭州市人民政府办公厅，涉及多地，由共同上级浙江省人民政府办公厅回应",
				"类别为“食品药品”，浙江省人民政府办公厅所属的浙江省市场监督管理局主管该类舆情，由其回应（谁主管谁负责）"}},
		{"several places, no category", Query{Places: []string{"宁波", "杭州"}}, "zj", "zj",
			[]string{"正文提到“宁波”“杭州”，分属宁波市人民政府办公厅、杭州市人民政府办公厅，涉及多地，由共同上级浙江省人民政府办公厅回应"}},
		{"second category of a department", Query{Region: "浙江省", Category: "突发事件与灾害"}, "zj-eco", "zj",
			[]string{"发布地域为“浙江省”，属地为浙江省人民政府办公厅",
				"类别为“突发事件与灾害”，浙江省人民政府办公厅所属的浙江省生态环境厅主管该类舆情，由其回应（谁主管谁负责）"}},
		{"two provinces: the root's department", Query{Places: []string{"宁波", "广东"}, Category: "食品药品"}, "samr", "root",
			[]string{"正文提到“宁波”“广东”，分属宁波市人民政府办公厅、广东省人民政府办公厅，涉及多地，由共同上级国务院办公厅政务公开办公室回应",
				"类别为“食品药品”，国务院办公厅政务公开办公室所属的国家市场监督管理总局主管该类舆情，由其回应（谁主管谁负责）"}},
		{"a department's name is no place", Query{Places: []string{"市场监督管理局通报"}, Location: "广东", Category: "教育"}, "gd", "gd",
			[]string{"作者所在地为“广东”，属地为广东省人民政府办公厅",
				"类别为“教育”，广东省人民政府办公厅所属部门中没有主管该类舆情的部门，由广东省人民政府办公厅回应（属地管理）"}},
		{"unknown category", Query{Places: []string{"宁波"}, Category: "财经"}, "nb", "nb",
			[]string{"正文提到“宁波”，属地为宁波市人民政府办公厅",
				"类别“财经”不在舆情分类中，不按类别确定主管部门，由宁波市人民政府办公厅回应"}},
		{"category trimmed", Query{Places: []string{"宁波"}, Category: " 教育 "}, "nb-edu", "nb", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := tr.RouteFor(tc.q)
			if d.Unit.ID != tc.unit || d.Place.ID != tc.plc {
				t.Errorf("RouteFor = unit %s, place %s (%s); want %s, %s", d.Unit.ID, d.Place.ID, d.Reason, tc.unit, tc.plc)
			}
			if tc.step != nil && !slices.Equal(d.Steps, tc.step) {
				t.Errorf("steps = %q\nwant    %q", d.Steps, tc.step)
			}
			if d.Reason != strings.Join(d.Steps, "；") {
				t.Errorf("reason %q is not the steps joined", d.Reason)
			}
			if tr.Kind(d.Place.ID) != KindGovernment {
				t.Errorf("place unit %s is a %s", d.Place.ID, tr.Kind(d.Place.ID))
			}
			// Route is RouteFor without the category.
			q := tc.q
			q.Category = ""
			u, reason := tr.Route(q.Region, q.Location, q.Places)
			if u.ID != tc.plc || reason != d.Steps[0] {
				t.Errorf("Route = %s %q; want %s %q", u.ID, reason, tc.plc, d.Steps[0])
			}
		})
	}
}

func TestKindCategories(t *testing.T) {
	tr := mustLoad(t, withDepts)
	tests := []struct {
		id, kind string
		cats     []string
		parent   string
	}{
		{"root", KindGovernment, nil, ""},
		{"hz", KindGovernment, nil, "zj"},
		{"nb-amr", KindDepartment, []string{"食品药品"}, "nb"},
		{"zj-eco", KindDepartment, []string{"生态环境", "突发事件与灾害"}, "zj"},
		{"zj-office", KindDepartment, nil, "zj"},
		{"nope", "", nil, ""},
	}
	for _, tc := range tests {
		if k := tr.Kind(tc.id); k != tc.kind {
			t.Errorf("Kind(%s) = %q, want %q", tc.id, k, tc.kind)
		}
		if c := tr.Categories(tc.id); !slices.Equal(c, tc.cats) {
			t.Errorf("Categories(%s) = %q, want %q", tc.id, c, tc.cats)
		}
		if p, _ := tr.Parent(tc.id); p.ID != tc.parent {
			t.Errorf("Parent(%s) = %s, want %s", tc.id, p.ID, tc.parent)
		}
	}
	// Callers cannot change the tree.
	tr.Categories("zj-eco")[0] = "改了"
	if c := tr.Categories("zj-eco"); c[0] != "生态环境" {
		t.Error("Categories returned the tree's own slice")
	}
	if u, ok := tr.Department("nb", "教育"); !ok || u.ID != "nb-edu" {
		t.Errorf("Department(nb, 教育) = %+v, %v", u, ok)
	}
	for _, q := range [][2]string{{"hz", "教育"}, {"nb", "生态环境"}, {"nb-amr", "食品药品"}, {"nope", "教育"}} {
		if u, ok := tr.Department(q[0], q[1]); ok {
			t.Errorf("Department(%s, %s) = %s", q[0], q[1], u.ID)
		}
	}
	// Departments are units like the others (for the store), without places.
	if u, ok := tr.Find("宁波市教育局"); !ok || u.ParentID != "nb" || len(u.Places) != 0 {
		t.Errorf("Find(宁波市教育局) = %+v, %v", u, ok)
	}
}

func TestDepartmentErrors(t *testing.T) {
	const head = "id: a\nname: 甲省人民政府办公厅\nplaces: [甲]\nchildren:\n"
	tests := []struct{ name, yaml, want string }{
		{"department with places", head + "  - {id: d, name: 甲省教育厅, kind: department, places: [乙], categories: [教育]}\n", "部门 \"d\"（甲省教育厅）不能有地名"},
		{"unknown category", head + "  - {id: d, name: 甲省教育厅, kind: department, categories: [学校]}\n",
			"类别 \"学校\" 不在舆情分类中，可用的类别：突发事件与灾害、公共安全、食品药品、生态环境、医疗卫生、教育、住房与土地、就业与社会保障、金融与非法集资、执法与司法、政府作为与政策、其他"},
		{"empty category", head + "  - {id: d, name: 甲省教育厅, kind: department, categories: [\"\"]}\n", "不在舆情分类中"},
		{"unknown kind", head + "  - {id: d, name: 甲省教育厅, kind: bureau}\n", "kind \"bureau\" 无效"},
		{"categories on a government unit", head + "  - {id: b, name: 乙市人民政府办公室, places: [乙], categories: [教育]}\n", "不是部门，不能设 categories"},
		{"department at the root", "id: a\nname: 某部\nkind: department\n", "根单位 \"a\"（某部）不能是部门"},
		{"department with children", head + "  - id: d\n    name: 甲省教育厅\n    kind: department\n    children: [{id: e, name: 乙市教育局, kind: department}]\n", "不能有下级单位"},
		{"two departments in charge", head + "  - {id: d, name: 甲省市场监督管理局, kind: department, categories: [食品药品]}\n  - {id: e, name: 甲省药品监督管理局, kind: department, categories: [食品药品]}\n",
			"类别“食品药品”在甲省人民政府办公厅之下由甲省市场监督管理局和甲省药品监督管理局两个部门主管"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(strings.NewReader(tc.yaml))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Load error = %v\nwant it to contain %q", err, tc.want)
			}
		})
	}
	// The same category under two different governments is fine.
	mustLoad(t, head+"  - {id: d, name: 甲省教育厅, kind: department, categories: [教育]}\n"+
		"  - id: b\n    name: 乙市人民政府办公室\n    places: [乙]\n    children: [{id: e, name: 乙市教育局, kind: department, categories: [教育]}]\n")
}

func TestDefaultDepartments(t *testing.T) {
	tr := MustDefault()
	for _, u := range tr.Units() {
		if tr.Kind(u.ID) != KindDepartment {
			continue
		}
		if p, _ := tr.Parent(u.ID); tr.Kind(p.ID) != KindGovernment || len(tr.Categories(u.ID)) == 0 {
			t.Errorf("department %s under %s (%s), categories %q", u.ID, p.ID, tr.Kind(p.ID), tr.Categories(u.ID))
		}
	}
	tests := []struct {
		q          Query
		unit, plce string
	}{
		{Query{Places: []string{"宁波某超市售卖过期食品"}, Category: "食品药品"}, "宁波市市场监督管理局", "宁波市人民政府办公厅"},
		{Query{Places: []string{"宁波鄞州区一小学"}, Category: "教育"}, "宁波市教育局", "宁波市人民政府办公厅"},
		{Query{Places: []string{"宁波某楼盘延期交房"}, Category: "住房与土地"}, "宁波市住房和城乡建设局", "宁波市人民政府办公厅"},
		{Query{Places: []string{"宁波某医院"}, Category: "医疗卫生"}, "宁波市人民政府办公厅", "宁波市人民政府办公厅"},
		{Query{Places: []string{"温州某医院"}, Category: "医疗卫生"}, "温州市人民政府办公室", "温州市人民政府办公室"},
		{Query{Places: []string{"宁波和温州多家医院"}, Category: "医疗卫生"}, "浙江省卫生健康委员会", "浙江省人民政府办公厅"},
		{Query{Region: "浙江", Category: "生态环境"}, "浙江省生态环境厅", "浙江省人民政府办公厅"},
		{Query{Places: []string{"广州某餐馆"}, Category: "食品药品"}, "广州市人民政府办公厅", "广州市人民政府办公厅"},
	}
	for _, tc := range tests {
		d := tr.RouteFor(tc.q)
		if d.Unit.Name != tc.unit || d.Place.Name != tc.plce {
			t.Errorf("RouteFor(%+v) = %s / %s (%s), want %s / %s", tc.q, d.Unit.Name, d.Place.Name, d.Reason, tc.unit, tc.plce)
		}
	}
}
