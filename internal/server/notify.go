package server

import (
	"time"

	"context"
	"fmt"
	"strings"

	"yuqing/alerting"
	"yuqing/alerting/notify"
	"yuqing/alerting/store"
	"yuqing/domain"
)

// NotifyConfig says how alerting tells people: the units' own channels
// come from the organisation tree (notify: under each unit).
type NotifyConfig struct {
	SMTP       notify.SMTPConfig      `yaml:"smtp"`
	QuietHours *notify.QuietHours     `yaml:"quiet_hours"` // grades III/IV wait; I/II never do
	Propaganda []notify.ChannelConfig `yaml:"propaganda"`  // the propaganda department: told of every overdue clock
	BaseURL    string                 `yaml:"base_url"`    // the dashboard's address, for links; default http://LISTEN
	// RetentionDays is how many days sent and failed notifications stay in
	// the outbox (their records on the cases stay for good): 0 means 30,
	// negative keeps them all.
	RetentionDays int `yaml:"retention_days"`
}

// newNotifier builds the notifier of the alerting role: it drains the
// store's outbox, where alerting writes every notification with the action
// that causes it (notices), and records each delivery and failure on the
// case. Channels are looked up by ref in the organisation tree and the
// propaganda channels: the outbox keeps no secrets.
func (s *Server) newNotifier() error {
	nc := s.cfg.Notify
	for i, ch := range nc.Propaganda {
		if err := ch.Validate(); err != nil {
			return fmt.Errorf("notify.propaganda[%d]: %w", i, err)
		}
	}
	channels := s.channelsByRef()
	s.notifier = notify.New(notify.Options{
		SMTP: nc.SMTP, QuietHours: nc.QuietHours, Registerer: s.reg, Logger: s.log,
		Dashboard: func(m notify.Message) { s.Hub.Publish("notice", m) },
		Outbox:    s.Store,
		Retention: time.Duration(nc.RetentionDays) * 24 * time.Hour,
		Channels: func(ref string) (notify.ChannelConfig, bool) {
			ch, ok := channels[ref]
			return ch, ok
		},
	})
	return nil
}

// channelsByRef gives every configured channel (the organisation tree's
// and the propaganda department's) by the outbox's name of it.
func (s *Server) channelsByRef() map[string]notify.ChannelConfig {
	channels := map[string]notify.ChannelConfig{}
	for _, u := range s.Tree.Units() {
		chs, _ := s.Tree.Channels(u.ID)
		for _, ch := range chs {
			channels[notify.ChannelRef(ch)] = ch
		}
	}
	for _, ch := range s.cfg.Notify.Propaganda {
		channels[notify.ChannelRef(ch)] = ch
	}
	return channels
}

var noticeTitles = map[string]string{
	alerting.NoticeOpened: "新的舆情案件", alerting.NoticeTransferred: "转办案件",
	alerting.NoticeRemind: "回应时限提醒", alerting.NoticeOverdue: "回应已超时",
}

// notices gives the outbox rows of what alerting tells (alerting.WithNotices):
// the units' channels from the organisation tree, and at an overdue clock
// the propaganda department's. Every process writes them (a case opened
// through any process's API is told); the alerting process sends them.
func (s *Server) notices(n alerting.Notice) []store.Notification {
	var targets []notify.Target
	for _, u := range n.Units {
		chs, _ := s.Tree.Channels(u.ID)
		for _, ch := range chs {
			targets = append(targets, notify.Target{Recipient: u.Name, Channel: ch})
		}
	}
	if n.Kind == alerting.NoticeOverdue {
		for _, ch := range s.cfg.Notify.Propaganda {
			targets = append(targets, notify.Target{Recipient: "宣传部门", Channel: ch})
		}
	}
	if len(targets) == 0 {
		return nil
	}
	c := n.Case
	text := n.Note
	switch n.Kind {
	case alerting.NoticeOpened:
		text = clockSummary(c.Clocks)
		if c.Kind == "" { // opened by the system for an event
			text = fmt.Sprintf("%s，%s；%s", gradeZh(c.Grade), clockSummary(c.Clocks), c.RouteReason)
		}
	case alerting.NoticeTransferred:
		text = c.RouteReason + "；" + clockSummary(c.Clocks)
	}
	base := s.cfg.Notify.BaseURL
	if base == "" {
		base = "http://" + s.cfg.Listen
	}
	return notify.Outgoing(notify.Message{
		Key: n.Key, CaseID: c.ID, Grade: c.Grade, Kind: n.Kind,
		Title: fmt.Sprintf("【%s】%s", noticeTitles[n.Kind], c.Title),
		Text:  text,
		URL:   strings.TrimRight(base, "/") + "/#case=" + c.ID,
		At:    n.At,
	}, targets)
}

// notifyCase is called once a case was opened or handed to another unit:
// its notifications were written to the outbox with the action, so this
// only has the notifier read the outbox now rather than at its next poll.
func (s *Server) notifyCase(context.Context, domain.Case, string, string, string, []domain.Unit) {
	if s.notifier != nil {
		s.notifier.Wake()
	}
}

func gradeZh(g domain.Grade) string {
	if g == domain.GradeNone {
		return "未定级"
	}
	return g.String() + "级"
}

// clockSummary lists the running clocks with their deadlines in China time.
func clockSummary(cl []domain.Clock) string {
	var parts []string
	for _, k := range cl {
		if k.StoppedAt == nil {
			parts = append(parts, fmt.Sprintf("%s截止 %s", k.Name, k.DueAt.In(chinaZone).Format("01-02 15:04")))
		}
	}
	return strings.Join(parts, "，")
}

var chinaZone = domain.China
