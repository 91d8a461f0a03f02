package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"go.uber.org/goleak"

	"yuqing/alerting/store"
	"yuqing/alerting/store/storetest"
	"yuqing/domain"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// dsn gives the test database, or skips.
func dsn(t testing.TB) string {
	t.Helper()
	d := os.Getenv("YUQING_PG")
	if d == "" {
		t.Skip("pgstore: YUQING_PG not set; run make test-integration")
	}
	return d
}

// freshSchema names a new schema for one test and drops it (with everything
// in it) when the test ends.
func freshSchema(t testing.TB) string {
	t.Helper()
	d := dsn(t)
	var b [6]byte
	rand.Read(b[:])
	name := "pgstore_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, d)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

func openSchema(t testing.TB, schema string) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := Open(ctx, dsn(t), WithSchema(schema))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func openTemp(t testing.TB) *Store {
	t.Helper()
	return openSchema(t, freshSchema(t))
}

func TestConformance(t *testing.T) {
	dsn(t)
	storetest.Run(t, func(t *testing.T) store.Store { return openTemp(t) })
}

func TestOpenErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Open(ctx, "postgres://u:secret@127.0.0.1:1/db?sslmode=bogus"); err == nil {
		t.Error("Open accepted a malformed DSN")
	} else if msg := err.Error(); strings.Contains(msg, "secret") {
		t.Errorf("the error shows the password: %s", msg)
	}
	c, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if _, err := Open(c, "postgres://u:secret@127.0.0.1:1/db?sslmode=disable&connect_timeout=2"); err == nil {
		t.Error("Open succeeded with nobody listening")
	} else if strings.Contains(err.Error(), "secret") {
		t.Errorf("the error shows the password: %v", err)
	}
}

// TestCreateCaseTwoProcesses races CreateCase for the same events through
// two stores (two pools, as two processes would): each event gets exactly
// one case, and every caller sees that one.
func TestCreateCaseTwoProcesses(t *testing.T) {
	schema := freshSchema(t)
	a, b := openSchema(t, schema), openSchema(t, schema)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	base := time.Date(2024, 7, 1, 9, 0, 0, 0, time.UTC)
	const events, callers = 20, 6
	type result struct {
		event, got string
		created    bool
		err        error
	}
	results := make(chan result, events*callers)
	var wg sync.WaitGroup
	for c := range callers {
		st := []*Store{a, b}[c%2]
		wg.Add(1)
		go func() {
			defer wg.Done()
			for e := range events {
				ev := fmt.Sprintf("e%d", e)
				cs := storetest.SampleCase(fmt.Sprintf("case-%d-%d", e, c), ev, base)
				got, created, err := st.CreateCase(ctx, cs, domain.Action{Kind: domain.ActOpen, Actor: "system", At: base})
				results <- result{ev, got.ID, created, err}
			}
		}()
	}
	wg.Wait()
	close(results)
	created := map[string]string{}
	seen := map[string]map[string]bool{}
	for r := range results {
		if r.err != nil {
			t.Fatalf("CreateCase(%s): %v", r.event, r.err)
		}
		if r.created {
			if prev, ok := created[r.event]; ok {
				t.Errorf("event %s got two cases: %s and %s", r.event, prev, r.got)
			}
			created[r.event] = r.got
		}
		if seen[r.event] == nil {
			seen[r.event] = map[string]bool{}
		}
		seen[r.event][r.got] = true
	}
	if len(created) != events {
		t.Errorf("%d events got a case, want %d", len(created), events)
	}
	for ev, ids := range seen {
		if len(ids) != 1 || !ids[created[ev]] {
			t.Errorf("callers for %s saw cases %v, want only %s", ev, ids, created[ev])
		}
	}
	list, err := b.ListCases(ctx, store.CaseFilter{Limit: 1000})
	if err != nil || len(list) != events {
		t.Errorf("ListCases = %d cases, %v; want %d", len(list), err, events)
	}
	var actions int
	if err := a.pool.QueryRow(ctx, `SELECT COUNT(*) FROM case_actions`).Scan(&actions); err != nil || actions != events {
		t.Errorf("%d actions stored (%v), want %d: a refused case left its action", actions, err, events)
	}
}

// TestSaveEventsTwoProcesses has two stores update the same event from the
// same version and assign the same post: one wins, the other gets
// ErrConflict and writes nothing.
func TestSaveEventsTwoProcesses(t *testing.T) {
	schema := freshSchema(t)
	a, b := openSchema(t, schema), openSchema(t, schema)
	defer a.Close()
	defer b.Close()
	ctx := context.Background()
	base := time.Date(2024, 7, 1, 9, 0, 0, 0, time.UTC)
	seed := []domain.Event{storetest.SampleEvent("e1", 1, domain.GradeIV, base), storetest.SampleEvent("e2", 1, domain.GradeIV, base)}
	if err := a.SaveEvents(ctx, seed, nil); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		var wg sync.WaitGroup
		errs := make([]error, 2)
		for i, st := range []*Store{a, b} {
			evs := []domain.Event{seed[0], seed[1]}
			if i == 1 { // the other order: the store must not deadlock
				evs[0], evs[1] = evs[1], evs[0]
			}
			evs[0].Posts = int64(1000*round + i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = st.SaveEvents(ctx, evs, map[string]string{
					fmt.Sprintf("p%d", round):       "e1",
					fmt.Sprintf("p%d-%d", round, i): "e2",
				})
			}()
		}
		wg.Wait()
		var won int
		for i, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, store.ErrConflict):
				t.Fatalf("round %d writer %d: %v, want nil or ErrConflict", round, i, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d writers won, want 1 (%v)", round, won, errs)
		}
		m, err := b.PostEvents(ctx, []string{fmt.Sprintf("p%d-0", round), fmt.Sprintf("p%d-1", round)})
		if err != nil || len(m) != 1 {
			t.Fatalf("round %d: the loser's assignment was written too: %v, %v", round, m, err)
		}
		got, err := b.GetEvents(ctx, []string{"e1", "e2"})
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"e1", "e2"} {
			if v := got[id].Version; v != int64(round+2) {
				t.Fatalf("round %d: %s at version %d, want %d", round, id, v, round+2)
			}
		}
		seed = []domain.Event{got["e1"], got["e2"]}
	}
}

func TestReopen(t *testing.T) {
	schema := freshSchema(t)
	ctx := context.Background()
	st := openSchema(t, schema)
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

	st = openSchema(t, schema)
	defer st.Close()
	var versions int
	if err := st.pool.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations`).Scan(&versions); err != nil || versions != len(migrations) {
		t.Errorf("schema_migrations has %d rows (%v), want %d", versions, err, len(migrations))
	}
	if got, err := st.GetEvent(ctx, "e1"); err != nil || got.Heat != 12 || got.Simhash != ev.Simhash || got.Version != 1 {
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

// TestMigrateConcurrently opens one fresh schema from several stores at once:
// every Open succeeds and the migrations are applied exactly once.
func TestMigrateConcurrently(t *testing.T) {
	schema := freshSchema(t)
	const n = 4
	stores := make([]*Store, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			stores[i], errs[i] = Open(ctx, dsn(t), WithSchema(schema))
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Open %d: %v", i, err)
		} else {
			defer stores[i].Close()
		}
	}
	if t.Failed() {
		return
	}
	ctx := context.Background()
	rows, err := stores[0].pool.Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(migrations) || got[0] != 1 || int(got[len(got)-1]) != len(migrations) {
		t.Errorf("schema_migrations = %v, want 1..%d", got, len(migrations))
	}
	// The tables live in the schema asked for, not in the default one.
	var tables int
	if err := stores[0].pool.QueryRow(ctx, `SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = $1`, schema).Scan(&tables); err != nil || tables != 9 {
		t.Errorf("%d tables in schema %s (%v), want 9", tables, schema, err)
	}
	// Each store works on the shared tables.
	for i, st := range stores {
		ev := storetest.SampleEvent(fmt.Sprintf("e%d", i), 1, domain.GradeIV, time.Now())
		if err := st.SaveEvents(ctx, []domain.Event{ev}, nil); err != nil {
			t.Errorf("store %d: %v", i, err)
		}
	}
	if evs, err := stores[1].ListEvents(ctx, store.EventFilter{}); err != nil || len(evs) != n {
		t.Errorf("ListEvents = %d events, %v; want %d", len(evs), err, n)
	}
}

func TestNewerSchemaRefused(t *testing.T) {
	schema := freshSchema(t)
	st := openSchema(t, schema)
	if _, err := st.pool.Exec(context.Background(), `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)`, len(migrations)+1); err != nil {
		t.Fatal(err)
	}
	st.Close()
	if st, err := Open(context.Background(), dsn(t), WithSchema(schema)); err == nil {
		st.Close()
		t.Fatal("Open accepted a database from a newer program")
	} else {
		t.Logf("refused as expected: %v", err)
	}
}

// TestNulInText checks that texts with a NUL character (which PostgreSQL's
// text and JSONB types refuse raw) survive, since they travel JSON-escaped.
func TestNulInText(t *testing.T) {
	st := openTemp(t)
	defer st.Close()
	ctx := context.Background()
	ev := storetest.SampleEvent("e1", 1, domain.GradeIV, time.Now())
	ev.Title = "标题\x00后半"
	if err := st.SaveEvents(ctx, []domain.Event{ev}, nil); err != nil {
		t.Fatal(err)
	}
	if got, err := st.GetEvent(ctx, "e1"); err != nil || got.Title != ev.Title {
		t.Errorf("GetEvent = %q, %v", got.Title, err)
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
	version := map[string]int64{}
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		evs, a := batch(i, 1000, 50) // fresh post ids every round, the same events
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
