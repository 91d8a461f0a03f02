package server

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"yuqing/alerting/orgtree"
	"yuqing/alerting/store"
	"yuqing/domain"
)

// The organisation tree a process routes on is the file's tree (config
// `units:`, or the built-in default) with the units posted through
// POST /api/v1/units grafted on (orgtree.Merge). Posted units live in the
// store with Source "api", so every process (one PostgreSQL, roles in
// separate processes) and every restart sees them: a process swaps its tree
// in place (orgtree.Tree.Replace) when it posts, and the others when they
// next look at the store (watchUnits, every unitsEvery).

// postedUnits gives the store's units posted through the API, by id.
func postedUnits(stored []domain.Unit) []domain.Unit {
	var out []domain.Unit
	for _, u := range stored {
		if u.Source == orgtree.SourceAPI {
			out = append(out, u)
		}
	}
	slices.SortFunc(out, func(a, b domain.Unit) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// storedPosted reads the store's units posted through the API.
func (s *Server) storedPosted(ctx context.Context) ([]domain.Unit, error) {
	stored, err := s.Store.ListUnits(ctx)
	if err != nil {
		return nil, err
	}
	return postedUnits(stored), nil
}

// unitsSignature tells whether the posted units changed since the last build.
func unitsSignature(posted []domain.Unit) string {
	b, _ := json.Marshal(posted)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// mergeUnits gives the file's tree with the posted units; a unit that no
// longer fits (the file changed: its parent is gone, a department took its
// category...) is left out with a warning, and the process starts anyway.
func (s *Server) mergeUnits(posted []domain.Unit) *orgtree.Tree {
	tree, errs := s.fileTree.Merge(posted)
	for _, err := range errs {
		s.log.Warn("经 API 新增的单位未加入组织机构树（组织机构文件可能已改动），请修正后重新提交", "原因", err.Error())
	}
	return tree
}

// initUnits writes the file's units to the store, except those the API has
// replaced, and builds the tree from the file and the store's posted units,
// so that units posted before a restart keep routing.
func (s *Server) initUnits(ctx context.Context) error {
	stored, err := s.Store.ListUnits(ctx)
	if err != nil {
		return err
	}
	// units stored before units had a source: those the file does not
	// have were posted through the API, and are marked so once
	var marked []domain.Unit
	for i, u := range stored {
		if _, inFile := s.fileTree.Get(u.ID); u.Source == "" && !inFile {
			stored[i].Source = orgtree.SourceAPI
			marked = append(marked, stored[i])
		}
	}
	if len(marked) > 0 {
		if err := s.Store.PutUnits(ctx, marked); err != nil {
			return err
		}
		s.log.Info("存储中早先经 API 新增的单位已标记来源", "单位", unitIDs(marked))
	}
	posted := postedUnits(stored)
	var put []domain.Unit
	for _, u := range s.fileTree.Units() {
		if !slices.ContainsFunc(posted, func(p domain.Unit) bool { return p.ID == u.ID }) {
			put = append(put, u)
		}
	}
	if err := s.Store.PutUnits(ctx, put); err != nil {
		return err
	}
	s.Tree = s.mergeUnits(posted)
	s.unitsSig = unitsSignature(posted)
	return nil
}

// refreshUnits rebuilds the tree from the store's units (stored) and swaps
// it in place when the posted units changed since the last build; it
// reports whether it did.
func (s *Server) refreshUnits(stored []domain.Unit) bool {
	posted := postedUnits(stored)
	sig := unitsSignature(posted)
	s.unitsMu.Lock()
	defer s.unitsMu.Unlock()
	if sig == s.unitsSig {
		return false
	}
	tree := s.mergeUnits(posted)
	s.Tree.Replace(tree)
	s.unitsSig = sig
	s.log.Info("组织机构树已按经 API 新增的单位更新", "单位数", tree.Len(), "新增或修改的单位", len(posted))
	return true
}

// reloadUnits reads the store's units and refreshes the tree.
func (s *Server) reloadUnits(ctx context.Context) (bool, error) {
	stored, err := s.Store.ListUnits(ctx)
	if err != nil {
		return false, err
	}
	return s.refreshUnits(stored), nil
}

// listUnits is GET /units: the units of the tree this process routes on,
// parents before children, with their kind, categories and source (file or
// api). Notification channels are not units' fields: their secrets stay in
// the file.
func (s *Server) listUnits(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"units": s.Tree.Units()})
}

// unitRequest is a unit as posted; notify is named only to refuse it.
type unitRequest struct {
	domain.Unit
	Notify json.RawMessage `json:"notify,omitempty"`
}

// postUnits is POST /units: it adds or replaces units of the organisation
// tree (one or an array), and routing follows them at once in this process
// and within unitsEvery in the others. The rules are orgtree.Merge's: a new
// id goes under its parent_id; a known id replaces that unit's name,
// places, contact, categories (and kind, when given) and keeps its place
// unless parent_id names another. The units are checked against the tree
// first, with the file's own checks: if one does not fit, the answer is 400
// with the reason, and nothing is stored. Notification channels are only
// written in the file (they carry secrets); a posted unit uses its nearest
// superior's.
func (s *Server) postUnits(w http.ResponseWriter, r *http.Request) {
	var raw json.RawMessage
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4<<20)).Decode(&raw); err != nil {
		fail(w, 400, "请求体 JSON 无效: %v", err)
		return
	}
	decode := func(v any) error {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields() // as the file's KnownFields: a misspelt "place" is no silent loss
		err := dec.Decode(v)
		if f, ok := strings.CutPrefix(fmt.Sprint(err), "json: unknown field "); ok {
			return fmt.Errorf("未知字段 %s（可用字段：id、name、parent_id、places、contact、kind、categories）", f)
		}
		return err
	}
	var reqs []unitRequest
	if len(raw) > 0 && raw[0] == '[' {
		if err := decode(&reqs); err != nil {
			fail(w, 400, "单位列表无效: %v", err)
			return
		}
	} else {
		var q unitRequest
		if err := decode(&q); err != nil {
			fail(w, 400, "单位无效: %v", err)
			return
		}
		reqs = []unitRequest{q}
	}
	if len(reqs) == 0 {
		fail(w, 400, "没有单位")
		return
	}
	units := make([]domain.Unit, len(reqs))
	for i, q := range reqs {
		u := q.Unit
		u.ID, u.Name, u.ParentID, u.Kind = strings.TrimSpace(u.ID), strings.TrimSpace(u.Name), strings.TrimSpace(u.ParentID), strings.TrimSpace(u.Kind)
		u.Contact = strings.TrimSpace(u.Contact)
		u.Source = orgtree.SourceAPI
		switch {
		case len(q.Notify) > 0 && string(q.Notify) != "null":
			fail(w, 400, "第 %d 个单位: notify（通知渠道）只能写在组织机构文件中（其中有密钥，不经 API 提交或返回）；经 API 新增的单位沿用最近上级单位的通知渠道", i+1)
			return
		case u.ID == "" || u.Name == "":
			fail(w, 400, "第 %d 个单位: id 和 name 不能为空", i+1)
			return
		}
		if j := slices.IndexFunc(units[:i], func(p domain.Unit) bool { return p.ID == u.ID }); j >= 0 {
			fail(w, 400, "第 %d 个单位的 id %q 与第 %d 个重复", i+1, u.ID, j+1)
			return
		}
		units[i] = u
	}

	s.unitsMu.Lock() // one change of the tree at a time in this process
	defer s.unitsMu.Unlock()
	// the would-be tree: the file's, the units posted so far (perhaps
	// through another process), then these
	posted, err := s.storedPosted(r.Context())
	if err != nil {
		fail(w, 500, "读取单位失败: %v", err)
		return
	}
	base, _ := s.fileTree.Merge(posted) // units that no longer fit were logged when the tree was built
	next, err := base.With(units)
	if err != nil {
		fail(w, 400, "%v", err)
		return
	}
	if err := s.Store.PutUnits(r.Context(), units); err != nil {
		fail(w, 500, "写入单位失败: %v", err)
		return
	}
	s.Tree.Replace(next)
	for _, u := range units {
		i := slices.IndexFunc(posted, func(p domain.Unit) bool { return p.ID == u.ID })
		if i >= 0 {
			posted[i] = u
		} else {
			posted = append(posted, u)
		}
	}
	s.unitsSig = unitsSignature(postedUnits(posted)) // what the store holds now, unless another process posted too
	if s.cfg.Target == "all" || s.cfg.Target == "analyzer" {
		s.pipeline.Analyzer.Segmenter().AddWords(unitWords(units)) // cut whole from now on
	}
	s.log.Info("经 API 新增或修改单位，组织机构树已更新", "单位", unitIDs(units))
	out := make([]domain.Unit, len(units))
	for i, u := range units {
		out[i], _ = next.Get(u.ID)
	}
	writeJSON(w, 201, map[string]any{"units": out})
}

// deleteUnit is DELETE /units/{id}: it removes a unit posted through the
// API, and routing follows at once here and within unitsEvery elsewhere. A
// posted unit that replaced one of the file's gives the file's back. The
// file's own units are changed in the file; a unit with units below it, or
// with cases not yet closed, is refused (409) with what is in the way, so
// that no case is left with a unit that no longer exists. Closed cases keep
// the unit's id and name.
func (s *Server) deleteUnit(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	s.unitsMu.Lock()
	defer s.unitsMu.Unlock()
	posted, err := s.storedPosted(r.Context())
	if err != nil {
		fail(w, 500, "读取单位失败: %v", err)
		return
	}
	i := slices.IndexFunc(posted, func(u domain.Unit) bool { return u.ID == id })
	fileUnit, inFile := s.fileTree.Get(id)
	switch {
	case i < 0 && inFile:
		fail(w, 409, "单位 %s（%s）来自组织机构文件，请在文件中删除或修改", id, fileUnit.Name)
		return
	case i < 0:
		fail(w, 404, "没有经 API 新增的单位 %q", id)
		return
	}
	if !inFile {
		var below []string
		for _, u := range s.Tree.Units() {
			if u.ParentID == id {
				below = append(below, u.ID)
			}
		}
		if len(below) > 0 {
			fail(w, 409, "单位 %s 下还有 %d 个下级单位（%s），请先删除它们", id, len(below), strings.Join(below, "、"))
			return
		}
		open, err := s.Store.ListCases(r.Context(), store.CaseFilter{UnitID: id, Open: true, Limit: 6})
		if err != nil {
			fail(w, 500, "读取案件失败: %v", err)
			return
		}
		if len(open) > 0 {
			ids := make([]string, 0, 5)
			for _, c := range open[:min(len(open), 5)] {
				ids = append(ids, c.ID)
			}
			more := ""
			if len(open) > 5 {
				more = " 等"
			}
			fail(w, 409, "单位 %s 还有未办结的案件（%s%s），请先转办或办结", id, strings.Join(ids, "、"), more)
			return
		}
	}
	rest := slices.Delete(slices.Clone(posted), i, i+1)
	next, _ := s.fileTree.Merge(rest) // units that no longer fit were logged when the tree was built
	if err := s.Store.DeleteUnit(r.Context(), id); err != nil {
		fail(w, 500, "删除单位失败: %v", err)
		return
	}
	if inFile { // the store holds the file's unit again, as after a start
		if err := s.Store.PutUnits(r.Context(), []domain.Unit{fileUnit}); err != nil {
			fail(w, 500, "恢复组织机构文件中的单位失败: %v", err)
			return
		}
	}
	s.Tree.Replace(next)
	s.unitsSig = unitsSignature(postedUnits(rest)) // nil when none, as read from the store
	s.log.Info("经 API 删除单位，组织机构树已更新", "单位", id, "恢复文件中的同名单位", inFile)
	resp := map[string]any{"deleted": id}
	if inFile {
		resp["restored"] = fileUnit
	}
	writeJSON(w, 200, resp)
}

func unitIDs(units []domain.Unit) []string {
	ids := make([]string, len(units))
	for i, u := range units {
		ids[i] = u.ID
	}
	return ids
}
