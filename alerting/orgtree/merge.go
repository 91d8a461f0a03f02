package orgtree

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"yuqing/domain"
)

// Merge gives a new tree: t (the file's tree) with units added through the
// API grafted on, one at a time and parents before their children. A unit
// that cannot be added is left out, with the reason in Chinese among errs;
// the others are kept. t itself is not changed.
//
// The rules:
//   - a unit with a new id goes under its parent_id (a unit of t or another
//     merged unit; it is required: the tree has one root), as its last child;
//   - a unit with an id t already has replaces that unit's name, places,
//     contact and categories (a whole record, like PUT), and its kind when
//     it gives one; it keeps its place in the tree, its children and its
//     notification channels, unless parent_id names another parent: then
//     it moves there with its children;
//   - every unit gets the checks of Load (kind, categories, a department has
//     no places and no children, one department per category under a
//     government unit, no empty place), and parent_id must not make a loop;
//   - a place name the unit gives that another unit already has must belong
//     to one of its superiors or subordinates (the deeper unit then answers
//     for it); the same name in two unrelated units is refused;
//   - merged units carry Source SourceAPI; notification channels stay
//     file-only: a merged unit inherits its nearest superior's.
func (t *Tree) Merge(units []domain.Unit) (*Tree, []error) {
	st := t.load()
	var errs []error
	for _, i := range parentsFirst(units, &errs) {
		next, err := apply(st, units[i])
		if err != nil {
			errs = append(errs, unitError(units[i], err))
			continue
		}
		st = next
	}
	return newTree(st), errs
}

// With is Merge that refuses the whole batch at the first unit that cannot
// be added: for a request, where nothing may be stored unless all fit.
func (t *Tree) With(units []domain.Unit) (*Tree, error) {
	next, errs := t.Merge(units)
	if len(errs) > 0 {
		return nil, errs[0]
	}
	return next, nil
}

func unitError(u domain.Unit, err error) error {
	id, name := strings.TrimSpace(u.ID), strings.TrimSpace(u.Name)
	if name == "" {
		return fmt.Errorf("无法加入单位 %q：%w", id, err)
	}
	return fmt.Errorf("无法加入单位 %q（%s）：%w", id, name, err)
}

// parentsFirst orders the batch so that a unit whose parent is also in the
// batch comes after it (otherwise in the batch's order, as the store lists
// units by id). Units repeated or in a loop of parents are reported and
// left out.
func parentsFirst(units []domain.Unit, errs *[]error) []int {
	index := map[string]int{}
	skip := map[int]bool{}
	for i, u := range units {
		id := strings.TrimSpace(u.ID)
		if j, dup := index[id]; dup && id != "" {
			*errs = append(*errs, unitError(u, fmt.Errorf("与同一批的第 %d 个单位 id 重复", j+1)))
			skip[i] = true
			continue
		}
		index[id] = i
	}
	const visiting, done = 1, 2
	mark := map[int]int{}
	var order, stack []int
	var visit func(i int)
	visit = func(i int) {
		switch mark[i] {
		case done:
			return
		case visiting: // a loop: everything on the stack from i on
			loop := stack[slices.Index(stack, i):]
			ids := make([]string, 0, len(loop)+1)
			for _, j := range loop {
				ids = append(ids, strings.TrimSpace(units[j].ID))
				skip[j] = true
			}
			ids = append(ids, ids[0])
			for _, j := range loop {
				*errs = append(*errs, unitError(units[j], fmt.Errorf("上级关系形成循环（%s）", strings.Join(ids, " → "))))
			}
			return
		}
		mark[i] = visiting
		stack = append(stack, i)
		if p, ok := index[strings.TrimSpace(units[i].ParentID)]; ok && p != i && !skip[p] {
			visit(p)
		}
		stack = stack[:len(stack)-1]
		mark[i] = done
		order = append(order, i)
	}
	for i := range units {
		if !skip[i] {
			visit(i)
		}
	}
	return slices.DeleteFunc(order, func(i int) bool { return skip[i] })
}

// apply gives the state with one posted unit applied, checked as Load
// checks a file.
func apply(st *state, u domain.Unit) (*state, error) {
	id, name := strings.TrimSpace(u.ID), strings.TrimSpace(u.Name)
	parentID := strings.TrimSpace(u.ParentID)
	switch {
	case id == "":
		return nil, errors.New("缺少 id")
	case name == "":
		return nil, errors.New("缺少 name")
	case parentID == id:
		return nil, errors.New("单位不能是自己的上级")
	}
	root := st.root.spec()
	if y, parent := findSpec(&root, nil, id); y != nil {
		y.Name, y.Places, y.Contact, y.Categories = name, slices.Clone(u.Places), u.Contact, slices.Clone(u.Categories)
		if k := strings.TrimSpace(u.Kind); k != "" {
			y.Kind = k
		}
		y.source = SourceAPI
		if parentID != "" && (parent == nil || parent.ID != parentID) {
			if parent == nil {
				return nil, fmt.Errorf("根单位不能有上级（parent_id %q）", parentID)
			}
			// move it, with its children, under the new parent
			moved := *y
			i := slices.IndexFunc(parent.Children, func(c yamlUnit) bool { return c.ID == id })
			parent.Children = slices.Delete(slices.Clone(parent.Children), i, i+1)
			np, _ := findSpec(&root, nil, parentID)
			if np == nil {
				if sub, _ := findSpec(&moved, nil, parentID); sub != nil {
					return nil, fmt.Errorf("不能移到自己的下级 %q（%s）之下：上下级将形成循环", parentID, sub.Name)
				}
				return nil, fmt.Errorf("上级单位 %q 不存在", parentID)
			}
			np.Children = append(np.Children, moved)
		}
	} else {
		if parentID == "" {
			return nil, fmt.Errorf("新单位须给出 parent_id（上级单位 id）：组织机构树只有一个根单位 %q（%s）", st.root.unit.ID, st.root.unit.Name)
		}
		np, _ := findSpec(&root, nil, parentID)
		if np == nil {
			return nil, fmt.Errorf("上级单位 %q 不存在", parentID)
		}
		np.Children = append(np.Children, yamlUnit{ID: id, Name: name, Places: slices.Clone(u.Places), Contact: u.Contact,
			Kind: u.Kind, Categories: slices.Clone(u.Categories), source: SourceAPI})
	}
	next, err := build(root)
	if err != nil {
		return nil, err
	}
	if err := samePlace(next, next.byID[id]); err != nil {
		return nil, err
	}
	return next, nil
}

// samePlace refuses a place name of n that an unrelated unit also has: the
// scan could give only one of them.
func samePlace(st *state, n *node) error {
	for _, p := range n.unit.Places {
		r, _ := utf8.DecodeRuneInString(p)
		for _, q := range st.byFirst[r] {
			if q.name == p && q.n != n && !q.n.isAncestorOf(n) && !n.isAncestorOf(q.n) {
				return fmt.Errorf("地名“%s”已属于%s（%s），两者互不隶属，同一地名只能属于一个单位或其上下级", p, q.n.unit.Name, q.n.unit.ID)
			}
		}
	}
	return nil
}

// spec gives a node's subtree as written, for applying posted units to it.
func (n *node) spec() yamlUnit {
	y := yamlUnit{
		ID: n.unit.ID, Name: n.unit.Name, Places: slices.Clone(n.unit.Places), Contact: n.unit.Contact,
		Notify: slices.Clone(n.notify), Kind: n.kind, Categories: slices.Clone(n.categories), source: n.unit.Source,
	}
	for _, c := range n.children {
		y.Children = append(y.Children, c.spec())
	}
	return y
}

// findSpec finds the unit with the given id in y's subtree, and its parent.
func findSpec(y, parent *yamlUnit, id string) (*yamlUnit, *yamlUnit) {
	if y.ID == id {
		return y, parent
	}
	for i := range y.Children {
		if f, p := findSpec(&y.Children[i], y, id); f != nil {
			return f, p
		}
	}
	return nil, nil
}
