package sqlitestore

// migrations is the schema history, oldest first: migration i+1 is
// migrations[i]. A migration is never edited once released; a change is a new
// entry. The statements keep to SQL that a PostgreSQL backend can mirror one
// for one (TEXT, BIGINT, DOUBLE PRECISION, partial indexes); only the ids of
// actions and notifications differ (AUTOINCREMENT here, an identity column
// there). Times are stored as Unix nanoseconds in the indexed columns and in
// full in the JSON.
var migrations = []string{
	// 1: events, assignments, cases with their audit trail, units, records.
	`
CREATE TABLE events (
	id      TEXT PRIMARY KEY,
	heat    DOUBLE PRECISION NOT NULL,
	grade   INTEGER NOT NULL,
	last_at BIGINT NOT NULL,
	data    TEXT NOT NULL
);
CREATE INDEX events_heat ON events (heat DESC, id);
CREATE INDEX events_last_at ON events (last_at DESC, id);

CREATE TABLE post_events (
	post_id  TEXT PRIMARY KEY,
	event_id TEXT NOT NULL
);

CREATE TABLE cases (
	id         TEXT PRIMARY KEY,
	event_id   TEXT NOT NULL,
	status     TEXT NOT NULL,
	unit_id    TEXT NOT NULL,
	grade      INTEGER NOT NULL,
	created_at BIGINT NOT NULL,
	updated_at BIGINT NOT NULL,
	data       TEXT NOT NULL
);
CREATE UNIQUE INDEX cases_event_id ON cases (event_id);
CREATE INDEX cases_status ON cases (status, created_at DESC);
CREATE INDEX cases_unit ON cases (unit_id, created_at DESC);
CREATE INDEX cases_created ON cases (created_at DESC, id);

CREATE TABLE case_actions (
	id           INTEGER PRIMARY KEY AUTOINCREMENT,
	case_id      TEXT NOT NULL REFERENCES cases (id),
	kind         TEXT NOT NULL,
	actor        TEXT NOT NULL,
	note         TEXT NOT NULL,
	evidence_url TEXT NOT NULL,
	at           BIGINT NOT NULL
);
CREATE INDEX case_actions_case ON case_actions (case_id, id);

CREATE TABLE units (
	id        TEXT PRIMARY KEY,
	parent_id TEXT NOT NULL,
	name      TEXT NOT NULL,
	data      TEXT NOT NULL
);

CREATE TABLE records (
	id           TEXT PRIMARY KEY,
	kind         TEXT NOT NULL,
	case_id      TEXT NOT NULL,
	unit_id      TEXT NOT NULL,
	published_at BIGINT NOT NULL,
	data         TEXT NOT NULL
);
CREATE INDEX records_kind ON records (kind, published_at DESC);
CREATE INDEX records_case ON records (case_id) WHERE case_id <> '';
CREATE INDEX records_unit ON records (unit_id, published_at DESC);
`,
	// 2: optimistic concurrency on events, so that several analyzer
	// processes can share them: a write names the version it read.
	`
ALTER TABLE events ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
`,
	// 3: when each event was last written (wall time of the writer), so
	// that analyzers sharing the store can pick up each other's events.
	`
ALTER TABLE events ADD COLUMN written_at BIGINT NOT NULL DEFAULT 0;
CREATE INDEX events_written_at ON events (written_at);
`,
	// 4: the moments at which alerting acts on running clocks (reminders,
	// deadlines), each fired once across processes (fired_at <> 0).
	`
CREATE TABLE case_due (
	key      TEXT PRIMARY KEY,
	case_id  TEXT NOT NULL REFERENCES cases (id),
	clock    TEXT NOT NULL,
	kind     TEXT NOT NULL,
	at       BIGINT NOT NULL,
	due_at   BIGINT NOT NULL,
	fired_at BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX case_due_pending ON case_due (at) WHERE fired_at = 0;
CREATE INDEX case_due_case ON case_due (case_id);
`,
	// 5: where each action came from (the audit trail's "from where").
	`
ALTER TABLE case_actions ADD COLUMN origin TEXT NOT NULL DEFAULT '';
`,
	// 6: the outbox: every notification a case action causes, written in
	// the action's transaction, pending until a notifier has sent it or
	// given up (at-least-once delivery; key is the idempotency key).
	`
CREATE TABLE notifications (
	id          INTEGER PRIMARY KEY AUTOINCREMENT,
	key         TEXT NOT NULL,
	case_id     TEXT NOT NULL,
	channel     TEXT NOT NULL,
	status      TEXT NOT NULL DEFAULT 'pending',
	attempts    INTEGER NOT NULL DEFAULT 0,
	next_at     BIGINT NOT NULL,
	lease_owner TEXT NOT NULL DEFAULT '',
	lease_until BIGINT NOT NULL DEFAULT 0,
	created_at  BIGINT NOT NULL,
	done_at     BIGINT NOT NULL DEFAULT 0,
	last_error  TEXT NOT NULL DEFAULT '',
	data        TEXT NOT NULL
);
CREATE UNIQUE INDEX notifications_key ON notifications (key);
CREATE INDEX notifications_due ON notifications (next_at, id) WHERE status = 'pending';
CREATE INDEX notifications_case ON notifications (case_id, id);
`,
}
