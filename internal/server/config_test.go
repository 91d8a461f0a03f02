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
}

func TestLoadConfigErrors(t *testing.T) {
	for name, body := range map[string]string{
		"unknown key": "listne: x\n",
		"bad grade":   "alerting:\n  min_grade: V\n",
		"bad target":  "target: everything\n",
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
