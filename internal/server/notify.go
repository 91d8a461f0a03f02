package server

import (
	"context"
	"fmt"
	"strings"
	"time"

	"yuqing/alerting"
	"yuqing/alerting/notify"
	"yuqing/domain"
)

// NotifyConfig says how alerting tells people: the units' own channels
// come from the organisation tree (notify: under each unit).
type NotifyConfig struct {
	SMTP       notify.SMTPConfig      `yaml:"smtp"`
	QuietHours *notify.QuietHours     `yaml:"quiet_hours"` // grades III/IV wait; I/II never do
	Propaganda []notify.ChannelConfig `yaml:"propaganda"`  // the propaganda department: told of every overdue clock
	BaseURL    string                 `yaml:"base_url"`    // the dashboard's address, for links; default http://LISTEN
}

// newNotifier builds the notifier of the alerting role: deliveries and
// failures are recorded on the case.
func (s *Server) newNotifier() error {
	nc := s.cfg.Notify
	for i, ch := range nc.Propaganda {
		if err := ch.Validate(); err != nil {
			return fmt.Errorf("notify.propaganda[%d]: %w", i, err)
		}
	}
	s.notifier = notify.New(notify.Options{
		SMTP: nc.SMTP, QuietHours: nc.QuietHours, Registerer: s.reg, Logger: s.log,
		Dashboard:  func(m notify.Message) { s.Hub.Publish("notice", m) },
		OnDelivery: s.recordDelivery,
	})
	return nil
}

// notifyCase tells the units (and at expiry the propaganda department)
// about a case: opened, a reminder, an overdue clock.
func (s *Server) notifyCase(ctx context.Context, c domain.Case, key, kind, text string, units []domain.Unit) {
	if s.notifier == nil {
		return
	}
	var targets []notify.Target
	for _, u := range units {
		chs, _ := s.Tree.Channels(u.ID)
		for _, ch := range chs {
			targets = append(targets, notify.Target{Recipient: u.Name, Channel: ch})
		}
	}
	if kind == domain.DueOverdue {
		for _, ch := range s.cfg.Notify.Propaganda {
			targets = append(targets, notify.Target{Recipient: "宣传部门", Channel: ch})
		}
	}
	if len(targets) == 0 {
		return
	}
	base := s.cfg.Notify.BaseURL
	if base == "" {
		base = "http://" + s.cfg.Listen
	}
	titles := map[string]string{"opened": "新的舆情案件", "transferred": "转办案件", domain.DueRemind: "回应时限提醒", domain.DueOverdue: "回应已超时"}
	s.notifier.Send(ctx, notify.Message{
		Key: key, CaseID: c.ID, Grade: c.Grade, Kind: kind,
		Title: fmt.Sprintf("【%s】%s", titles[kind], c.Title),
		Text:  text,
		URL:   strings.TrimRight(base, "/") + "/#case=" + c.ID,
	}, targets)
}

// recordDelivery keeps a delivery or a failure on the case's trail.
func (s *Server) recordDelivery(d notify.Delivery) {
	if d.CaseID == "" {
		return
	}
	via := d.Channel
	if d.ChannelName != "" {
		via += "（" + d.ChannelName + "）"
	}
	who := strings.Join(d.Recipients, "、")
	if who == "" {
		who = d.Recipient
	}
	note := fmt.Sprintf("已通过%s通知%s", via, who)
	if !d.OK {
		note = fmt.Sprintf("通过%s通知%s失败（尝试 %d 次）：%s", via, who, d.Attempts, d.Error)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := s.Store.AddAction(ctx, d.CaseID, domain.Action{Kind: domain.ActNotify, Actor: alerting.SystemActor, Note: note, At: d.At}); err != nil {
		s.log.Warn("记录通知结果失败", "case", d.CaseID, "err", err)
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
