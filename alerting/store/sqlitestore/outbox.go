package sqlitestore

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"yuqing/alerting/store"
)

// The outbox. Every write goes through the single writer connection, so a
// claim (one UPDATE … RETURNING) is a single-writer transaction: two
// claimers, in this process or another one on the same file, take turns and
// get disjoint rows.

const notificationCols = `id, key, case_id, channel, data, status, attempts, next_at, lease_owner, lease_until, created_at, done_at, last_error`

// insertNotifications writes outbox rows in tx, skipping keys already there.
func insertNotifications(ctx context.Context, tx *sql.Tx, out []store.Notification) (int, error) {
	if len(out) == 0 {
		return 0, nil
	}
	now := time.Now().UnixNano()
	written := 0
	for _, n := range out {
		if n.Key == "" {
			return written, errors.New("outbox: a notification has no key")
		}
		created := nanos(n.CreatedAt)
		if created == 0 {
			created = now
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO notifications (key, case_id, channel, next_at, created_at, data)
			VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
			n.Key, n.CaseID, n.Channel, nanos(n.NextAt), created, n.Data)
		if err != nil {
			return written, fmt.Errorf("outbox: write %q: %w", n.Key, err)
		}
		k, _ := res.RowsAffected()
		written += int(k)
	}
	return written, nil
}

func scanNotification(rows *sql.Rows) (store.Notification, error) {
	var n store.Notification
	var next, until, created, done int64
	err := rows.Scan(&n.ID, &n.Key, &n.CaseID, &n.Channel, &n.Data, &n.Status, &n.Attempts, &next, &n.LeaseOwner, &until, &created, &done, &n.LastError)
	n.NextAt, n.LeaseUntil, n.CreatedAt, n.DoneAt = fromNanos(next), fromNanos(until), fromNanos(created), fromNanos(done)
	return n, err
}

func collectNotifications(rows *sql.Rows) ([]store.Notification, error) {
	defer rows.Close()
	var out []store.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

// EnqueueNotifications implements store.Outbox.
func (s *Store) EnqueueNotifications(ctx context.Context, out []store.Notification) (int, error) {
	if len(out) == 0 {
		return 0, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: enqueue notifications: %w", err)
	}
	defer tx.Rollback()
	n, err := insertNotifications(ctx, tx, out)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: enqueue notifications: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlitestore: enqueue notifications: commit: %w", err)
	}
	return n, nil
}

// ClaimNotifications implements store.Outbox: one UPDATE … RETURNING on the
// writer, which SQLite runs as one write transaction.
func (s *Store) ClaimNotifications(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Notification, error) {
	if owner == "" {
		return nil, errors.New("sqlitestore: claim notifications: no owner")
	}
	if limit <= 0 {
		limit = 100
	}
	at := nanos(now)
	rows, err := s.w.QueryContext(ctx, `UPDATE notifications SET lease_owner = ?, lease_until = ?
		WHERE id IN (SELECT id FROM notifications
			WHERE status = 'pending' AND next_at <= ? AND lease_until <= ?
			ORDER BY next_at, id LIMIT ?)
		RETURNING `+notificationCols, owner, nanos(now.Add(lease)), at, at, limit)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: claim notifications: %w", err)
	}
	out, err := collectNotifications(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: claim notifications: %w", err)
	}
	slices.SortFunc(out, func(a, b store.Notification) int {
		if c := a.NextAt.Compare(b.NextAt); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	return out, nil
}

// ExtendNotifications implements store.Outbox.
func (s *Store) ExtendNotifications(ctx context.Context, owner string, ids []int64, until time.Time) error {
	for i := 0; i < len(ids); i += chunk {
		part := ids[i:min(i+chunk, len(ids))]
		a := []any{nanos(until), owner}
		for _, id := range part {
			a = append(a, id)
		}
		if _, err := s.w.ExecContext(ctx, `UPDATE notifications SET lease_until = ?
			WHERE lease_owner = ? AND status = 'pending' AND id IN (`+placeholders(len(part))+`)`, a...); err != nil {
			return fmt.Errorf("sqlitestore: extend notification leases: %w", err)
		}
	}
	return nil
}

// SettleNotifications implements store.Outbox.
func (s *Store) SettleNotifications(ctx context.Context, owner string, outs []store.Outcome) (int, error) {
	if len(outs) == 0 {
		return 0, nil
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: settle notifications: %w", err)
	}
	defer tx.Rollback()
	settled := 0
	for _, o := range outs {
		var q string
		var a []any
		attempted := 0
		if o.Attempted {
			attempted = 1
		}
		switch o.Status {
		case store.NotifySent, store.NotifyFailed:
			q = `UPDATE notifications SET status = ?, attempts = attempts + ?, last_error = ?, done_at = ?, lease_until = 0
				WHERE id = ? AND lease_owner = ? AND status = 'pending' RETURNING case_id`
			a = []any{o.Status, attempted, o.Error, nanos(o.At), o.ID, owner}
		case store.NotifyPending:
			q = `UPDATE notifications SET attempts = attempts + ?, last_error = CASE WHEN ? THEN ? ELSE last_error END,
				next_at = CASE WHEN ? = 0 THEN next_at ELSE ? END, lease_owner = '', lease_until = 0
				WHERE id = ? AND lease_owner = ? AND status = 'pending' RETURNING case_id`
			next := nanos(o.NextAt)
			a = []any{attempted, o.Attempted, o.Error, next, next, o.ID, owner}
		default:
			return 0, fmt.Errorf("sqlitestore: settle notification %d: unknown status %q", o.ID, o.Status)
		}
		var caseID string
		err := tx.QueryRowContext(ctx, q, a...).Scan(&caseID)
		if errors.Is(err, sql.ErrNoRows) {
			continue // not ours any more
		}
		if err != nil {
			return 0, fmt.Errorf("sqlitestore: settle notification %d: %w", o.ID, err)
		}
		settled++
		if o.Record == nil {
			continue
		}
		r := *o.Record
		if _, err := tx.ExecContext(ctx, `INSERT INTO case_actions (case_id, kind, actor, note, evidence_url, at, origin)
			SELECT id, ?, ?, ?, ?, ?, ? FROM cases WHERE id = ?`,
			r.Kind, r.Actor, r.Note, r.EvidenceURL, nanos(r.At), r.Origin, caseID); err != nil {
			return 0, fmt.Errorf("sqlitestore: settle notification %d: record on case %q: %w", o.ID, caseID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("sqlitestore: settle notifications: commit: %w", err)
	}
	return settled, nil
}

// ListNotifications implements store.Outbox.
func (s *Store) ListNotifications(ctx context.Context, f store.NotificationFilter) ([]store.Notification, error) {
	var where []string
	var a []any
	if f.CaseID != "" {
		where = append(where, "case_id = ?")
		a = append(a, f.CaseID)
	}
	if f.Status != "" {
		where = append(where, "status = ?")
		a = append(a, f.Status)
	}
	q := `SELECT ` + notificationCols + ` FROM notifications`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	q += " ORDER BY id LIMIT ?"
	a = append(a, limit)
	rows, err := s.r.QueryContext(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list notifications: %w", err)
	}
	out, err := collectNotifications(rows)
	if err != nil {
		return nil, fmt.Errorf("sqlitestore: list notifications: %w", err)
	}
	return out, nil
}

// PruneNotifications implements store.Outbox.
func (s *Store) PruneNotifications(ctx context.Context, before time.Time) (int, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM notifications WHERE status IN ('sent', 'failed') AND done_at < ?`, nanos(before))
	if err != nil {
		return 0, fmt.Errorf("sqlitestore: prune notifications: %w", err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}
