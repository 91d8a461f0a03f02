package classify

import (
	"maps"
	"slices"

	"yuqing/domain"
)

// SpreadFromState rebuilds a builder from what an event stored, so that the
// event grouper can add the reposts and comments of a batch to it. The set
// of users is not stored: Spread().Users counts only those added since.
func SpreadFromState(st *domain.SpreadState) *SpreadBuilder {
	b := &SpreadBuilder{}
	if st == nil {
		return b
	}
	b.root = SpreadRoot{At: st.RootAt, AuthorKnown: st.AuthorKnown, Verified: st.Verified, Followers: st.Followers}
	b.rootSet = true
	b.s = Spread{Children: st.Children, WithText: st.WithText, Nested: st.Nested, Doubt: st.Doubt, Refute: st.Refute, Cued: st.Cued}
	b.early = slices.Clone(st.Early)
	if len(st.Cues) > 0 {
		b.cues = maps.Clone(st.Cues)
	}
	return b
}

// State gives what the builder gathered, for an event to store; rootID and
// textRisk name the original post and its text-only risk.
func (b *SpreadBuilder) State(rootID string, textRisk float64) *domain.SpreadState {
	st := &domain.SpreadState{
		RootID: rootID, RootAt: b.root.At, TextRisk: textRisk,
		AuthorKnown: b.root.AuthorKnown, Verified: b.root.Verified, Followers: b.root.Followers,
		Children: b.s.Children, WithText: b.s.WithText, Nested: b.s.Nested,
		Doubt: b.s.Doubt, Refute: b.s.Refute, Cued: b.s.Cued,
		Early: slices.Clone(b.early),
	}
	if len(b.cues) > 0 {
		st.Cues = maps.Clone(b.cues)
	}
	return st
}
