package sqlitestore

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"yuqing/alerting/store"
	"yuqing/alerting/store/storetest"
	"yuqing/domain"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func openTemp(t testing.TB) *Store {
	t.Helper()
	st, err := Open(filepath.Join(t.TempDir(), "store.db"))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sub dir", "store.db")
	if _, err := Open(path); err == nil {
		t.Fatal("Open in a missing folder succeeded")
	}
	path = filepath.Join(t.TempDir(), "store.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC)
	ev := storetest.SampleEvent("e1", 12, domain.GradeIII, now)
	if err := st.SaveEvents(ctx, []domain.Event{ev}, map[string]string{"p1": "e1"}); err != nil {
		t.Fatal(err)
	}
	cs := storetest.SampleCase("case-e1", "e1", now)
	if _, _, err := st.CreateCase(ctx, cs, domain.Action{Kind: domain.ActOpen, Actor: "system", At: now}); err != nil {
		t.Fatal(err)
	}
	cs.Status = domain.CaseSigned
	if _, err := st.UpdateCase(ctx, cs, domain.Action{Kind: domain.ActSign, Actor: "张三", At: now.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutUnits(ctx, []domain.Unit{{ID: "cn", Name: "国务院办公厅政务公开办公室"}}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutRecord(ctx, domain.Record{ID: "r1", Kind: domain.RecordDisclosure, Title: "通告", PublishedAt: now}); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = Open(path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer st.Close()
	var versions int
	if err := st.r.QueryRow(`SELECT COUNT(*) FROM schema_migrations`).Scan(&versions); err != nil || versions != len(migrations) {
		t.Errorf("schema_migrations has %d rows (%v), want %d", versions, err, len(migrations))
	}
	if got, err := st.GetEvent(ctx, "e1"); err != nil || got.Heat != 12 || got.Simhash != ev.Simhash {
		t.Errorf("event after reopen: %+v, %v", got, err)
	}
	if m, err := st.PostEvents(ctx, []string{"p1"}); err != nil || m["p1"] != "e1" {
		t.Errorf("assignment after reopen: %v, %v", m, err)
	}
	got, err := st.GetCase(ctx, "case-e1")
	if err != nil || got.Status != domain.CaseSigned || len(got.Actions) != 2 || got.Actions[1].Actor != "张三" {
		t.Errorf("case after reopen: %+v, %v", got, err)
	}
	if u, err := st.ListUnits(ctx); err != nil || len(u) != 1 {
		t.Errorf("units after reopen: %v, %v", u, err)
	}
	if r, err := st.ListRecords(ctx, store.RecordFilter{}); err != nil || len(r) != 1 {
		t.Errorf("records after reopen: %v, %v", r, err)
	}
}

func TestPragmas(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	for _, db := range []*sql.DB{st.w, st.r} {
		var mode string
		var sync int
		if err := db.QueryRow(`PRAGMA journal_mode`).Scan(&mode); err != nil || mode != "wal" {
			t.Errorf("journal_mode = %q, %v; want wal", mode, err)
		}
		if err := db.QueryRow(`PRAGMA synchronous`).Scan(&sync); err != nil || sync != 2 {
			t.Errorf("synchronous = %d, %v; want 2 (FULL)", sync, err)
		}
	}
	if _, err := st.r.Exec(`DELETE FROM events`); err == nil {
		t.Error("the read pool accepted a write")
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "store.db")
	st, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.w.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, 0)`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if st, err := Open(path); err == nil {
		st.Close()
		t.Fatal("Open accepted a database from a newer program")
	}
}

// batch builds the analyzer's typical write: n new assignments over m events.
func batch(seq, n, m int) ([]domain.Event, map[string]string) {
	now := time.Date(2024, 7, 1, 10, 0, 0, 0, time.UTC)
	evs := make([]domain.Event, m)
	for i := range evs {
		evs[i] = storetest.SampleEvent(fmt.Sprintf("e%d", i), float64(seq+i), domain.GradeIV, now)
	}
	assign := make(map[string]string, n)
	for i := range n {
		assign[fmt.Sprintf("p%d-%d", seq, i)] = evs[i%m].ID
	}
	return evs, assign
}

func BenchmarkSaveEvents1000(b *testing.B) {
	st := openTemp(b)
	defer st.Close()
	ctx := context.Background()
	version := map[string]int64{} // every round updates the same 50 events
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		evs, a := batch(i, 1000, 50) // fresh post ids every round
		for j := range evs {
			evs[j].Version = version[evs[j].ID]
		}
		b.StartTimer()
		if err := st.SaveEvents(ctx, evs, a); err != nil {
			b.Fatal(err)
		}
		for _, e := range evs {
			version[e.ID] = e.Version
		}
	}
}

func BenchmarkPostEvents1000(b *testing.B) {
	st := openTemp(b)
	defer st.Close()
	ctx := context.Background()
	evs, a := batch(0, 1000, 50)
	if err := st.SaveEvents(ctx, evs, a); err != nil {
		b.Fatal(err)
	}
	ids := make([]string, 0, len(a))
	for p := range a {
		ids = append(ids, p)
	}
	for b.Loop() {
		if m, err := st.PostEvents(ctx, ids); err != nil || len(m) != 1000 {
			b.Fatal(len(m), err)
		}
	}
}

func BenchmarkCreateCase(b *testing.B) {
	st := openTemp(b)
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	var n atomic.Int64
	for b.Loop() {
		i := n.Add(1)
		cs := storetest.SampleCase(fmt.Sprintf("case-%d", i), fmt.Sprintf("e%d", i), now)
		if _, _, err := st.CreateCase(ctx, cs, domain.Action{Kind: domain.ActOpen, Actor: "system", At: now}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdateCase(b *testing.B) {
	st := openTemp(b)
	defer st.Close()
	ctx := context.Background()
	now := time.Now()
	cs := storetest.SampleCase("case-1", "e1", now)
	if _, _, err := st.CreateCase(ctx, cs, domain.Action{Kind: domain.ActOpen, Actor: "system", At: now}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := st.UpdateCase(ctx, cs, domain.Action{Kind: domain.ActEvaluate, Actor: "张三", Note: "效果良好", At: now}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkListCasesOfALine: GET /cases?unit=…&subtree=1 over 10,000 cases
// of 100 units, the newest 100 of a line of 10 units: filtered by the store
// ("store"), against reading every case and filtering in Go ("all then
// filter", as GET /cases did before the store took the filters).
// go test -run '^$' -bench ListCasesOfALine ./alerting/store/sqlitestore/
func BenchmarkListCasesOfALine(b *testing.B) {
	st := openTemp(b)
	defer st.Close()
	ctx := context.Background()
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 10_000 {
		cs := storetest.SampleCase(fmt.Sprintf("case-%05d", i), fmt.Sprintf("e%05d", i), t0.Add(time.Duration(i)*time.Minute))
		cs.UnitID = fmt.Sprintf("unit-%02d", i%100)
		if _, _, err := st.CreateCase(ctx, cs, domain.Action{Kind: domain.ActOpen, Actor: "system", At: cs.CreatedAt}); err != nil {
			b.Fatal(err)
		}
	}
	line := make([]string, 10)
	inLine := map[string]bool{}
	for i := range line {
		line[i] = fmt.Sprintf("unit-%02d", i*7)
		inLine[line[i]] = true
	}
	b.Run("store", func(b *testing.B) {
		for b.Loop() {
			cs, err := st.ListCases(ctx, store.CaseFilter{Units: line, Limit: 100})
			if err != nil || len(cs) != 100 {
				b.Fatal(len(cs), err)
			}
		}
	})
	b.Run("all then filter", func(b *testing.B) {
		for b.Loop() {
			cs, err := st.ListCases(ctx, store.CaseFilter{Limit: 100_000})
			if err != nil {
				b.Fatal(err)
			}
			var out []domain.Case
			for _, c := range cs {
				if inLine[c.UnitID] {
					if out = append(out, c); len(out) == 100 {
						break
					}
				}
			}
			if len(out) != 100 {
				b.Fatal(len(out))
			}
		}
	})
}
