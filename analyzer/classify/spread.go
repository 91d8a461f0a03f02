package classify

import (
	"hash/fnv"
	"slices"
	"strings"
	"time"

	"yuqing/domain"
)

// SpreadWindow is how much of a cascade the spread features look at: the
// reposts and comments dated within the first hour after the original post.
const SpreadWindow = time.Hour

// The doubt and refutation lexicon: words in reposts and comments that
// question a post or call it false. It is the one place these words live;
// the spread layer counts, among the children of the first hour, those whose
// own words (before any "//@" repost chain) hold a word of each list. A
// match is a plain substring match, after the negated forms of
// notRefuteWords are cut out ("这不是谣言" confirms rather than refutes).
// Changing the lists changes what a trained layer's weights mean: retrain the
// rumor model after editing them.
var (
	// doubtWords ask whether the post is true (质疑、求证).
	doubtWords = []string{
		"真的吗", "真的假的", "是真的吗", "是不是真的", "真假", "求证", "求真相", "求辟谣", "求官方",
		"靠谱吗", "可信吗", "确定吗", "有依据吗", "有证据吗", "出处", "怀疑", "存疑", "不信",
	}
	// refuteWords say the post is false, or that it has been checked and
	// answered by an authority (辟谣、证伪、官方回应).
	refuteWords = []string{
		"谣言", "辟谣", "造谣", "传谣", "谣传", "假的", "假消息", "假新闻", "不实", "虚假", "误传",
		"老谣", "旧闻", "别信", "不要信", "骗人", "忽悠", "已证实", "官方回应", "警方通报", "已澄清", "澄清",
	}
	// notRefuteWords are negated forms cut out of a text before matching.
	notRefuteWords = []string{"不是谣言", "并非谣言", "不是假的", "并非假的", "不是造谣", "没有造谣"}
)

// DoubtWords gives a copy of the lexicon of words questioning a post.
func DoubtWords() []string { return slices.Clone(doubtWords) }

// RefuteWords gives a copy of the lexicon of words calling a post false.
func RefuteWords() []string { return slices.Clone(refuteWords) }

// cues gives the doubt and refutation words in a child's own text.
func cues(text string) (doubt, refute []string) {
	if i := strings.Index(text, "//@"); i >= 0 {
		text = text[:i]
	}
	if text == "" {
		return nil, nil
	}
	for _, w := range notRefuteWords {
		if strings.Contains(text, w) {
			text = strings.ReplaceAll(text, w, " ")
		}
	}
	for _, w := range doubtWords {
		if strings.Contains(text, w) {
			doubt = append(doubt, w)
		}
	}
	for _, w := range refuteWords {
		if strings.Contains(text, w) {
			refute = append(refute, w)
		}
	}
	return doubt, refute
}

// ownText reports whether a child says something of its own: not empty, not
// only a repost chain, not Weibo's default "转发微博".
func ownText(text string) bool {
	if i := strings.Index(text, "//@"); i >= 0 {
		text = text[:i]
	}
	text = strings.TrimSpace(text)
	switch text {
	case "", "转发微博", "轉發微博", "Repost", "repost":
		return false
	}
	return true
}

// SpreadRoot is what the spread features need of an original post.
type SpreadRoot struct {
	At time.Time // when it was posted; zero when unknown
	// AuthorKnown says whether Verified and Followers were given; an
	// unknown author counts as the training average.
	AuthorKnown bool
	Verified    bool
	Followers   int64
	// PicsKnown says whether Pics was given; unknown counts as average.
	PicsKnown bool
	Pics      int
}

// SpreadChild is one repost or comment of a cascade.
type SpreadChild struct {
	At   time.Time // its own time; a child without one is not counted
	User string    // who wrote it; "" when unknown
	Text string    // its own text; "" for a plain repost
	// Nested says its parent is another repost or comment rather than the
	// original post.
	Nested bool
}

// postTime is a post's event time, as the event grouper takes it: when it
// was published, else when it was received.
func postTime(p *domain.Post) time.Time {
	if !p.PublishedAt.IsZero() {
		return p.PublishedAt
	}
	return p.ReceivedAt
}

// SpreadRootOfPost gives the SpreadRoot of an original post as the analyzer
// sees it. An author with neither followers nor a verified flag is taken as
// unknown (the sources that know authors report followers); posts carry no
// picture count.
func SpreadRootOfPost(p *domain.Post) SpreadRoot {
	return SpreadRoot{
		At:          postTime(p),
		AuthorKnown: p.Author.Followers > 0 || p.Author.Verified,
		Verified:    p.Author.Verified,
		Followers:   p.Author.Followers,
	}
}

// SpreadChildOfPost gives the SpreadChild of a repost or comment of the
// original post rootID.
func SpreadChildOfPost(p *domain.Post, rootID string) SpreadChild {
	user := p.Author.ID
	if user == "" {
		user = p.Author.Name
	}
	return SpreadChild{At: postTime(p), User: user, Text: p.Text, Nested: p.ParentID != "" && p.ParentID != rootID}
}

// Spread is what the first hour (SpreadWindow) of a post's cascade shows:
// how many reposts and comments came, from how many people, how fast, how
// many say something of their own, and how many of those doubt or refute the
// post; with the author's standing and the post's pictures.
type Spread struct {
	// Known says the root's time is known, so the counts below are those of
	// its first hour; without it they are zero and count as average.
	Known    bool `json:"known"`
	Children int  `json:"children"`  // reposts and comments in the window
	Users    int  `json:"users"`     // distinct known users among them
	WithText int  `json:"with_text"` // those with text of their own
	Nested   int  `json:"nested"`    // those reposting a repost (not the original)
	Doubt    int  `json:"doubt"`     // those whose text holds a doubt word
	Refute   int  `json:"refute"`    // those whose text holds a refutation word
	Cued     int  `json:"cued"`      // those whose text holds either
	// Cues are the doubt and refutation words seen, most frequent first (at
	// most 6).
	Cues []string `json:"cues,omitempty"`
	// First and Tenth are the delays of the first and tenth child after the
	// post; -1 when there were fewer in the window.
	First time.Duration `json:"first"`
	Tenth time.Duration `json:"tenth"`

	AuthorKnown bool  `json:"author_known"`
	Verified    bool  `json:"verified"`
	Followers   int64 `json:"followers"`
	PicsKnown   bool  `json:"pics_known"`
	Pics        int   `json:"pics"`

	// experiment carries a probability from a model under test into an
	// experimental layer feature (TestRumorCompare); never set in use.
	experiment float64
}

// SpreadBuilder gathers a cascade's first hour incrementally, as reposts and
// comments arrive in any order, before or after the original post: the
// event grouper keeps one per event. Children are held back only until the
// root's time is known; after that it keeps counts, the set of users, and
// the ten earliest delays. It is not safe for concurrent use.
type SpreadBuilder struct {
	window  time.Duration // SpreadWindow when zero (experiments try others)
	root    SpreadRoot
	rootSet bool
	pending []SpreadChild
	s       Spread
	users   map[uint64]struct{}
	early   []time.Duration // the ten smallest delays, ascending
	cues    map[string]int
}

// NewSpreadBuilder gives an empty builder.
func NewSpreadBuilder() *SpreadBuilder { return &SpreadBuilder{} }

// SetRoot records the original post. A post's time does not change: a
// second call updates the author and pictures but keeps the first time.
func (b *SpreadBuilder) SetRoot(r SpreadRoot) {
	if b.rootSet && !b.root.At.IsZero() {
		r.At = b.root.At
		b.root = r
		return
	}
	b.root, b.rootSet = r, true
	if r.At.IsZero() {
		return
	}
	pend := b.pending
	b.pending = nil
	for _, c := range pend {
		b.add(c)
	}
}

// Add records a repost or comment.
func (b *SpreadBuilder) Add(c SpreadChild) {
	if c.At.IsZero() {
		return
	}
	if !b.rootSet || b.root.At.IsZero() {
		c.Text = ownWords(c.Text)
		b.pending = append(b.pending, c)
		return
	}
	b.add(c)
}

// ownWords keeps what add needs of a text held back: the child's own words.
func ownWords(text string) string {
	if i := strings.Index(text, "//@"); i >= 0 {
		return text[:i]
	}
	return text
}

func (b *SpreadBuilder) add(c SpreadChild) {
	d := max(c.At.Sub(b.root.At), 0) // a child dated before its post: clock skew
	window := b.window
	if window == 0 {
		window = SpreadWindow
	}
	if d >= window {
		return
	}
	s := &b.s
	s.Children++
	if c.User != "" {
		if b.users == nil {
			b.users = map[uint64]struct{}{}
		}
		h := fnv.New64a()
		h.Write([]byte(c.User))
		b.users[h.Sum64()] = struct{}{}
		s.Users = len(b.users)
	}
	if c.Nested {
		s.Nested++
	}
	if ownText(c.Text) {
		s.WithText++
		doubt, refute := cues(c.Text)
		if len(doubt) > 0 {
			s.Doubt++
		}
		if len(refute) > 0 {
			s.Refute++
		}
		if len(doubt)+len(refute) > 0 {
			s.Cued++
		}
		for _, w := range append(doubt, refute...) {
			if b.cues == nil {
				b.cues = map[string]int{}
			}
			b.cues[w]++
		}
	}
	if len(b.early) < 10 || d < b.early[len(b.early)-1] {
		i, _ := slices.BinarySearch(b.early, d)
		b.early = slices.Insert(b.early, i, d)
		if len(b.early) > 10 {
			b.early = b.early[:10]
		}
	}
}

// Spread gives the features of what was gathered so far. They describe the
// whole first hour only once Complete says so.
func (b *SpreadBuilder) Spread() Spread {
	s := b.s
	r := b.root
	s.Known = b.rootSet && !r.At.IsZero()
	s.AuthorKnown, s.Verified, s.Followers = r.AuthorKnown, r.Verified, r.Followers
	s.PicsKnown, s.Pics = r.PicsKnown, r.Pics
	s.First, s.Tenth = -1, -1
	if len(b.early) > 0 {
		s.First = b.early[0]
	}
	if len(b.early) >= 10 {
		s.Tenth = b.early[9]
	}
	if len(b.cues) > 0 {
		type wc struct {
			w string
			n int
		}
		var all []wc
		for w, n := range b.cues {
			all = append(all, wc{w, n})
		}
		slices.SortFunc(all, func(a, b wc) int {
			if a.n != b.n {
				return b.n - a.n
			}
			return strings.Compare(a.w, b.w)
		})
		for _, e := range all[:min(6, len(all))] {
			s.Cues = append(s.Cues, e.w)
		}
	}
	return s
}

// Complete reports whether the root is known and now (event time, e.g. the
// latest post time seen) is past its first hour, so that Spread describes
// the whole window the spread layer was trained on.
func (b *SpreadBuilder) Complete(now time.Time) bool {
	return b.rootSet && !b.root.At.IsZero() && !now.Before(b.root.At.Add(SpreadWindow))
}

// ExtractSpread gives the first-hour Spread of a root post and its children.
func ExtractSpread(root SpreadRoot, children []SpreadChild) Spread {
	var b SpreadBuilder
	b.SetRoot(root)
	for _, c := range children {
		b.Add(c)
	}
	return b.Spread()
}
