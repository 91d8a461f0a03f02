// Package domain holds the types that every part of yuqing shares: a post as it
// arrives, its analysis, the event it belongs to, the case opened for an event
// with its legal clocks, the units cases are routed to, and the government's
// own disclosure and interpretation records.
package domain

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Author is who wrote a post.
type Author struct {
	Name      string `json:"name,omitempty"`
	ID        string `json:"id,omitempty"`
	Followers int64  `json:"followers,omitempty"`
	Verified  bool   `json:"verified,omitempty"`
	Location  string `json:"location,omitempty"`
}

// Metrics are the engagement counts a source reports for a post.
type Metrics struct {
	Reposts  int64 `json:"reposts,omitempty"`
	Comments int64 `json:"comments,omitempty"`
	Likes    int64 `json:"likes,omitempty"`
}

// Post is one item of public opinion: a news article, a government page, a
// Weibo post, a repost or a comment.
type Post struct {
	ID          string    `json:"id"`
	Source      string    `json:"source,omitempty"`
	URL         string    `json:"url,omitempty"`
	Title       string    `json:"title,omitempty"`
	Text        string    `json:"text,omitempty"`
	Author      Author    `json:"author"`
	PublishedAt time.Time `json:"published_at"`
	Region      string    `json:"region,omitempty"`
	Metrics     Metrics   `json:"metrics"`
	ParentID    string    `json:"parent_id,omitempty"`
	// RootID is the original post at the top of a repost/comment cascade,
	// when the sender knows it (an extension of the contract: it keeps a whole
	// cascade in one bus partition and one event even when a middle repost is
	// missing or late).
	RootID string `json:"root_id,omitempty"`
	// Record marks a page of a government portal's disclosure or
	// interpretation column (an extension of the contract, set by the
	// crawler): the analyzer keeps it as a Record for the alerting side.
	Record *RecordRef `json:"record,omitempty"`
	// ReceivedAt is when ingest accepted the post (wall time); it measures
	// pipeline lag and is never used for heat or grades.
	ReceivedAt time.Time `json:"received_at"`
}

// DeriveID gives a post's id when the sender gave none: from the URL where
// there is one, else from the content, so the same post sent twice gets the
// same id and is stored once.
func (p *Post) DeriveID() string {
	if u := strings.TrimSpace(p.URL); u != "" {
		return "u" + shortHash(strings.TrimRight(u, "/"))
	}
	return "c" + shortHash(p.Source, p.Author.ID, p.Author.Name, p.PublishedAt.UTC().Format(time.RFC3339Nano), p.ParentID, p.Title, p.Text)
}

func shortHash(parts ...string) string {
	h := sha256.New()
	for _, s := range parts {
		h.Write([]byte(strconv.Itoa(len(s))))
		h.Write([]byte{':'})
		h.Write([]byte(s))
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// China is China Standard Time (UTC+8, no daylight saving): the zone of
// every time written without one, and of every date staff read.
var China = time.FixedZone("CST", 8*3600)

// Sentiment labels.
const (
	Positive = "positive"
	Neutral  = "neutral"
	Negative = "negative"
)

// Keyword is a word that characterises a text, with its TF-IDF weight.
type Keyword struct {
	Word   string  `json:"word"`
	Weight float64 `json:"weight"`
}

// SentimentResult is the sentiment of a text with the classifier's confidence.
type SentimentResult struct {
	Label      string  `json:"label"`
	Confidence float64 `json:"confidence"`
}

// Analysis is what the analyzer finds in one post. Reasons say, per field,
// why the analyzer decided what it did, in Chinese for the people who read it.
type Analysis struct {
	Tokens    []string          `json:"tokens"`
	Keywords  []Keyword         `json:"keywords"`
	Sentiment SentimentResult   `json:"sentiment"`
	Category  string            `json:"category,omitempty"`
	Risk      float64           `json:"risk"`
	Places    []string          `json:"places,omitempty"`
	Unit      string            `json:"unit,omitempty"`
	Reasons   map[string]string `json:"reasons,omitempty"`
}

// IndexedPost is what the Index holds for each post: the post, its analysis
// and the event it was grouped into.
type IndexedPost struct {
	Post
	Analysis Analysis `json:"analysis"`
	EventID  string   `json:"event_id,omitempty"`
}

// Grade is the emergency severity scale: I 特别重大 (most severe) to IV 一般.
// Zero means "below grading".
type Grade int

const (
	GradeNone Grade = 0
	GradeI    Grade = 1
	GradeII   Grade = 2
	GradeIII  Grade = 3
	GradeIV   Grade = 4
)

var gradeNames = map[Grade]string{GradeI: "I", GradeII: "II", GradeIII: "III", GradeIV: "IV"}
var gradeZh = map[Grade]string{GradeI: "特别重大", GradeII: "重大", GradeIII: "较大", GradeIV: "一般"}

// String gives the roman numeral, or "" below grading.
func (g Grade) String() string { return gradeNames[g] }

// Zh gives the Chinese name of the grade.
func (g Grade) Zh() string {
	if s, ok := gradeZh[g]; ok {
		return s
	}
	return "未达分级"
}

// Clip trims s and cuts it to at most n characters, marking a cut with …
// (titles in notices, exports and reports).
func Clip(s string, n int) string {
	s = strings.TrimSpace(s)
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// Label gives the grade as people read it: "II级 重大", or "未达分级".
func (g Grade) Label() string {
	if _, ok := gradeNames[g]; !ok {
		return g.Zh()
	}
	return g.String() + "级 " + g.Zh()
}

// Major reports whether the grade is I or II, the grades with the 5h/24h clocks.
func (g Grade) Major() bool { return g == GradeI || g == GradeII }

// AtLeast reports whether g is as severe as other or more (I is the most severe).
func (g Grade) AtLeast(other Grade) bool {
	return g != GradeNone && (other == GradeNone || g <= other)
}

// Event is a group of posts about one thing: an original post with its reposts
// and comments, and other posts that say nearly the same. Its figures are
// computed on the posts' own timestamps, so replaying the same posts at any
// speed gives the same event.
type Event struct {
	ID         string    `json:"id"`
	RootPostID string    `json:"root_post_id"`
	Title      string    `json:"title"`
	Keywords   []string  `json:"keywords"`
	Simhash    uint64    `json:"simhash,string"`
	FirstAt    time.Time `json:"first_at"`
	LastAt     time.Time `json:"last_at"`
	Posts      int64     `json:"posts"`
	Negative   int64     `json:"negative"`
	Reach      int64     `json:"reach"`
	// Hourly counts posts per hour of event time (unix hour → posts).
	Hourly     map[int64]int64 `json:"hourly,omitempty"`
	PeakHourly int64           `json:"peak_hourly"`
	Heat       float64         `json:"heat"`
	Grade      Grade           `json:"grade"`
	Reasons    []string        `json:"reasons"`
	Region     string          `json:"region,omitempty"`
	Unit       string          `json:"unit,omitempty"`
	// Category is the event's public-opinion category (analyzer/taxonomy):
	// its founding post's, or the most frequent among its original posts.
	Category  string    `json:"category,omitempty"`
	Risk      float64   `json:"risk"`
	UpdatedAt time.Time `json:"updated_at"`
	// Version counts the event's writes to the store: 0 for an event not yet
	// stored. A write that names a version someone else has already
	// replaced fails (store.ErrConflict), so that analyzers sharing the
	// store never overwrite each other's counts.
	Version int64 `json:"version"`

	// Name names the event by its heaviest keywords (frequency among its
	// original posts × rarity), e.g. "宁波·妇儿医院·跳楼"; Title stays the
	// describing post's own title or first words.
	Name string `json:"name,omitempty"`
	// SplitFrom is the event this one split off: an original post that
	// resembled what that event had drifted to, no longer its founding
	// keywords, started this event instead of joining it.
	SplitFrom string `json:"split_from,omitempty"`
	// Originals counts the event's original posts (not reposts or comments).
	Originals int64 `json:"originals,omitempty"`
	// Terms are the keywords of the event's original posts with their summed
	// weight (each post's heaviest keyword counts 10), the heaviest kept:
	// what the event is matched and named by besides its founding Keywords.
	Terms map[string]int64 `json:"terms,omitempty"`
	// Places are the cities the founding post is about (not its author's).
	Places []string `json:"places,omitempty"`
	// Drift counts the original posts in a row that joined resembling the
	// event's later posts but not its founding ones.
	Drift int64 `json:"drift,omitempty"`
	// Verified counts posts by verified authors; Reposts sums the reposts
	// the sources report for the event's posts.
	Verified int64 `json:"verified,omitempty"`
	Reposts  int64 `json:"reposts,omitempty"`
	// Authority is the most authoritative source among the event's posts:
	// 3 government (portal or account), 2 official media, 1 verified
	// author, 0 none; AuthorityBy names it (e.g. "官方媒体 人民日报").
	Authority   int    `json:"authority,omitempty"`
	AuthorityBy string `json:"authority_by,omitempty"`
	// Source is the describing post's source, whose usual hourly rate is
	// the baseline of the event's first hours.
	Source string `json:"source,omitempty"`
	// Spread is the first hour of the original post's cascade, gathered as
	// its reposts and comments join (analyzer/classify); once the hour is
	// over, Risk is the rumour model's risk from the text and this spread.
	Spread *SpreadState `json:"spread,omitempty"`
}

// SpreadState is what an event keeps of its original post's first hour of
// spread: counts, the ten earliest repost delays, the doubt and refutation
// words heard. Distinct users are not kept (the model does not use them).
type SpreadState struct {
	RootID      string          `json:"root_id"`
	RootAt      time.Time       `json:"root_at"`
	TextRisk    float64         `json:"text_risk"` // the original post's risk from its text alone
	AuthorKnown bool            `json:"author_known,omitempty"`
	Verified    bool            `json:"verified,omitempty"`
	Followers   int64           `json:"followers,omitempty"`
	Children    int             `json:"children"`
	WithText    int             `json:"with_text"`
	Nested      int             `json:"nested"`
	Doubt       int             `json:"doubt"`
	Refute      int             `json:"refute"`
	Cued        int             `json:"cued"`
	Cues        map[string]int  `json:"cues,omitempty"`
	Early       []time.Duration `json:"early,omitempty"` // the ten smallest delays, ascending
	// Done: the hour is over (a post of the event came at least an hour
	// after the original) and Risk includes the spread, for Reasons.
	Done    bool     `json:"done,omitempty"`
	Reasons []string `json:"reasons,omitempty"`
}

// Clock kinds, from DESIGN.md §1.
const (
	ClockRelease    = "authoritative_release" // 5h, grades I and II
	ClockConference = "press_conference"      // 24h, grades I and II
	ClockResponse   = "response"              // 48h, grades III and IV
)

// Clock is one legal deadline on a case. It starts at detection, records the
// first post's time, and stops on recorded evidence.
type Clock struct {
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	Hours       int        `json:"hours"`
	StartedAt   time.Time  `json:"started_at"`
	FirstPostAt time.Time  `json:"first_post_at"`
	DueAt       time.Time  `json:"due_at"`
	StoppedAt   *time.Time `json:"stopped_at,omitempty"`
	EvidenceURL string     `json:"evidence_url,omitempty"`
	// Reminders are the moments the unit is reminded while the clock runs,
	// and Source the rule's legal source (from the deadline policy).
	Reminders []time.Time `json:"reminders,omitempty"`
	Source    string      `json:"source,omitempty"`
}

// Due kinds.
const (
	DueRemind  = "remind"  // a reminder while a clock runs
	DueOverdue = "overdue" // the clock ran out: marked overdue and escalated
)

// Due is one moment at which alerting must act on a running clock: remind
// the unit, or, at the deadline, escalate. Key names the moment uniquely
// (case, clock, deadline and point), so that whichever alerting process
// fires it, it fires once.
type Due struct {
	Key    string    `json:"key"`
	CaseID string    `json:"case_id"`
	Clock  string    `json:"clock"` // the clock's kind
	Kind   string    `json:"kind"`  // DueRemind or DueOverdue
	At     time.Time `json:"at"`
	DueAt  time.Time `json:"due_at"` // the clock's deadline
}

// DuesFor gives the moments of a case's running clocks: each reminder and
// the deadline itself. Stopped clocks have none.
func DuesFor(caseID string, clocks []Clock) []Due {
	var out []Due
	for _, c := range clocks {
		if c.StoppedAt != nil {
			continue
		}
		prefix := caseID + "/" + c.Kind + "@" + strconv.FormatInt(c.DueAt.Unix(), 10)
		for i, r := range c.Reminders {
			out = append(out, Due{Key: prefix + "/remind-" + strconv.Itoa(i+1), CaseID: caseID, Clock: c.Kind, Kind: DueRemind, At: r, DueAt: c.DueAt})
		}
		out = append(out, Due{Key: prefix + "/overdue", CaseID: caseID, Clock: c.Kind, Kind: DueOverdue, At: c.DueAt, DueAt: c.DueAt})
	}
	return out
}

// Overdue reports whether the clock ran past its deadline (stopped late, or still running after it).
func (c Clock) Overdue(now time.Time) bool {
	if c.StoppedAt != nil {
		return c.StoppedAt.After(c.DueAt)
	}
	return now.After(c.DueAt)
}

// ClocksFor gives the clocks a case of the given grade carries, started at detection.
func ClocksFor(g Grade, detected, firstPost time.Time) []Clock {
	mk := func(kind, name string, h int) Clock {
		return Clock{Kind: kind, Name: name, Hours: h, StartedAt: detected, FirstPostAt: firstPost, DueAt: detected.Add(time.Duration(h) * time.Hour)}
	}
	if g.Major() {
		return []Clock{mk(ClockRelease, "发布权威信息", 5), mk(ClockConference, "召开新闻发布会", 24)}
	}
	return []Clock{mk(ClockResponse, "回应关切", 48)}
}

// Case statuses.
const (
	CaseOpen     = "open"     // raised, waiting for the unit to sign
	CaseSigned   = "signed"   // the unit has signed for it
	CaseAssessed = "assessed" // graded by staff (研判)
	CaseAnswered = "answered" // every clock stopped
	CaseClosed   = "closed"
)

// Case is an event raised for response: routed to a unit, with its clocks and
// the trail of every action taken on it.
type Case struct {
	ID      string `json:"id"`
	EventID string `json:"event_id"`
	// Kind is "" for a case raised from an event, else the kind of a case
	// opened by hand: notice, supervision, policy, disclosure, request.
	Kind           string     `json:"kind,omitempty"`
	DocumentURL    string     `json:"document_url,omitempty"` // the notice, letter or request itself
	Title          string     `json:"title"`
	Status         string     `json:"status"`
	ProposedGrade  Grade      `json:"proposed_grade"`
	Grade          Grade      `json:"grade"` // the grade in force: confirmed if assessed, else proposed
	GradeConfirmed bool       `json:"grade_confirmed"`
	Reasons        []string   `json:"reasons"`
	UnitID         string     `json:"unit_id"`
	UnitName       string     `json:"unit_name"`
	RouteReason    string     `json:"route_reason"`
	ResponseType   string     `json:"response_type,omitempty"`
	Heat           float64    `json:"heat"`
	CreatedAt      time.Time  `json:"created_at"`
	FirstPostAt    time.Time  `json:"first_post_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	SignedAt       *time.Time `json:"signed_at,omitempty"`   // when the unit signed for it
	MergedInto     string     `json:"merged_into,omitempty"` // the case this one was merged into
	Clocks         []Clock    `json:"clocks"`
	Actions        []Action   `json:"actions,omitempty"`
}

// Action kinds on a case.
const (
	ActSign       = "sign"
	ActAssess     = "assess"
	ActRespond    = "respond"
	ActConference = "press_conference"
	ActEvaluate   = "evaluate"
	ActClose      = "close"
	ActReopen     = "reopen"
	ActEscalate   = "escalate"
	ActOpen       = "open"     // recorded by the system when it raises the case
	ActRemind     = "remind"   // recorded by the system: a reminder sent while a clock runs
	ActOverdue    = "overdue"  // recorded by the system: a clock ran out, escalated upward
	ActNotify     = "notify"   // recorded by the system: a notification delivered or failed
	ActTransfer   = "transfer" // handed to another unit, with the reason
	ActMerge      = "merge"    // two events proved to be one: this case joins another
	ActMerged     = "merged"   // recorded on the case another one joined
	ActExtend     = "extend"   // a disclosure request's period extended once
)

// Action is one step taken on a case, recorded with who and when.
type Action struct {
	ID          int64     `json:"id"`
	CaseID      string    `json:"case_id"`
	Kind        string    `json:"kind"`
	Actor       string    `json:"actor"`
	Note        string    `json:"note,omitempty"`
	EvidenceURL string    `json:"evidence_url,omitempty"`
	At          time.Time `json:"at"`
	// Origin is where the action came from: the client address of an API
	// call (empty for the system's own actions).
	Origin string `json:"origin,omitempty"`
}

// Unit is a node of the organisation tree: a government body that answers for
// the places and matters it is in charge of (属地管理、谁主管谁负责).
type Unit struct {
	ID       string   `json:"id"`
	Name     string   `json:"name"`
	ParentID string   `json:"parent_id,omitempty"`
	Places   []string `json:"places,omitempty"`
	Contact  string   `json:"contact,omitempty"`
	// Kind is "government" (a general office answering for its places, the
	// default) or "department" (a department of the government unit above
	// it, answering for its Categories), as in the organisation-tree file.
	Kind string `json:"kind,omitempty"`
	// Categories are the public-opinion categories a department is in
	// charge of (谁主管谁负责).
	Categories []string `json:"categories,omitempty"`
	// Source is where the unit comes from: "file" (the organisation-tree
	// file or the built-in default) or "api" (POST /api/v1/units). Only
	// "api" units of the store are grafted onto the file's tree.
	Source string `json:"source,omitempty"`
}

// Record kinds.
const (
	RecordDisclosure     = "disclosure"     // 政务公开
	RecordInterpretation = "interpretation" // 政策解读
)

// RecordRef says which kind of government record a post is, and whose.
type RecordRef struct {
	Kind   string `json:"kind"`              // RecordDisclosure or RecordInterpretation
	UnitID string `json:"unit_id,omitempty"` // the portal's owning unit
}

// Record is one of the government's own disclosure or policy-interpretation records.
type Record struct {
	ID          string    `json:"id"`
	Kind        string    `json:"kind"`
	Title       string    `json:"title"`
	URL         string    `json:"url,omitempty"`
	UnitID      string    `json:"unit_id,omitempty"`
	CaseID      string    `json:"case_id,omitempty"`
	PolicyID    string    `json:"policy_id,omitempty"`
	Text        string    `json:"text,omitempty"` // the record's text (or its beginning), for matching
	PublishedAt time.Time `json:"published_at"`
	CreatedAt   time.Time `json:"created_at"`
}
