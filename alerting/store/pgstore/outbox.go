package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"yuqing/alerting/store"
)

// The outbox. A claim is one statement that locks the due rows it takes with
// FOR UPDATE SKIP LOCKED, so concurrent claimers (in any process) skip each
// other's rows instead of waiting for them, and get disjoint rows.

// outboxCTE marks where a statement that writes a case action also writes
// its notifications (withOutbox).
const outboxCTE = "/*outbox*/"

// withOutbox gives stmt with its notifications written by the same
// statement: a data-modifying CTE that inserts the rows unnested from six
// array parameters starting at $p, only if the CTE named cte (the case
// created or updated, the moment fired) gave a row. Keys already in the
// outbox are skipped.
func withOutbox(stmt, cte string, p, n int) string {
	if n == 0 {
		return strings.Replace(stmt, outboxCTE, "", 1)
	}
	ins := fmt.Sprintf(`,
o AS (
	INSERT INTO notifications (key, case_id, channel, next_at, created_at, data)
	SELECT * FROM unnest($%d::text[], $%d::text[], $%d::text[], $%d::bigint[], $%d::bigint[], $%d::text[])
	WHERE EXISTS (SELECT 1 FROM %s)
	ON CONFLICT (key) DO NOTHING)`, p, p+1, p+2, p+3, p+4, p+5, cte)
	return strings.Replace(stmt, outboxCTE, ins, 1)
}

// outboxArgs gives the six array parameters of withOutbox (none for no rows).
func outboxArgs(out []store.Notification) ([]any, error) {
	if len(out) == 0 {
		return nil, nil
	}
	now := time.Now().UnixNano()
	keys, cases, chans, datas := make([]string, len(out)), make([]string, len(out)), make([]string, len(out)), make([]string, len(out))
	next, created := make([]int64, len(out)), make([]int64, len(out))
	for i, n := range out {
		if n.Key == "" {
			return nil, errors.New("outbox: a notification has no key")
		}
		keys[i], cases[i], chans[i], datas[i] = n.Key, n.CaseID, n.Channel, n.Data
		next[i], created[i] = nanos(n.NextAt), nanos(n.CreatedAt)
		if created[i] == 0 {
			created[i] = now
		}
	}
	return []any{keys, cases, chans, next, created, datas}, nil
}

const notificationCols = `id, key, case_id, channel, data, status, attempts, next_at, lease_owner, lease_until, created_at, done_at, last_error`

func collectNotifications(rows pgx.Rows) ([]store.Notification, error) {
	defer rows.Close()
	var out []store.Notification
	for rows.Next() {
		var n store.Notification
		var attempts int32
		var next, until, created, done int64
		if err := rows.Scan(&n.ID, &n.Key, &n.CaseID, &n.Channel, &n.Data, &n.Status, &attempts, &next, &n.LeaseOwner, &until, &created, &done, &n.LastError); err != nil {
			return nil, err
		}
		n.Attempts = int(attempts)
		n.NextAt, n.LeaseUntil, n.CreatedAt, n.DoneAt = fromNanos(next), fromNanos(until), fromNanos(created), fromNanos(done)
		out = append(out, n)
	}
	return out, rows.Err()
}

// EnqueueNotifications implements store.Outbox.
func (s *Store) EnqueueNotifications(ctx context.Context, out []store.Notification) (int, error) {
	if len(out) == 0 {
		return 0, nil
	}
	a, err := outboxArgs(out)
	if err != nil {
		return 0, fmt.Errorf("pgstore: enqueue notifications: %w", err)
	}
	tag, err := s.pool.Exec(ctx, `INSERT INTO notifications (key, case_id, channel, next_at, created_at, data)
		SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::text[])
		ON CONFLICT (key) DO NOTHING`, a...)
	if err != nil {
		return 0, fmt.Errorf("pgstore: enqueue notifications: %w", err)
	}
	return int(tag.RowsAffected()), nil
}

// claimNotifications leases the due rows nobody holds, skipping the rows
// another claimer has locked; the rows come back in due order.
const claimNotifications = `WITH c AS (
	SELECT id FROM notifications
	WHERE status = 'pending' AND next_at <= $1 AND lease_until <= $1
	ORDER BY next_at, id LIMIT $2
	FOR UPDATE SKIP LOCKED),
u AS (
	UPDATE notifications n SET lease_owner = $3, lease_until = $4 FROM c WHERE n.id = c.id
	RETURNING n.id, n.key, n.case_id, n.channel, n.data, n.status, n.attempts, n.next_at, n.lease_owner, n.lease_until, n.created_at, n.done_at, n.last_error)
SELECT * FROM u ORDER BY next_at, id`

// ClaimNotifications implements store.Outbox.
func (s *Store) ClaimNotifications(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]store.Notification, error) {
	if owner == "" {
		return nil, errors.New("pgstore: claim notifications: no owner")
	}
	if limit <= 0 {
		limit = 100
	}
	rows, err := s.pool.Query(ctx, claimNotifications, nanos(now), limit, owner, nanos(now.Add(lease)))
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim notifications: %w", err)
	}
	out, err := collectNotifications(rows)
	if err != nil {
		return nil, fmt.Errorf("pgstore: claim notifications: %w", err)
	}
	return out, nil
}

// ExtendNotifications implements store.Outbox.
func (s *Store) ExtendNotifications(ctx context.Context, owner string, ids []int64, until time.Time) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := s.pool.Exec(ctx, `UPDATE notifications SET lease_until = $1
		WHERE lease_owner = $2 AND status = 'pending' AND id = ANY($3::bigint[])`, nanos(until), owner, ids); err != nil {
		return fmt.Errorf("pgstore: extend notification leases: %w", err)
	}
	return nil
}

// settleDone marks a row sent or given up and records it on its case, in one
// statement; the count is 1 when the row was still the owner's.
const settleDone = `WITH n AS (
	UPDATE notifications SET status = $3, attempts = attempts + $4, last_error = $5, done_at = $6, lease_until = 0
	WHERE id = $1 AND lease_owner = $2 AND status = 'pending'
	RETURNING case_id),
a AS (
	INSERT INTO case_actions (case_id, kind, actor, note, evidence_url, at, origin)
	SELECT c.id, $7::text, $8::text, $9::text, $10::text, $11::bigint, $12::text
	FROM n JOIN cases c ON c.id = n.case_id WHERE $13::boolean)
SELECT count(*) FROM n`

// settleRetry puts a row back to pending (try again at next_at, or at once
// when $5 is 0: a release), with its record.
const settleRetry = `WITH n AS (
	UPDATE notifications SET attempts = attempts + $3, last_error = CASE WHEN $4::boolean THEN $6 ELSE last_error END,
		next_at = CASE WHEN $5::bigint = 0 THEN next_at ELSE $5::bigint END, lease_owner = '', lease_until = 0
	WHERE id = $1 AND lease_owner = $2 AND status = 'pending'
	RETURNING case_id),
a AS (
	INSERT INTO case_actions (case_id, kind, actor, note, evidence_url, at, origin)
	SELECT c.id, $7::text, $8::text, $9::text, $10::text, $11::bigint, $12::text
	FROM n JOIN cases c ON c.id = n.case_id WHERE $13::boolean)
SELECT count(*) FROM n`

// SettleNotifications implements store.Outbox: one statement per outcome,
// pipelined in one transaction.
func (s *Store) SettleNotifications(ctx context.Context, owner string, outs []store.Outcome) (int, error) {
	if len(outs) == 0 {
		return 0, nil
	}
	b := &pgx.Batch{}
	b.BeginTx(pgx.TxOptions{})
	for _, o := range outs {
		attempted := int32(0)
		if o.Attempted {
			attempted = 1
		}
		var r struct {
			kind, actor, note, evidence, origin string
			at                                  int64
		}
		if o.Record != nil {
			r.kind, r.actor, r.note, r.evidence, r.origin, r.at = o.Record.Kind, o.Record.Actor, o.Record.Note, o.Record.EvidenceURL, o.Record.Origin, nanos(o.Record.At)
		}
		switch o.Status {
		case store.NotifySent, store.NotifyFailed:
			b.Queue(settleDone, o.ID, owner, o.Status, attempted, o.Error, nanos(o.At),
				r.kind, r.actor, r.note, r.evidence, r.at, r.origin, o.Record != nil)
		case store.NotifyPending:
			b.Queue(settleRetry, o.ID, owner, attempted, o.Attempted, nanos(o.NextAt), o.Error,
				r.kind, r.actor, r.note, r.evidence, r.at, r.origin, o.Record != nil)
		default:
			return 0, fmt.Errorf("pgstore: settle notification %d: unknown status %q", o.ID, o.Status)
		}
	}
	br := s.pool.SendBatch(ctx, b)
	tx := br.Tx()
	defer tx.Rollback(ctx)
	settled, err := func() (int, error) {
		if _, err := br.Exec(); err != nil {
			return 0, err
		}
		n := 0
		for range outs {
			var k int64
			if err := br.QueryRow().Scan(&k); err != nil {
				return 0, err
			}
			n += int(k)
		}
		return n, nil
	}()
	if cerr := br.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		return 0, fmt.Errorf("pgstore: settle notifications: %w", err)
	}
	return settled, nil
}

// ListNotifications implements store.Outbox.
func (s *Store) ListNotifications(ctx context.Context, f store.NotificationFilter) ([]store.Notification, error) {
	var where []string
	var a []any
	if f.CaseID != "" {
		a = append(a, f.CaseID)
		where = append(where, fmt.Sprintf("case_id = $%d", len(a)))
	}
	if f.Status != "" {
		a = append(a, f.Status)
		where = append(where, fmt.Sprintf("status = $%d", len(a)))
	}
	q := `SELECT ` + notificationCols + ` FROM notifications`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	a = append(a, limit)
	q += fmt.Sprintf(" ORDER BY id LIMIT $%d", len(a))
	rows, err := s.pool.Query(ctx, q, a...)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list notifications: %w", err)
	}
	out, err := collectNotifications(rows)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list notifications: %w", err)
	}
	return out, nil
}

// PruneNotifications implements store.Outbox.
func (s *Store) PruneNotifications(ctx context.Context, before time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM notifications WHERE status IN ('sent', 'failed') AND done_at < $1`, nanos(before))
	if err != nil {
		return 0, fmt.Errorf("pgstore: prune notifications: %w", err)
	}
	return int(tag.RowsAffected()), nil
}
