// Package sqlitebus is the embedded backend of the Bus port (yuqing/ingest/bus):
// a durable, partitioned on-disk log kept in one SQLite database in WAL mode,
// with consumer groups whose committed offsets live in the same database.
//
// # Durability
//
// Publish and Ack return nil only after the SQLite transaction holding them has
// committed. One writer goroutine gathers the pending appends and acks of all
// callers into a single transaction (group commit), so the cost of the commit
// and its fsync is shared by everyone waiting at that moment. When the queue
// of pending requests is full, callers wait (backpressure); nothing is dropped.
// If a caller's context ends before the writer took its request, nothing of it
// is written and the context's error is returned; once taken, the call waits
// for the commit (a few milliseconds) and reports its outcome.
//
// With the default synchronous=FULL, SQLite fsyncs the write-ahead log at every
// commit: a committed message survives a crash of the process (kill -9) and a
// crash of the operating system or a power cut. WithSynchronousNormal switches
// to synchronous=NORMAL: the log is fsynced only at checkpoints, so a committed
// message still survives a crash of the process, but the last transactions
// before an OS crash or a power cut may be lost (the database stays
// consistent). Use it only where that loss is acceptable.
//
// # Partitions and order
//
// A topic has n partitions (WithPartitions, default 4, fixed when the database
// is created). A message with a key goes to partition fnv1a32(key) % n, so all
// messages of one key keep their order. A message with an empty key has no
// order to keep: empty-key messages are spread round-robin over the partitions.
// Offsets are per partition, dense, start at 0 and are never reused, even after
// retention deleted the messages that carried them. A message's row id packs
// (topic, partition, offset), so a partition is one contiguous range of the
// table's B-tree and no secondary index is kept; this bounds a database to
// 1023 topics, 256 partitions and 2^45 messages per partition.
//
// # Consumer groups
//
// Each group has a committed offset per partition (the next offset to deliver
// after a restart). A Subscription delivers from its own in-memory position,
// which starts at the committed offset; Ack moves the committed offset forward
// (never back). Unacknowledged messages are therefore delivered again after a
// reopen or to a later Subscription of the same group: delivery is at least
// once.
//
// Several live Subscriptions of one group in one process share the partitions:
// partition p belongs to the (p mod k)-th of the k members in joining order,
// and the split is recomputed whenever a member joins or leaves. A partition
// that moves away from a member still holding unacknowledged deliveries of it
// is fenced: its new owner starts reading it only once the old owner has
// acknowledged those deliveries or closed (in which case the unacknowledged
// ones are delivered again to the new owner). So two members never hold the
// same message at the same time; the price is that a member which neither
// acknowledges nor closes holds up the partitions it lost. Separate processes
// must not open the same database: the log is embedded, for one process.
//
// # Retention
//
// A background sweep (WithRetention, default 24h) deletes the messages that
// every consumer group known to the database for the topic has acknowledged
// and whose Time is older than the retention. A topic that no group has ever
// subscribed to keeps all of its messages, since a group joining later starts
// from the oldest message kept.
package sqlitebus

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	_ "github.com/mattn/go-sqlite3" // database/sql driver "sqlite3"

	"yuqing/ingest/bus"
)

// Defaults of the options.
const (
	DefaultPartitions = 4
	DefaultRetention  = 24 * time.Hour
	DefaultQueue      = 4096
	defaultMaxBatch   = 8192
	pollFallback      = 250 * time.Millisecond
	retentionChunk    = 20000
	insertChunk       = 32 // rows per multi-row INSERT
)

// Option changes how Open sets up the bus.
type Option func(*config)

type config struct {
	partitions     int
	partitionsSet  bool
	logger         *slog.Logger
	retention      time.Duration
	retentionEvery time.Duration
	syncNormal     bool
	queue          int
	maxBatch       int
}

// WithPartitions sets how many partitions each topic has (default 4). It only
// takes effect when the database is created; an existing database keeps the
// number it was created with (a different request is logged and ignored), so
// that one key always lands in the same partition.
func WithPartitions(n int) Option {
	return func(c *config) { c.partitions, c.partitionsSet = n, true }
}

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithRetention sets how long acknowledged messages are kept (default 24h).
// A duration <= 0 turns retention off: nothing is ever deleted.
func WithRetention(d time.Duration) Option {
	return func(c *config) { c.retention = d }
}

// WithRetentionInterval sets how often the retention sweep runs (default a
// tenth of the retention, between 1s and 5m).
func WithRetentionInterval(d time.Duration) Option {
	return func(c *config) { c.retentionEvery = d }
}

// WithSynchronousNormal uses synchronous=NORMAL instead of FULL: faster
// commits, but a committed message survives only a crash of the process, not
// a crash of the OS or a power cut (see the package doc).
func WithSynchronousNormal() Option {
	return func(c *config) { c.syncNormal = true }
}

// WithQueueSize sets how many Publish/Ack requests may wait for the writer
// before callers block (default 4096).
func WithQueueSize(n int) Option {
	return func(c *config) { c.queue = n }
}

// WithMaxBatch sets how many messages at most go into one transaction
// (default 8192).
func WithMaxBatch(n int) Option {
	return func(c *config) { c.maxBatch = n }
}

const schema = `
CREATE TABLE IF NOT EXISTS meta(k TEXT PRIMARY KEY, v TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS topics(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS messages(
	id    INTEGER PRIMARY KEY, -- topic id << 53 | partition << 45 | offset
	key   TEXT NOT NULL,
	value BLOB,
	ts    INTEGER NOT NULL     -- Message.Time, Unix nanoseconds
);
CREATE TABLE IF NOT EXISTS heads(
	topic TEXT NOT NULL,
	part  INTEGER NOT NULL,
	next  INTEGER NOT NULL,
	PRIMARY KEY(topic, part)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS offsets(
	grp   TEXT NOT NULL,
	topic TEXT NOT NULL,
	part  INTEGER NOT NULL,
	next  INTEGER NOT NULL,
	PRIMARY KEY(grp, topic, part)
) WITHOUT ROWID;
`

// A message's row id packs its position, so that a partition is one range of
// the table's own B-tree: appends, reads and deletes never touch an index.
const (
	topicShift    = 53
	partShift     = 45
	maxTopics     = 1 << (63 - topicShift) // topic ids 1..1023
	maxPartitions = 1 << (topicShift - partShift)
	offsetMask    = 1<<partShift - 1
)

// rowID is the row id of a message.
func rowID(topic int64, part int, off int64) int64 {
	return topic<<topicShift | int64(part)<<partShift | off
}

// Bus is the SQLite backend of bus.Bus. It is safe for concurrent use.
type Bus struct {
	path       string
	partitions int
	log        *slog.Logger
	maxBatch   int

	wdb  *sql.DB   // one connection, used only by the writer goroutine
	rdb  *sql.DB   // readers
	ins  *sql.Stmt // one row
	insN *sql.Stmt // insertChunk rows
	sel  *sql.Stmt

	jobs       chan *job
	quit       chan struct{} // closed by Close
	writerDone chan struct{}
	bg         sync.WaitGroup
	closeOnce  sync.Once
	closeErr   error
	life       sync.RWMutex // held for reading around queries; Close takes it to close the DBs

	mu      sync.Mutex
	topics  map[string]*topicState
	groups  map[string]*group
	changed chan struct{} // closed and replaced on every commit or rebalance

	subMu sync.Mutex // serialises Subscribe and Subscription.Close

	rr   int   // round-robin counter for empty keys; writer goroutine only
	args []any // insert arguments; writer goroutine only
}

// topicState holds the next offset of each partition of a topic, as committed.
type topicState struct {
	id    int64
	name  string
	heads []atomic.Int64
}

const (
	jobPending int32 = iota
	jobTaken
	jobCancelled
)

// job is one request to the writer: an append (topic, msgs) or some other
// write (apply), committed together with the other pending jobs.
type job struct {
	state atomic.Int32
	topic *topicState
	msgs  []bus.Message
	apply func(tx *sql.Tx) error
	done  chan error
}

var _ bus.Bus = (*Bus)(nil)

// Open opens (creating if needed) the log at path and starts its writer and
// retention goroutines. Close releases them.
func Open(path string, opts ...Option) (*Bus, error) {
	cfg := config{
		partitions: DefaultPartitions,
		logger:     slog.Default(),
		retention:  DefaultRetention,
		queue:      DefaultQueue,
		maxBatch:   defaultMaxBatch,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.partitions < 1 || cfg.partitions > maxPartitions {
		return nil, fmt.Errorf("sqlitebus: open %s: partitions must be 1..%d, got %d", path, maxPartitions, cfg.partitions)
	}
	if cfg.queue < 1 {
		cfg.queue = 1
	}
	if cfg.maxBatch < 1 {
		cfg.maxBatch = 1
	}
	if cfg.logger == nil {
		cfg.logger = slog.Default()
	}
	syncMode := "FULL"
	if cfg.syncNormal {
		syncMode = "NORMAL"
	}
	dsn := "file:" + path + "?_journal_mode=WAL&_synchronous=" + syncMode + "&_busy_timeout=10000&_txlock=immediate&_cache_size=-32000"
	wdb, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlitebus: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	b := &Bus{
		path:       path,
		log:        cfg.logger.With("component", "sqlitebus", "path", path),
		maxBatch:   cfg.maxBatch,
		wdb:        wdb,
		jobs:       make(chan *job, cfg.queue),
		quit:       make(chan struct{}),
		writerDone: make(chan struct{}),
		args:       make([]any, 0, 4*insertChunk*8),
		topics:     map[string]*topicState{},
		groups:     map[string]*group{},
		changed:    make(chan struct{}),
	}
	if err := b.init(cfg); err != nil {
		wdb.Close()
		if b.rdb != nil {
			b.rdb.Close()
		}
		return nil, err
	}
	go b.writeLoop()
	if cfg.retention > 0 {
		every := cfg.retentionEvery
		if every <= 0 {
			every = min(max(cfg.retention/10, time.Second), 5*time.Minute)
		}
		b.bg.Add(1)
		go b.retentionLoop(cfg.retention, every)
	}
	return b, nil
}

func (b *Bus) init(cfg config) error {
	var mode string
	if err := b.wdb.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil {
		return fmt.Errorf("sqlitebus: open %s: %w", b.path, err)
	}
	if mode != "wal" {
		return fmt.Errorf("sqlitebus: open %s: journal mode is %q, want wal", b.path, mode)
	}
	if _, err := b.wdb.Exec(schema); err != nil {
		return fmt.Errorf("sqlitebus: create schema in %s: %w", b.path, err)
	}
	// The partition count is fixed at creation.
	if _, err := b.wdb.Exec(`INSERT OR IGNORE INTO meta(k, v) VALUES('partitions', ?)`, strconv.Itoa(cfg.partitions)); err != nil {
		return fmt.Errorf("sqlitebus: write meta in %s: %w", b.path, err)
	}
	var v string
	if err := b.wdb.QueryRow(`SELECT v FROM meta WHERE k = 'partitions'`).Scan(&v); err != nil {
		return fmt.Errorf("sqlitebus: read meta in %s: %w", b.path, err)
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return fmt.Errorf("sqlitebus: %s: bad partition count %q in meta", b.path, v)
	}
	if cfg.partitionsSet && n != cfg.partitions {
		b.log.Warn("partition count fixed at creation; requested count ignored", "partitions", n, "requested", cfg.partitions)
	}
	b.partitions = n

	if n > maxPartitions {
		return fmt.Errorf("sqlitebus: %s: partition count %d in meta above %d", b.path, n, maxPartitions)
	}
	trows, err := b.wdb.Query(`SELECT id, name FROM topics`)
	if err != nil {
		return fmt.Errorf("sqlitebus: read topics in %s: %w", b.path, err)
	}
	for trows.Next() {
		var id int64
		var name string
		if err := trows.Scan(&id, &name); err != nil {
			trows.Close()
			return fmt.Errorf("sqlitebus: read topics in %s: %w", b.path, err)
		}
		b.topics[name] = &topicState{id: id, name: name, heads: make([]atomic.Int64, n)}
	}
	trows.Close()
	if err := trows.Err(); err != nil {
		return fmt.Errorf("sqlitebus: read topics in %s: %w", b.path, err)
	}
	rows, err := b.wdb.Query(`SELECT topic, part, next FROM heads`)
	if err != nil {
		return fmt.Errorf("sqlitebus: read heads in %s: %w", b.path, err)
	}
	for rows.Next() {
		var topic string
		var part int
		var next int64
		if err := rows.Scan(&topic, &part, &next); err != nil {
			rows.Close()
			return fmt.Errorf("sqlitebus: read heads in %s: %w", b.path, err)
		}
		if ts := b.topics[topic]; ts != nil && part >= 0 && part < n {
			ts.heads[part].Store(next)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("sqlitebus: read heads in %s: %w", b.path, err)
	}
	if b.ins, err = b.wdb.Prepare(`INSERT INTO messages(id, key, value, ts) VALUES(?, ?, ?, ?)`); err != nil {
		return fmt.Errorf("sqlitebus: prepare insert in %s: %w", b.path, err)
	}
	if b.insN, err = b.wdb.Prepare(`INSERT INTO messages(id, key, value, ts) VALUES(?, ?, ?, ?)` +
		strings.Repeat(`, (?, ?, ?, ?)`, insertChunk-1)); err != nil {
		return fmt.Errorf("sqlitebus: prepare insert in %s: %w", b.path, err)
	}

	b.rdb, err = sql.Open("sqlite3", "file:"+b.path+"?_journal_mode=WAL&_busy_timeout=10000&_query_only=1&_cache_size=-16000")
	if err != nil {
		return fmt.Errorf("sqlitebus: open reader of %s: %w", b.path, err)
	}
	b.rdb.SetMaxOpenConns(4)
	b.rdb.SetMaxIdleConns(4)
	if b.sel, err = b.rdb.Prepare(`SELECT id, key, value, ts FROM messages WHERE id >= ? AND id < ? ORDER BY id LIMIT ?`); err != nil {
		return fmt.Errorf("sqlitebus: prepare select in %s: %w", b.path, err)
	}
	return nil
}

// Partitions is the number of partitions of every topic.
func (b *Bus) Partitions() int { return b.partitions }

// topic returns the state of a topic, registering it on first use.
func (b *Bus) topic(ctx context.Context, name string) (*topicState, error) {
	b.mu.Lock()
	ts := b.topics[name]
	b.mu.Unlock()
	if ts != nil {
		return ts, nil
	}
	var id int64
	err := b.exec(ctx, func(tx *sql.Tx) error {
		if _, err := tx.Exec(`INSERT OR IGNORE INTO topics(name) VALUES(?)`, name); err != nil {
			return fmt.Errorf("register topic %q in %s: %w", name, b.path, err)
		}
		if err := tx.QueryRow(`SELECT id FROM topics WHERE name = ?`, name).Scan(&id); err != nil {
			return fmt.Errorf("register topic %q in %s: %w", name, b.path, err)
		}
		if id < 1 || id >= maxTopics {
			return fmt.Errorf("topic %q: no more than %d topics per database", name, maxTopics-1)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if ts = b.topics[name]; ts == nil {
		ts = &topicState{id: id, name: name, heads: make([]atomic.Int64, b.partitions)}
		b.topics[name] = ts
	}
	return ts, nil
}

// changedCh returns the channel closed at the next commit or rebalance.
func (b *Bus) changedCh() <-chan struct{} {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.changed
}

func (b *Bus) broadcast() {
	b.mu.Lock()
	close(b.changed)
	b.changed = make(chan struct{})
	b.mu.Unlock()
}

func (b *Bus) isClosed() bool {
	select {
	case <-b.quit:
		return true
	default:
		return false
	}
}

// Publish appends msgs to topic and returns once they are committed. The bus
// sets Topic, Partition, Offset (and Time when it was zero) on the elements of
// msgs. If ctx ends before the writer took the messages, none of them is
// written and ctx's error is returned; once taken, Publish waits for the
// commit.
func (b *Bus) Publish(ctx context.Context, topic string, msgs ...bus.Message) error {
	if topic == "" {
		return errors.New("sqlitebus: publish: empty topic")
	}
	if b.isClosed() {
		return fmt.Errorf("sqlitebus: publish to %q: %w", topic, bus.ErrClosed)
	}
	if len(msgs) == 0 {
		return nil
	}
	ts, err := b.topic(ctx, topic)
	if err == nil {
		err = b.submit(ctx, &job{topic: ts, msgs: msgs})
	}
	if err != nil {
		return fmt.Errorf("sqlitebus: publish %d messages to %q: %w", len(msgs), topic, err)
	}
	return nil
}

// submit queues j for the writer and waits for its commit.
func (b *Bus) submit(ctx context.Context, j *job) error {
	j.done = make(chan error, 1)
	select {
	case b.jobs <- j:
	case <-ctx.Done():
		return ctx.Err()
	case <-b.quit:
		return bus.ErrClosed
	}
	select {
	case err := <-j.done:
		return err
	case <-ctx.Done():
		if j.state.CompareAndSwap(jobPending, jobCancelled) {
			return ctx.Err()
		}
		return <-j.done
	case <-b.writerDone:
		if j.state.CompareAndSwap(jobPending, jobCancelled) {
			return bus.ErrClosed
		}
		return <-j.done
	}
}

// writeLoop is the single writer: it gathers pending jobs into one
// transaction, commits, then releases every caller.
func (b *Bus) writeLoop() {
	defer close(b.writerDone)
	batch := make([]*job, 0, 256)
	lastJobs := 0
	for {
		batch = batch[:0]
		var first *job
		select {
		case first = <-b.jobs:
		case <-b.quit:
			// Commit what was queued before Close, then stop.
			for {
				select {
				case j := <-b.jobs:
					batch = append(batch, j)
					continue
				default:
				}
				break
			}
			if len(batch) > 0 {
				b.commit(batch)
			}
			return
		}
		batch = append(batch, first)
		n := len(first.msgs) + 1
		// Gather what is queued. When the last commit served several
		// callers, they are likely about to send again: yield a few times so
		// that they can, which fills the transaction instead of committing
		// a half-empty one.
		yields := 0
		if lastJobs > 1 {
			yields = 3
		}
	gather:
		for n < b.maxBatch {
			select {
			case j := <-b.jobs:
				batch = append(batch, j)
				n += len(j.msgs) + 1
			default:
				if yields == 0 {
					break gather
				}
				yields--
				runtime.Gosched()
			}
		}
		lastJobs = len(batch)
		b.commit(batch)
	}
}

// commit runs the taken jobs of batch in one transaction; if that fails, it
// runs each job alone so that one bad job does not fail the others.
func (b *Bus) commit(batch []*job) {
	taken := batch[:0]
	for _, j := range batch {
		if j.state.CompareAndSwap(jobPending, jobTaken) {
			taken = append(taken, j)
		}
	}
	if len(taken) == 0 {
		return
	}
	err := b.runTx(taken)
	if err != nil && len(taken) > 1 {
		b.log.Warn("group commit failed; retrying requests one by one", "requests", len(taken), "err", err)
		for _, j := range taken {
			if err := b.runTx([]*job{j}); err != nil {
				b.log.Error("write failed", "messages", len(j.msgs), "err", err)
				j.done <- err
			} else {
				j.done <- nil
			}
		}
		b.broadcast()
		return
	}
	if err != nil {
		b.log.Error("write failed", "err", err)
	}
	for _, j := range taken {
		j.done <- err
	}
	if err == nil {
		b.broadcast()
	}
}

type headKey struct {
	ts   *topicState
	part int
}

func (b *Bus) runTx(jobs []*job) (err error) {
	tx, err := b.wdb.Begin()
	if err != nil {
		return fmt.Errorf("begin transaction on %s: %w", b.path, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	ins, insN := tx.Stmt(b.ins), tx.Stmt(b.insN)
	args := b.args[:0]
	// flush inserts the rows gathered in args: full chunks with one
	// statement each, the rest one by one.
	flush := func() error {
		a := args
		for ; len(a) >= 4*insertChunk; a = a[4*insertChunk:] {
			if _, err := insN.Exec(a[:4*insertChunk]...); err != nil {
				return fmt.Errorf("insert into %s: %w", b.path, err)
			}
		}
		for ; len(a) > 0; a = a[4:] {
			if _, err := ins.Exec(a[:4]...); err != nil {
				return fmt.Errorf("insert into %s: %w", b.path, err)
			}
		}
		args = args[:0]
		return nil
	}
	next := map[headKey]int64{}
	now := time.Now()
	rr := b.rr
	for _, j := range jobs {
		if j.apply != nil {
			if err := flush(); err != nil {
				return err
			}
			if err := j.apply(tx); err != nil {
				return err
			}
			continue
		}
		ts := j.topic
		for i := range j.msgs {
			m := &j.msgs[i]
			p := 0
			if m.Key == "" {
				p = rr % b.partitions
				rr++
			} else {
				p = partitionOf(m.Key, b.partitions)
			}
			k := headKey{ts, p}
			off, ok := next[k]
			if !ok {
				off = ts.heads[p].Load()
			}
			if off > offsetMask {
				return fmt.Errorf("topic %q partition %d is full (%d messages)", ts.name, p, off)
			}
			if m.Time.IsZero() {
				m.Time = now
			}
			args = append(args, rowID(ts.id, p, off), m.Key, m.Value, m.Time.UnixNano())
			if len(args) == cap(args) {
				if err := flush(); err != nil {
					return err
				}
			}
			next[k] = off + 1
			m.Topic, m.Partition, m.Offset = ts.name, p, off
		}
	}
	if err := flush(); err != nil {
		return err
	}
	clear(b.args[:cap(b.args)])
	for k, n := range next {
		if _, err := tx.Exec(`INSERT INTO heads(topic, part, next) VALUES(?, ?, ?)
			ON CONFLICT(topic, part) DO UPDATE SET next = excluded.next`, k.ts.name, k.part, n); err != nil {
			return fmt.Errorf("update heads in %s: %w", b.path, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit on %s: %w", b.path, err)
	}
	b.rr = rr
	for k, n := range next {
		k.ts.heads[k.part].Store(n)
	}
	return nil
}

// partitionOf maps a non-empty key to its partition.
func partitionOf(key string, n int) int {
	h := fnv.New32a()
	h.Write([]byte(key))
	return int(h.Sum32() % uint32(n))
}

// exec runs fn in the writer's transaction and waits for its commit.
func (b *Bus) exec(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if b.isClosed() {
		return bus.ErrClosed
	}
	return b.submit(ctx, &job{apply: fn})
}

// Close stops the writer and retention goroutines, after committing what was
// already queued, and closes the database. Pending and later calls return
// bus.ErrClosed. Close is idempotent.
func (b *Bus) Close() error {
	b.closeOnce.Do(func() {
		close(b.quit)
		b.bg.Wait()
		<-b.writerDone
		b.life.Lock()
		defer b.life.Unlock()
		errs := []error{b.ins.Close(), b.insN.Close(), b.sel.Close(), b.rdb.Close()}
		// Fold the WAL back into the database on a clean close.
		if _, err := b.wdb.Exec(`PRAGMA wal_checkpoint(TRUNCATE)`); err != nil {
			b.log.Warn("checkpoint on close failed", "err", err)
		}
		errs = append(errs, b.wdb.Close())
		if err := errors.Join(errs...); err != nil {
			b.closeErr = fmt.Errorf("sqlitebus: close %s: %w", b.path, err)
		}
		b.broadcast()
	})
	return b.closeErr
}

// retentionLoop deletes acknowledged, old messages every interval.
func (b *Bus) retentionLoop(keep, every time.Duration) {
	defer b.bg.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-b.quit:
			return
		case <-t.C:
		}
		n, err := b.sweep(keep)
		switch {
		case err != nil && !errors.Is(err, bus.ErrClosed):
			b.log.Error("retention sweep failed", "err", err)
		case n > 0:
			b.log.Info("retention sweep", "deleted", n)
		}
	}
}

// sweep deletes, in chunks, the messages acknowledged by every group of their
// topic and older than keep. It returns how many it deleted.
func (b *Bus) sweep(keep time.Duration) (int64, error) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-b.quit:
			cancel()
		case <-ctx.Done():
		}
	}()
	type bound struct {
		topic string
		part  int
		upto  int64
	}
	var bounds []bound
	err := b.withReader(func() error {
		rows, err := b.rdb.QueryContext(ctx, `SELECT topic, part, MIN(next) FROM offsets GROUP BY topic, part`)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var x bound
			if err := rows.Scan(&x.topic, &x.part, &x.upto); err != nil {
				return err
			}
			bounds = append(bounds, x)
		}
		return rows.Err()
	})
	if err != nil {
		return 0, fmt.Errorf("sqlitebus: retention on %s: %w", b.path, err)
	}
	cutoff := time.Now().Add(-keep).UnixNano()
	var total int64
	for _, x := range bounds {
		b.mu.Lock()
		ts := b.topics[x.topic]
		b.mu.Unlock()
		if ts == nil || x.part < 0 || x.part >= b.partitions {
			continue
		}
		base := rowID(ts.id, x.part, 0)
		var low sql.NullInt64
		err := b.withReader(func() error {
			return b.rdb.QueryRowContext(ctx, `SELECT MIN(id) - ? FROM messages WHERE id >= ? AND id < ?`,
				base, base, rowID(ts.id, x.part+1, 0)).Scan(&low)
		})
		if err != nil {
			return total, fmt.Errorf("sqlitebus: retention on %s: %w", b.path, err)
		}
		for lo := low.Int64; low.Valid && lo < x.upto; lo += retentionChunk {
			hi := min(lo+retentionChunk, x.upto)
			var n int64
			err := b.exec(ctx, func(tx *sql.Tx) error {
				res, err := tx.Exec(`DELETE FROM messages WHERE id >= ? AND id < ? AND ts < ?`,
					base+lo, base+hi, cutoff)
				if err != nil {
					return fmt.Errorf("retention delete on %s: %w", b.path, err)
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return total, err
			}
			total += n
			if n == 0 {
				break // the rest is younger than the cutoff
			}
		}
	}
	return total, nil
}

// withReader runs fn while the reader database is open, or returns ErrClosed.
func (b *Bus) withReader(fn func() error) error {
	b.life.RLock()
	defer b.life.RUnlock()
	if b.isClosed() {
		return bus.ErrClosed
	}
	return fn()
}
