// Package orgtree is the organisation tree that cases are routed on: which
// government body answers for which places (属地管理), and who is whose
// superior (分级负责, escalation upward).
//
// The tree is read from YAML (a root unit with nested children; each unit has
// an id, a name, the place names it answers for and a contact). Routing works
// like Alertmanager's routing tree: the deepest unit whose places match wins;
// when the evidence names places under different branches, the case goes to
// their common ancestor, since a superior answers where several localities
// are involved (DESIGN.md §1). A default national sample is embedded.
//
// A unit is a government general office (kind: government, the default) or a
// department of the government above it (kind: department) with the
// public-opinion categories it is in charge of (谁主管谁负责). Departments
// have no places: the place names the government unit first (属地管理), and
// RouteFor then gives a case of a category to that government's department
// in charge of it, if it has one.
//
// Units added through the API are grafted onto the file's tree with Merge,
// under the same checks as Load; Replace swaps a tree's content in place, so
// that everyone holding the *Tree routes on the new one.
package orgtree

import (
	_ "embed"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync/atomic"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"yuqing/alerting/notify"
	"yuqing/analyzer/taxonomy"
	"yuqing/domain"
)

//go:embed default_units.yaml
var defaultYAML []byte

// DefaultYAML gives the embedded default tree's YAML.
func DefaultYAML() []byte { return slices.Clone(defaultYAML) }

// Default parses the embedded default tree: the national general office at
// the root, the 34 provincial-level divisions below it, and a few
// prefecture-level cities under several provinces.
func Default() (*Tree, error) { return Load(strings.NewReader(string(defaultYAML))) }

// MustDefault is Default that panics on error (the embedded file is tested).
func MustDefault() *Tree {
	t, err := Default()
	if err != nil {
		panic(err)
	}
	return t
}

// yamlUnit is a unit as written in the YAML file.
type yamlUnit struct {
	ID      string   `yaml:"id"`
	Name    string   `yaml:"name"`
	Places  []string `yaml:"places"`
	Contact string   `yaml:"contact"`
	// Notify are the unit's notification channels (DingTalk, WeCom or
	// Feishu robots, webhooks, mail); a unit without any inherits its
	// nearest ancestor's, as routes do in Alertmanager.
	Notify []notify.ChannelConfig `yaml:"notify"`
	// Kind is KindGovernment (the default) or KindDepartment.
	Kind string `yaml:"kind"`
	// Categories are the public-opinion categories a department is in
	// charge of (CategoryNames).
	Categories []string   `yaml:"categories"`
	Children   []yamlUnit `yaml:"children"`
	// source is SourceFile or SourceAPI (not read from the file).
	source string
}

// Unit kinds.
const (
	// KindGovernment is a people's government's general office: it answers
	// for its places (属地管理).
	KindGovernment = "government"
	// KindDepartment is a department of the government unit above it: it
	// answers for the categories it is in charge of (谁主管谁负责) within
	// that government's places. It has no places of its own.
	KindDepartment = "department"
)

// CategoryNames are the public-opinion categories of the analyzer's taxonomy
// that departments can be in charge of: the embedded default taxonomy's,
// unless the server configures another (SetCategories) before loading trees.
var CategoryNames = taxonomy.Default().Names()

// SetCategories makes names the categories departments may be in charge
// of; call it before loading a tree, at start.
func SetCategories(names []string) { CategoryNames = slices.Clone(names) }

// IsCategory reports whether name is one of CategoryNames.
func IsCategory(name string) bool { return slices.Contains(CategoryNames, name) }

type node struct {
	unit       domain.Unit
	notify     []notify.ChannelConfig
	kind       string
	categories []string
	// depts are, on a government unit, its department children by the
	// categories they are in charge of.
	depts    map[string]*node
	parent   *node
	children []*node
	depth    int
}

type place struct {
	name string
	n    *node
}

// Where a unit comes from (domain.Unit.Source).
const (
	// SourceFile is the organisation-tree file, or the built-in default.
	SourceFile = "file"
	// SourceAPI is POST /api/v1/units (Merge).
	SourceAPI = "api"
)

// Tree is an organisation tree. It is safe for concurrent use; Replace swaps
// its whole content at once, so that every holder of the pointer routes on
// the new tree from its next call.
type Tree struct {
	st atomic.Pointer[state]
}

// state is one immutable version of a tree: every method loads it once and
// works on it, so a call never sees half of two versions.
type state struct {
	root  *node
	byID  map[string]*node
	order []*node // depth first, parents before children
	// byFirst indexes the place names by their first rune, longest first,
	// for a leftmost-longest scan of a text.
	byFirst map[rune][]place
}

func (t *Tree) load() *state { return t.st.Load() }

func newTree(st *state) *Tree {
	t := &Tree{}
	t.st.Store(st)
	return t
}

// Replace makes t the same tree as other from now on; calls already running
// finish on the tree they started with.
func (t *Tree) Replace(other *Tree) {
	if other != nil && other != t {
		t.st.Store(other.load())
	}
}

// Load reads a tree from YAML.
func Load(r io.Reader) (*Tree, error) {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	var root yamlUnit
	if err := dec.Decode(&root); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("orgtree: 组织树为空")
		}
		return nil, fmt.Errorf("orgtree: 无法解析组织树 YAML: %w", err)
	}
	st, err := build(root)
	if err != nil {
		return nil, fmt.Errorf("orgtree: %w", err)
	}
	var extra yamlUnit
	if err := dec.Decode(&extra); err == nil {
		return nil, errors.New("orgtree: 组织树只能有一个根单位（文件中有多个 YAML 文档）")
	}
	return newTree(st), nil
}

// build checks a tree as written (in the file, or with posted units
// applied) and indexes it. Units without a source are the file's.
func build(root yamlUnit) (*state, error) {
	t := &state{byID: map[string]*node{}, byFirst: map[rune][]place{}}
	var walk func(y yamlUnit, parent *node, path string) (*node, error)
	walk = func(y yamlUnit, parent *node, path string) (*node, error) {
		id, name := strings.TrimSpace(y.ID), strings.TrimSpace(y.Name)
		if id == "" {
			return nil, fmt.Errorf("%s 的单位缺少 id", path)
		}
		if name == "" {
			return nil, fmt.Errorf("单位 %q（%s）缺少 name", id, path)
		}
		if prev, ok := t.byID[id]; ok {
			return nil, fmt.Errorf("单位 id %q 重复（%s 与 %s）", id, prev.unit.Name, name)
		}
		source := y.source
		if source == "" {
			source = SourceFile
		}
		n := &node{parent: parent, unit: domain.Unit{ID: id, Name: name, Contact: strings.TrimSpace(y.Contact), Source: source}, notify: y.Notify}
		switch kind := strings.TrimSpace(y.Kind); kind {
		case "", KindGovernment:
			n.kind = KindGovernment
		case KindDepartment:
			n.kind = KindDepartment
		default:
			return nil, fmt.Errorf("单位 %q（%s）的 kind %q 无效，应为 %s（政府办公厅，默认）或 %s（部门）", id, name, kind, KindGovernment, KindDepartment)
		}
		if err := department(n, y, parent); err != nil {
			return nil, err
		}
		n.unit.Kind, n.unit.Categories = n.kind, slices.Clone(n.categories)
		for i, ch := range y.Notify {
			if err := ch.Validate(); err != nil {
				return nil, fmt.Errorf("单位 %q（%s）notify[%d]: %w", id, path, i, err)
			}
		}
		if parent != nil {
			n.unit.ParentID = parent.unit.ID
			n.depth = parent.depth + 1
		}
		seen := map[string]bool{}
		for _, p := range y.Places {
			p = strings.TrimSpace(p)
			if p == "" {
				return nil, fmt.Errorf("单位 %q（%s）有空的地名", id, name)
			}
			if !seen[p] {
				seen[p] = true
				n.unit.Places = append(n.unit.Places, p)
			}
		}
		t.byID[id] = n
		t.order = append(t.order, n)
		for i, c := range y.Children {
			child, err := walk(c, n, fmt.Sprintf("%s 的第 %d 个下级", name, i+1))
			if err != nil {
				return nil, err
			}
			n.children = append(n.children, child)
		}
		return n, nil
	}
	var err error
	if t.root, err = walk(root, nil, "根"); err != nil {
		return nil, err
	}
	for _, n := range t.order {
		for _, p := range n.unit.Places {
			r, _ := utf8.DecodeRuneInString(p)
			t.byFirst[r] = append(t.byFirst[r], place{p, n})
		}
	}
	for r, ps := range t.byFirst {
		// Longest first. A name that two units give goes to the deeper one
		// (a county unit answers for the county its city also lists);
		// otherwise the earlier unit in the file keeps it (stable order).
		slices.SortStableFunc(ps, func(a, b place) int {
			if d := len(b.name) - len(a.name); d != 0 {
				return d
			}
			if d := strings.Compare(a.name, b.name); d != 0 {
				return d
			}
			return b.n.depth - a.n.depth
		})
		t.byFirst[r] = ps
	}
	return t, nil
}

// department checks a unit's kind against its place in the tree and its
// categories, and registers a department with its government unit (its
// parent: departments have no children, so a parent is a government unit).
func department(n *node, y yamlUnit, parent *node) error {
	id, name := n.unit.ID, n.unit.Name
	if n.kind != KindDepartment {
		if len(y.Categories) > 0 {
			return fmt.Errorf("单位 %q（%s）不是部门，不能设 categories（主管类别只用于 kind: %s；政府办公厅按属地回应各类舆情）", id, name, KindDepartment)
		}
		return nil
	}
	switch {
	case parent == nil:
		return fmt.Errorf("根单位 %q（%s）不能是部门：部门须在其所属政府办公厅之下", id, name)
	case len(y.Places) > 0:
		return fmt.Errorf("部门 %q（%s）不能有地名（places）：部门按主管类别回应，属地由其所属的%s负责", id, name, parent.unit.Name)
	case len(y.Children) > 0:
		return fmt.Errorf("部门 %q（%s）不能有下级单位：下级政府的部门写在下级政府之下", id, name)
	}
	for _, c := range y.Categories {
		c = strings.TrimSpace(c)
		if !IsCategory(c) {
			return fmt.Errorf("部门 %q（%s）的类别 %q 不在舆情分类中，可用的类别：%s", id, name, c, strings.Join(CategoryNames, "、"))
		}
		if slices.Contains(n.categories, c) {
			continue
		}
		if other := parent.depts[c]; other != nil {
			return fmt.Errorf("类别“%s”在%s之下由%s和%s两个部门主管，只能有一个", c, parent.unit.Name, other.unit.Name, name)
		}
		if parent.depts == nil {
			parent.depts = map[string]*node{}
		}
		parent.depts[c] = n
		n.categories = append(n.categories, c)
	}
	return nil
}

// Kind gives the kind of the unit with the given id (KindGovernment or
// KindDepartment), or "" for an unknown id.
func (t *Tree) Kind(id string) string {
	if n := t.load().byID[id]; n != nil {
		return n.kind
	}
	return ""
}

// Categories gives the public-opinion categories the unit with the given id
// is in charge of: a department's, in the order of the file; nil for a
// government unit or an unknown id.
func (t *Tree) Categories(id string) []string {
	if n := t.load().byID[id]; n != nil {
		return slices.Clone(n.categories)
	}
	return nil
}

// Department gives the department of the government unit with the given id
// that is in charge of category, if it has one.
func (t *Tree) Department(id, category string) (domain.Unit, bool) {
	if n := t.load().byID[id]; n != nil {
		if d := n.depts[strings.TrimSpace(category)]; d != nil {
			return cloneUnit(d.unit), true
		}
	}
	return domain.Unit{}, false
}

// Root gives the root unit.
func (t *Tree) Root() domain.Unit { return cloneUnit(t.load().root.unit) }

// Channels gives the notification channels of a unit: its own, else its
// nearest ancestor's; owner is the unit they belong to.
func (t *Tree) Channels(id string) (channels []notify.ChannelConfig, owner string) {
	for n := t.load().byID[id]; n != nil; n = n.parent {
		if len(n.notify) > 0 {
			return slices.Clone(n.notify), n.unit.ID
		}
	}
	return nil, ""
}

// Get gives the unit with the given id.
func (t *Tree) Get(id string) (domain.Unit, bool) {
	n, ok := t.load().byID[id]
	if !ok {
		return domain.Unit{}, false
	}
	return cloneUnit(n.unit), true
}

// Find gives the unit whose id or name is s.
func (t *Tree) Find(s string) (domain.Unit, bool) {
	s = strings.TrimSpace(s)
	st := t.load()
	if n, ok := st.byID[s]; ok {
		return cloneUnit(n.unit), true
	}
	for _, n := range st.order {
		if n.unit.Name == s {
			return cloneUnit(n.unit), true
		}
	}
	return domain.Unit{}, false
}

// IsAncestor reports whether unit anc is above unit id in the tree.
func (t *Tree) IsAncestor(anc, id string) bool {
	n := t.load().byID[id]
	if n == nil {
		return false
	}
	for p := n.parent; p != nil; p = p.parent {
		if p.unit.ID == anc {
			return true
		}
	}
	return false
}

// Subtree gives the ids of the unit and of every unit below it, parents
// before children; nil for an unknown id.
func (t *Tree) Subtree(id string) []string {
	n := t.load().byID[id]
	if n == nil {
		return nil
	}
	var out []string
	var walk func(n *node)
	walk = func(n *node) {
		out = append(out, n.unit.ID)
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(n)
	return out
}

// Parent gives the superior of the unit with the given id (a department's
// is its government unit); false for the root or an unknown id.
func (t *Tree) Parent(id string) (domain.Unit, bool) {
	n, ok := t.load().byID[id]
	if !ok || n.parent == nil {
		return domain.Unit{}, false
	}
	return cloneUnit(n.parent.unit), true
}

// Units gives every unit, depth first with parents before their children
// (ParentID set), for store.PutUnits.
func (t *Tree) Units() []domain.Unit {
	order := t.load().order
	out := make([]domain.Unit, len(order))
	for i, n := range order {
		out[i] = cloneUnit(n.unit)
	}
	return out
}

// Len gives the number of units.
func (t *Tree) Len() int { return len(t.load().order) }

// cloneUnit copies a unit so callers cannot change the tree's own slices.
func cloneUnit(u domain.Unit) domain.Unit {
	u.Places = slices.Clone(u.Places)
	u.Categories = slices.Clone(u.Categories)
	return u
}

// hit is one place name found in a text.
type hit struct {
	place string
	n     *node
}

// scan finds the known place names in text, leftmost-longest and without
// overlaps: "吉林市" is the city, not the province "吉林"; "宁波杭州湾新区" is
// Ningbo's new district, not Hangzhou.
func (t *state) scan(text string, out []hit) []hit {
	for i := 0; i < len(text); {
		r, size := utf8.DecodeRuneInString(text[i:])
		matched := false
		for _, p := range t.byFirst[r] {
			if strings.HasPrefix(text[i:], p.name) {
				out = append(out, hit{p.name, p.n})
				i += len(p.name)
				matched = true
				break
			}
		}
		if !matched {
			i += size
		}
	}
	return out
}

func (n *node) isAncestorOf(m *node) bool {
	for p := m.parent; p != nil; p = p.parent {
		if p == n {
			return true
		}
	}
	return false
}

func lca(a, b *node) *node {
	for a.depth > b.depth {
		a = a.parent
	}
	for b.depth > a.depth {
		b = b.parent
	}
	for a != b {
		a, b = a.parent, b.parent
	}
	return a
}

// resolve picks the unit for a set of hits: the deepest units matched (a
// unit matched together with one of its descendants gives way to it), and
// when more than one remains, their common ancestor. It gives the unit, the
// remaining (most specific) units and, per remaining unit, the place names.
func resolve(hits []hit) (target *node, leaves []*node, names map[*node][]string) {
	names = map[*node][]string{}
	var set []*node
	for _, h := range hits {
		if _, ok := names[h.n]; !ok {
			set = append(set, h.n)
		}
		if !slices.Contains(names[h.n], h.place) {
			names[h.n] = append(names[h.n], h.place)
		}
	}
	for _, n := range set {
		covered := false
		for _, m := range set {
			if m != n && n.isAncestorOf(m) {
				covered = true
				break
			}
		}
		if !covered {
			leaves = append(leaves, n)
		}
	}
	target = leaves[0]
	for _, n := range leaves[1:] {
		target = lca(target, n)
	}
	return target, leaves, names
}

func quote(names []string) string {
	return "“" + strings.Join(names, "”“") + "”"
}

// Query is what a case is routed on.
type Query struct {
	// Region is the post's or event's region (发布地域).
	Region string
	// Location is the author's location, the last evidence taken.
	Location string
	// Places are texts that may name places: titles, keywords, the
	// analyzer's places.
	Places []string
	// Category is the public-opinion category (CategoryNames); "" routes
	// by place alone.
	Category string
}

// Decision is where a case goes and why.
type Decision struct {
	// Unit answers: Place, or its department in charge of the category.
	Unit domain.Unit
	// Place is the government unit the places give (属地), or their common
	// superior when several are involved; the root when none is known.
	Place domain.Unit
	// Steps are the reasoning, in order, in Chinese.
	Steps []string
	// Reason is Steps joined with "；".
	Reason string
}

// Route picks the unit that answers for a post or event by place, and says
// why, in Chinese: RouteFor without a category.
func (t *Tree) Route(region, location string, places []string) (domain.Unit, string) {
	d := t.RouteFor(Query{Region: region, Location: location, Places: places})
	return d.Unit, d.Reason
}

// RouteFor picks the unit that answers for a case and says why, step by
// step (DESIGN.md §1).
//
// First the place (属地管理). The evidence is taken in order: the region;
// then the place names in the texts of q.Places (each may be a single place
// name or a whole text, searched for known place names); then the author's
// location. The first kind of evidence that names a known place decides: the
// deepest unit matched wins, and places under different units give the case
// to their common superior (分级负责). The texts may only narrow the region
// down to one unit below it (region 浙江, text 宁波: Ningbo). With no
// evidence the root answers.
//
// Then the category (谁主管谁负责): when that government unit has a
// department in charge of q.Category, the department answers. When it has
// none, the government unit answers itself; the departments of its
// superiors are not asked, since the locality answers first.
func (t *Tree) RouteFor(q Query) Decision {
	n, step := t.load().locate(q.Region, q.Location, q.Places)
	d := Decision{Unit: cloneUnit(n.unit), Place: cloneUnit(n.unit), Steps: []string{step}}
	switch cat := strings.TrimSpace(q.Category); {
	case cat == "":
	case !IsCategory(cat):
		d.Steps = append(d.Steps, fmt.Sprintf("类别“%s”不在舆情分类中，不按类别确定主管部门，由%s回应", cat, n.unit.Name))
	case n.depts[cat] != nil:
		dept := n.depts[cat]
		d.Unit = cloneUnit(dept.unit)
		d.Steps = append(d.Steps, fmt.Sprintf("类别为“%s”，%s所属的%s主管该类舆情，由其回应（谁主管谁负责）", cat, n.unit.Name, dept.unit.Name))
	default:
		d.Steps = append(d.Steps, fmt.Sprintf("类别为“%s”，%s所属部门中没有主管该类舆情的部门，由%s回应（属地管理）", cat, n.unit.Name, n.unit.Name))
	}
	d.Reason = strings.Join(d.Steps, "；")
	return d
}

// locate gives the government unit the evidence names, and why.
func (t *state) locate(region, location string, places []string) (*node, string) {
	var hits []hit
	for _, p := range places {
		hits = t.scan(p, hits)
	}
	if rh := t.scan(region, nil); len(rh) > 0 {
		byRegion := fmt.Sprintf("发布地域为“%s”", strings.TrimSpace(region))
		// The text may be more precise within the region: region 浙江 and
		// text 宁波 give Ningbo.
		r, _, _ := resolve(rh)
		var inside []hit
		for _, h := range hits {
			if r.isAncestorOf(h.n) {
				inside = append(inside, h)
			}
		}
		if len(inside) > 0 {
			if target, leaves, names := resolve(inside); len(leaves) == 1 {
				return target, fmt.Sprintf("%s，正文提到%s，属地为%s", byRegion, quote(names[target]), target.unit.Name)
			}
		}
		return explain(rh, byRegion)
	}
	if len(hits) > 0 {
		return explain(hits, "正文提到")
	}
	if hits := t.scan(location, nil); len(hits) > 0 {
		return explain(hits, fmt.Sprintf("作者所在地为“%s”", strings.TrimSpace(location)))
	}
	return t.root, fmt.Sprintf("地域、正文和作者所在地均未提到已知地名，由%s受理", t.root.unit.Name)
}

func explain(hits []hit, what string) (*node, string) {
	target, leaves, names := resolve(hits)
	mention := func(ns []string) string {
		if what == "正文提到" {
			return what + quote(ns)
		}
		return what
	}
	if len(leaves) == 1 {
		return target, fmt.Sprintf("%s，属地为%s", mention(names[target]), target.unit.Name)
	}
	var all []string
	var units []string
	for _, l := range leaves {
		all = append(all, names[l]...)
		units = append(units, l.unit.Name)
	}
	return target, fmt.Sprintf("%s，分属%s，涉及多地，由共同上级%s回应",
		mention(all), strings.Join(units, "、"), target.unit.Name)
}
