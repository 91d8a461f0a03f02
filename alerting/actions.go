package alerting

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"yuqing/alerting/deadline"
	"yuqing/alerting/store"
	"yuqing/domain"
)

// Kinds of error Act gives, for errors.Is: the HTTP layer answers 400 for
// ErrInvalid, 409 for ErrConflict and 404 for store.ErrNotFound. The error's
// text is a Chinese sentence meant for the person who acted.
var (
	ErrInvalid  = errors.New("alerting: invalid request")
	ErrConflict = errors.New("alerting: conflicts with the case's state")
)

// Error is an error a person reads: Msg in Chinese, Kind one of ErrInvalid,
// ErrConflict or store.ErrNotFound.
type Error struct {
	Kind error
	Msg  string
}

func (e *Error) Error() string { return e.Msg }
func (e *Error) Unwrap() error { return e.Kind }

func invalid(format string, a ...any) error {
	return &Error{Kind: ErrInvalid, Msg: fmt.Sprintf(format, a...)}
}

func conflict(format string, a ...any) error {
	return &Error{Kind: ErrConflict, Msg: fmt.Sprintf(format, a...)}
}

// ResponseTypes are the six ways of handling public opinion by its kind,
// seed 001 (七)3: a suggestion → publish its adoption; a real hardship →
// publish the solution; a major problem → publish the investigation;
// confusion → authoritative information; a wrong view → guidance; false
// information → refute it and refer it to the police / cyberspace office.
var ResponseTypes = []string{"采纳建议", "解决困难", "公布调查", "权威信息", "引导观点", "辟谣并移交"}

// ActionKinds are the actions people may take through Act.
var ActionKinds = []string{
	domain.ActSign, domain.ActAssess, domain.ActRespond, domain.ActConference,
	domain.ActEvaluate, domain.ActClose, domain.ActReopen, domain.ActEscalate,
	domain.ActTransfer, domain.ActMerge, domain.ActExtend,
}

var statusZh = map[string]string{
	domain.CaseOpen:     "待签收",
	domain.CaseSigned:   "已签收",
	domain.CaseAssessed: "已研判",
	domain.CaseAnswered: "已回应",
	domain.CaseClosed:   "已关闭",
}

// StatusZh gives the Chinese name of a case status.
func StatusZh(s string) string {
	if z, ok := statusZh[s]; ok {
		return z
	}
	return s
}

// ActionRequest is one action a person takes on a case.
type ActionRequest struct {
	Kind         string       `json:"kind"`
	Actor        string       `json:"actor"`
	Note         string       `json:"note,omitempty"`
	EvidenceURL  string       `json:"evidence_url,omitempty"`
	Grade        domain.Grade `json:"grade,omitempty"`         // assess: the confirmed grade
	ResponseType string       `json:"response_type,omitempty"` // assess: one of ResponseTypes
	UnitID       string       `json:"unit_id,omitempty"`       // transfer: the receiving unit
	Into         string       `json:"into,omitempty"`          // merge: the case this one joins
	Origin       string       `json:"-"`                       // where the request came from (client address)
}

// check validates the request on its own, before the case is read.
func (r *ActionRequest) check() error {
	r.Kind, r.Actor = strings.TrimSpace(r.Kind), strings.TrimSpace(r.Actor)
	r.Note, r.EvidenceURL = strings.TrimSpace(r.Note), strings.TrimSpace(r.EvidenceURL)
	r.ResponseType = strings.TrimSpace(r.ResponseType)
	if !slices.Contains(ActionKinds, r.Kind) {
		return invalid("不支持的操作“%s”，可用的操作：%s", r.Kind, strings.Join(ActionKinds, "、"))
	}
	if r.Actor == "" {
		return invalid("操作人（actor）不能为空")
	}
	switch r.Kind {
	case domain.ActAssess:
		if r.Grade < domain.GradeI || r.Grade > domain.GradeIV {
			return invalid("研判须给出分级：1（I级特别重大）至 4（IV级一般）")
		}
		if r.ResponseType != "" && !slices.Contains(ResponseTypes, r.ResponseType) {
			return invalid("回应方式“%s”无效，可选：%s", r.ResponseType, strings.Join(ResponseTypes, "、"))
		}
	case domain.ActRespond:
		if r.EvidenceURL == "" {
			return invalid("回应须附证据（evidence_url：权威发布或回复的链接或文件）")
		}
	case domain.ActConference:
		if r.EvidenceURL == "" {
			return invalid("新闻发布会须附证据（evidence_url：发布会的链接或文件）")
		}
	case domain.ActEvaluate:
		if r.Note == "" {
			return invalid("评估须填写评估意见（note）")
		}
	case domain.ActTransfer:
		if strings.TrimSpace(r.UnitID) == "" || r.Note == "" {
			return invalid("转办须给出接收单位（unit_id）和理由（note）")
		}
	case domain.ActMerge:
		if strings.TrimSpace(r.Into) == "" {
			return invalid("合并须给出并入的案件（into）")
		}
	}
	return nil
}

// Act applies a person's action to a case and records it with its actor and
// time. The actions: sign (open → signed); assess (confirms the grade, the
// clocks follow it, sets the response type); respond (with evidence: stops
// the 5h release clock of grades I/II or the 48h clock of III/IV);
// press_conference (with evidence: stops the 24h clock, or for III/IV the
// 48h clock); evaluate (with a note, once something was answered); close
// (with a note while clocks still run); reopen (a closed case); escalate
// (hands the case to the superior unit); transfer (to another unit, with a
// reason; it signs again); merge (into another case, closing this one);
// extend (a disclosure request's period, once). The case becomes answered when
// every clock is stopped. Errors wrap ErrInvalid, ErrConflict or
// store.ErrNotFound and read in Chinese.
func (a *Alerter) Act(ctx context.Context, caseID string, req ActionRequest) (domain.Case, error) {
	if err := req.check(); err != nil {
		return domain.Case{}, err
	}
	defer a.lock(caseID)()
	c, err := a.st.GetCase(ctx, caseID)
	if errors.Is(err, store.ErrNotFound) {
		return domain.Case{}, &Error{Kind: store.ErrNotFound, Msg: fmt.Sprintf("案件“%s”不存在", caseID)}
	}
	if err != nil {
		return domain.Case{}, fmt.Errorf("alerting: %s on case %s: %w", req.Kind, caseID, err)
	}
	if c.Status == domain.CaseClosed && req.Kind != domain.ActReopen {
		return domain.Case{}, conflict("案件已关闭，请先重新打开（reopen）再操作")
	}
	now := a.cfg.Now()
	act := domain.Action{Kind: req.Kind, Actor: req.Actor, Note: req.Note, EvidenceURL: req.EvidenceURL, At: now, Origin: req.Origin}
	stop := func(kind string) bool {
		for i := range c.Clocks {
			if k := &c.Clocks[i]; k.Kind == kind && k.StoppedAt == nil {
				t := now
				k.StoppedAt, k.EvidenceURL = &t, req.EvidenceURL
				return true
			}
		}
		return false
	}
	// a case opened by hand has the clocks of its kind: a reply stops the
	// first one still running
	stopFirst := func() bool {
		if c.Kind == "" {
			return false
		}
		for _, k := range c.Clocks {
			if k.StoppedAt == nil {
				return stop(k.Kind)
			}
		}
		return false
	}
	var notes []string
	var mergedInto *domain.Case
	switch req.Kind {
	case domain.ActSign:
		if c.Status != domain.CaseOpen {
			return domain.Case{}, conflict("只有待签收的案件可以签收，本案当前为“%s”", StatusZh(c.Status))
		}
		t := now
		c.SignedAt = &t
	case domain.ActAssess:
		notes = append(notes, "研判为"+gradeText(req.Grade))
		if req.Grade != c.Grade {
			notes = append(notes, "原为"+gradeText(c.Grade))
		}
		if a.reclock(&c, req.Grade) {
			notes = append(notes, "时限按新分级重新计算（起算时间不变）")
		}
		c.Grade, c.GradeConfirmed = req.Grade, true
		if req.ResponseType != "" {
			c.ResponseType = req.ResponseType
			notes = append(notes, "回应方式："+req.ResponseType)
		}
	case domain.ActRespond:
		kind := domain.ClockResponse
		if c.Grade.Major() {
			kind = domain.ClockRelease
		}
		if !stop(kind) && !stopFirst() {
			notes = append(notes, "补充回应（时限此前已停止）")
		}
	case domain.ActConference:
		kind := domain.ClockConference
		if !c.Grade.Major() {
			kind = domain.ClockResponse
		}
		if !stop(kind) {
			notes = append(notes, "补充发布（时限此前已停止）")
		}
	case domain.ActEvaluate:
		if !anyStopped(c.Clocks) {
			return domain.Case{}, conflict("案件尚未回应，不能评估")
		}
	case domain.ActClose:
		if running := runningClocks(c.Clocks); len(running) > 0 && req.Note == "" {
			return domain.Case{}, invalid("尚有未停止的时限（%s），关闭须在 note 中说明理由", strings.Join(running, "、"))
		}
		c.Status = domain.CaseClosed
		// the heat at closing: a secondary wave is measured against it
		if ev, err := a.st.GetEvent(ctx, c.EventID); err == nil {
			c.Heat = ev.Heat
		}
	case domain.ActReopen:
		if c.MergedInto != "" {
			return domain.Case{}, conflict("案件已并入“%s”，请在该案中办理", c.MergedInto)
		}
		if c.Status != domain.CaseClosed {
			return domain.Case{}, conflict("案件未关闭（当前为“%s”），无需重新打开", StatusZh(c.Status))
		}
		c.Status = domain.CaseOpen // derived again below
	case domain.ActEscalate:
		if _, ok := a.tree.Get(c.UnitID); !ok {
			return domain.Case{}, conflict("案件所属单位“%s”不在组织树中，无法上报", c.UnitName)
		}
		parent, ok := a.tree.Parent(c.UnitID)
		if !ok {
			return domain.Case{}, conflict("%s已是最高一级单位，无法再上报", c.UnitName)
		}
		move := fmt.Sprintf("由%s上报至%s", c.UnitName, parent.Name)
		notes = append(notes, move)
		c.RouteReason = move + "（" + req.Actor + "）"
		if req.Note != "" {
			c.RouteReason += "：" + req.Note
		}
		c.UnitID, c.UnitName, c.SignedAt = parent.ID, parent.Name, nil
	case domain.ActExtend:
		if c.Kind != deadline.KindRequest {
			return domain.Case{}, conflict("只有依申请公开的案件可以延期答复")
		}
		for _, k := range c.Clocks {
			if k.Kind == deadline.ClockRequestExtension {
				return domain.Case{}, conflict("答复期限只能延长一次")
			}
		}
		if req.Note == "" {
			return domain.Case{}, invalid("延期须说明理由（note），并告知申请人")
		}
		running := false
		for _, k := range c.Clocks {
			running = running || (k.Kind == deadline.ClockRequest && k.StoppedAt == nil && !k.Overdue(now))
		}
		if !running {
			return domain.Case{}, conflict("答复期限已过或已答复，不能再延期")
		}
		start := c.FirstPostAt
		for _, pc := range a.cfg.Policy.Clocks(deadline.Subject{Kind: deadline.KindRequest, Start: start, FirstPostAt: start, Extended: true}) {
			if pc.Kind == deadline.ClockRequestExtension {
				k := pc.Clock
				k.Reminders, k.Source = pc.Reminders, pc.Source
				c.Clocks = append(c.Clocks, k)
				notes = append(notes, fmt.Sprintf("延期答复至 %s", k.DueAt.In(china).Format("2006-01-02")))
			}
		}
		stop(deadline.ClockRequest) // the extension notice answers the first period
	case domain.ActTransfer:
		to, ok := a.tree.Get(req.UnitID)
		if !ok {
			return domain.Case{}, invalid("接收单位“%s”不在组织树中", req.UnitID)
		}
		if to.ID == c.UnitID {
			return domain.Case{}, conflict("案件已由%s办理，无需转办", to.Name)
		}
		move := fmt.Sprintf("由%s转至%s", c.UnitName, to.Name)
		notes = append(notes, move)
		c.RouteReason = move + "（" + req.Actor + "）：" + req.Note
		c.UnitID, c.UnitName, c.SignedAt = to.ID, to.Name, nil
		req.Note = "理由：" + req.Note
	case domain.ActMerge:
		if req.Into == c.ID {
			return domain.Case{}, invalid("案件不能并入自己")
		}
		into, err := a.st.GetCase(ctx, req.Into)
		if errors.Is(err, store.ErrNotFound) {
			return domain.Case{}, invalid("要并入的案件“%s”不存在", req.Into)
		} else if err != nil {
			return domain.Case{}, fmt.Errorf("alerting: merge %s into %s: %w", caseID, req.Into, err)
		}
		if into.Status == domain.CaseClosed {
			return domain.Case{}, conflict("要并入的案件“%s”已关闭", into.Title)
		}
		notes = append(notes, fmt.Sprintf("与案件“%s”为同一事件，并入该案办理", into.Title))
		c.MergedInto, c.Status = into.ID, domain.CaseClosed
		mergedInto = &into
	}
	if len(notes) > 0 {
		if req.Note != "" {
			notes = append(notes, req.Note)
		}
		act.Note = strings.Join(notes, "；")
	}
	c.Actions = append(c.Actions, act) // the status follows this action too
	c.Status = deriveStatus(c)
	c.UpdatedAt = now
	var out []store.Notification
	if req.Kind == domain.ActTransfer || req.Kind == domain.ActEscalate {
		// the unit that has it now hears of it; the key names this action
		// (its place in the trail), so a later transfer back is told again
		n := Notice{Case: c, Key: fmt.Sprintf("%s/%s/%s/%d", c.ID, req.Kind, c.UnitID, len(c.Actions)), Kind: NoticeTransferred, Note: act.Note, At: now}
		if u, ok := a.tree.Get(c.UnitID); ok {
			n.Units = []domain.Unit{u}
		}
		out = a.outbox(n)
	}
	stored, err := a.st.UpdateCase(ctx, c, act, out...)
	if err != nil {
		return domain.Case{}, fmt.Errorf("alerting: %s on case %s: %w", req.Kind, caseID, err)
	}
	c.Actions[len(c.Actions)-1] = stored
	if mergedInto != nil { // the other case learns of it (its own trail; its clocks go on)
		if _, err := a.st.AddAction(ctx, mergedInto.ID, domain.Action{Kind: domain.ActMerged, Actor: req.Actor, At: now, Origin: req.Origin,
			Note: fmt.Sprintf("案件“%s”（%s）并入本案", c.Title, c.ID)}); err != nil {
			a.log.Warn("合并记录写入失败", "case", mergedInto.ID, "err", err)
		}
	}
	a.remember(c) // a closed case now waits for a secondary wave
	if err := a.schedule(ctx, c); err != nil {
		// the action stands; RunDue's periodic check schedules the case again
		a.log.Warn("提醒时间表更新失败", "case", c.ID, "err", err)
	}
	return c, nil
}

func runningClocks(cl []domain.Clock) []string {
	var out []string
	for _, k := range cl {
		if k.StoppedAt == nil {
			out = append(out, k.Name)
		}
	}
	return out
}
