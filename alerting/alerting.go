// Package alerting turns graded events into cases and runs the case workflow
// (收集、会商、研判、回应、评估): it opens a case for each event graded severe
// enough, routes it to the responsible unit on the organisation tree, starts
// the legal clocks (5h/24h for grades I and II, 48h for III and IV), raises
// the grade while staff have not assessed it, and records every action taken
// on a case with who and when. Run consumes the analyzer's event stream and
// acknowledges messages only once the store holds their effect.
package alerting

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"yuqing/alerting/deadline"
	"yuqing/alerting/orgtree"
	"yuqing/alerting/store"
	"yuqing/domain"
)

// SystemActor is the actor of the actions the alerter records by itself.
const SystemActor = "system"

// Config decides which events become cases.
type Config struct {
	// MinGrade is the least severe grade that opens a case; the default,
	// GradeIV, opens one for any graded event.
	MinGrade domain.Grade
	// MinHeat is the least heat that opens a case (default 0).
	MinHeat float64
	// Now gives the wall time of detection and of actions (default time.Now).
	Now func() time.Time
	// Policy gives the clocks of a case (default deadline.Default(): 5h and
	// 24h for grades I and II, 48h for III and IV, reminders at half and
	// four-fifths of each period).
	Policy *deadline.Policy
}

// Option configures an Alerter.
type Option func(*Alerter)

// WithLogger sets the logger (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(a *Alerter) { a.log = l } }

// WithBackoff sets the first and the longest wait between retries of a failed
// store write or bus call in Run (default 100ms and 10s).
func WithBackoff(first, longest time.Duration) Option {
	return func(a *Alerter) { a.backoffMin, a.backoffMax = first, longest }
}

// Notice kinds: what a notification tells.
const (
	NoticeOpened      = "opened"      // a case opened (by the system or by hand)
	NoticeTransferred = "transferred" // a case handed to another unit (transfer, escalate)
	NoticeRemind      = domain.DueRemind
	NoticeOverdue     = domain.DueOverdue // to the unit, its superior (and the propaganda department)
)

// Notice is something people are told about a case. The Alerter writes the
// notifications it gives (WithNotices) to the store's outbox in the same
// transaction as the action that causes it, so that neither exists without
// the other; a notifier drains the outbox.
type Notice struct {
	Case domain.Case // as written by the action
	// Key names the occurrence: the same occurrence gives the same key
	// (the case and its due moment, or the action), so that whoever writes
	// it, it is written once.
	Key   string
	Kind  string        // NoticeOpened, NoticeTransferred, NoticeRemind, NoticeOverdue
	Note  string        // the action's note
	Units []domain.Unit // whom to tell
	At    time.Time     // when (the action's time)
}

// WithNotices sets how notices become outbox rows (default: none are
// written). fn runs inside the case's lock, before the write; it must not
// call the store.
func WithNotices(fn func(Notice) []store.Notification) Option {
	return func(a *Alerter) { a.notices = fn }
}

// Alerter opens cases for events and applies people's actions to them.
type Alerter struct {
	st      store.Store
	tree    *orgtree.Tree
	cfg     Config
	log     *slog.Logger
	notices func(Notice) []store.Notification

	backoffMin, backoffMax time.Duration

	seed  maphash.Seed
	locks [64]sync.Mutex // striped by case id: one read-modify-write at a time per case

	// proposed remembers, per event with a case, the case's proposed grade
	// as last seen. Only the alerter raises a proposed grade, so a snapshot
	// not more severe than this needs no store read in Run (see handle).
	mu       sync.Mutex
	proposed map[string]memo

	wake chan struct{} // new due moments were scheduled by this process (RunDue)
}

// maxProposed bounds the proposed-grade memory; it is cleared when full.
const maxProposed = 200_000

// memo is what the alerter remembers of an event's case: its proposed
// grade, and for a closed case the heat at which a secondary wave reopens it.
type memo struct {
	grade      domain.Grade
	reopenHeat float64
	at         time.Time
}

// memoTTL bounds how long a remembered case is trusted: another process
// may have closed, regraded or reopened it meanwhile.
const memoTTL = 2 * time.Minute

func (a *Alerter) remember(c domain.Case) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.proposed) >= maxProposed {
		clear(a.proposed)
	}
	m := memo{grade: c.ProposedGrade, at: a.cfg.Now()}
	if c.Status == domain.CaseClosed {
		m.reopenHeat = reopenHeat(c)
	}
	a.proposed[c.EventID] = m
}

// SecondaryWave is how much hotter than at its closing an event must grow
// for its case to reopen (次生舆情).
const SecondaryWave = 1.5

// reopenHeat is the heat at which a closed case's event reopens it; merged
// cases never reopen (their event's later heat is not forwarded to the
// case they joined: staff follow it there).
func reopenHeat(c domain.Case) float64 {
	if c.MergedInto != "" {
		return math.Inf(1)
	}
	return max(c.Heat*SecondaryWave, c.Heat+10)
}

// unchanged reports whether the event's case is known to exist with a
// proposed grade at least as severe as the event's: handling it would change
// nothing.
func (a *Alerter) unchanged(ev domain.Event) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	m, ok := a.proposed[ev.ID]
	return ok && a.cfg.Now().Sub(m.at) < memoTTL && !moreSevere(ev.Grade, m.grade) && (m.reopenHeat == 0 || ev.Heat < m.reopenHeat)
}

// New gives an Alerter writing to st and routing on tree.
func New(st store.Store, tree *orgtree.Tree, cfg Config, opts ...Option) *Alerter {
	if cfg.MinGrade == domain.GradeNone {
		cfg.MinGrade = domain.GradeIV
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Policy == nil {
		cfg.Policy = deadline.Default()
	}
	a := &Alerter{
		st: st, tree: tree, cfg: cfg, log: slog.Default(),
		backoffMin: 100 * time.Millisecond, backoffMax: 10 * time.Second,
		seed: maphash.MakeSeed(), proposed: map[string]memo{},
		wake: make(chan struct{}, 1),
	}
	for _, o := range opts {
		o(a)
	}
	return a
}

// outbox gives the outbox rows of a notice (none without WithNotices).
func (a *Alerter) outbox(n Notice) []store.Notification {
	if a.notices == nil {
		return nil
	}
	return a.notices(n)
}

// openedNotice is the notice of a case just opened, to its unit.
func (a *Alerter) openedNotice(c domain.Case, first domain.Action) Notice {
	n := Notice{Case: c, Key: c.ID + "/opened", Kind: NoticeOpened, Note: first.Note, At: first.At}
	if u, ok := a.tree.Get(c.UnitID); ok {
		n.Units = []domain.Unit{u}
	}
	return n
}

func (a *Alerter) lock(caseID string) func() {
	m := &a.locks[maphash.String(a.seed, caseID)%uint64(len(a.locks))]
	m.Lock()
	return m.Unlock
}

// CaseID gives the id of the case opened for an event.
func CaseID(eventID string) string { return "case-" + eventID }

// qualifies reports whether an event is severe and hot enough for a case.
func (a *Alerter) qualifies(ev domain.Event) bool {
	return ev.Grade.AtLeast(a.cfg.MinGrade) && ev.Heat >= a.cfg.MinHeat
}

// moreSevere reports whether g is a grade strictly more severe than than.
func moreSevere(g, than domain.Grade) bool {
	return g != domain.GradeNone && (than == domain.GradeNone || g < than)
}

func gradeText(g domain.Grade) string {
	if g == domain.GradeNone {
		return g.Zh()
	}
	return fmt.Sprintf("%s级（%s）", g, g.Zh())
}

// HandleEvent opens a case for the event if it is graded at least MinGrade,
// has at least MinHeat and has no case yet; it reports whether it created
// one. If the event's case exists and staff have not assessed it, a more
// severe grade raises the case's grade (the clocks follow, keeping their
// start) with an "escalate" action by the system. Otherwise the stored case
// is left as it is (no write). Events that do not qualify give a zero Case.
// It is safe for concurrent use: concurrent calls for one event create one case.
func (a *Alerter) HandleEvent(ctx context.Context, ev domain.Event) (domain.Case, bool, error) {
	c, created, _, err := a.handle(ctx, ev, false)
	return c, created, err
}

// handle is HandleEvent reporting also whether the case changed. With
// skipKnown, an event whose case is known to need no change is not read
// from the store and gives a zero Case.
func (a *Alerter) handle(ctx context.Context, ev domain.Event, skipKnown bool) (c domain.Case, created, changed bool, err error) {
	if ev.ID == "" {
		return domain.Case{}, false, false, invalid("事件缺少 id")
	}
	if !a.qualifies(ev) || (skipKnown && a.unchanged(ev)) {
		return domain.Case{}, false, false, nil
	}
	defer a.lock(CaseID(ev.ID))()
	defer func() {
		if err == nil && c.ID != "" {
			a.remember(c)
		}
	}()
	c, err = a.st.CaseForEvent(ctx, ev.ID)
	if errors.Is(err, store.ErrNotFound) {
		nc, first := a.newCase(ev)
		c, created, err = a.st.CreateCase(ctx, nc, first, a.outbox(a.openedNotice(nc, first))...)
		if err != nil {
			return domain.Case{}, false, false, fmt.Errorf("alerting: open case for event %s: %w", ev.ID, err)
		}
		if created {
			if err := a.schedule(ctx, c); err != nil {
				return domain.Case{}, false, false, err
			}
			return c, true, true, nil
		}
	} else if err != nil {
		return domain.Case{}, false, false, fmt.Errorf("alerting: case of event %s: %w", ev.ID, err)
	}
	if c.Status == domain.CaseClosed {
		if ev.Heat < reopenHeat(c) {
			return c, false, false, nil
		}
		return a.secondaryWave(ctx, c.ID, ev)
	}
	if c.GradeConfirmed || !moreSevere(ev.Grade, c.ProposedGrade) {
		return c, false, false, nil
	}
	// Raise the grade: read the full case (with its trail) first.
	id := c.ID
	if c, err = a.st.GetCase(ctx, id); err != nil {
		return domain.Case{}, false, false, fmt.Errorf("alerting: case %s of event %s: %w", id, ev.ID, err)
	}
	now := a.cfg.Now()
	note := fmt.Sprintf("分级由%s升为%s", gradeText(c.ProposedGrade), gradeText(ev.Grade))
	if a.reclock(&c, ev.Grade) {
		note += "，时限按新分级重新计算（起算时间不变）"
	}
	if len(ev.Reasons) > 0 {
		note += "；依据：" + strings.Join(ev.Reasons, "；")
	}
	c.ProposedGrade, c.Grade = ev.Grade, ev.Grade
	c.Reasons = append([]string(nil), ev.Reasons...)
	c.Heat = ev.Heat
	c.UpdatedAt = now
	c.Status = deriveStatus(c)
	act, err := a.st.UpdateCase(ctx, c, domain.Action{Kind: domain.ActEscalate, Actor: SystemActor, Note: note, At: now})
	if err != nil {
		return domain.Case{}, false, false, fmt.Errorf("alerting: raise grade of case %s: %w", c.ID, err)
	}
	c.Actions = append(c.Actions, act)
	if err := a.schedule(ctx, c); err != nil {
		return domain.Case{}, false, false, err
	}
	return c, false, true, nil
}

// secondaryWave reopens a closed case whose event has grown hot again
// (次生舆情): new clocks from now, at the graver of the grade in force and
// the event's.
func (a *Alerter) secondaryWave(ctx context.Context, id string, ev domain.Event) (domain.Case, bool, bool, error) {
	c, err := a.st.GetCase(ctx, id)
	if err != nil {
		return domain.Case{}, false, false, fmt.Errorf("alerting: case %s of event %s: %w", id, ev.ID, err)
	}
	now := a.cfg.Now()
	note := fmt.Sprintf("次生舆情：事件在办结后再次升温（热度 %.1f → %.1f），案件重新打开，时限自此重新起算", c.Heat, ev.Heat)
	if moreSevere(ev.Grade, c.Grade) {
		c.Grade, c.ProposedGrade = ev.Grade, ev.Grade
		note += "，分级升为" + gradeText(ev.Grade)
	}
	c.Status = domain.CaseOpen
	c.Heat, c.UpdatedAt = ev.Heat, now
	c.Clocks = a.clocks(c.Grade, now, c.FirstPostAt)
	c.Status = deriveStatus(c)
	act, err := a.st.UpdateCase(ctx, c, domain.Action{Kind: domain.ActReopen, Actor: SystemActor, Note: note, At: now})
	if err != nil {
		return domain.Case{}, false, false, fmt.Errorf("alerting: reopen case %s: %w", c.ID, err)
	}
	c.Actions = append(c.Actions, act)
	if err := a.schedule(ctx, c); err != nil {
		return domain.Case{}, false, false, err
	}
	return c, false, true, nil
}

// newCase builds the case for an event and its first action.
func (a *Alerter) newCase(ev domain.Event) (domain.Case, domain.Action) {
	texts := make([]string, 0, 1+len(ev.Keywords))
	texts = append(texts, ev.Title)
	texts = append(texts, ev.Keywords...)
	d := a.tree.RouteFor(orgtree.Query{Region: ev.Region, Places: texts, Category: ev.Category})
	unit, reason := d.Unit, d.Reason
	if root := a.tree.Root(); d.Place.ID == root.ID && ev.Unit != "" {
		if u, ok := a.tree.Find(ev.Unit); ok && u.ID != root.ID {
			unit, reason = u, fmt.Sprintf("分析器判定责任单位为%s", u.Name)
		}
	}
	now := a.cfg.Now()
	first := ev.FirstAt
	if first.IsZero() {
		first = now
	}
	c := domain.Case{
		ID:            CaseID(ev.ID),
		EventID:       ev.ID,
		Title:         domain.Clip(ev.Title, 80),
		Status:        domain.CaseOpen,
		ProposedGrade: ev.Grade,
		Grade:         ev.Grade,
		Reasons:       append([]string(nil), ev.Reasons...),
		UnitID:        unit.ID,
		UnitName:      unit.Name,
		RouteReason:   reason,
		Heat:          ev.Heat,
		CreatedAt:     now,
		FirstPostAt:   first,
		UpdatedAt:     now,
		Clocks:        a.clocks(ev.Grade, now, first),
	}
	note := fmt.Sprintf("系统立案：%s，热度%.1f；%s", gradeText(ev.Grade), ev.Heat, reason)
	return c, domain.Action{Kind: domain.ActOpen, Actor: SystemActor, Note: note, At: now}
}

// clocks gives the clocks the deadline policy sets for an event case of
// grade g detected at start.
func (a *Alerter) clocks(g domain.Grade, start, firstPost time.Time) []domain.Clock {
	pcs := a.cfg.Policy.Clocks(deadline.Subject{Kind: deadline.KindEvent, Grade: g, Start: start, FirstPostAt: firstPost})
	out := make([]domain.Clock, len(pcs))
	for i, pc := range pcs {
		out[i] = pc.Clock
		out[i].Reminders, out[i].Source = pc.Reminders, pc.Source
	}
	return out
}

// schedule stores the due moments of the case's running clocks (none once
// it is closed), replacing those it had, and wakes RunDue.
func (a *Alerter) schedule(ctx context.Context, c domain.Case) error {
	var due []domain.Due
	if c.Status != domain.CaseClosed {
		due = domain.DuesFor(c.ID, c.Clocks)
	}
	if err := a.st.ScheduleDue(ctx, c.ID, due); err != nil {
		return fmt.Errorf("alerting: schedule reminders of case %s: %w", c.ID, err)
	}
	select {
	case a.wake <- struct{}{}:
	default:
	}
	return nil
}

// reclock gives the case the clocks of grade g when g and the case's grade
// in force carry different clocks (I/II against III/IV), keeping the
// original start; it reports whether it replaced them. Same-class changes
// keep the clocks, stopped ones included.
func (a *Alerter) reclock(c *domain.Case, g domain.Grade) bool {
	if c.Kind != "" {
		return false // a case opened by hand keeps the clocks of its kind
	}
	if len(c.Clocks) > 0 && g.Major() == c.Grade.Major() {
		return false
	}
	start, first := c.CreatedAt, c.FirstPostAt
	if len(c.Clocks) > 0 {
		start, first = c.Clocks[0].StartedAt, c.Clocks[0].FirstPostAt
	}
	old := c.Clocks
	c.Clocks = a.clocks(g, start, first)
	carryAnswers(old, c.Clocks)
	return true
}

// answeredBy says which clock of the other grade class a stopped clock
// answers: a response (III/IV) is the authoritative release (I/II), and
// either way round.
var answeredBy = map[string][]string{
	domain.ClockResponse:   {domain.ClockRelease},
	domain.ClockRelease:    {domain.ClockResponse},
	domain.ClockConference: {domain.ClockResponse},
}

// carryAnswers keeps the recorded answers when a regrade swaps the clocks:
// a stopped clock stops its counterpart among the new ones, with its time
// and evidence.
func carryAnswers(old, clocks []domain.Clock) {
	for _, o := range old {
		if o.StoppedAt == nil {
			continue
		}
		for i := range clocks {
			n := &clocks[i]
			if n.StoppedAt == nil && (n.Kind == o.Kind || slices.Contains(answeredBy[o.Kind], n.Kind)) {
				t := *o.StoppedAt
				n.StoppedAt, n.EvidenceURL = &t, o.EvidenceURL
				break
			}
		}
	}
}

func allStopped(cl []domain.Clock) bool {
	for _, k := range cl {
		if k.StoppedAt == nil {
			return false
		}
	}
	return len(cl) > 0
}

func anyStopped(cl []domain.Clock) bool {
	for _, k := range cl {
		if k.StoppedAt != nil {
			return true
		}
	}
	return false
}

// deriveStatus gives a case's status from its state: closed stays closed;
// answered once every clock is stopped; else assessed, signed or open by how
// far the workflow went.
func deriveStatus(c domain.Case) string {
	switch {
	case c.Status == domain.CaseClosed:
		return domain.CaseClosed
	case allStopped(c.Clocks):
		return domain.CaseAnswered
	case c.GradeConfirmed:
		return domain.CaseAssessed
	}
	// signed by the unit that has it now: a transfer or escalation hands
	// the case to a unit that must sign again
	signed := false
	for _, a := range c.Actions {
		switch a.Kind {
		case domain.ActSign:
			signed = true
		case domain.ActTransfer, domain.ActEscalate, domain.ActReopen:
			signed = false
		}
	}
	if signed {
		return domain.CaseSigned
	}
	return domain.CaseOpen
}
