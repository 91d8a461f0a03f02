package server

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"yuqing/alerting/orgtree"
	"yuqing/analyzer/places"
	"yuqing/domain"
)

// openServer builds a server (default tree, or the units file) on the data
// folder dir without running it; close releases the folder for the next.
func openServer(t *testing.T, dir, units string, log *slog.Logger) (s *Server, close func()) {
	t.Helper()
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Data, cfg.Listen, cfg.Units = dir, "127.0.0.1:0", units
	if s, err = New(cfg, log); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	close = func() {
		once.Do(func() {
			s.Hub.Close()
			s.closeBackends()
		})
	}
	t.Cleanup(close)
	return s, close
}

// call runs one request through the server's routes.
func call(t *testing.T, s *Server, method, target, body string) (int, []byte) {
	t.Helper()
	rec := httptest.NewRecorder()
	s.Routes().ServeHTTP(rec, httptest.NewRequest(method, target, strings.NewReader(body)))
	return rec.Code, rec.Body.Bytes()
}

func routeOf(t *testing.T, s *Server, query string) routeAnswer {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	code, body := call(t, s, http.MethodGet, "/api/v1/route?"+q.Encode(), "")
	var ans routeAnswer
	if code != 200 || json.Unmarshal(body, &ans) != nil {
		t.Fatalf("route %s: %d %s", query, code, body)
	}
	return ans
}

const (
	yinzhou = `{"id": "zhejiang-ningbo-yinzhou", "name": "鄞州区人民政府办公室", "parent_id": "zhejiang-ningbo",
		"places": ["鄞州区", "鄞州"], "contact": "0574-88888888"}`
	yinzhouMore = `[
		{"id": "zhejiang-ningbo-yinzhou-zgm", "name": "钟公庙街道办事处", "parent_id": "zhejiang-ningbo-yinzhou", "places": ["钟公庙街道"]},
		{"id": "zhejiang-ningbo-yinzhou-health", "name": "鄞州区卫生健康局", "parent_id": "zhejiang-ningbo-yinzhou",
		 "kind": "department", "categories": ["医疗卫生"]}]`
)

func TestPostUnitsRoutesAtOnce(t *testing.T) {
	s, _ := openServer(t, t.TempDir(), "", nil)
	router := UnitRouter(s.Tree) // taken before the POST, as the analyzer holds it
	before := s.Tree.Len()

	code, body := call(t, s, http.MethodPost, "/api/v1/units", yinzhou)
	if code != 201 {
		t.Fatalf("POST county: %d %s", code, body)
	}
	var answer struct{ Units []domain.Unit }
	if err := json.Unmarshal(body, &answer); err != nil || len(answer.Units) != 1 {
		t.Fatalf("answer %s", body)
	}
	if u := answer.Units[0]; u.ParentID != "zhejiang-ningbo" || u.Kind != orgtree.KindGovernment || u.Source != orgtree.SourceAPI || u.Contact != "0574-88888888" {
		t.Errorf("answered unit %+v", u)
	}
	if code, body := call(t, s, http.MethodPost, "/api/v1/units", yinzhouMore); code != 201 {
		t.Fatalf("POST town and department: %d %s", code, body)
	}
	if s.Tree.Len() != before+3 {
		t.Errorf("tree has %d units, want %d", s.Tree.Len(), before+3)
	}

	// GET /route explains the new routing at once
	ans := routeOf(t, s, "text=宁波鄞州区某小区电梯困人")
	if ans.Unit.ID != "zhejiang-ningbo-yinzhou" || ans.Reason != "正文提到“鄞州区”，属地为鄞州区人民政府办公室" {
		t.Errorf("route = %s (%s)", ans.Unit.ID, ans.Reason)
	}
	ans = routeOf(t, s, "region=浙江&text=鄞州区一医院收费乱象&category=医疗卫生")
	if ans.Unit.Name != "鄞州区卫生健康局" || ans.UnitKind != orgtree.KindDepartment || ans.PlaceUnit.Name != "鄞州区人民政府办公室" ||
		len(ans.Steps) != 2 || ans.Steps[1] != "类别为“医疗卫生”，鄞州区人民政府办公室所属的鄞州区卫生健康局主管该类舆情，由其回应（谁主管谁负责）" {
		t.Errorf("route = %s / %s %q", ans.Unit.Name, ans.PlaceUnit.Name, ans.Steps)
	}
	if ans := routeOf(t, s, "text=钟公庙街道某小区"); ans.Unit.Name != "钟公庙街道办事处" {
		t.Errorf("town: %s (%s)", ans.Unit.Name, ans.Reason)
	}
	// what the file had is unchanged
	if ans := routeOf(t, s, "text=宁波海曙区某超市&category=食品药品"); ans.Unit.Name != "宁波市市场监督管理局" {
		t.Errorf("Ningbo: %s (%s)", ans.Unit.Name, ans.Reason)
	}
	// the analyzer's router, taken before, follows too
	if id, reason := router("", "", "", []places.Place{{Province: "浙江", City: "宁波", County: "鄞州区"}}); id != "zhejiang-ningbo-yinzhou" {
		t.Errorf("router = %s (%s)", id, reason)
	}
	// alerting routes on the same tree
	if u, ok := s.Tree.Find("鄞州区卫生健康局"); !ok || u.ParentID != "zhejiang-ningbo-yinzhou" {
		t.Errorf("Find = %+v", u)
	}

	// GET /units lists the tree, the posted units with source api
	code, body = call(t, s, http.MethodGet, "/api/v1/units", "")
	var list struct{ Units []domain.Unit }
	if code != 200 || json.Unmarshal(body, &list) != nil || len(list.Units) != before+3 {
		t.Fatalf("GET /units: %d, %d units", code, len(list.Units))
	}
	i := slices.IndexFunc(list.Units, func(u domain.Unit) bool { return u.ID == "zhejiang-ningbo-yinzhou-health" })
	if i < 0 || list.Units[i].Source != orgtree.SourceAPI || !slices.Equal(list.Units[i].Categories, []string{"医疗卫生"}) {
		t.Errorf("GET /units: %+v", list.Units[i])
	}
	if strings.Contains(string(body), "notify") || strings.Contains(string(body), "webhook") {
		t.Errorf("GET /units shows channels: %s", body)
	}
	// the store keeps them (with their kind and categories) for the other processes
	stored, err := s.Store.ListUnits(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	posted := postedUnits(stored)
	if len(posted) != 3 || posted[1].Kind != orgtree.KindDepartment || !slices.Equal(posted[1].Categories, []string{"医疗卫生"}) {
		t.Errorf("stored posted units %+v", posted)
	}
}

func TestPostUnitsInvalid(t *testing.T) {
	s, _ := openServer(t, t.TempDir(), "", nil)
	ctx := context.Background()
	storedBefore, _ := s.Store.ListUnits(ctx)
	treeBefore := s.Tree.Units()
	tests := []struct{ name, body, want string }{
		{"unknown parent", `{"id": "x", "name": "某县人民政府办公室", "parent_id": "nope", "places": ["某县"]}`,
			`无法加入单位 "x"（某县人民政府办公室）：上级单位 "nope" 不存在`},
		{"new unit without parent", `{"id": "x", "name": "某县人民政府办公室", "places": ["某县"]}`, "须给出 parent_id"},
		{"department with places", `{"id": "x", "name": "宁波市卫生健康局", "parent_id": "zhejiang-ningbo", "kind": "department", "places": ["鄞州区"], "categories": ["医疗卫生"]}`,
			"不能有地名"},
		{"second department in charge", `{"id": "x", "name": "宁波市药品监督管理局", "parent_id": "zhejiang-ningbo", "kind": "department", "categories": ["食品药品"]}`,
			"类别“食品药品”在宁波市人民政府办公厅之下由宁波市市场监督管理局和宁波市药品监督管理局两个部门主管，只能有一个"},
		{"unknown category", `{"id": "x", "name": "宁波市卫生健康局", "parent_id": "zhejiang-ningbo", "kind": "department", "categories": ["卫生"]}`,
			`类别 "卫生" 不在舆情分类中`},
		{"under a department", `{"id": "x", "name": "某科", "parent_id": "zhejiang-ningbo-edu"}`, "不能有下级单位"},
		{"a place of another city", `{"id": "x", "name": "某县人民政府办公室", "parent_id": "zhejiang-wenzhou", "places": ["鄞州区"]}`, "地名“鄞州区”已属于宁波市人民政府办公厅"},
		{"a loop", `{"id": "zhejiang", "name": "浙江省人民政府办公厅", "parent_id": "zhejiang-ningbo", "places": ["浙江"]}`, "不能移到自己的下级"},
		{"notify", `{"id": "x", "name": "某县人民政府办公室", "parent_id": "zhejiang-ningbo", "notify": [{"type": "webhook", "url": "https://example.gov.cn/hook", "secret": "s"}]}`,
			"notify（通知渠道）只能写在组织机构文件中"},
		{"unknown field", `{"id": "x", "name": "某县人民政府办公室", "parent_id": "zhejiang-ningbo", "place": ["某县"]}`, `单位无效: 未知字段 "place"（可用字段：id、name、parent_id、places、contact、kind、categories）`},
		{"no name", `{"id": "x", "parent_id": "zhejiang-ningbo"}`, "id 和 name 不能为空"},
		{"twice", `[{"id": "x", "name": "甲", "parent_id": "zhejiang"}, {"id": "x", "name": "乙", "parent_id": "zhejiang"}]`, `第 2 个单位的 id "x" 与第 1 个重复`},
		{"a good one and a bad one: neither", `[{"id": "good", "name": "某区人民政府办公室", "parent_id": "zhejiang-hangzhou", "places": ["某区"]},
			{"id": "bad", "name": "某局", "parent_id": "good", "kind": "department", "categories": ["学校"]}]`, `无法加入单位 "bad"（某局）`},
		{"empty array", `[]`, "没有单位"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			code, body := call(t, s, http.MethodPost, "/api/v1/units", tc.body)
			var e apiError
			if code != 400 || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error, tc.want) {
				t.Fatalf("%d %s\nwant 400 with %q", code, body, tc.want)
			}
			if stored, _ := s.Store.ListUnits(ctx); !slices.EqualFunc(stored, storedBefore, sameUnit) {
				t.Errorf("the store changed")
			}
			if !slices.EqualFunc(s.Tree.Units(), treeBefore, sameUnit) {
				t.Errorf("the tree changed")
			}
		})
	}
}

func sameUnit(a, b domain.Unit) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

// TestUnitsAcrossProcesses: units posted through one process reach another
// through the store (the watcher's reload), and a restart keeps them.
func TestUnitsAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, closeS := openServer(t, dir, "", nil)
	// another process (same store) posted a county: this one picks it up
	other := domain.Unit{ID: "zhejiang-ningbo-beilun", Name: "北仑区人民政府办公室", ParentID: "zhejiang-ningbo", Places: []string{"北仑区", "北仑"}, Source: orgtree.SourceAPI}
	if err := s.Store.PutUnits(ctx, []domain.Unit{other}); err != nil {
		t.Fatal(err)
	}
	if ans := routeOf(t, s, "text=北仑区某码头"); ans.Unit.ID != "zhejiang-ningbo" {
		t.Errorf("before reload: %s", ans.Unit.ID)
	}
	if changed, err := s.reloadUnits(ctx); err != nil || !changed {
		t.Fatalf("reload = %v, %v", changed, err)
	}
	if ans := routeOf(t, s, "text=北仑区某码头"); ans.Unit.ID != "zhejiang-ningbo-beilun" {
		t.Errorf("after reload: %s (%s)", ans.Unit.ID, ans.Reason)
	}
	if changed, _ := s.reloadUnits(ctx); changed {
		t.Error("reloaded though nothing changed")
	}
	// a unit of the file is replaced through the API (a county added to Wenzhou's places)
	if code, body := call(t, s, http.MethodPost, "/api/v1/units",
		`{"id": "zhejiang-wenzhou", "name": "温州市人民政府办公室", "places": ["温州", "温州市", "鹿城区", "苍南县"]}`); code != 201 {
		t.Fatalf("POST Wenzhou: %d %s", code, body)
	}
	if changed, _ := s.reloadUnits(ctx); changed {
		t.Error("a process's own POST is rebuilt again")
	}
	if code, body := call(t, s, http.MethodPost, "/api/v1/units", yinzhou); code != 201 {
		t.Fatalf("POST: %d %s", code, body)
	}
	closeS()

	// a restart: the posted units are back, the file's units do not overwrite them
	s2, close2 := openServer(t, dir, "", nil)
	for text, want := range map[string]string{"北仑区某码头": "zhejiang-ningbo-beilun", "鄞州区某地": "zhejiang-ningbo-yinzhou", "苍南县某地": "zhejiang-wenzhou"} {
		if ans := routeOf(t, s2, "text="+text); ans.Unit.ID != want {
			t.Errorf("after restart %s: %s (%s)", text, ans.Unit.ID, ans.Reason)
		}
	}
	if u, _ := s2.Tree.Get("zhejiang-wenzhou"); u.ParentID != "zhejiang" || u.Source != orgtree.SourceAPI {
		t.Errorf("Wenzhou after restart: %+v", u)
	}
	close2()

	// the file changed: Ningbo is gone. The process starts, leaves out the
	// units under it with a warning, and keeps them in the store.
	file := filepath.Join(t.TempDir(), "units.yaml")
	if err := os.WriteFile(file, []byte(`
id: cn
name: 国务院办公厅政务公开办公室
children:
  - id: zhejiang
    name: 浙江省人民政府办公厅
    places: [浙江, 浙江省]
    children:
      - {id: zhejiang-wenzhou, name: 温州市人民政府办公室, places: [温州, 温州市]}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	s3, _ := openServer(t, dir, file, slog.New(slog.NewTextHandler(&logs, nil)))
	if _, ok := s3.Tree.Get("zhejiang-ningbo-yinzhou"); ok {
		t.Error("a unit whose parent is gone is in the tree")
	}
	if ans := routeOf(t, s3, "text=苍南县某地"); ans.Unit.ID != "zhejiang-wenzhou" {
		t.Errorf("Wenzhou's posted places: %s", ans.Unit.ID)
	}
	for _, want := range []string{"经 API 新增的单位未加入组织机构树", `无法加入单位 \"zhejiang-ningbo-yinzhou\"（鄞州区人民政府办公室）：上级单位 \"zhejiang-ningbo\" 不存在`} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("log has no %q:\n%s", want, logs.String())
		}
	}
	stored, _ := s3.Store.ListUnits(ctx)
	if len(postedUnits(stored)) != 3 {
		t.Errorf("posted units in the store: %+v", postedUnits(stored))
	}
	// while the file lacks Ningbo, new units still go in
	if code, body := call(t, s3, http.MethodPost, "/api/v1/units", `{"id": "zhejiang-wenzhou-lucheng", "name": "鹿城区人民政府办公室", "parent_id": "zhejiang-wenzhou", "places": ["鹿城区"]}`); code != 201 {
		t.Errorf("POST beside a unit left out: %d %s", code, body)
	}
}

// TestPostUnitsConcurrentRouting posts units while routes are asked (-race).
func TestPostUnitsConcurrentRouting(t *testing.T) {
	s, _ := openServer(t, t.TempDir(), "", nil)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				if id, _ := routeUnit(s.Tree, "浙江", "", "医疗卫生", []places.Place{{City: "宁波", County: "鄞州区"}}); id == "" {
					t.Error("no unit")
				}
			}
		}()
	}
	for _, body := range []string{yinzhou, yinzhouMore} {
		if code, b := call(t, s, http.MethodPost, "/api/v1/units", body); code != 201 {
			t.Errorf("POST: %d %s", code, b)
		}
	}
	wg.Wait()
	if id, _ := routeUnit(s.Tree, "浙江", "", "医疗卫生", []places.Place{{City: "宁波", County: "鄞州区"}}); id != "zhejiang-ningbo-yinzhou-health" {
		t.Errorf("routeUnit = %s", id)
	}
}

// TestDeleteUnits: a posted unit is removed and routing follows at once; a
// posted replacement of a file unit gives the file's back; the file's own
// units, units with units below them, units with open cases and unknown
// ids are refused with the reason; another process follows on reload.
func TestDeleteUnits(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, _ := openServer(t, dir, "", nil)
	before := s.Tree.Len()
	for _, body := range []string{yinzhou, yinzhouMore,
		`{"id": "zhejiang-wenzhou", "name": "温州市人民政府办公室", "places": ["温州", "温州市", "苍南县"]}`} {
		if code, answer := call(t, s, http.MethodPost, "/api/v1/units", body); code != 201 {
			t.Fatalf("POST: %d %s", code, answer)
		}
	}

	refuse := func(id string, code int, want string) {
		t.Helper()
		got, body := call(t, s, http.MethodDelete, "/api/v1/units/"+id, "")
		if got != code || !strings.Contains(string(body), want) {
			t.Errorf("DELETE %s: %d %s; want %d with %q", id, got, body, code, want)
		}
	}
	refuse("zhejiang-ningbo", 409, "来自组织机构文件")
	refuse("no-such-unit", 404, "没有经 API 新增的单位")
	refuse("zhejiang-ningbo-yinzhou", 409, "下还有 2 个下级单位")

	// a case of the town, still open: refused until it is closed
	cs := domain.Case{ID: "case-zgm", EventID: "ev-zgm", Title: "钟公庙街道某小区停水", Status: domain.CaseOpen, Grade: domain.GradeIV,
		UnitID: "zhejiang-ningbo-yinzhou-zgm", UnitName: "钟公庙街道办事处", CreatedAt: time.Now(), UpdatedAt: time.Now()}
	if _, _, err := s.Store.CreateCase(ctx, cs, domain.Action{Kind: domain.ActOpen, Actor: "system", At: cs.CreatedAt}); err != nil {
		t.Fatal(err)
	}
	refuse("zhejiang-ningbo-yinzhou-zgm", 409, "还有未办结的案件（case-zgm）")
	cs.Status = domain.CaseClosed
	if _, err := s.Store.UpdateCase(ctx, cs, domain.Action{Kind: domain.ActClose, Actor: "张三", Note: "已恢复供水", At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"zhejiang-ningbo-yinzhou-zgm", "zhejiang-ningbo-yinzhou-health", "zhejiang-ningbo-yinzhou"} {
		if code, body := call(t, s, http.MethodDelete, "/api/v1/units/"+id, ""); code != 200 || !strings.Contains(string(body), id) {
			t.Fatalf("DELETE %s: %d %s", id, code, body)
		}
	}
	if ans := routeOf(t, s, "text=宁波鄞州区某小区电梯困人"); ans.Unit.ID != "zhejiang-ningbo" {
		t.Errorf("after delete: %s (%s)", ans.Unit.ID, ans.Reason)
	}
	if c, err := s.Store.GetCase(ctx, "case-zgm"); err != nil || c.UnitName != "钟公庙街道办事处" {
		t.Errorf("the closed case keeps its unit: %+v %v", c, err)
	}

	// the posted Wenzhou replaced the file's: deleting it gives the file's back
	code, body := call(t, s, http.MethodDelete, "/api/v1/units/zhejiang-wenzhou", "")
	var answer struct {
		Restored domain.Unit `json:"restored"`
	}
	if code != 200 || json.Unmarshal(body, &answer) != nil || answer.Restored.Source != orgtree.SourceFile {
		t.Fatalf("DELETE Wenzhou: %d %s", code, body)
	}
	if u, ok := s.Tree.Get("zhejiang-wenzhou"); !ok || u.Source != orgtree.SourceFile || slices.Contains(u.Places, "苍南县") {
		t.Errorf("Wenzhou after delete: %+v %v", u, ok)
	}
	if s.Tree.Len() != before {
		t.Errorf("tree has %d units, want the file's %d", s.Tree.Len(), before)
	}
	stored, err := s.Store.ListUnits(ctx)
	if err != nil || len(postedUnits(stored)) != 0 || !slices.ContainsFunc(stored, func(u domain.Unit) bool { return u.ID == "zhejiang-wenzhou" }) {
		t.Errorf("store after delete: %d posted, %v", len(postedUnits(stored)), err)
	}
	if changed, _ := s.reloadUnits(ctx); changed {
		t.Error("a process's own DELETE is rebuilt again")
	}

	// another process deletes a unit: this one follows on its next look
	if code, body := call(t, s, http.MethodPost, "/api/v1/units", `{"id": "zhejiang-ningbo-beilun", "name": "北仑区人民政府办公室", "parent_id": "zhejiang-ningbo", "places": ["北仑区"]}`); code != 201 {
		t.Fatalf("POST: %d %s", code, body)
	}
	if err := s.Store.DeleteUnit(ctx, "zhejiang-ningbo-beilun"); err != nil {
		t.Fatal(err)
	}
	if changed, err := s.reloadUnits(ctx); err != nil || !changed {
		t.Fatalf("reload after another process's delete = %v, %v", changed, err)
	}
	if ans := routeOf(t, s, "text=北仑区某码头"); ans.Unit.ID != "zhejiang-ningbo" {
		t.Errorf("after another process's delete: %s", ans.Unit.ID)
	}
}

// TestUnitsStoredWithoutSource: units posted before units had a source (so
// stored without one) and absent from the file are taken as posted at
// start, and route; the file's units stored without one stay the file's.
func TestUnitsStoredWithoutSource(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, closeS := openServer(t, dir, "", nil)
	old := []domain.Unit{
		{ID: "zhejiang-ningbo-beilun", Name: "北仑区人民政府办公室", ParentID: "zhejiang-ningbo", Places: []string{"北仑区"}},
		{ID: "zhejiang-ningbo", Name: "宁波市人民政府办公厅", ParentID: "zhejiang", Places: []string{"宁波", "宁波市"}},
	}
	if err := s.Store.PutUnits(ctx, old); err != nil {
		t.Fatal(err)
	}
	closeS()
	s2, _ := openServer(t, dir, "", nil)
	if ans := routeOf(t, s2, "text=北仑区某码头"); ans.Unit.ID != "zhejiang-ningbo-beilun" {
		t.Errorf("an old posted unit does not route: %s (%s)", ans.Unit.ID, ans.Reason)
	}
	stored, err := s2.Store.ListUnits(ctx)
	if err != nil {
		t.Fatal(err)
	}
	posted := postedUnits(stored)
	if len(posted) != 1 || posted[0].ID != "zhejiang-ningbo-beilun" {
		t.Errorf("posted units after start: %+v", posted)
	}
	if u, _ := s2.Tree.Get("zhejiang-ningbo"); u.Source != orgtree.SourceFile {
		t.Errorf("the file's unit: %+v", u)
	}
}
