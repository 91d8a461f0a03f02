package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"yuqing/alerting/store"
	"yuqing/analyzer/index"
	"yuqing/domain"
)

// eventSearchParams are the parameters of GET /api/v1/events that make it a
// search of the index (with total and aggregations) instead of the store's
// listing by heat or recency.
var eventSearchParams = []string{"q", "category", "region", "unit", "place", "min_heat", "from", "to", "offset", "size"}

// wantsEventSearch reports whether a GET /events asks for a search.
func wantsEventSearch(r *http.Request) bool {
	v := r.URL.Query()
	for _, p := range eventSearchParams {
		if v.Has(p) {
			return true
		}
	}
	return false
}

// searchEvents answers GET /api/v1/events with search parameters: q (words
// of the event's name, title and keywords), category, region, unit, place
// (full or short name, as in GET /search), min_grade, min_heat, from/to
// (events active in the period; since is from), sort (heat, the default, or
// last/recent: latest activity first), size (or limit), offset.
func (s *Server) searchEvents(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := index.EventQuery{Q: v.Get("q"), Category: v.Get("category"), Region: v.Get("region"),
		Unit: v.Get("unit"), Place: searchPlace(v.Get("place"))}
	var err error
	if g := v.Get("min_grade"); g != "" {
		if q.MinGrade, err = ParseGrade(g); err != nil {
			fail(w, 400, "参数 min_grade: %v", err)
			return
		}
	}
	if h := v.Get("min_heat"); h != "" {
		if q.MinHeat, err = strconv.ParseFloat(h, 64); err != nil || q.MinHeat < 0 || q.MinHeat > 1e9 {
			fail(w, 400, "参数 min_heat: %q 不是 0 以上的数", h)
			return
		}
	}
	from := v.Get("from")
	if from == "" {
		from = v.Get("since")
	}
	for _, p := range []struct {
		name, value string
		to          *time.Time
	}{{"from", from, &q.From}, {"to", v.Get("to"), &q.To}} {
		if *p.to, err = queryTime(p.value); err != nil {
			fail(w, 400, "参数 %s: %v", p.name, err)
			return
		}
	}
	size := v.Get("size")
	if size == "" {
		size = v.Get("limit")
	}
	if q.Size, err = queryInt(size, 20); err != nil {
		fail(w, 400, "参数 size: %v", err)
		return
	}
	if q.Offset, err = queryInt(v.Get("offset"), 0); err != nil {
		fail(w, 400, "参数 offset: %v", err)
		return
	}
	switch v.Get("sort") {
	case "", index.EventsByHeat:
	case index.EventsByLast, "recent":
		q.Sort = index.EventsByLast
	default:
		fail(w, 400, "参数 sort: %q 无效，应为 heat（按热度）或 last（按最近活动）", v.Get("sort"))
		return
	}
	if wantsCSV(r) { // every match, hottest (or latest) first, up to maxExportEvents
		q.Size, q.Offset = 1000, 0
		var all []domain.Event
		for len(all) < maxExportEvents {
			res, err := s.Index.SearchEvents(r.Context(), q.Normalize())
			if err != nil {
				fail(w, 500, "搜索事件失败: %v", err)
				return
			}
			all = append(all, res.Hits...)
			q.Offset += len(res.Hits)
			if len(res.Hits) == 0 || int64(q.Offset) >= res.Total {
				break
			}
		}
		eventsCSV(w, all)
		return
	}
	res, err := s.Index.SearchEvents(r.Context(), q.Normalize())
	if err != nil {
		fail(w, 500, "搜索事件失败: %v", err)
		return
	}
	writeJSON(w, 200, map[string]any{"events": res.Hits, "total": res.Total, "aggregations": res.Aggs})
}

// backfillEvents indexes the store's events when the index has none, as
// after an upgrade from a version that did not index events, or a new
// index beside an old store; it reports how many it indexed. It runs before
// the analyzer starts; the index keeps each event's highest version, so an
// event another analyzer indexes meanwhile is not undone.
func (s *Server) backfillEvents(ctx context.Context) (int, error) {
	res, err := s.Index.SearchEvents(ctx, index.EventQuery{Size: 1})
	if err != nil || res.Total > 0 {
		return 0, err
	}
	const page = 500
	done, after, started := 0, "", time.Now()
	for {
		evs, err := s.Store.ListEvents(ctx, store.EventFilter{Sort: "id", AfterID: after, Limit: page})
		if err != nil || len(evs) == 0 {
			return done, err
		}
		for i := range evs {
			evs[i] = index.EventForIndex(evs[i])
		}
		if err := s.Index.IndexEvents(ctx, evs); err != nil {
			return done, err
		}
		done += len(evs)
		after = evs[len(evs)-1].ID
		if time.Since(started) > 5*time.Second {
			started = time.Now()
			s.log.Info("事件补录入索引中", "已完成", done)
		}
	}
}
