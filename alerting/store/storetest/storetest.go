// Package storetest is the conformance suite of the Store port: every backend
// (SQLite here, PostgreSQL later) must pass Run. It uses nothing but the
// store.Store interface.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yuqing/alerting/store"
	"yuqing/domain"
)

// Run runs the suite. open must give a new, empty store for each call; the
// suite closes every store it opens.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"EventsRoundTrip", testEventsRoundTrip},
		{"EventsUpsert", testEventsUpsert},
		{"EventsWrittenSince", testEventsWrittenSince},
		{"AssignmentsIdempotent", testAssignments},
		{"ConflictWritesNothing", testConflictWritesNothing},
		{"ManyIDs", testManyIDs},
		{"ListEvents", testListEvents},
		{"CreateCaseOnce", testCreateCaseOnce},
		{"CreateCaseConcurrent", testCreateCaseConcurrent},
		{"UpdateCase", testUpdateCase},
		{"ListCases", testListCases},
		{"Units", testUnits},
		{"Records", testRecords},
		{"AddAction", testAddAction},
		{"DueMoments", testDueMoments},
		{"DueFiresOnceConcurrently", testDueFiresOnce},
		{"NotFound", testNotFound},
		{"OutboxWithTheAction", testOutboxWithTheAction},
		{"OutboxClaim", testOutboxClaim},
		{"OutboxRetry", testOutboxRetry},
		{"OutboxClaimConcurrently", testOutboxClaimConcurrently},
		{"OutboxPrune", testOutboxPrune},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := open(t)
			defer func() {
				if err := st.Close(); err != nil {
					t.Errorf("Close: %v", err)
				}
			}()
			tc.fn(t, st)
		})
	}
}

// base is a fixed instant in China time, to check that times survive with
// their instant (backends may give them back in another zone).
var base = time.Date(2024, 7, 1, 9, 30, 15, 123456000, time.FixedZone("CST", 8*3600))

// SampleEvent gives a fully populated event; exported for backend-specific tests.
func SampleEvent(id string, heat float64, grade domain.Grade, last time.Time) domain.Event {
	return domain.Event{
		ID:         id,
		RootPostID: "p-" + id,
		Title:      "宁波某小区电梯故障困人 " + id,
		Keywords:   []string{"宁波", "电梯", "困人"},
		Simhash:    0xfedcba9876543210, // above MaxInt64: must survive JSON and SQL
		FirstAt:    last.Add(-3 * time.Hour),
		LastAt:     last,
		Posts:      1234,
		Negative:   567,
		Reach:      8_900_000,
		Hourly:     map[int64]int64{last.Unix()/3600 - 1: 400, last.Unix() / 3600: 834},
		PeakHourly: 834,
		Heat:       heat,
		Grade:      grade,
		Reasons:    []string{"负面占比46%", "单小时发帖834条"},
		Region:     "浙江",
		Unit:       "zhejiang-ningbo",
		Risk:       0.25,
		UpdatedAt:  last.Add(time.Minute),
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// sameInstant reports equality of events/cases after normalising the
// time zones: backends keep instants, not zones.
func eqEvent(a, b domain.Event) bool {
	norm := func(e domain.Event) domain.Event {
		e.FirstAt, e.LastAt, e.UpdatedAt = e.FirstAt.UTC(), e.LastAt.UTC(), e.UpdatedAt.UTC()
		return e
	}
	return reflect.DeepEqual(norm(a), norm(b))
}

func testEventsRoundTrip(t *testing.T, st store.Store) {
	c := ctx(t)
	evs := []domain.Event{
		SampleEvent("e1", 99.5, domain.GradeII, base),
		SampleEvent("e2", 10, domain.GradeNone, base.Add(time.Hour)),
	}
	evs[1].Hourly = nil
	evs[1].Reasons = nil
	if err := st.SaveEvents(c, evs, map[string]string{"p1": "e1", "p2": "e1", "p3": "e2"}); err != nil {
		t.Fatalf("SaveEvents: %v", err)
	}
	for _, want := range evs {
		got, err := st.GetEvent(c, want.ID)
		if err != nil {
			t.Fatalf("GetEvent(%s): %v", want.ID, err)
		}
		if !eqEvent(got, want) {
			t.Errorf("GetEvent(%s) =\n%+v\nwant\n%+v", want.ID, got, want)
		}
		if !got.LastAt.Equal(want.LastAt) {
			t.Errorf("LastAt %v, want %v", got.LastAt, want.LastAt)
		}
	}
	m, err := st.GetEvents(c, []string{"e1", "e2", "nope"})
	if err != nil {
		t.Fatalf("GetEvents: %v", err)
	}
	if len(m) != 2 || !eqEvent(m["e1"], evs[0]) || !eqEvent(m["e2"], evs[1]) {
		t.Errorf("GetEvents = %v", m)
	}
	if got := m["e1"].Simhash; got != 0xfedcba9876543210 {
		t.Errorf("Simhash = %x", got)
	}
	if got := m["e1"].Grade; got != domain.GradeII {
		t.Errorf("Grade = %v", got)
	}
	if m, err := st.GetEvents(c, nil); err != nil || len(m) != 0 {
		t.Errorf("GetEvents(nil) = %v, %v", m, err)
	}
	if err := st.SaveEvents(c, nil, nil); err != nil {
		t.Errorf("SaveEvents(nil, nil): %v", err)
	}
}

func testEventsWrittenSince(t *testing.T, st store.Store) {
	c := ctx(t)
	first := []domain.Event{SampleEvent("w1", 1, domain.GradeIV, base), SampleEvent("w2", 2, domain.GradeIV, base)}
	if err := st.SaveEvents(c, first, nil); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	mark := time.Now()
	time.Sleep(20 * time.Millisecond)
	first[1].Posts++
	later := []domain.Event{first[1], SampleEvent("w3", 3, domain.GradeIV, base)}
	if err := st.SaveEvents(c, later, nil); err != nil {
		t.Fatal(err)
	}
	got, err := st.ListEvents(c, store.EventFilter{WrittenSince: mark, Sort: "recent", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, e := range got {
		ids[e.ID] = true
	}
	if len(got) != 2 || !ids["w2"] || !ids["w3"] {
		t.Fatalf("events written since the mark: %v, want w2 (updated) and w3 (new)", ids)
	}
}

func testEventsUpsert(t *testing.T, st store.Store) {
	c := ctx(t)
	evs := []domain.Event{SampleEvent("e1", 5, domain.GradeIV, base)}
	if err := st.SaveEvents(c, evs, nil); err != nil {
		t.Fatal(err)
	}
	if evs[0].Version != 1 {
		t.Fatalf("a new event is stored at version %d, want 1", evs[0].Version)
	}
	stale := evs[0]
	evs[0].Heat, evs[0].Grade, evs[0].Posts = 500, domain.GradeI, 99999
	evs[0].Hourly[base.Unix()/3600+1] = 7
	if err := st.SaveEvents(c, evs, nil); err != nil {
		t.Fatal(err)
	}
	e := evs[0]
	if e.Version != 2 {
		t.Fatalf("an updated event is at version %d, want 2", e.Version)
	}
	got, err := st.GetEvent(c, "e1")
	if err != nil {
		t.Fatal(err)
	}
	if !eqEvent(got, e) {
		t.Errorf("after upsert got %+v, want %+v", got, e)
	}
	list, err := st.ListEvents(c, store.EventFilter{MinGrade: domain.GradeI})
	if err != nil || len(list) != 1 || list[0].Heat != 500 {
		t.Errorf("ListEvents after upsert = %v, %v (indexed columns must follow the upsert)", list, err)
	}

	// optimistic concurrency: a write based on an old version, or a "new"
	// event that exists, fails whole, and writes nothing
	stale.Posts = 1
	fresh := SampleEvent("e-new", 1, domain.GradeIV, base)
	for name, batch := range map[string][]domain.Event{
		"stale version":  {fresh, stale},
		"exists already": {fresh, SampleEvent("e1", 1, domain.GradeIV, base)},
	} {
		err := st.SaveEvents(c, batch, map[string]string{"p-new": "e-new"})
		if !errors.Is(err, store.ErrConflict) {
			t.Errorf("%s: SaveEvents = %v, want ErrConflict", name, err)
		}
		if _, err := st.GetEvent(c, "e-new"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: a conflicting batch wrote its other event (%v)", name, err)
		}
		if m, _ := st.PostEvents(c, []string{"p-new"}); len(m) != 0 {
			t.Errorf("%s: a conflicting batch wrote its assignment", name)
		}
		if batch[0].Version != 0 {
			t.Errorf("%s: a failed write changed the caller's version", name)
		}
	}
	if got, _ := st.GetEvent(c, "e1"); got.Posts != 99999 || got.Version != 2 {
		t.Errorf("a conflicting write changed the stored event: %+v", got)
	}
}

func testAssignments(t *testing.T, st store.Store) {
	c := ctx(t)
	evs := []domain.Event{SampleEvent("e1", 1, domain.GradeIV, base), SampleEvent("e2", 2, domain.GradeIV, base)}
	if err := st.SaveEvents(c, evs, map[string]string{"p1": "e1", "p2": "e1"}); err != nil {
		t.Fatal(err)
	}
	// p1 again (to another event): a conflict, and p3 is not written either
	if err := st.SaveEvents(c, nil, map[string]string{"p1": "e2", "p3": "e2"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("reassigning p1: %v, want ErrConflict", err)
	}
	if m, _ := st.PostEvents(c, []string{"p3"}); len(m) != 0 {
		t.Fatal("a conflicting batch wrote p3")
	}
	if err := st.SaveEvents(c, nil, map[string]string{"p3": "e2"}); err != nil {
		t.Fatalf("assigning p3: %v", err)
	}
	got, err := st.PostEvents(c, []string{"p1", "p2", "p3", "p4"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"p1": "e1", "p2": "e1", "p3": "e2"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PostEvents = %v, want %v", got, want)
	}
	if got, err := st.PostEvents(c, nil); err != nil || len(got) != 0 {
		t.Errorf("PostEvents(nil) = %v, %v", got, err)
	}
}

// testConflictWritesNothing: a batch that updates events correctly but
// assigns one post already assigned (the last of a thousand) fails whole:
// no event is updated or created, no other post is assigned, and the
// caller's versions are untouched.
func testConflictWritesNothing(t *testing.T, st store.Store) {
	c := ctx(t)
	evs := []domain.Event{SampleEvent("e1", 1, domain.GradeIV, base), SampleEvent("e2", 2, domain.GradeIV, base)}
	if err := st.SaveEvents(c, evs, map[string]string{"p-zzz": "e1"}); err != nil {
		t.Fatal(err)
	}
	evs[0].Posts, evs[1].Posts = 777, 888
	batch := []domain.Event{evs[0], evs[1], SampleEvent("e3", 3, domain.GradeIV, base)}
	assign := map[string]string{"p-zzz": "e2"}
	for i := range 999 {
		assign[fmt.Sprintf("p-%04d", i)] = "e3"
	}
	if err := st.SaveEvents(c, batch, assign); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("SaveEvents with a post already assigned = %v, want ErrConflict", err)
	}
	for i, want := range []int64{1, 1, 0} {
		if batch[i].Version != want {
			t.Errorf("a failed write changed the caller's version of %s to %d", batch[i].ID, batch[i].Version)
		}
	}
	got, err := st.GetEvents(c, []string{"e1", "e2", "e3"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got["e1"].Posts != 1234 || got["e1"].Version != 1 || got["e2"].Posts != 1234 || got["e2"].Version != 1 {
		t.Errorf("a conflicting batch changed the events: %+v", got)
	}
	m, err := st.PostEvents(c, []string{"p-zzz", "p-0000", "p-0998"})
	if err != nil || len(m) != 1 || m["p-zzz"] != "e1" {
		t.Errorf("assignments after a conflicting batch = %v, %v; want only p-zzz → e1", m, err)
	}
	// The same batch without the taken post goes through.
	delete(assign, "p-zzz")
	if err := st.SaveEvents(c, batch, assign); err != nil {
		t.Fatalf("SaveEvents after removing the taken post: %v", err)
	}
	if batch[0].Version != 2 || batch[2].Version != 1 {
		t.Errorf("versions after success: %d, %d; want 2, 1", batch[0].Version, batch[2].Version)
	}
}

func testManyIDs(t *testing.T, st store.Store) {
	c := ctx(t)
	const n = 5000
	assign := make(map[string]string, n)
	var evs []domain.Event
	var evIDs []string
	for i := range 120 {
		id := fmt.Sprintf("e%03d", i)
		evs = append(evs, SampleEvent(id, float64(i), domain.GradeIV, base))
		evIDs = append(evIDs, id)
	}
	postIDs := make([]string, 0, n+10)
	for i := range n {
		p := fmt.Sprintf("post-%05d", i)
		assign[p] = evIDs[i%len(evIDs)]
		postIDs = append(postIDs, p)
	}
	if err := st.SaveEvents(c, evs, assign); err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		postIDs = append(postIDs, fmt.Sprintf("absent-%d", i))
	}
	got, err := st.PostEvents(c, postIDs)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, assign) {
		t.Errorf("PostEvents of %d ids: got %d entries, want %d", len(postIDs), len(got), len(assign))
	}
	many := make([]string, 0, 3000)
	for i := range 3000 {
		many = append(many, fmt.Sprintf("e%03d", i%200))
	}
	m, err := st.GetEvents(c, many)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) != len(evs) {
		t.Errorf("GetEvents of 3000 ids: %d events, want %d", len(m), len(evs))
	}
}

func testListEvents(t *testing.T, st store.Store) {
	c := ctx(t)
	evs := []domain.Event{
		SampleEvent("a", 10, domain.GradeIV, base.Add(4*time.Hour)),
		SampleEvent("b", 90, domain.GradeI, base.Add(1*time.Hour)),
		SampleEvent("c", 50, domain.GradeIII, base.Add(3*time.Hour)),
		SampleEvent("d", 70, domain.GradeNone, base.Add(5*time.Hour)),
		SampleEvent("e", 30, domain.GradeII, base.Add(2*time.Hour)),
	}
	if err := st.SaveEvents(c, evs, nil); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		f    store.EventFilter
		want []string
	}{
		{"default heat", store.EventFilter{}, []string{"b", "d", "c", "e", "a"}},
		{"heat explicit", store.EventFilter{Sort: "heat"}, []string{"b", "d", "c", "e", "a"}},
		{"recent", store.EventFilter{Sort: "recent"}, []string{"d", "a", "c", "e", "b"}},
		{"limit", store.EventFilter{Limit: 2}, []string{"b", "d"}},
		{"min grade II", store.EventFilter{MinGrade: domain.GradeII}, []string{"b", "e"}},
		{"min grade IV excludes ungraded", store.EventFilter{MinGrade: domain.GradeIV}, []string{"b", "c", "e", "a"}},
		{"since", store.EventFilter{Since: base.Add(3 * time.Hour)}, []string{"d", "c", "a"}},
		{"since+grade+recent+limit", store.EventFilter{Since: base.Add(2 * time.Hour), MinGrade: domain.GradeIII, Sort: "recent", Limit: 2}, []string{"c", "e"}},
		{"by id", store.EventFilter{Sort: "id"}, []string{"a", "b", "c", "d", "e"}},
		{"by id, first page", store.EventFilter{Sort: "id", Limit: 2}, []string{"a", "b"}},
		{"by id, next page", store.EventFilter{Sort: "id", AfterID: "b", Limit: 2}, []string{"c", "d"}},
		{"by id, last page", store.EventFilter{Sort: "id", AfterID: "d", Limit: 2}, []string{"e"}},
		{"after id with a filter", store.EventFilter{Sort: "id", AfterID: "a", MinGrade: domain.GradeII}, []string{"b", "e"}},
	}
	for _, tc := range tests {
		got, err := st.ListEvents(c, tc.f)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var ids []string
		for _, e := range got {
			ids = append(ids, e.ID)
		}
		if !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, ids, tc.want)
		}
	}
	var many []domain.Event
	for i := range 60 {
		many = append(many, SampleEvent(fmt.Sprintf("m%02d", i), 1, domain.GradeIV, base))
	}
	if err := st.SaveEvents(c, many, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := st.ListEvents(c, store.EventFilter{}); err != nil || len(got) != 50 {
		t.Errorf("default limit: %d events, %v; want 50", len(got), err)
	}
}

// SampleCase gives a case for an event; exported for backend-specific tests.
func SampleCase(id, eventID string, created time.Time) domain.Case {
	return domain.Case{
		ID:            id,
		EventID:       eventID,
		Title:         "宁波某小区电梯故障困人",
		Status:        domain.CaseOpen,
		ProposedGrade: domain.GradeIII,
		Grade:         domain.GradeIII,
		Reasons:       []string{"负面占比46%"},
		UnitID:        "zhejiang-ningbo",
		UnitName:      "宁波市人民政府办公厅",
		RouteReason:   "正文提到“宁波”，属地为宁波市人民政府办公厅",
		Heat:          42.5,
		CreatedAt:     created,
		FirstPostAt:   created.Add(-2 * time.Hour),
		UpdatedAt:     created,
		Clocks:        domain.ClocksFor(domain.GradeIII, created, created.Add(-2*time.Hour)),
	}
}

func openAction(at time.Time) domain.Action {
	return domain.Action{Kind: domain.ActOpen, Actor: "system", Note: "自动立案", At: at}
}

func normCase(c domain.Case) domain.Case {
	c.CreatedAt, c.FirstPostAt, c.UpdatedAt = c.CreatedAt.UTC(), c.FirstPostAt.UTC(), c.UpdatedAt.UTC()
	cl := make([]domain.Clock, len(c.Clocks))
	for i, k := range c.Clocks {
		k.StartedAt, k.FirstPostAt, k.DueAt = k.StartedAt.UTC(), k.FirstPostAt.UTC(), k.DueAt.UTC()
		if k.StoppedAt != nil {
			s := k.StoppedAt.UTC()
			k.StoppedAt = &s
		}
		cl[i] = k
	}
	c.Clocks = cl
	as := make([]domain.Action, len(c.Actions))
	for i, a := range c.Actions {
		a.At = a.At.UTC()
		as[i] = a
	}
	c.Actions = as
	return c
}

func eqCase(a, b domain.Case) bool { return reflect.DeepEqual(normCase(a), normCase(b)) }

func testCreateCaseOnce(t *testing.T, st store.Store) {
	c := ctx(t)
	cs := SampleCase("case-e1", "e1", base)
	got, created, err := st.CreateCase(c, cs, openAction(base))
	if err != nil || !created {
		t.Fatalf("CreateCase = %v, %v", created, err)
	}
	if len(got.Actions) != 1 || got.Actions[0].ID == 0 || got.Actions[0].CaseID != "case-e1" || got.Actions[0].Kind != domain.ActOpen {
		t.Errorf("created case actions = %+v", got.Actions)
	}
	other := SampleCase("case-e1-bis", "e1", base.Add(time.Hour))
	other.Title = "另一个"
	again, created, err := st.CreateCase(c, other, openAction(base.Add(time.Hour)))
	if err != nil {
		t.Fatalf("second CreateCase: %v", err)
	}
	if created {
		t.Fatal("second CreateCase for the same event created a case")
	}
	if again.ID != "case-e1" || again.Title != cs.Title || len(again.Actions) != 1 {
		t.Errorf("second CreateCase returned %+v, want the stored case", again)
	}
	stored, err := st.GetCase(c, "case-e1")
	if err != nil {
		t.Fatal(err)
	}
	want := cs
	want.Actions = got.Actions
	if !eqCase(stored, want) {
		t.Errorf("GetCase =\n%+v\nwant\n%+v", stored, want)
	}
	if _, err := st.GetCase(c, "case-e1-bis"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused case exists: %v", err)
	}
	byEvent, err := st.CaseForEvent(c, "e1")
	if err != nil || byEvent.ID != "case-e1" {
		t.Errorf("CaseForEvent = %+v, %v", byEvent, err)
	}
}

func testCreateCaseConcurrent(t *testing.T, st store.Store) {
	c := ctx(t)
	const n = 8
	var wg sync.WaitGroup
	var mu sync.Mutex
	createdBy := []int{}
	ids := map[string]bool{}
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs := SampleCase(fmt.Sprintf("case-%d", i), "e-race", base)
			got, created, err := st.CreateCase(c, cs, openAction(base))
			if err != nil {
				errs <- err
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if created {
				createdBy = append(createdBy, i)
			}
			ids[got.ID] = true
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent CreateCase: %v", err)
	}
	if len(createdBy) != 1 {
		t.Fatalf("%d goroutines created a case, want exactly 1", len(createdBy))
	}
	if len(ids) != 1 || !ids[fmt.Sprintf("case-%d", createdBy[0])] {
		t.Errorf("callers saw cases %v, want only case-%d", ids, createdBy[0])
	}
	list, err := st.ListCases(c, store.CaseFilter{})
	if err != nil || len(list) != 1 {
		t.Errorf("ListCases = %d cases, %v; want 1", len(list), err)
	}
	got, err := st.GetCase(c, fmt.Sprintf("case-%d", createdBy[0]))
	if err != nil || len(got.Actions) != 1 {
		t.Errorf("GetCase: %d actions, %v; want 1", len(got.Actions), err)
	}
}

func testUpdateCase(t *testing.T, st store.Store) {
	c := ctx(t)
	cs := SampleCase("case-1", "e1", base)
	if _, _, err := st.CreateCase(c, cs, openAction(base)); err != nil {
		t.Fatal(err)
	}
	steps := []domain.Action{
		{Kind: domain.ActSign, Actor: "张三", Note: "已签收", At: base.Add(10 * time.Minute)},
		{Kind: domain.ActAssess, Actor: "李四", Note: "研判为II级", At: base.Add(20 * time.Minute)},
		{Kind: domain.ActRespond, Actor: "王五", EvidenceURL: "https://www.ningbo.gov.cn/art/1.html", At: base.Add(30 * time.Minute)},
	}
	var lastID int64
	for i, a := range steps {
		cs.Status = []string{domain.CaseSigned, domain.CaseAssessed, domain.CaseAnswered}[i]
		cs.UpdatedAt = a.At
		if i == 1 {
			cs.Grade, cs.GradeConfirmed, cs.ResponseType = domain.GradeII, true, "权威信息"
			cs.Clocks = domain.ClocksFor(domain.GradeII, base, cs.FirstPostAt)
		}
		if i == 2 {
			stop := a.At
			cs.Clocks[0].StoppedAt, cs.Clocks[0].EvidenceURL = &stop, a.EvidenceURL
		}
		got, err := st.UpdateCase(c, cs, a)
		if err != nil {
			t.Fatalf("UpdateCase %s: %v", a.Kind, err)
		}
		if got.ID <= lastID || got.CaseID != "case-1" || got.Actor != a.Actor || !got.At.Equal(a.At) || got.Kind != a.Kind {
			t.Errorf("UpdateCase %s returned %+v (previous id %d)", a.Kind, got, lastID)
		}
		lastID = got.ID
	}
	stored, err := st.GetCase(c, "case-1")
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.Actions) != 4 {
		t.Fatalf("%d actions, want 4: %+v", len(stored.Actions), stored.Actions)
	}
	wantKinds := []string{domain.ActOpen, domain.ActSign, domain.ActAssess, domain.ActRespond}
	for i, a := range stored.Actions {
		if a.Kind != wantKinds[i] {
			t.Errorf("action %d kind %q, want %q", i, a.Kind, wantKinds[i])
		}
		if i > 0 {
			if a.Actor != steps[i-1].Actor || a.Note != steps[i-1].Note || a.EvidenceURL != steps[i-1].EvidenceURL || !a.At.Equal(steps[i-1].At) {
				t.Errorf("action %d = %+v, want %+v", i, a, steps[i-1])
			}
			if a.ID <= stored.Actions[i-1].ID {
				t.Errorf("action ids not increasing: %d after %d", a.ID, stored.Actions[i-1].ID)
			}
		}
	}
	want := cs
	want.Actions = stored.Actions
	if !eqCase(stored, want) {
		t.Errorf("GetCase =\n%+v\nwant\n%+v", stored, want)
	}
	if stored.Clocks[0].StoppedAt == nil || !stored.Clocks[0].StoppedAt.Equal(steps[2].At) {
		t.Errorf("stopped clock lost: %+v", stored.Clocks[0])
	}
	// Filters must follow updates.
	if l, err := st.ListCases(c, store.CaseFilter{Status: domain.CaseAnswered}); err != nil || len(l) != 1 {
		t.Errorf("ListCases(answered) after update = %d, %v", len(l), err)
	}
	ghost := SampleCase("case-ghost", "e-ghost", base)
	if _, err := st.UpdateCase(c, ghost, domain.Action{Kind: domain.ActSign, Actor: "x", At: base}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("UpdateCase of a missing case: %v, want ErrNotFound", err)
	}
}

func testListCases(t *testing.T, st store.Store) {
	c := ctx(t)
	mk := func(id, unit, status string, h int) {
		cs := SampleCase(id, "ev-"+id, base.Add(time.Duration(h)*time.Hour))
		cs.UnitID, cs.Status = unit, status
		if _, created, err := st.CreateCase(c, cs, openAction(cs.CreatedAt)); err != nil || !created {
			t.Fatalf("CreateCase %s: %v %v", id, created, err)
		}
	}
	mk("c1", "nb", domain.CaseOpen, 1)
	mk("c2", "nb", domain.CaseClosed, 2)
	mk("c3", "hz", domain.CaseSigned, 3)
	mk("c4", "nb", domain.CaseAnswered, 4)
	mk("c5", "hz", domain.CaseOpen, 5)
	// c4's grade is confirmed at II (the grade in force filters, not the proposal)
	c4, err := st.GetCase(c, "c4")
	if err != nil {
		t.Fatal(err)
	}
	c4.Grade = domain.GradeII
	if _, err := st.UpdateCase(c, c4, domain.Action{Kind: domain.ActAssess, Actor: "研判员", At: c4.CreatedAt.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	at := func(h int) time.Time { return base.Add(time.Duration(h) * time.Hour) }
	province := []string{} // a line as long as a province's, towns included
	for i := range 40_000 {
		province = append(province, fmt.Sprintf("town-%05d", i))
	}
	province = append(province, "nb")
	tests := []struct {
		name string
		f    store.CaseFilter
		want []string
	}{
		{"all newest first", store.CaseFilter{}, []string{"c5", "c4", "c3", "c2", "c1"}},
		{"status", store.CaseFilter{Status: domain.CaseOpen}, []string{"c5", "c1"}},
		{"unit", store.CaseFilter{UnitID: "nb"}, []string{"c4", "c2", "c1"}},
		{"open", store.CaseFilter{Open: true}, []string{"c5", "c4", "c3", "c1"}},
		{"unit+open", store.CaseFilter{UnitID: "nb", Open: true}, []string{"c4", "c1"}},
		{"limit", store.CaseFilter{Limit: 2}, []string{"c5", "c4"}},
		{"none", store.CaseFilter{UnitID: "sh"}, nil},
		{"units", store.CaseFilter{Units: []string{"hz", "sh"}}, []string{"c5", "c3"}},
		{"units+open", store.CaseFilter{Units: []string{"nb", "hz"}, Open: true, Limit: 3}, []string{"c5", "c4", "c3"}},
		{"no units", store.CaseFilter{Units: []string{}}, nil},
		{"40,001 units", store.CaseFilter{Units: province}, []string{"c4", "c2", "c1"}},
		{"grade in force", store.CaseFilter{Grade: domain.GradeII}, []string{"c4"}},
		{"grade III", store.CaseFilter{Grade: domain.GradeIII, Units: []string{"nb"}}, []string{"c2", "c1"}},
		{"opened from", store.CaseFilter{From: at(3)}, []string{"c5", "c4", "c3"}},
		{"opened before", store.CaseFilter{To: at(3)}, []string{"c2", "c1"}},
		{"opened in", store.CaseFilter{From: at(2), To: at(4), Status: domain.CaseSigned}, []string{"c3"}},
	}
	for _, tc := range tests {
		got, err := st.ListCases(c, tc.f)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var ids []string
		for _, cs := range got {
			ids = append(ids, cs.ID)
		}
		if !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, ids, tc.want)
		}
	}
}

func testUnits(t *testing.T, st store.Store) {
	c := ctx(t)
	units := []domain.Unit{
		{ID: "cn", Name: "国务院办公厅政务公开办公室"},
		{ID: "zhejiang", Name: "浙江省人民政府办公厅", ParentID: "cn", Places: []string{"浙江", "浙江省"}, Contact: "0571-00000000"},
		{ID: "zhejiang-ningbo", Name: "宁波市人民政府办公厅", ParentID: "zhejiang", Places: []string{"宁波", "宁波市"}},
	}
	if err := st.PutUnits(c, units); err != nil {
		t.Fatal(err)
	}
	got, err := st.ListUnits(c)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, units) {
		t.Errorf("ListUnits =\n%+v\nwant\n%+v", got, units)
	}
	units[2].Name = "宁波市人民政府"
	if err := st.PutUnits(c, units[2:]); err != nil {
		t.Fatal(err)
	}
	got, err = st.ListUnits(c)
	if err != nil || len(got) != 3 || got[2].Name != "宁波市人民政府" {
		t.Errorf("after upsert ListUnits = %+v, %v", got, err)
	}
	if err := st.DeleteUnit(c, "zhejiang-ningbo"); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteUnit(c, "zhejiang-ningbo"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("deleting a deleted unit: %v, want ErrNotFound", err)
	}
	got, err = st.ListUnits(c)
	if err != nil || !reflect.DeepEqual(got, units[:2]) {
		t.Errorf("after delete ListUnits = %+v, %v", got, err)
	}
}

func testRecords(t *testing.T, st store.Store) {
	c := ctx(t)
	recs := []domain.Record{
		{ID: "r1", Kind: domain.RecordDisclosure, Title: "关于电梯安全的通告", URL: "https://example.gov.cn/1", UnitID: "nb", CaseID: "case-1", PublishedAt: base, CreatedAt: base.Add(time.Minute)},
		{ID: "r2", Kind: domain.RecordInterpretation, Title: "政策解读", UnitID: "nb", PolicyID: "r1", PublishedAt: base.Add(time.Hour), CreatedAt: base.Add(time.Hour)},
		{ID: "r3", Kind: domain.RecordDisclosure, Title: "杭州公开", UnitID: "hz", PublishedAt: base.Add(2 * time.Hour), CreatedAt: base.Add(2 * time.Hour)},
	}
	for _, r := range recs {
		if err := st.PutRecord(c, r); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name string
		f    store.RecordFilter
		want []string
	}{
		{"all newest first", store.RecordFilter{}, []string{"r3", "r2", "r1"}},
		{"kind", store.RecordFilter{Kind: domain.RecordDisclosure}, []string{"r3", "r1"}},
		{"case", store.RecordFilter{CaseID: "case-1"}, []string{"r1"}},
		{"unit", store.RecordFilter{UnitID: "nb"}, []string{"r2", "r1"}},
		{"limit", store.RecordFilter{Limit: 1}, []string{"r3"}},
	}
	for _, tc := range tests {
		got, err := st.ListRecords(c, tc.f)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		var ids []string
		for _, r := range got {
			ids = append(ids, r.ID)
		}
		if !reflect.DeepEqual(ids, tc.want) {
			t.Errorf("%s: got %v, want %v", tc.name, ids, tc.want)
		}
	}
	got, err := st.ListRecords(c, store.RecordFilter{CaseID: "case-1"})
	if err != nil || len(got) != 1 {
		t.Fatalf("ListRecords: %v %v", got, err)
	}
	r := got[0]
	if r.Title != recs[0].Title || r.URL != recs[0].URL || r.Kind != recs[0].Kind || r.UnitID != "nb" ||
		!r.PublishedAt.Equal(recs[0].PublishedAt) || !r.CreatedAt.Equal(recs[0].CreatedAt) {
		t.Errorf("record round trip: %+v, want %+v", r, recs[0])
	}
	upd := recs[0]
	upd.Title = "更正后的通告"
	if err := st.PutRecord(c, upd); err != nil {
		t.Fatal(err)
	}
	if got, err := st.ListRecords(c, store.RecordFilter{CaseID: "case-1"}); err != nil || len(got) != 1 || got[0].Title != "更正后的通告" {
		t.Errorf("after upsert: %+v, %v", got, err)
	}
}

func testNotFound(t *testing.T, st store.Store) {
	c := ctx(t)
	if _, err := st.GetEvent(c, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetEvent: %v, want ErrNotFound", err)
	}
	if _, err := st.GetCase(c, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetCase: %v, want ErrNotFound", err)
	}
	if _, err := st.CaseForEvent(c, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CaseForEvent: %v, want ErrNotFound", err)
	}
	if l, err := st.ListCases(c, store.CaseFilter{}); err != nil || len(l) != 0 {
		t.Errorf("ListCases on empty store = %v, %v", l, err)
	}
	if l, err := st.ListUnits(c); err != nil || len(l) != 0 {
		t.Errorf("ListUnits on empty store = %v, %v", l, err)
	}
}

func testDueMoments(t *testing.T, st store.Store) {
	c := ctx(t)
	cs := SampleCase("case-d1", "d1", base)
	cs.Clocks = domain.ClocksFor(domain.GradeIII, base, base)
	cs.Clocks[0].Reminders = []time.Time{base.Add(24 * time.Hour), base.Add(38 * time.Hour)}
	if _, _, err := st.CreateCase(c, cs, openAction(base)); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := st.NextDue(c); err != nil || ok {
		t.Fatalf("NextDue on nothing scheduled = %v, %v", ok, err)
	}
	due := domain.DuesFor(cs.ID, cs.Clocks)
	if len(due) != 3 {
		t.Fatalf("DuesFor = %+v", due)
	}
	if err := st.ScheduleDue(c, cs.ID, due); err != nil {
		t.Fatal(err)
	}
	next, ok, err := st.NextDue(c)
	if err != nil || !ok || !next.Equal(base.Add(24*time.Hour)) {
		t.Fatalf("NextDue = %s, %v, %v", next, ok, err)
	}
	got, err := st.DueBefore(c, base.Add(40*time.Hour), 10)
	if err != nil || len(got) != 2 || got[0].Key != due[0].Key || !got[0].At.Equal(due[0].At) || !got[1].DueAt.Equal(due[1].DueAt) || got[1].Kind != domain.DueRemind {
		t.Fatalf("DueBefore = %+v, %v", got, err)
	}
	act := domain.Action{Kind: domain.ActRemind, Actor: "system", Note: "时限已过半", At: got[0].At}
	stored, fired, err := st.FireDue(c, got[0], act)
	if err != nil || !fired || stored.ID == 0 || stored.CaseID != cs.ID {
		t.Fatalf("FireDue = %+v, %v, %v", stored, fired, err)
	}
	if _, fired, err := st.FireDue(c, got[0], act); err != nil || fired {
		t.Fatalf("second FireDue = %v, %v", fired, err)
	}
	full, err := st.GetCase(c, cs.ID)
	if err != nil || len(full.Actions) != 2 || full.Actions[1].Kind != domain.ActRemind {
		t.Fatalf("case trail after firing = %+v, %v", full.Actions, err)
	}
	// the clocks change (say, a regrade): unfired moments are replaced; a
	// fired one given again stays fired
	if err := st.ScheduleDue(c, cs.ID, due[:1]); err != nil {
		t.Fatal(err)
	}
	if left, err := st.DueBefore(c, base.Add(100*time.Hour), 10); err != nil || len(left) != 0 {
		t.Fatalf("after rescheduling only the fired moment: %+v, %v", left, err)
	}
	// the clock stopped: nothing left for the case
	if err := st.ScheduleDue(c, cs.ID, nil); err != nil {
		t.Fatal(err)
	}
	if _, ok, err := st.NextDue(c); err != nil || ok {
		t.Fatalf("NextDue after the clock stopped = %v, %v", ok, err)
	}
	if _, fired, err := st.FireDue(c, due[2], act); err != nil || fired {
		t.Fatalf("firing an unscheduled moment = %v, %v", fired, err)
	}
}

func testDueFiresOnce(t *testing.T, st store.Store) {
	c := ctx(t)
	cs := SampleCase("case-d2", "d2", base)
	if _, _, err := st.CreateCase(c, cs, openAction(base)); err != nil {
		t.Fatal(err)
	}
	d := domain.Due{Key: "case-d2/response@1/overdue", CaseID: cs.ID, Clock: domain.ClockResponse, Kind: domain.DueOverdue, At: base, DueAt: base}
	if err := st.ScheduleDue(c, cs.ID, []domain.Due{d}); err != nil {
		t.Fatal(err)
	}
	const n = 8
	var wg sync.WaitGroup
	var fires atomic.Int32
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, fired, err := st.FireDue(c, d, domain.Action{Kind: domain.ActOverdue, Actor: "system", At: base})
			if err != nil {
				t.Error(err)
			}
			if fired {
				fires.Add(1)
			}
		}()
	}
	wg.Wait()
	if fires.Load() != 1 {
		t.Fatalf("fired %d times, want once", fires.Load())
	}
	full, _ := st.GetCase(c, cs.ID)
	if len(full.Actions) != 2 {
		t.Fatalf("actions = %d, want open + one overdue", len(full.Actions))
	}
}

func testAddAction(t *testing.T, st store.Store) {
	c := ctx(t)
	cs := SampleCase("case-a1", "a1", base)
	if _, _, err := st.CreateCase(c, cs, openAction(base)); err != nil {
		t.Fatal(err)
	}
	a, err := st.AddAction(c, cs.ID, domain.Action{Kind: domain.ActNotify, Actor: "system", Note: "已通过钉钉通知宁波市网信办", At: base.Add(time.Minute), Origin: "10.1.2.3"})
	if err != nil || a.ID == 0 || a.CaseID != cs.ID {
		t.Fatalf("AddAction = %+v, %v", a, err)
	}
	full, err := st.GetCase(c, cs.ID)
	if err != nil || len(full.Actions) != 2 || full.Actions[1].Note != a.Note || !full.Actions[1].At.Equal(a.At) || full.Actions[1].Origin != "10.1.2.3" {
		t.Fatalf("trail = %+v, %v", full.Actions, err)
	}
	if full.Status != cs.Status || full.Title != cs.Title {
		t.Errorf("the case changed: %+v", full)
	}
	if _, err := st.AddAction(c, "case-none", a); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("AddAction to a missing case: %v", err)
	}
}
