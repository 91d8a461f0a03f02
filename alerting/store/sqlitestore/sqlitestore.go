// Package sqlitestore is the embedded Store backend: one SQLite file in the
// data folder (github.com/mattn/go-sqlite3), in WAL mode with synchronous=FULL
// so that every write that returns nil has reached the disk.
//
// Writes go through a single connection (SQLite has one writer anyway), with
// transactions that take the write lock at BEGIN, so concurrent callers queue
// instead of failing; reads use a pool of their own and are not blocked by
// writes (WAL). The schema is versioned in a schema_migrations table; the
// migrations are an ordered slice of SQL that a PostgreSQL backend mirrors.
package sqlitestore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"runtime"
	"strings"
	"time"

	_ "github.com/mattn/go-sqlite3" // registers the "sqlite3" driver

	"yuqing/alerting/store"
	"yuqing/domain"
)

// chunk is how many ids go into one IN list (SQLite allows 32766 variables;
// smaller lists keep statements short and plans cheap).
const chunk = 500

// Store is the SQLite backend of store.Store. It is safe for concurrent use.
type Store struct {
	path string
	w    *sql.DB // one connection, BEGIN IMMEDIATE
	r    *sql.DB // read-only pool
}

var _ store.Store = (*Store)(nil)

// Open opens (creating if needed) the SQLite database file at path and
// brings its schema up to date. The folder must exist.
func Open(path string) (*Store, error) {
	if path == "" || strings.HasPrefix(path, ":memory:") || strings.Contains(path, "mode=memory") {
		return nil, fmt.Errorf("sqlitestore: %q: a database file path is required (the store keeps a writer and a reader pool on one file)", path)
	}
	common := "_busy_timeout=10000&_foreign_keys=on&_journal_mode=WAL&_synchronous=FULL"
	u := "file:" + (&url.URL{Path: path}).EscapedPath()
	w, err := sql.Open("sqlite3", u+"?"+common+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := migrate(w); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: migrate %s: %w", path, err)
	}
	r, err := sql.Open("sqlite3", u+"?"+common+"&_query_only=on")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlitestore: open %s for reading: %w", path, err)
	}
	n := max(2, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	if err := r.Ping(); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlitestore: open %s for reading: %w", path, err)
	}
	return &Store{path: path, w: w, r: r}, nil
}

// migrate applies every migration not yet recorded in schema_migrations, each
// in its own transaction together with its record.
func migrate(db *sql.DB) error {
	if _, err := db.Exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	var have int
	if err := db.QueryRow(`SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return err
	}
	if have > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this program knows (%d)", have, len(migrations))
	}
	for v := have + 1; v <= len(migrations); v++ {
		tx, err := db.Begin()
		if err != nil {
			return err
		}
		if _, err := tx.Exec(migrations[v-1]); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := tx.Exec(`INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, time.Now().UnixNano()); err != nil {
			tx.Rollback()
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	return nil
}

// Close checkpoints and closes the database.
func (s *Store) Close() error {
	errR := s.r.Close()
	errW := s.w.Close()
	if err := errors.Join(errW, errR); err != nil {
		return fmt.Errorf("sqlitestore: close %s: %w", s.path, err)
	}
	return nil
}

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?,", n-1) + "?"
}

func args(ids []string) []any {
	a := make([]any, len(ids))
	for i, id := range ids {
		a[i] = id
	}
	return a
}

// ---- events ----

// PostEvents implements store.Store.
func (s *Store) PostEvents(ctx context.Context, postIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(postIDs))
	for i := 0; i < len(postIDs); i += chunk {
		ids := postIDs[i:min(i+chunk, len(postIDs))]
		rows, err := s.r.QueryContext(ctx, `SELECT post_id, event_id FROM post_events WHERE post_id IN (`+placeholders(len(ids))+`)`, args(ids)...)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: post events: %w", err)
		}
		for rows.Next() {
			var p, e string
			if err := rows.Scan(&p, &e); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlitestore: post events: %w", err)
			}
			out[p] = e
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: post events: %w", err)
		}
	}
	return out, nil
}

// GetEvents implements store.Store.
func (s *Store) GetEvents(ctx context.Context, ids []string) (map[string]domain.Event, error) {
	out := make(map[string]domain.Event, len(ids))
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		evs, err := s.queryEvents(ctx, `SELECT data FROM events WHERE id IN (`+placeholders(len(part))+`)`, args(part)...)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			out[e.ID] = e
		}
	}
	return out, nil
}

// GetEvent implements store.Store.
func (s *Store) GetEvent(ctx context.Context, id string) (domain.Event, error) {
	evs, err := s.queryEvents(ctx, `SELECT data FROM events WHERE id = ?`, id)
	if err != nil {
		return domain.Event{}, err
	}
	if len(evs) == 0 {
		return domain.Event{}, fmt.Errorf("sqlitestore: event %q: %w", id, store.ErrNotFound)
	}
	return evs[0], nil
}

func (s *Store) queryEvents(ctx context.Context, q string, a ...any) ([]domain.Event, error) {
	rows, err := s.r.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: events: %w", err)
	}
	defer rows.Close()
	var out []domain.Event
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("sqlitestore: events: %w", err)
		}
		var e domain.Event
		if err := json.Unmarshal(data, &e); err != nil {
			return nil, fmt.Errorf("sqlitestore: events: decode: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: events: %w", err)
	}
	return out, nil
}

// assignRows is how many assignments go into one multi-row INSERT.
const assignRows = 250

// SaveEvents implements store.Store.
func (s *Store) SaveEvents(ctx context.Context, events []domain.Event, assign map[string]string) error {
	if len(events) == 0 && len(assign) == 0 {
		return nil
	}
	// Encode outside the write lock, each event at its next version.
	type row struct {
		e    *domain.Event
		next domain.Event
		data []byte
	}
	rows := make([]row, len(events))
	for i := range events {
		next := events[i]
		next.Version++
		data, err := json.Marshal(&next)
		if err != nil {
			return fmt.Errorf("sqlitestore: save events: encode %q: %w", events[i].ID, err)
		}
		rows[i] = row{&events[i], next, data}
	}
	pairs := make([]any, 0, 2*len(assign))
	for p, e := range assign {
		pairs = append(pairs, p, e)
	}

	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: save events: %w", err)
	}
	defer tx.Rollback()
	if len(rows) > 0 {
		written := time.Now().UnixNano()
		ins, err := tx.PrepareContext(ctx, `INSERT INTO events (id, heat, grade, last_at, data, version, written_at) VALUES (?, ?, ?, ?, ?, 1, ?)
			ON CONFLICT (id) DO NOTHING`)
		if err != nil {
			return fmt.Errorf("sqlitestore: save events: %w", err)
		}
		defer ins.Close()
		upd, err := tx.PrepareContext(ctx, `UPDATE events SET heat = ?, grade = ?, last_at = ?, data = ?, version = version + 1, written_at = ?
			WHERE id = ? AND version = ?`)
		if err != nil {
			return fmt.Errorf("sqlitestore: save events: %w", err)
		}
		defer upd.Close()
		for _, r := range rows {
			var res sql.Result
			if r.e.Version == 0 {
				res, err = ins.ExecContext(ctx, r.e.ID, r.e.Heat, int(r.e.Grade), nanos(r.e.LastAt), r.data, written)
			} else {
				res, err = upd.ExecContext(ctx, r.e.Heat, int(r.e.Grade), nanos(r.e.LastAt), r.data, written, r.e.ID, r.e.Version)
			}
			if err != nil {
				return fmt.Errorf("sqlitestore: save event %q: %w", r.e.ID, err)
			}
			if n, _ := res.RowsAffected(); n != 1 {
				return fmt.Errorf("sqlitestore: event %q at version %d: %w", r.e.ID, r.e.Version, store.ErrConflict)
			}
		}
	}
	if len(pairs) > 0 {
		const q = `INSERT INTO post_events (post_id, event_id) VALUES `
		var inserted int64
		var full *sql.Stmt
		for i := 0; i < len(pairs); i += 2 * assignRows {
			part := pairs[i:min(i+2*assignRows, len(pairs))]
			n := len(part) / 2
			var err error
			var res sql.Result
			if n == assignRows {
				if full == nil {
					full, err = tx.PrepareContext(ctx, q+strings.Repeat("(?,?),", n-1)+"(?,?) ON CONFLICT (post_id) DO NOTHING")
					if err != nil {
						return fmt.Errorf("sqlitestore: save assignments: %w", err)
					}
					defer full.Close()
				}
				res, err = full.ExecContext(ctx, part...)
			} else {
				res, err = tx.ExecContext(ctx, q+strings.Repeat("(?,?),", n-1)+"(?,?) ON CONFLICT (post_id) DO NOTHING", part...)
			}
			if err != nil {
				return fmt.Errorf("sqlitestore: save assignments: %w", err)
			}
			k, _ := res.RowsAffected()
			inserted += k
		}
		if inserted != int64(len(assign)) {
			return fmt.Errorf("sqlitestore: %d of %d posts already assigned: %w", int64(len(assign))-inserted, len(assign), store.ErrConflict)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: save events: commit: %w", err)
	}
	for i := range rows {
		rows[i].e.Version = rows[i].next.Version
	}
	return nil
}

// ListEvents implements store.Store.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]domain.Event, error) {
	var where []string
	var a []any
	if f.MinGrade != domain.GradeNone {
		where = append(where, "grade BETWEEN 1 AND ?")
		a = append(a, int(f.MinGrade))
	}
	if !f.Since.IsZero() {
		where = append(where, "last_at >= ?")
		a = append(a, nanos(f.Since))
	}
	if !f.WrittenSince.IsZero() {
		where = append(where, "written_at >= ?")
		a = append(a, nanos(f.WrittenSince))
	}
	if f.AfterID != "" {
		where = append(where, "id > ?")
		a = append(a, f.AfterID)
	}
	q := `SELECT data FROM events`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	switch f.Sort {
	case "", "heat":
		q += " ORDER BY heat DESC, id"
	case "recent":
		q += " ORDER BY last_at DESC, id"
	case "id":
		q += " ORDER BY id"
	default:
		return nil, fmt.Errorf("sqlitestore: list events: unknown sort %q (heat, recent or id)", f.Sort)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	q += " LIMIT ?"
	a = append(a, limit)
	return s.queryEvents(ctx, q, a...)
}

// ---- cases ----

func encodeCase(c domain.Case) ([]byte, error) {
	c.Actions = nil
	return json.Marshal(c)
}

// CreateCase implements store.Store.
func (s *Store) CreateCase(ctx context.Context, c domain.Case, first domain.Action, out ...store.Notification) (domain.Case, bool, error) {
	if c.ID == "" || c.EventID == "" {
		return domain.Case{}, false, fmt.Errorf("sqlitestore: create case: id and event id are required (id %q, event %q)", c.ID, c.EventID)
	}
	data, err := encodeCase(c)
	if err != nil {
		return domain.Case{}, false, fmt.Errorf("sqlitestore: create case %q: encode: %w", c.ID, err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return domain.Case{}, false, fmt.Errorf("sqlitestore: create case %q: %w", c.ID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `INSERT INTO cases (id, event_id, status, unit_id, grade, created_at, updated_at, data)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (event_id) DO NOTHING`,
		c.ID, c.EventID, c.Status, c.UnitID, int(c.Grade), nanos(c.CreatedAt), nanos(c.UpdatedAt), data)
	if err != nil {
		return domain.Case{}, false, fmt.Errorf("sqlitestore: create case %q: %w", c.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return domain.Case{}, false, fmt.Errorf("sqlitestore: create case %q: %w", c.ID, err)
	}
	if n == 0 {
		existing, err := getCase(ctx, tx, `SELECT data FROM cases WHERE event_id = ?`, c.EventID)
		if err != nil {
			return domain.Case{}, false, fmt.Errorf("sqlitestore: create case %q: existing case of event %q: %w", c.ID, c.EventID, err)
		}
		return existing, false, tx.Commit()
	}
	first.CaseID = c.ID
	first.ID, err = insertAction(ctx, tx, first)
	if err != nil {
		return domain.Case{}, false, fmt.Errorf("sqlitestore: create case %q: %w", c.ID, err)
	}
	if _, err := insertNotifications(ctx, tx, out); err != nil {
		return domain.Case{}, false, fmt.Errorf("sqlitestore: create case %q: %w", c.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return domain.Case{}, false, fmt.Errorf("sqlitestore: create case %q: commit: %w", c.ID, err)
	}
	c.Actions = []domain.Action{first}
	return c, true, nil
}

func insertAction(ctx context.Context, tx *sql.Tx, a domain.Action) (int64, error) {
	res, err := tx.ExecContext(ctx, `INSERT INTO case_actions (case_id, kind, actor, note, evidence_url, at, origin) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		a.CaseID, a.Kind, a.Actor, a.Note, a.EvidenceURL, nanos(a.At), a.Origin)
	if err != nil {
		return 0, fmt.Errorf("append action %q: %w", a.Kind, err)
	}
	return res.LastInsertId()
}

type querier interface {
	QueryContext(ctx context.Context, q string, a ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, q string, a ...any) *sql.Row
}

// getCase reads one case and its actions through q (a read transaction or
// the write transaction).
func getCase(ctx context.Context, q querier, query string, arg any) (domain.Case, error) {
	var data []byte
	if err := q.QueryRowContext(ctx, query, arg).Scan(&data); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return domain.Case{}, store.ErrNotFound
		}
		return domain.Case{}, err
	}
	var c domain.Case
	if err := json.Unmarshal(data, &c); err != nil {
		return domain.Case{}, fmt.Errorf("decode: %w", err)
	}
	rows, err := q.QueryContext(ctx, `SELECT id, kind, actor, note, evidence_url, at, origin FROM case_actions WHERE case_id = ? ORDER BY id`, c.ID)
	if err != nil {
		return domain.Case{}, err
	}
	defer rows.Close()
	c.Actions = nil
	for rows.Next() {
		a := domain.Action{CaseID: c.ID}
		var at int64
		if err := rows.Scan(&a.ID, &a.Kind, &a.Actor, &a.Note, &a.EvidenceURL, &at, &a.Origin); err != nil {
			return domain.Case{}, err
		}
		a.At = fromNanos(at)
		c.Actions = append(c.Actions, a)
	}
	return c, rows.Err()
}

func (s *Store) readCase(ctx context.Context, query, arg string) (domain.Case, error) {
	tx, err := s.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return domain.Case{}, err
	}
	defer tx.Rollback()
	return getCase(ctx, tx, query, arg)
}

// GetCase implements store.Store; the case comes with its actions, oldest first.
func (s *Store) GetCase(ctx context.Context, id string) (domain.Case, error) {
	c, err := s.readCase(ctx, `SELECT data FROM cases WHERE id = ?`, id)
	if err != nil {
		return domain.Case{}, fmt.Errorf("sqlitestore: case %q: %w", id, err)
	}
	return c, nil
}

// CaseForEvent implements store.Store; the case comes with its actions.
func (s *Store) CaseForEvent(ctx context.Context, eventID string) (domain.Case, error) {
	c, err := s.readCase(ctx, `SELECT data FROM cases WHERE event_id = ?`, eventID)
	if err != nil {
		return domain.Case{}, fmt.Errorf("sqlitestore: case of event %q: %w", eventID, err)
	}
	return c, nil
}

// ListCases implements store.Store: newest first, without their actions.
func (s *Store) ListCases(ctx context.Context, f store.CaseFilter) ([]domain.Case, error) {
	var where []string
	var a []any
	if f.Status != "" {
		where = append(where, "status = ?")
		a = append(a, f.Status)
	}
	if f.UnitID != "" {
		where = append(where, "unit_id = ?")
		a = append(a, f.UnitID)
	}
	if f.Open {
		where = append(where, "status <> ?")
		a = append(a, domain.CaseClosed)
	}
	if f.Units != nil {
		// one JSON parameter, however many units a province's line holds
		units, err := json.Marshal(f.Units)
		if err != nil {
			return nil, fmt.Errorf("sqlitestore: list cases: %w", err)
		}
		where = append(where, "unit_id IN (SELECT value FROM json_each(?))")
		a = append(a, string(units))
	}
	if f.Grade != domain.GradeNone {
		where = append(where, "grade = ?")
		a = append(a, int(f.Grade))
	}
	if !f.From.IsZero() {
		where = append(where, "created_at >= ?")
		a = append(a, nanos(f.From))
	}
	if !f.To.IsZero() {
		where = append(where, "created_at < ?")
		a = append(a, nanos(f.To))
	}
	q := `SELECT data FROM cases`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += " ORDER BY created_at DESC, id LIMIT ?"
	a = append(a, limit)
	rows, err := s.r.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list cases: %w", err)
	}
	defer rows.Close()
	var out []domain.Case
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("sqlitestore: list cases: %w", err)
		}
		var c domain.Case
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("sqlitestore: list cases: decode: %w", err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list cases: %w", err)
	}
	return out, nil
}

// UpdateCase implements store.Store.
func (s *Store) UpdateCase(ctx context.Context, c domain.Case, a domain.Action, out ...store.Notification) (domain.Action, error) {
	data, err := encodeCase(c)
	if err != nil {
		return domain.Action{}, fmt.Errorf("sqlitestore: update case %q: encode: %w", c.ID, err)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return domain.Action{}, fmt.Errorf("sqlitestore: update case %q: %w", c.ID, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE cases SET status = ?, unit_id = ?, grade = ?, updated_at = ?, data = ? WHERE id = ?`,
		c.Status, c.UnitID, int(c.Grade), nanos(c.UpdatedAt), data, c.ID)
	if err != nil {
		return domain.Action{}, fmt.Errorf("sqlitestore: update case %q: %w", c.ID, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return domain.Action{}, fmt.Errorf("sqlitestore: update case %q: %w", c.ID, err)
	} else if n == 0 {
		return domain.Action{}, fmt.Errorf("sqlitestore: update case %q: %w", c.ID, store.ErrNotFound)
	}
	a.CaseID = c.ID
	if a.ID, err = insertAction(ctx, tx, a); err != nil {
		return domain.Action{}, fmt.Errorf("sqlitestore: update case %q: %w", c.ID, err)
	}
	if _, err := insertNotifications(ctx, tx, out); err != nil {
		return domain.Action{}, fmt.Errorf("sqlitestore: update case %q: %w", c.ID, err)
	}
	if err := tx.Commit(); err != nil {
		return domain.Action{}, fmt.Errorf("sqlitestore: update case %q: commit: %w", c.ID, err)
	}
	return a, nil
}

// AddAction implements store.Store.
func (s *Store) AddAction(ctx context.Context, caseID string, a domain.Action) (domain.Action, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return a, fmt.Errorf("sqlitestore: add action to %q: %w", caseID, err)
	}
	defer tx.Rollback()
	var one int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM cases WHERE id = ?`, caseID).Scan(&one); errors.Is(err, sql.ErrNoRows) {
		return a, fmt.Errorf("sqlitestore: add action to %q: %w", caseID, store.ErrNotFound)
	} else if err != nil {
		return a, fmt.Errorf("sqlitestore: add action to %q: %w", caseID, err)
	}
	a.CaseID = caseID
	if a.ID, err = insertAction(ctx, tx, a); err != nil {
		return a, fmt.Errorf("sqlitestore: add action to %q: %w", caseID, err)
	}
	if err := tx.Commit(); err != nil {
		return a, fmt.Errorf("sqlitestore: add action to %q: commit: %w", caseID, err)
	}
	return a, nil
}

// ---- due moments ----

// ScheduleDue implements store.Store.
func (s *Store) ScheduleDue(ctx context.Context, caseID string, due []domain.Due) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: schedule due of %q: %w", caseID, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `DELETE FROM case_due WHERE case_id = ? AND fired_at = 0`, caseID); err != nil {
		return fmt.Errorf("sqlitestore: schedule due of %q: %w", caseID, err)
	}
	for _, d := range due {
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_due (key, case_id, clock, kind, at, due_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (key) DO NOTHING`, d.Key, caseID, d.Clock, d.Kind, nanos(d.At), nanos(d.DueAt)); err != nil {
			return fmt.Errorf("sqlitestore: schedule due %q: %w", d.Key, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: schedule due of %q: commit: %w", caseID, err)
	}
	return nil
}

// DueBefore implements store.Store.
func (s *Store) DueBefore(ctx context.Context, t time.Time, limit int) ([]domain.Due, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.r.QueryContext(ctx, `SELECT key, case_id, clock, kind, at, due_at FROM case_due
		WHERE fired_at = 0 AND at <= ? ORDER BY at, key LIMIT ?`, nanos(t), limit)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: due before: %w", err)
	}
	defer rows.Close()
	var out []domain.Due
	for rows.Next() {
		var d domain.Due
		var at, dueAt int64
		if err := rows.Scan(&d.Key, &d.CaseID, &d.Clock, &d.Kind, &at, &dueAt); err != nil {
			return nil, fmt.Errorf("sqlitestore: due before: %w", err)
		}
		d.At, d.DueAt = fromNanos(at), fromNanos(dueAt)
		out = append(out, d)
	}
	return out, rows.Err()
}

// NextDue implements store.Store.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var at sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT MIN(at) FROM case_due WHERE fired_at = 0`).Scan(&at); err != nil {
		return time.Time{}, false, fmt.Errorf("sqlitestore: next due: %w", err)
	}
	if !at.Valid {
		return time.Time{}, false, nil
	}
	return fromNanos(at.Int64), true, nil
}

// FireDue implements store.Store.
func (s *Store) FireDue(ctx context.Context, d domain.Due, a domain.Action, out ...store.Notification) (domain.Action, bool, error) {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return a, false, fmt.Errorf("sqlitestore: fire due %q: %w", d.Key, err)
	}
	defer tx.Rollback()
	res, err := tx.ExecContext(ctx, `UPDATE case_due SET fired_at = ? WHERE key = ? AND fired_at = 0`, nanos(a.At), d.Key)
	if err != nil {
		return a, false, fmt.Errorf("sqlitestore: fire due %q: %w", d.Key, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return a, false, err
	}
	a.CaseID = d.CaseID
	if a.ID, err = insertAction(ctx, tx, a); err != nil {
		return a, false, fmt.Errorf("sqlitestore: fire due %q: %w", d.Key, err)
	}
	if _, err := insertNotifications(ctx, tx, out); err != nil {
		return a, false, fmt.Errorf("sqlitestore: fire due %q: %w", d.Key, err)
	}
	if err := tx.Commit(); err != nil {
		return a, false, fmt.Errorf("sqlitestore: fire due %q: commit: %w", d.Key, err)
	}
	return a, true, nil
}

// ---- units and records ----

// PutUnits implements store.Store: units are upserted by id.
func (s *Store) PutUnits(ctx context.Context, units []domain.Unit) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlitestore: put units: %w", err)
	}
	defer tx.Rollback()
	st, err := tx.PrepareContext(ctx, `INSERT INTO units (id, parent_id, name, data) VALUES (?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id, name = excluded.name, data = excluded.data`)
	if err != nil {
		return fmt.Errorf("sqlitestore: put units: %w", err)
	}
	defer st.Close()
	for _, u := range units {
		if u.ID == "" {
			return errors.New("sqlitestore: put units: a unit has no id")
		}
		data, err := json.Marshal(u)
		if err != nil {
			return fmt.Errorf("sqlitestore: put unit %q: encode: %w", u.ID, err)
		}
		if _, err := st.ExecContext(ctx, u.ID, u.ParentID, u.Name, data); err != nil {
			return fmt.Errorf("sqlitestore: put unit %q: %w", u.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlitestore: put units: commit: %w", err)
	}
	return nil
}

// DeleteUnit implements store.Store.
func (s *Store) DeleteUnit(ctx context.Context, id string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM units WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlitestore: delete unit %q: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil || n == 0 {
		return fmt.Errorf("sqlitestore: delete unit %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// ListUnits implements store.Store, ordered by id.
func (s *Store) ListUnits(ctx context.Context) ([]domain.Unit, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT data FROM units ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list units: %w", err)
	}
	defer rows.Close()
	var out []domain.Unit
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("sqlitestore: list units: %w", err)
		}
		var u domain.Unit
		if err := json.Unmarshal(data, &u); err != nil {
			return nil, fmt.Errorf("sqlitestore: list units: decode: %w", err)
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list units: %w", err)
	}
	return out, nil
}

// PutRecord implements store.Store: records are upserted by id.
func (s *Store) PutRecord(ctx context.Context, r domain.Record) error {
	if r.ID == "" {
		return errors.New("sqlitestore: put record: the record has no id")
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("sqlitestore: put record %q: encode: %w", r.ID, err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO records (id, kind, case_id, unit_id, published_at, data) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, case_id = excluded.case_id, unit_id = excluded.unit_id,
		published_at = excluded.published_at, data = excluded.data`,
		r.ID, r.Kind, r.CaseID, r.UnitID, nanos(r.PublishedAt), data)
	if err != nil {
		return fmt.Errorf("sqlitestore: put record %q: %w", r.ID, err)
	}
	return nil
}

// ListRecords implements store.Store: newest publication first.
func (s *Store) ListRecords(ctx context.Context, f store.RecordFilter) ([]domain.Record, error) {
	var where []string
	var a []any
	for _, c := range []struct{ col, v string }{{"kind", f.Kind}, {"case_id", f.CaseID}, {"unit_id", f.UnitID}} {
		if c.v != "" {
			where = append(where, c.col+" = ?")
			a = append(a, c.v)
		}
	}
	q := `SELECT data FROM records`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += " ORDER BY published_at DESC, id LIMIT ?"
	a = append(a, limit)
	rows, err := s.r.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list records: %w", err)
	}
	defer rows.Close()
	var out []domain.Record
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, fmt.Errorf("sqlitestore: list records: %w", err)
		}
		var r domain.Record
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("sqlitestore: list records: decode: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlitestore: list records: %w", err)
	}
	return out, nil
}
