package server

import (
	"errors"
	"net/http"
	"strings"

	"yuqing/alerting/orgtree"
	"yuqing/alerting/store"
	"yuqing/domain"
)

// routeAnswer is the JSON of GET /api/v1/route.
type routeAnswer struct {
	// Event is the event routed, for ?event=ID.
	Event string `json:"event,omitempty"`
	// Category is the category routed on: ?category=, else the analyzer's
	// category of the event's first post.
	Category string `json:"category,omitempty"`
	// Unit answers; UnitKind is orgtree.KindGovernment or KindDepartment.
	Unit     domain.Unit `json:"unit"`
	UnitKind string      `json:"unit_kind"`
	// PlaceUnit is the government unit of the place (属地), or the common
	// superior of several.
	PlaceUnit domain.Unit `json:"place_unit"`
	Steps     []string    `json:"steps"`
	Reason    string      `json:"reason"`
}

// routeExplain is GET /api/v1/route?event=ID (or ?region=&location=&text=&category= for a hypothetical case):
// which unit the event routes to and why, step by step.
//
// For an event the evidence is what alerting routes it on: its region, its
// title and keywords, and the category the analyzer gave its first post
// (?category= overrides it, to ask "what if it were of this category").
// For a hypothetical case text may be given more than once.
func (s *Server) routeExplain(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	category := strings.TrimSpace(v.Get("category"))
	if category != "" && !orgtree.IsCategory(category) {
		fail(w, 400, "参数 category: %q 不在舆情分类中，可用的类别：%s", category, strings.Join(orgtree.CategoryNames, "、"))
		return
	}
	var q orgtree.Query
	var ans routeAnswer
	if id := strings.TrimSpace(v.Get("event")); id != "" {
		ev, err := s.Store.GetEvent(r.Context(), id)
		if errors.Is(err, store.ErrNotFound) {
			fail(w, 404, "事件 %s 不存在", id)
			return
		} else if err != nil {
			fail(w, 500, "读取事件失败: %v", err)
			return
		}
		q = orgtree.Query{Region: ev.Region, Places: append([]string{ev.Title}, ev.Keywords...), Category: category}
		if q.Category == "" {
			q.Category = s.eventCategory(r, ev)
		}
		ans.Event = ev.ID
	} else {
		q = orgtree.Query{Region: strings.TrimSpace(v.Get("region")), Location: strings.TrimSpace(v.Get("location")), Category: category}
		for _, t := range v["text"] {
			if t = strings.TrimSpace(t); t != "" {
				q.Places = append(q.Places, t)
			}
		}
		if q.Region == "" && q.Location == "" && len(q.Places) == 0 {
			fail(w, 400, "请给出 event（事件 id），或 region、location、text 中至少一项（可另给 category）")
			return
		}
	}
	d := s.Tree.RouteFor(q)
	ans.Category = q.Category
	ans.Unit, ans.UnitKind, ans.PlaceUnit = d.Unit, s.Tree.Kind(d.Unit.ID), d.Place
	ans.Steps, ans.Reason = d.Steps, d.Reason
	writeJSON(w, 200, ans)
}

// eventCategory is the analyzer's category of an event's first post, or ""
// when the post is not (or no longer) in the index. A view: a failure to
// read it routes by place alone.
func (s *Server) eventCategory(r *http.Request, ev domain.Event) string {
	if ev.RootPostID == "" {
		return ""
	}
	p, ok, err := s.Index.Get(r.Context(), ev.RootPostID)
	if err != nil {
		s.log.Warn("读取事件首帖失败", "event", ev.ID, "post", ev.RootPostID, "err", err)
		return ""
	}
	if !ok {
		return ""
	}
	return p.Analysis.Category
}
