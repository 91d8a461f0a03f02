package envsubst

import "testing"

func TestExpand(t *testing.T) {
	t.Setenv("YQ_SET", "kafka:9092")
	t.Setenv("YQ_EMPTY", "")
	cases := map[string]string{
		"${YQ_SET}":                 "kafka:9092",
		"${YQ_SET:-x}":              "kafka:9092",
		"${YQ_EMPTY:-127.0.0.1}":    "127.0.0.1",
		"${YQ_UNSET_XYZ:-a b}":      "a b",
		"${YQ_UNSET_XYZ}":           "",
		"$YQ_SET and ${not-a-name}": "$YQ_SET and ${not-a-name}",
	}
	for in, want := range cases {
		if got := Expand(in); got != want {
			t.Errorf("Expand(%q) = %q, want %q", in, got, want)
		}
	}
}
