package alerting

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	"yuqing/alerting/deadline"
	"yuqing/domain"
)

// ManualKinds are the cases people open by hand, each with the clocks the
// deadline policy gives it: a notice from the cyberspace office (网信部门
// 通报) or a supervision letter (督办函) with the deadline it states, a
// policy awaiting its interpretation, information to disclose, a
// disclosure request.
var ManualKinds = []string{deadline.KindNotice, deadline.KindSupervision, deadline.KindPolicy, deadline.KindDisclosure, deadline.KindRequest}

var kindZh = map[string]string{
	deadline.KindNotice: "网信部门通报", deadline.KindSupervision: "督办函", deadline.KindPolicy: "政策解读",
	deadline.KindDisclosure: "主动公开", deadline.KindRequest: "依申请公开",
}

// ManualCase is a case opened by a person.
type ManualCase struct {
	Kind     string    `json:"kind"`
	Title    string    `json:"title"`
	UnitID   string    `json:"unit_id"`
	Start    time.Time `json:"start"`     // received, published, formed: when the period starts; default now
	StatedAt time.Time `json:"stated_at"` // the deadline a notice or letter states, if any
	Note     string    `json:"note"`      // e.g. the letter's number and what it asks
	URL      string    `json:"url"`       // the document
	Actor    string    `json:"actor"`
	Origin   string    `json:"-"`
}

// Open opens a case by hand, routed to the unit given, with the clocks the
// policy gives its kind. The same kind, title, unit and start open one case.
func (a *Alerter) Open(ctx context.Context, m ManualCase) (domain.Case, bool, error) {
	m.Kind, m.Title, m.UnitID, m.Actor = strings.TrimSpace(m.Kind), strings.TrimSpace(m.Title), strings.TrimSpace(m.UnitID), strings.TrimSpace(m.Actor)
	switch {
	case !slices.Contains(ManualKinds, m.Kind):
		return domain.Case{}, false, invalid("kind 应为 %s 之一", strings.Join(ManualKinds, "、"))
	case m.Title == "":
		return domain.Case{}, false, invalid("title 不能为空")
	case m.Actor == "":
		return domain.Case{}, false, invalid("操作人（actor）不能为空")
	}
	unit, ok := a.tree.Get(m.UnitID)
	if !ok {
		return domain.Case{}, false, invalid("责任单位“%s”不在组织树中", m.UnitID)
	}
	now := a.cfg.Now()
	startGiven := !m.Start.IsZero()
	if !startGiven {
		m.Start = now
	}
	pcs := a.cfg.Policy.Clocks(deadline.Subject{Kind: m.Kind, Start: m.Start, Stated: m.StatedAt, FirstPostAt: m.Start})
	if len(pcs) == 0 {
		return domain.Case{}, false, invalid("时限规则没有为“%s”给出时限（未载明期限且规则无默认期限）", kindZh[m.Kind])
	}
	clocks := make([]domain.Clock, len(pcs))
	for i, pc := range pcs {
		clocks[i] = pc.Clock
		clocks[i].Reminders, clocks[i].Source = pc.Reminders, pc.Source
	}
	// the same document registered twice (a retried request) is one case:
	// without a start, the day it was registered stands in for it
	when := m.Start.UTC().Format(time.RFC3339)
	if !startGiven {
		when = now.In(china).Format("2006-01-02")
	}
	sum := sha256.Sum256([]byte(m.Kind + "\x00" + m.Title + "\x00" + unit.ID + "\x00" + when))
	key := m.Kind + "-" + hex.EncodeToString(sum[:8])
	c := domain.Case{
		ID: "case-" + key, EventID: key, Kind: m.Kind, Title: domain.Clip(m.Title, 80), Status: domain.CaseOpen,
		UnitID: unit.ID, UnitName: unit.Name, RouteReason: fmt.Sprintf("%s由%s交办", kindZh[m.Kind], m.Actor),
		CreatedAt: now, FirstPostAt: m.Start, UpdatedAt: now, Clocks: clocks, DocumentURL: strings.TrimSpace(m.URL),
	}
	note := fmt.Sprintf("登记%s：%s", kindZh[m.Kind], m.Title)
	if m.Note != "" {
		note += "；" + m.Note
	}
	defer a.lock(c.ID)()
	first := domain.Action{Kind: domain.ActOpen, Actor: m.Actor, Note: note, EvidenceURL: c.DocumentURL, At: now, Origin: m.Origin}
	stored, created, err := a.st.CreateCase(ctx, c, first, a.outbox(a.openedNotice(c, first))...)
	if err != nil {
		return domain.Case{}, false, fmt.Errorf("alerting: open %s case: %w", m.Kind, err)
	}
	if created {
		if err := a.schedule(ctx, stored); err != nil {
			return domain.Case{}, false, err
		}
	}
	return stored, created, nil
}
