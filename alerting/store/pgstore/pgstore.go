// Package pgstore is the PostgreSQL backend of the Store port
// (github.com/jackc/pgx/v5 with pgxpool), for deployments where several
// analyzer and alerting processes share one store.
//
// It has the schema and the behaviour of sqlitestore: the same tables, kept
// in a versioned schema_migrations table and brought up to date at Open in
// one transaction under an advisory lock (so processes that open at once do
// not race), the same filters and orders, and the same guarantees: at most
// one case per event (a unique index, whoever calls), and SaveEvents in one
// transaction with optimistic concurrency on event versions and post
// assignments. Every write returns nil only once it is committed.
package pgstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"yuqing/alerting/store"
	"yuqing/domain"
)

// Store is the PostgreSQL backend of store.Store. It is safe for concurrent
// use, also by several processes on one database.
type Store struct {
	pool   *pgxpool.Pool
	schema string // "" for the connection's default search_path
	where  string // for error messages: host/db[/schema]
}

var _ store.Store = (*Store)(nil)

type options struct {
	schema   string
	maxConns int32
}

// Option tunes Open.
type Option func(*options)

// WithSchema keeps every table in the named PostgreSQL schema (created if
// missing) by setting the connections' search_path to it alone; tests use it
// to isolate themselves in a fresh schema.
func WithSchema(name string) Option { return func(o *options) { o.schema = name } }

// WithMaxConns bounds the connection pool (the default is pgxpool's, or
// pool_max_conns in the DSN).
func WithMaxConns(n int32) Option { return func(o *options) { o.maxConns = n } }

// Open connects to the PostgreSQL database at dsn (a URL or key=value
// string, as pgx parses it) and brings its schema up to date. It refuses a
// database whose schema is newer than this program.
func Open(ctx context.Context, dsn string, opts ...Option) (*Store, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: parse DSN: %w", err) // pgx redacts the password
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	if o.schema != "" {
		if strings.ContainsRune(o.schema, 0) {
			return nil, fmt.Errorf("pgstore: schema name %q contains NUL", o.schema)
		}
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{o.schema}.Sanitize()
		where += " schema " + o.schema
	}
	if o.maxConns > 0 {
		cfg.MaxConns = o.maxConns
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect %s: %w", where, err)
	}
	s := &Store{pool: pool, schema: o.schema, where: where}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("pgstore: migrate %s: %w", where, err)
	}
	return s, nil
}

// lockKey is the advisory lock that serialises migrations of one schema.
func lockKey(schema string) int64 {
	h := fnv.New64a()
	h.Write([]byte("yuqing/pgstore migrate\x00" + schema))
	return int64(h.Sum64())
}

// migrate applies, in one transaction under an advisory lock, every
// migration not yet recorded in schema_migrations (PostgreSQL's DDL is
// transactional: either all of them are applied or none).
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey(s.schema)); err != nil {
		return fmt.Errorf("advisory lock: %w", err)
	}
	if s.schema != "" {
		if _, err := tx.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+pgx.Identifier{s.schema}.Sanitize()); err != nil {
			return fmt.Errorf("create schema: %w", err)
		}
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		applied_at BIGINT NOT NULL)`); err != nil {
		return err
	}
	var have int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&have); err != nil {
		return err
	}
	if have > len(migrations) {
		return fmt.Errorf("database schema version %d is newer than this program knows (%d)", have, len(migrations))
	}
	if have == len(migrations) {
		return tx.Commit(ctx)
	}
	for v := have + 1; v <= len(migrations); v++ {
		if _, err := tx.Exec(ctx, migrations[v-1]); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, v, time.Now().UnixNano()); err != nil {
			return fmt.Errorf("migration %d: %w", v, err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("commit migrations: %w", err)
	}
	slog.Info("pgstore: 数据库结构已升级", "where", s.where, "from", have, "to", len(migrations))
	return nil
}

// Close closes the connection pool.
func (s *Store) Close() error {
	s.pool.Close()
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

// conflict reports whether err is PostgreSQL's verdict that concurrent
// transactions collided (serialization failure or deadlock): nothing was
// written and the caller should read again, which is what ErrConflict says.
func conflict(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40001" || pe.Code == "40P01")
}

// assigned reports whether err is the unique violation of a post already
// assigned.
func assigned(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505" && pe.ConstraintName == "post_events_pkey"
}

// ---- events ----

// PostEvents implements store.Store. The ids go as one array parameter,
// however many; the array is unnested and semi-joined rather than tested with
// = ANY($1), which PostgreSQL evaluates by a linear search of the array for
// every row it considers (17 ms for 1,000 ids over a 1,000-row table) whenever
// it prefers a scan to the primary-key index.
func (s *Store) PostEvents(ctx context.Context, postIDs []string) (map[string]string, error) {
	out := make(map[string]string, len(postIDs))
	if len(postIDs) == 0 {
		return out, nil
	}
	rows, err := s.pool.Query(ctx, `SELECT post_id, event_id FROM post_events WHERE post_id IN (SELECT unnest($1::text[]))`, postIDs)
	if err != nil {
		return nil, fmt.Errorf("pgstore: post events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var p, e string
		if err := rows.Scan(&p, &e); err != nil {
			return nil, fmt.Errorf("pgstore: post events: %w", err)
		}
		out[p] = e
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: post events: %w", err)
	}
	return out, nil
}

// GetEvents implements store.Store.
func (s *Store) GetEvents(ctx context.Context, ids []string) (map[string]domain.Event, error) {
	out := make(map[string]domain.Event, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	evs, err := s.queryEvents(ctx, `SELECT data FROM events WHERE id IN (SELECT unnest($1::text[]))`, ids)
	if err != nil {
		return nil, err
	}
	for _, e := range evs {
		out[e.ID] = e
	}
	return out, nil
}

// GetEvent implements store.Store.
func (s *Store) GetEvent(ctx context.Context, id string) (domain.Event, error) {
	evs, err := s.queryEvents(ctx, `SELECT data FROM events WHERE id = $1`, id)
	if err != nil {
		return domain.Event{}, err
	}
	if len(evs) == 0 {
		return domain.Event{}, fmt.Errorf("pgstore: event %q: %w", id, store.ErrNotFound)
	}
	return evs[0], nil
}

func (s *Store) queryEvents(ctx context.Context, q string, a ...any) ([]domain.Event, error) {
	out, err := queryJSON[domain.Event](ctx, s.pool, q, a...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: events: %w", err)
	}
	return out, nil
}

const (
	insertEvent = `INSERT INTO events (id, heat, grade, last_at, data, version, written_at) VALUES ($1, $2, $3, $4, $5, 1, $6)
		ON CONFLICT (id) DO NOTHING`
	updateEvent = `UPDATE events SET heat = $1, grade = $2, last_at = $3, data = $4, version = version + 1, written_at = $5
		WHERE id = $6 AND version = $7`
	// A plain INSERT: a post already assigned violates the primary key,
	// which aborts the transaction, so nothing is written. It has the
	// effect of ON CONFLICT DO NOTHING with a count of the rows inserted,
	// at half the cost (no speculative insertion per row).
	insertAssignments = `INSERT INTO post_events (post_id, event_id)
		SELECT * FROM unnest($1::text[], $2::text[])`
)

// SaveEvents implements store.Store. The events and the assignments go to
// the server in one pipelined batch inside one transaction; the rows are
// written in id order so that concurrent writers lock them in the same order.
func (s *Store) SaveEvents(ctx context.Context, events []domain.Event, assign map[string]string) error {
	if len(events) == 0 && len(assign) == 0 {
		return nil
	}
	order := make([]int, len(events))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(events[a].ID, events[b].ID) })

	written := time.Now().UnixNano() // the writer's wall time, as in sqlitestore
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	for _, i := range order {
		e := &events[i]
		next := *e
		next.Version++
		data, err := json.Marshal(&next)
		if err != nil {
			return fmt.Errorf("pgstore: save events: encode %q: %w", e.ID, err)
		}
		if e.Version == 0 {
			b.Queue(insertEvent, e.ID, e.Heat, int32(e.Grade), nanos(e.LastAt), string(data), written)
		} else {
			b.Queue(updateEvent, e.Heat, int32(e.Grade), nanos(e.LastAt), string(data), written, e.ID, e.Version)
		}
	}
	if len(assign) > 0 {
		posts := make([]string, 0, len(assign))
		for p := range assign {
			posts = append(posts, p)
		}
		slices.Sort(posts)
		evs := make([]string, len(posts))
		for i, p := range posts {
			evs[i] = assign[p]
		}
		b.Queue(insertAssignments, posts, evs)
	}

	br := s.pool.SendBatch(ctx, b)
	tx := br.Tx()
	defer tx.Rollback(ctx)
	err := s.saveResults(br, events, order, len(assign))
	if cerr := br.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("pgstore: save events: %w", cerr)
	}
	if err == nil {
		if err = tx.Commit(ctx); err != nil {
			err = fmt.Errorf("pgstore: save events: commit: %w", err)
		}
	}
	if err != nil {
		if conflict(err) && !errors.Is(err, store.ErrConflict) {
			err = fmt.Errorf("%w (%w)", store.ErrConflict, err)
		}
		return err
	}
	for i := range events {
		events[i].Version++
	}
	return nil
}

// saveResults reads SaveEvents' batch results and checks the row counts.
func (s *Store) saveResults(br pgx.BatchResults, events []domain.Event, order []int, posts int) error {
	if _, err := br.Exec(); err != nil {
		return fmt.Errorf("pgstore: save events: begin: %w", err)
	}
	for _, i := range order {
		e := &events[i]
		tag, err := br.Exec()
		if err != nil {
			return fmt.Errorf("pgstore: save event %q: %w", e.ID, err)
		}
		if tag.RowsAffected() != 1 {
			return fmt.Errorf("pgstore: event %q at version %d: %w", e.ID, e.Version, store.ErrConflict)
		}
	}
	if posts > 0 {
		tag, err := br.Exec()
		if assigned(err) {
			var pe *pgconn.PgError
			errors.As(err, &pe)
			return fmt.Errorf("pgstore: save assignments: %s: %w", pe.Detail, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("pgstore: save assignments: %w", err)
		}
		if n := tag.RowsAffected(); n != int64(posts) {
			return fmt.Errorf("pgstore: save assignments: %d of %d posts written", n, posts)
		}
	}
	return nil
}

// ListEvents implements store.Store.
func (s *Store) ListEvents(ctx context.Context, f store.EventFilter) ([]domain.Event, error) {
	var where []string
	var a []any
	if f.MinGrade != domain.GradeNone {
		a = append(a, int32(f.MinGrade))
		where = append(where, fmt.Sprintf("grade BETWEEN 1 AND $%d", len(a)))
	}
	if !f.Since.IsZero() {
		a = append(a, nanos(f.Since))
		where = append(where, fmt.Sprintf("last_at >= $%d", len(a)))
	}
	if !f.WrittenSince.IsZero() {
		a = append(a, nanos(f.WrittenSince))
		where = append(where, fmt.Sprintf("written_at >= $%d", len(a)))
	}
	if f.AfterID != "" {
		a = append(a, f.AfterID)
		where = append(where, fmt.Sprintf("id > $%d", len(a)))
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
		return nil, fmt.Errorf("pgstore: list events: unknown sort %q (heat, recent or id)", f.Sort)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	a = append(a, limit)
	q += fmt.Sprintf(" LIMIT $%d", len(a))
	return s.queryEvents(ctx, q, a...)
}

// ---- cases ----

func encodeCase(c domain.Case) (string, error) {
	c.Actions = nil
	b, err := json.Marshal(c)
	return string(b), err
}

// createCase inserts the case and its first action (and its notifications)
// in one statement, so that it is atomic without a transaction; it returns no
// row when the event
// already has a case (the unique index on event_id decides, across
// processes: a concurrent insert waits for the other to commit).
const createCase = `WITH c AS (
	INSERT INTO cases (id, event_id, status, unit_id, grade, created_at, updated_at, data)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (event_id) DO NOTHING
	RETURNING id)` + outboxCTE + `
INSERT INTO case_actions (case_id, kind, actor, note, evidence_url, at, origin)
SELECT id, $9::text, $10::text, $11::text, $12::text, $13::bigint, $14::text FROM c
RETURNING id`

// CreateCase implements store.Store.
func (s *Store) CreateCase(ctx context.Context, c domain.Case, first domain.Action, out ...store.Notification) (domain.Case, bool, error) {
	if c.ID == "" || c.EventID == "" {
		return domain.Case{}, false, fmt.Errorf("pgstore: create case: id and event id are required (id %q, event %q)", c.ID, c.EventID)
	}
	data, err := encodeCase(c)
	if err != nil {
		return domain.Case{}, false, fmt.Errorf("pgstore: create case %q: encode: %w", c.ID, err)
	}
	first.CaseID = c.ID
	ob, err := outboxArgs(out)
	if err != nil {
		return domain.Case{}, false, fmt.Errorf("pgstore: create case %q: %w", c.ID, err)
	}
	err = s.pool.QueryRow(ctx, withOutbox(createCase, "c", 15, len(out)), append([]any{
		c.ID, c.EventID, c.Status, c.UnitID, int32(c.Grade), nanos(c.CreatedAt), nanos(c.UpdatedAt), data,
		first.Kind, first.Actor, first.Note, first.EvidenceURL, nanos(first.At), first.Origin}, ob...)...).Scan(&first.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		existing, err := s.readCase(ctx, "event_id", c.EventID)
		if err != nil {
			return domain.Case{}, false, fmt.Errorf("pgstore: create case %q: existing case of event %q: %w", c.ID, c.EventID, err)
		}
		return existing, false, nil
	}
	if err != nil {
		return domain.Case{}, false, fmt.Errorf("pgstore: create case %q: %w", c.ID, err)
	}
	c.Actions = []domain.Action{first}
	return c, true, nil
}

// readCase reads one case with its actions, oldest first, in one statement
// (one snapshot). col is "id" or "event_id".
func (s *Store) readCase(ctx context.Context, col, v string) (domain.Case, error) {
	rows, err := s.pool.Query(ctx, `SELECT c.data, COALESCE(a.id, 0), COALESCE(a.kind, ''), COALESCE(a.actor, ''),
		COALESCE(a.note, ''), COALESCE(a.evidence_url, ''), COALESCE(a.at, 0), COALESCE(a.origin, '')
		FROM cases c LEFT JOIN case_actions a ON a.case_id = c.id
		WHERE c.`+col+` = $1 ORDER BY a.id`, v)
	if err != nil {
		return domain.Case{}, err
	}
	defer rows.Close()
	var c domain.Case
	found := false
	for rows.Next() {
		var data []byte
		a := domain.Action{}
		var at int64
		if err := rows.Scan(&data, &a.ID, &a.Kind, &a.Actor, &a.Note, &a.EvidenceURL, &at, &a.Origin); err != nil {
			return domain.Case{}, err
		}
		if !found {
			found = true
			if err := json.Unmarshal(data, &c); err != nil {
				return domain.Case{}, fmt.Errorf("decode: %w", err)
			}
			c.Actions = nil
		}
		if a.ID != 0 {
			a.CaseID, a.At = c.ID, fromNanos(at)
			c.Actions = append(c.Actions, a)
		}
	}
	if err := rows.Err(); err != nil {
		return domain.Case{}, err
	}
	if !found {
		return domain.Case{}, store.ErrNotFound
	}
	return c, nil
}

// GetCase implements store.Store; the case comes with its actions, oldest first.
func (s *Store) GetCase(ctx context.Context, id string) (domain.Case, error) {
	c, err := s.readCase(ctx, "id", id)
	if err != nil {
		return domain.Case{}, fmt.Errorf("pgstore: case %q: %w", id, err)
	}
	return c, nil
}

// CaseForEvent implements store.Store; the case comes with its actions.
func (s *Store) CaseForEvent(ctx context.Context, eventID string) (domain.Case, error) {
	c, err := s.readCase(ctx, "event_id", eventID)
	if err != nil {
		return domain.Case{}, fmt.Errorf("pgstore: case of event %q: %w", eventID, err)
	}
	return c, nil
}

// ListCases implements store.Store: newest first, without their actions.
func (s *Store) ListCases(ctx context.Context, f store.CaseFilter) ([]domain.Case, error) {
	var where []string
	var a []any
	if f.Status != "" {
		a = append(a, f.Status)
		where = append(where, fmt.Sprintf("status = $%d", len(a)))
	}
	if f.UnitID != "" {
		a = append(a, f.UnitID)
		where = append(where, fmt.Sprintf("unit_id = $%d", len(a)))
	}
	if f.Open {
		a = append(a, domain.CaseClosed)
		where = append(where, fmt.Sprintf("status <> $%d", len(a)))
	}
	if f.Units != nil {
		a = append(a, f.Units)
		where = append(where, fmt.Sprintf("unit_id = ANY($%d::text[])", len(a)))
	}
	if f.Grade != domain.GradeNone {
		a = append(a, int32(f.Grade))
		where = append(where, fmt.Sprintf("grade = $%d", len(a)))
	}
	if !f.From.IsZero() {
		a = append(a, nanos(f.From))
		where = append(where, fmt.Sprintf("created_at >= $%d", len(a)))
	}
	if !f.To.IsZero() {
		a = append(a, nanos(f.To))
		where = append(where, fmt.Sprintf("created_at < $%d", len(a)))
	}
	q := `SELECT data FROM cases`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	a = append(a, limit)
	q += fmt.Sprintf(" ORDER BY created_at DESC, id LIMIT $%d", len(a))
	out, err := queryJSON[domain.Case](ctx, s.pool, q, a...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list cases: %w", err)
	}
	return out, nil
}

// updateCase writes the case, appends the action and writes its
// notifications in one statement; no row means no such case.
const updateCase = `WITH c AS (
	UPDATE cases SET status = $2, unit_id = $3, grade = $4, updated_at = $5, data = $6 WHERE id = $1
	RETURNING id)` + outboxCTE + `
INSERT INTO case_actions (case_id, kind, actor, note, evidence_url, at, origin)
SELECT id, $7::text, $8::text, $9::text, $10::text, $11::bigint, $12::text FROM c
RETURNING id`

// UpdateCase implements store.Store.
func (s *Store) UpdateCase(ctx context.Context, c domain.Case, a domain.Action, out ...store.Notification) (domain.Action, error) {
	data, err := encodeCase(c)
	if err != nil {
		return domain.Action{}, fmt.Errorf("pgstore: update case %q: encode: %w", c.ID, err)
	}
	a.CaseID = c.ID
	ob, err := outboxArgs(out)
	if err != nil {
		return domain.Action{}, fmt.Errorf("pgstore: update case %q: %w", c.ID, err)
	}
	err = s.pool.QueryRow(ctx, withOutbox(updateCase, "c", 13, len(out)), append([]any{c.ID, c.Status, c.UnitID, int32(c.Grade), nanos(c.UpdatedAt), data,
		a.Kind, a.Actor, a.Note, a.EvidenceURL, nanos(a.At), a.Origin}, ob...)...).Scan(&a.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return domain.Action{}, fmt.Errorf("pgstore: update case %q: %w", c.ID, store.ErrNotFound)
	}
	if err != nil {
		return domain.Action{}, fmt.Errorf("pgstore: update case %q: %w", c.ID, err)
	}
	return a, nil
}

// AddAction implements store.Store.
func (s *Store) AddAction(ctx context.Context, caseID string, a domain.Action) (domain.Action, error) {
	a.CaseID = caseID
	err := s.pool.QueryRow(ctx, `INSERT INTO case_actions (case_id, kind, actor, note, evidence_url, at, origin)
		SELECT id, $2::text, $3::text, $4::text, $5::text, $6::bigint, $7::text FROM cases WHERE id = $1
		RETURNING id`, caseID, a.Kind, a.Actor, a.Note, a.EvidenceURL, nanos(a.At), a.Origin).Scan(&a.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, fmt.Errorf("pgstore: add action to %q: %w", caseID, store.ErrNotFound)
	}
	if err != nil {
		return a, fmt.Errorf("pgstore: add action to %q: %w", caseID, err)
	}
	return a, nil
}

// ---- due moments ----

// ScheduleDue implements store.Store.
func (s *Store) ScheduleDue(ctx context.Context, caseID string, due []domain.Due) error {
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	b.Queue(`DELETE FROM case_due WHERE case_id = $1 AND fired_at = 0`, caseID)
	for _, d := range due {
		b.Queue(`INSERT INTO case_due (key, case_id, clock, kind, at, due_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (key) DO NOTHING`, d.Key, caseID, d.Clock, d.Kind, nanos(d.At), nanos(d.DueAt))
	}
	br := s.pool.SendBatch(ctx, b)
	tx := br.Tx()
	defer tx.Rollback(ctx)
	if err := br.Close(); err != nil {
		return fmt.Errorf("pgstore: schedule due of %q: %w", caseID, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: schedule due of %q: commit: %w", caseID, err)
	}
	return nil
}

// DueBefore implements store.Store.
func (s *Store) DueBefore(ctx context.Context, t time.Time, limit int) ([]domain.Due, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, `SELECT key, case_id, clock, kind, at, due_at FROM case_due
		WHERE fired_at = 0 AND at <= $1 ORDER BY at, key LIMIT $2`, nanos(t), limit)
	if err != nil {
		return nil, fmt.Errorf("pgstore: due before: %w", err)
	}
	defer rows.Close()
	var out []domain.Due
	for rows.Next() {
		var d domain.Due
		var at, dueAt int64
		if err := rows.Scan(&d.Key, &d.CaseID, &d.Clock, &d.Kind, &at, &dueAt); err != nil {
			return nil, fmt.Errorf("pgstore: due before: %w", err)
		}
		d.At, d.DueAt = fromNanos(at), fromNanos(dueAt)
		out = append(out, d)
	}
	return out, rows.Err()
}

// NextDue implements store.Store.
func (s *Store) NextDue(ctx context.Context) (time.Time, bool, error) {
	var at *int64
	if err := s.pool.QueryRow(ctx, `SELECT MIN(at) FROM case_due WHERE fired_at = 0`).Scan(&at); err != nil {
		return time.Time{}, false, fmt.Errorf("pgstore: next due: %w", err)
	}
	if at == nil {
		return time.Time{}, false, nil
	}
	return fromNanos(*at), true, nil
}

// fireDue claims a moment and appends its action (and writes its
// notifications) in one statement: the action is written only when this call
// is the one that fired it.
const fireDue = `WITH d AS (
	UPDATE case_due SET fired_at = $2 WHERE key = $1 AND fired_at = 0
	RETURNING case_id)` + outboxCTE + `
INSERT INTO case_actions (case_id, kind, actor, note, evidence_url, at, origin)
SELECT case_id, $3::text, $4::text, $5::text, $6::text, $2::bigint, $7::text FROM d
RETURNING id`

// FireDue implements store.Store.
func (s *Store) FireDue(ctx context.Context, d domain.Due, a domain.Action, out ...store.Notification) (domain.Action, bool, error) {
	a.CaseID = d.CaseID
	ob, err := outboxArgs(out)
	if err != nil {
		return a, false, fmt.Errorf("pgstore: fire due %q: %w", d.Key, err)
	}
	err = s.pool.QueryRow(ctx, withOutbox(fireDue, "d", 8, len(out)), append([]any{d.Key, nanos(a.At), a.Kind, a.Actor, a.Note, a.EvidenceURL, a.Origin}, ob...)...).Scan(&a.ID)
	if errors.Is(err, pgx.ErrNoRows) {
		return a, false, nil
	}
	if err != nil {
		return a, false, fmt.Errorf("pgstore: fire due %q: %w", d.Key, err)
	}
	return a, true, nil
}

// ---- units and records ----

// PutUnits implements store.Store: units are upserted by id, all in one
// transaction.
func (s *Store) PutUnits(ctx context.Context, units []domain.Unit) error {
	if len(units) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	for _, u := range units {
		if u.ID == "" {
			return errors.New("pgstore: put units: a unit has no id")
		}
		data, err := json.Marshal(u)
		if err != nil {
			return fmt.Errorf("pgstore: put unit %q: encode: %w", u.ID, err)
		}
		b.Queue(`INSERT INTO units (id, parent_id, name, data) VALUES ($1, $2, $3, $4)
			ON CONFLICT (id) DO UPDATE SET parent_id = excluded.parent_id, name = excluded.name, data = excluded.data`,
			u.ID, u.ParentID, u.Name, string(data))
	}
	br := s.pool.SendBatch(ctx, b)
	tx := br.Tx()
	defer tx.Rollback(ctx)
	err := br.Close() // reads every result, reporting the first error
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		return fmt.Errorf("pgstore: put units: %w", err)
	}
	return nil
}

// DeleteUnit implements store.Store.
func (s *Store) DeleteUnit(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM units WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("pgstore: delete unit %q: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("pgstore: delete unit %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// ListUnits implements store.Store, ordered by id.
func (s *Store) ListUnits(ctx context.Context) ([]domain.Unit, error) {
	out, err := queryJSON[domain.Unit](ctx, s.pool, `SELECT data FROM units ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list units: %w", err)
	}
	return out, nil
}

// PutRecord implements store.Store: records are upserted by id.
func (s *Store) PutRecord(ctx context.Context, r domain.Record) error {
	if r.ID == "" {
		return errors.New("pgstore: put record: the record has no id")
	}
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("pgstore: put record %q: encode: %w", r.ID, err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO records (id, kind, case_id, unit_id, published_at, data) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, case_id = excluded.case_id, unit_id = excluded.unit_id,
		published_at = excluded.published_at, data = excluded.data`,
		r.ID, r.Kind, r.CaseID, r.UnitID, nanos(r.PublishedAt), string(data))
	if err != nil {
		return fmt.Errorf("pgstore: put record %q: %w", r.ID, err)
	}
	return nil
}

// ListRecords implements store.Store: newest publication first.
func (s *Store) ListRecords(ctx context.Context, f store.RecordFilter) ([]domain.Record, error) {
	var where []string
	var a []any
	for _, c := range []struct{ col, v string }{{"kind", f.Kind}, {"case_id", f.CaseID}, {"unit_id", f.UnitID}} {
		if c.v != "" {
			a = append(a, c.v)
			where = append(where, fmt.Sprintf("%s = $%d", c.col, len(a)))
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
	a = append(a, limit)
	q += fmt.Sprintf(" ORDER BY published_at DESC, id LIMIT $%d", len(a))
	out, err := queryJSON[domain.Record](ctx, s.pool, q, a...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list records: %w", err)
	}
	return out, nil
}

// queryJSON runs a query whose single column is a JSON document and decodes
// each row into a T.
func queryJSON[T any](ctx context.Context, pool *pgxpool.Pool, q string, a ...any) ([]T, error) {
	rows, err := pool.Query(ctx, q, a...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			return nil, err
		}
		var v T
		if err := json.Unmarshal(data, &v); err != nil {
			return nil, fmt.Errorf("decode: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, nil
}
