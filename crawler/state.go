package crawler

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	_ "github.com/mattn/go-sqlite3" // SQLite driver (cgo), as the embedded bus and store use
)

// State is the crawler's durable memory in its own SQLite file: every
// canonical URL it emitted (with the content hash and SimHash of what it
// found there, and the story it belongs to), the validators of the list
// pages it polls (ETag / Last-Modified), and each source's schedule and
// health. A restart neither refetches nor re-emits what it saw.
type State struct {
	db *sql.DB
}

// Seen is what the crawler remembers of one emitted article.
type Seen struct {
	URL     string // canonical
	Source  string
	PostID  string
	Hash    string // sha256 of the normalised text
	SimHash uint64
	Story   string // post id of the first copy of this story
	At      time.Time
}

// OpenState opens (creating if needed) the state file at path.
func OpenState(path string) (*State, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("抓取状态目录: %w", err)
	}
	db, err := sql.Open("sqlite3", "file:"+path+"?_journal_mode=WAL&_synchronous=NORMAL&_busy_timeout=10000&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("抓取状态 %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	const schema = `
CREATE TABLE IF NOT EXISTS seen (
	url      TEXT PRIMARY KEY,
	source   TEXT NOT NULL,
	post_id  TEXT NOT NULL,
	hash     TEXT NOT NULL,
	simhash  INTEGER NOT NULL,
	story    TEXT NOT NULL,
	at       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS seen_hash ON seen(hash);
CREATE INDEX IF NOT EXISTS seen_at ON seen(at);
CREATE TABLE IF NOT EXISTS validators (
	url           TEXT PRIMARY KEY,
	etag          TEXT NOT NULL,
	last_modified TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sources (
	name   TEXT PRIMARY KEY,
	health TEXT NOT NULL
);`
	if _, err := db.Exec(schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("抓取状态 %s: 建表: %w", path, err)
	}
	return &State{db: db}, nil
}

// Close closes the file.
func (s *State) Close() error { return s.db.Close() }

// SeenURL reports whether a canonical URL was emitted before.
func (s *State) SeenURL(ctx context.Context, url string) (bool, error) {
	var one int
	err := s.db.QueryRowContext(ctx, `SELECT 1 FROM seen WHERE url = ?`, url).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, err
}

// ByHash looks for an earlier article with exactly this content: the
// story of its first copy, and whether source itself gave it before.
func (s *State) ByHash(ctx context.Context, hash, source string) (story string, sameSource, ok bool, err error) {
	rows, err := s.db.QueryContext(ctx, `SELECT source, story FROM seen WHERE hash = ? ORDER BY at`, hash)
	if err != nil {
		return "", false, false, err
	}
	defer rows.Close()
	for rows.Next() {
		var src, st string
		if err := rows.Scan(&src, &st); err != nil {
			return "", false, false, err
		}
		if !ok && st != "" {
			story, ok = st, true
		}
		sameSource = sameSource || src == source
	}
	return story, sameSource, ok, rows.Err()
}

// MarkSeen records emitted articles, once they are durably on the bus.
func (s *State) MarkSeen(ctx context.Context, items ...Seen) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO seen(url, source, post_id, hash, simhash, story, at) VALUES (?,?,?,?,?,?,?)`)
	if err != nil {
		return err
	}
	defer stmt.Close()
	for _, it := range items {
		if _, err := stmt.ExecContext(ctx, it.URL, it.Source, it.PostID, it.Hash, int64(it.SimHash), it.Story, it.At.UnixNano()); err != nil {
			return fmt.Errorf("记录已抓取 %s: %w", it.URL, err)
		}
	}
	return tx.Commit()
}

// Recent returns what was seen since a time, oldest first, to rebuild the
// near-duplicate index at start.
func (s *State) Recent(ctx context.Context, since time.Time, fn func(Seen)) error {
	rows, err := s.db.QueryContext(ctx, `SELECT url, source, post_id, hash, simhash, story, at FROM seen WHERE at >= ? ORDER BY at`, since.UnixNano())
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var it Seen
		var sh, at int64
		if err := rows.Scan(&it.URL, &it.Source, &it.PostID, &it.Hash, &sh, &it.Story, &at); err != nil {
			return err
		}
		it.SimHash, it.At = uint64(sh), time.Unix(0, at)
		fn(it)
	}
	return rows.Err()
}

// Validators returns the ETag and Last-Modified last seen for a URL.
func (s *State) Validators(ctx context.Context, url string) (Validators, error) {
	var v Validators
	err := s.db.QueryRowContext(ctx, `SELECT etag, last_modified FROM validators WHERE url = ?`, url).Scan(&v.ETag, &v.LastModified)
	if errors.Is(err, sql.ErrNoRows) {
		return v, nil
	}
	return v, err
}

// SetValidators remembers a URL's ETag and Last-Modified.
func (s *State) SetValidators(ctx context.Context, url string, v Validators) error {
	if v.ETag == "" && v.LastModified == "" {
		_, err := s.db.ExecContext(ctx, `DELETE FROM validators WHERE url = ?`, url)
		return err
	}
	_, err := s.db.ExecContext(ctx, `INSERT INTO validators(url, etag, last_modified) VALUES (?,?,?)
		ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, last_modified = excluded.last_modified`, url, v.ETag, v.LastModified)
	return err
}

// LoadHealth returns the stored health of a source (zero if none).
func (s *State) LoadHealth(ctx context.Context, name string) (Health, error) {
	var raw string
	err := s.db.QueryRowContext(ctx, `SELECT health FROM sources WHERE name = ?`, name).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		return Health{Source: name}, nil
	}
	if err != nil {
		return Health{Source: name}, err
	}
	var h Health
	if err := json.Unmarshal([]byte(raw), &h); err != nil {
		return Health{Source: name}, fmt.Errorf("信息源 %s 的状态无法读取: %w", name, err)
	}
	h.Source = name
	return h, nil
}

// SaveHealth stores a source's health and schedule.
func (s *State) SaveHealth(ctx context.Context, h Health) error {
	raw, err := json.Marshal(h)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO sources(name, health) VALUES (?,?)
		ON CONFLICT(name) DO UPDATE SET health = excluded.health`, h.Source, string(raw))
	return err
}
