package alerting

import (
	"context"
	"errors"
	"fmt"
	"time"

	"yuqing/alerting/store"
	"yuqing/domain"
)

// Fired is a due moment alerting acted on: a reminder, or a clock that ran
// out. Case is the case after the action was recorded; Notify lists the
// units to tell (the responsible unit; at expiry also its superior).
type Fired struct {
	Case   domain.Case
	Due    domain.Due
	Action domain.Action
	Notify []domain.Unit
	// Late marks a reminder whose clock ran out before it could fire (the
	// alerter was down): it is recorded, but telling anyone is pointless.
	Late bool
}

// healEvery is how often RunDue schedules every open case's moments again,
// so that moments lost to a failed or interleaved write come back.
const healEvery = 10 * time.Minute

// RunDue acts on due moments until ctx ends: at each reminder it reminds
// the unit, at each deadline it marks the clock overdue and escalates to the
// superior unit, each recorded on the case. The moments live in the store
// (ScheduleDue, written whenever a case's clocks change), and each fires
// once however many alerting processes run and however often they restart
// (FireDue). It wakes at the next moment, when this process schedules a new
// one, and at least every poll interval for moments other processes wrote.
// At start and every ten minutes it schedules every open case's moments
// again from the case as stored, beside the firing.
//
// The notifications a moment causes (WithNotices) are written to the outbox
// in the same transaction as its action, so they fire once with it and are
// delivered at least once by a notifier draining the outbox, whatever
// crashes in between. onFire runs after the action is recorded (the
// dashboard, metrics).
func (a *Alerter) RunDue(ctx context.Context, poll time.Duration, onFire func(Fired)) error {
	if poll <= 0 {
		poll = time.Second
	}
	healed := make(chan struct{})
	go func() { // beside the firing, so that a long check never delays a deadline
		defer close(healed)
		for {
			if err := a.healDue(ctx); err != nil && ctx.Err() == nil {
				a.log.Warn("提醒时间表核对失败，稍后再试", "err", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-time.After(healEvery):
			}
		}
	}()
	defer func() { <-healed }()
	timer := time.NewTimer(0)
	defer timer.Stop()
	backoff := a.backoffMin
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-timer.C:
		case <-a.wake:
		}
		wait, err := a.fireDue(ctx, onFire)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			a.log.Error("处理到期提醒失败，稍后重试", "err", err)
			wait, backoff = backoff, min(2*backoff, a.backoffMax)
		} else {
			backoff = a.backoffMin
		}
		timer.Reset(min(wait, poll))
	}
}

// fireDue fires every moment that has come and gives the wait until the next.
func (a *Alerter) fireDue(ctx context.Context, onFire func(Fired)) (time.Duration, error) {
	for {
		now := a.cfg.Now()
		due, err := a.st.DueBefore(ctx, now, 200)
		if err != nil {
			return 0, err
		}
		for _, d := range due {
			f, ok, err := a.fire(ctx, d)
			if err != nil {
				return 0, err
			}
			if ok && onFire != nil {
				onFire(f)
			}
		}
		if len(due) < 200 {
			break
		}
	}
	next, ok, err := a.st.NextDue(ctx)
	if err != nil || !ok {
		return time.Hour, err
	}
	return max(next.Sub(a.cfg.Now()), 0), nil
}

// fire acts on one moment unless its clock has meanwhile stopped or
// changed, in which case the case's moments are scheduled afresh.
func (a *Alerter) fire(ctx context.Context, d domain.Due) (Fired, bool, error) {
	defer a.lock(d.CaseID)()
	c, err := a.st.GetCase(ctx, d.CaseID)
	if errors.Is(err, store.ErrNotFound) {
		return Fired{}, false, a.st.ScheduleDue(ctx, d.CaseID, nil)
	}
	if err != nil {
		return Fired{}, false, fmt.Errorf("alerting: due %s: %w", d.Key, err)
	}
	var clock *domain.Clock
	for i := range c.Clocks {
		if k := &c.Clocks[i]; k.Kind == d.Clock && k.DueAt.Equal(d.DueAt) && k.StoppedAt == nil {
			clock = k
		}
	}
	if clock == nil || c.Status == domain.CaseClosed {
		// stale: the case changed without its moments (a crash between
		// the two writes); schedule what it has now
		return Fired{}, false, a.schedule(ctx, c)
	}
	now := a.cfg.Now()
	f := Fired{Case: c, Due: d}
	unit, inTree := a.tree.Get(c.UnitID)
	if inTree {
		f.Notify = append(f.Notify, unit)
	}
	act := domain.Action{Actor: SystemActor, At: now}
	switch d.Kind {
	case domain.DueOverdue:
		act.Kind = domain.ActOverdue
		act.Note = fmt.Sprintf("%s已超时（截止 %s），未见回应证据", clock.Name, d.DueAt.In(china).Format("01-02 15:04"))
		if parent, ok := a.tree.Parent(c.UnitID); ok {
			f.Notify = append(f.Notify, parent)
			act.Note += "；已通报上级单位" + parent.Name
		}
	default:
		act.Kind = domain.ActRemind
		left := d.DueAt.Sub(now).Round(time.Minute)
		act.Note = fmt.Sprintf("提醒%s：%s时限剩余 %s（截止 %s）", c.UnitName, clock.Name, durationZh(left), d.DueAt.In(china).Format("01-02 15:04"))
		if !now.Before(d.DueAt) {
			f.Late = true
			act.Note = fmt.Sprintf("补记：%s的提醒时刻已过，时限已到（截止 %s），提醒未发送", clock.Name, d.DueAt.In(china).Format("01-02 15:04"))
		}
	}
	var out []store.Notification
	if !f.Late {
		out = a.outbox(Notice{Case: c, Key: d.Key, Kind: d.Kind, Note: act.Note, Units: f.Notify, At: now})
	}
	stored, fired, err := a.st.FireDue(ctx, d, act, out...)
	if err != nil || !fired {
		return Fired{}, false, err
	}
	c.Actions = append(c.Actions, stored)
	f.Case, f.Action = c, stored
	return f, true, nil
}

// healDue schedules the moments of every open case, as its clocks stand:
// a case whose moments were lost between two writes gets them back, and
// moments already fired stay fired. Each case is read again under its lock,
// so that a change made meanwhile is not undone.
func (a *Alerter) healDue(ctx context.Context) error {
	cases, err := a.st.ListCases(ctx, store.CaseFilter{Open: true, Limit: 1_000_000})
	if err != nil {
		return err
	}
	for _, listed := range cases {
		unlock := a.lock(listed.ID)
		c, err := a.st.GetCase(ctx, listed.ID)
		if err == nil {
			err = a.schedule(ctx, c)
		}
		unlock()
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

var china = domain.China

// durationZh writes a duration as staff read it: 3天2小时, 2小时30分, 45分钟.
func durationZh(d time.Duration) string {
	if d <= 0 {
		return "0分钟"
	}
	h, m := int(d.Hours()), int(d.Minutes())%60
	if h >= 48 {
		if h%24 == 0 {
			return fmt.Sprintf("%d天", h/24)
		}
		return fmt.Sprintf("%d天%d小时", h/24, h%24)
	}
	switch {
	case h == 0:
		return fmt.Sprintf("%d分钟", m)
	case m == 0:
		return fmt.Sprintf("%d小时", h)
	}
	return fmt.Sprintf("%d小时%d分", h, m)
}
