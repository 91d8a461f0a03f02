package server

import (
	"os"
	"path/filepath"
	"testing"
)

func TestLoadConfigExampleAndEnv(t *testing.T) {
	t.Setenv("YUQING_LISTEN", "127.0.0.1:9999")
	c, err := LoadConfig("../../deploy/yuqing.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Listen != "127.0.0.1:9999" || c.Data != "data" || c.Alerting.MinGrade != "IV" || c.MaxBacklog != 10000 {
		t.Fatalf("config %+v", c)
	}
	if !c.Embedded() || c.Bus.SQLite.Partitions != 4 || c.inData(c.Index.Bleve.Path, "index") != "data/index" {
		t.Fatalf("backends %+v %+v %+v", c.Bus, c.Index, c.Store)
	}
	none, err := LoadConfig("")
	if err != nil || !none.Embedded() {
		t.Fatalf("no file: %+v %v", none, err)
	}
}

func TestLoadConfigErrors(t *testing.T) {
	const embedded = "bus: {sqlite: {}}\nindex: {bleve: {}}\nstore: {sqlite: {}}\n"
	for name, body := range map[string]string{
		"unknown key":        embedded + "listne: x\n",
		"bad grade":          embedded + "alerting:\n  min_grade: V\n",
		"bad target":         embedded + "target: everything\n",
		"no bus":             "index: {bleve: {}}\nstore: {sqlite: {}}\n",
		"two stores":         "bus: {sqlite: {}}\nindex: {bleve: {}}\nstore: {sqlite: {}, postgres: {dsn: x}}\n",
		"kafka no brokers":   "bus: {kafka: {}}\nindex: {bleve: {}}\nstore: {sqlite: {}}\n",
		"roles on embedded":  embedded + "target: analyzer\n",
		"postgres empty dsn": "bus: {sqlite: {}}\nindex: {bleve: {}}\nstore: {postgres: {}}\n",
	} {
		p := filepath.Join(t.TempDir(), "c.yaml")
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := LoadConfig(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := LoadConfig("/nonexistent.yaml"); err == nil {
		t.Error("missing file: no error")
	}
}
