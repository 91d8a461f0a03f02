package classify

import (
	"fmt"
	"testing"
	"time"
)

// An event stores its spread between batches: adding children one at a
// time through the stored state gives what one builder gives (users aside).
func TestSpreadStateRoundTrip(t *testing.T) {
	t0 := time.Date(2013, 4, 20, 8, 0, 0, 0, time.UTC)
	root := SpreadRoot{At: t0, AuthorKnown: true, Followers: 1200}
	var children []SpreadChild
	texts := []string{"", "真的吗？求证", "转发", "这是谣言，已辟谣", "假的吧 //@某人: 真的", "", "不是谣言，是真的"}
	for i := range 40 {
		children = append(children, SpreadChild{At: t0.Add(time.Duration(i*97) * time.Second), User: fmt.Sprint("u", i%13), Text: texts[i%len(texts)]})
	}
	want := ExtractSpread(root, children)
	b := NewSpreadBuilder()
	b.SetRoot(root)
	st := b.State("r", 0.4)
	for _, c := range children {
		b := SpreadFromState(st)
		b.Add(c)
		st = b.State("r", 0.4)
	}
	got := SpreadFromState(st).Spread()
	got.Users, want.Users = 0, 0
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("through the stored state:\n%+v\nwant\n%+v", got, want)
	}
	if st.RootID != "r" || st.TextRisk != 0.4 || st.Children != want.Children {
		t.Fatalf("state %+v", st)
	}
}
