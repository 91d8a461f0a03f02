// Package store is the Store port: the durable home of events and their
// posts' assignments, cases with their clocks and audit trail, the
// organisation's units, disclosure and interpretation records, and the
// outbox of notifications (written with the case actions that cause them).
//
// Backends live in packages beside this one (sqlitestore for the embedded
// default); every backend must pass the conformance suite in storetest.
package store

import (
	"context"
	"errors"
	"time"

	"yuqing/domain"
)

// ErrNotFound is returned when the thing asked for does not exist.
var ErrNotFound = errors.New("store: not found")

// ErrConflict is returned by SaveEvents when another writer got there first:
// an event's stored version is not the one the write was based on, or a post
// is already assigned. Nothing was written; the caller reads again and redoes
// its work.
var ErrConflict = errors.New("store: conflict: written by someone else since it was read")

// Store is the port. Every write returns nil only once it is durable.
type Store interface {
	// PostEvents gives the event each already-assigned post belongs to;
	// posts never assigned are absent from the map.
	PostEvents(ctx context.Context, postIDs []string) (map[string]string, error)
	// GetEvents gives the events that exist among ids.
	GetEvents(ctx context.Context, ids []string) (map[string]domain.Event, error)
	GetEvent(ctx context.Context, id string) (domain.Event, error)
	// SaveEvents writes events and records the post → event assignments, in
	// one transaction, with optimistic concurrency: an event with Version 0
	// must not exist yet, any other must still have that Version in the
	// store, and no post may be assigned already; otherwise nothing is
	// written and the error is ErrConflict. On success each written event's
	// Version in the slice is the new stored version (one more).
	SaveEvents(ctx context.Context, events []domain.Event, assign map[string]string) error
	// ListEvents lists events, hottest first by default.
	ListEvents(ctx context.Context, f EventFilter) ([]domain.Event, error)

	// CreateCase stores a new case with its first action unless the event
	// already has a case; it reports whether it created one and returns the
	// case that is stored for the event either way. The notifications (the
	// case opened) go to the outbox in the same transaction, only when the
	// case is created.
	CreateCase(ctx context.Context, c domain.Case, first domain.Action, out ...Notification) (domain.Case, bool, error)
	GetCase(ctx context.Context, id string) (domain.Case, error) // with its actions
	CaseForEvent(ctx context.Context, eventID string) (domain.Case, error)
	ListCases(ctx context.Context, f CaseFilter) ([]domain.Case, error)
	// UpdateCase writes the case and appends the action to its trail, in one
	// transaction with the notifications it causes (outbox). The action's
	// ID is set by the store.
	UpdateCase(ctx context.Context, c domain.Case, a domain.Action, out ...Notification) (domain.Action, error)

	// AddAction appends an action to a case's trail without changing the
	// case (notifications delivered or failed). The action's ID is set by
	// the store.
	AddAction(ctx context.Context, caseID string, a domain.Action) (domain.Action, error)

	// ScheduleDue replaces a case's unfired due moments with these (called
	// whenever its clocks change). Moments already fired stay fired: giving
	// a fired key again schedules nothing.
	ScheduleDue(ctx context.Context, caseID string, due []domain.Due) error
	// DueBefore lists unfired moments at or before t, earliest first.
	DueBefore(ctx context.Context, t time.Time, limit int) ([]domain.Due, error)
	// NextDue gives the earliest unfired moment; ok is false when none.
	NextDue(ctx context.Context) (at time.Time, ok bool, err error)
	// FireDue marks a moment fired and appends the action to its case, in
	// one transaction with the notifications it causes (outbox). It reports
	// false, writing nothing, when the moment was fired already or is no
	// longer scheduled (by another process, or its clock stopped): each
	// moment fires once across all processes, and so do its notifications.
	FireDue(ctx context.Context, d domain.Due, a domain.Action, out ...Notification) (domain.Action, bool, error)

	Outbox

	PutUnits(ctx context.Context, units []domain.Unit) error
	ListUnits(ctx context.Context) ([]domain.Unit, error)
	// DeleteUnit removes a unit (ErrNotFound if there is none); its cases
	// keep the unit's id and name.
	DeleteUnit(ctx context.Context, id string) error

	PutRecord(ctx context.Context, r domain.Record) error
	ListRecords(ctx context.Context, f RecordFilter) ([]domain.Record, error)

	Close() error
}

// EventFilter selects events. Zero values do not filter.
type EventFilter struct {
	MinGrade domain.Grade // only events graded this severe or more
	Since    time.Time    // LastAt at or after
	// WrittenSince: only events written to the store at or after this wall
	// time (by any process), so an analyzer can pick up the others' events.
	WrittenSince time.Time
	// AfterID: only events whose id sorts after this one; with Sort "id",
	// pages through every event in a way concurrent writes cannot upset.
	AfterID string
	Sort    string // "heat" (default), "recent" (LastAt, newest first) or "id"
	Limit   int    // 0 means 50
}

// CaseFilter selects cases. Zero values do not filter.
type CaseFilter struct {
	Status string
	UnitID string
	// Units, if set, keeps the cases of any of these units (a unit and
	// every unit below it, for GET /cases?unit=…&subtree=1).
	Units []string
	Open  bool         // only cases not closed
	Grade domain.Grade // the grade in force; GradeNone is any
	// From and To keep the cases opened in [From, To); zero is unbounded.
	From, To time.Time
	Limit    int // 0 means 100
}

// RecordFilter selects records. Zero values do not filter.
type RecordFilter struct {
	Kind   string
	CaseID string
	UnitID string
	Limit  int // 0 means 100
}
