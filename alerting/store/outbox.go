package store

import (
	"context"
	"time"

	"yuqing/domain"
)

// Notification statuses in the outbox.
const (
	NotifyPending = "pending" // to be sent (at NextAt), or being sent under a lease
	NotifySent    = "sent"
	NotifyFailed  = "failed" // given up: a final error, or every attempt failed
)

// Notification is one row of the outbox: one message to one channel. It is
// written in the same transaction as the case action that causes it
// (CreateCase, UpdateCase, FireDue), so that neither exists without the
// other, and it stays pending until a notifier has sent it (or given up):
// delivery is at least once, whatever crashes in between.
type Notification struct {
	ID int64 // set by the store, increasing
	// Key is the idempotency key, unique in the outbox: a notification whose
	// key is there already is not written again. The notifier makes it from
	// the occurrence (the case and its due moment or action) and the channel.
	Key    string
	CaseID string
	// Channel names the channel it goes to, as the notifier names it (never
	// a secret); Data is the message as the notifier encodes it. The store
	// keeps both as they are.
	Channel string
	Data    string

	Status     string    // NotifyPending, NotifySent or NotifyFailed
	Attempts   int       // delivery attempts made so far
	NextAt     time.Time // a pending notification is not claimed before this
	LeaseOwner string    // who claimed it last
	LeaseUntil time.Time // nobody else claims it before this
	CreatedAt  time.Time
	DoneAt     time.Time // when it was sent or given up
	LastError  string
}

// Outcome is what became of a claimed notification (SettleNotifications).
type Outcome struct {
	ID int64
	// Status is NotifySent, NotifyFailed (given up), or NotifyPending: try
	// again at NextAt (a zero NextAt keeps it, which releases the lease
	// only: another claimer may take it at once).
	Status    string
	Attempted bool // a delivery was attempted: Attempts counts one more
	NextAt    time.Time
	Error     string    // the last error (kept as LastError)
	At        time.Time // sent or given up at (DoneAt)
	// Record, if not nil, is appended to the notification's case in the same
	// transaction, and only if the outcome is written (the store sets its
	// ID and CaseID; it is skipped when the case does not exist).
	Record *domain.Action
}

// NotificationFilter selects notifications. Zero values do not filter.
type NotificationFilter struct {
	CaseID string
	Status string
	Limit  int // 0 means 100
}

// Outbox is the durable queue of notifications, part of the Store. Several
// notifiers (processes) may drain one outbox: a claim leases rows to one
// owner, and a row is claimed again only once it is pending and its lease
// has run out (its owner crashed, or released it).
type Outbox interface {
	// EnqueueNotifications writes notifications that no case write causes
	// (keys already in the outbox are skipped) and gives how many it wrote.
	EnqueueNotifications(ctx context.Context, out []Notification) (int, error)
	// ClaimNotifications leases to owner, until now+lease, up to limit
	// pending notifications due at now (NextAt ≤ now) whose lease, if any,
	// has run out, earliest NextAt first (then by ID), and gives them with
	// the lease. Concurrent claimers get disjoint rows.
	ClaimNotifications(ctx context.Context, owner string, now time.Time, lease time.Duration, limit int) ([]Notification, error)
	// ExtendNotifications moves the lease of the pending notifications
	// among ids that owner holds to until (a long delivery).
	ExtendNotifications(ctx context.Context, owner string, ids []int64, until time.Time) error
	// SettleNotifications writes the outcomes, with their records on the
	// cases, in one transaction. An outcome for a notification that owner
	// does not hold any more (another claimed it after its lease ran out, or
	// it is no longer pending) is skipped with its record. It gives how many
	// outcomes were written.
	SettleNotifications(ctx context.Context, owner string, outs []Outcome) (int, error)
	// ListNotifications lists notifications by ID, oldest first.
	ListNotifications(ctx context.Context, f NotificationFilter) ([]Notification, error)
	// PruneNotifications deletes the notifications sent or given up before
	// before (DoneAt), never a pending one, and gives how many it deleted.
	// Their records on the cases stay; a pruned key may be written again.
	PruneNotifications(ctx context.Context, before time.Time) (int, error)
}
