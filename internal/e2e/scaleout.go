package e2e

import (
	"fmt"
	"os"
	"path/filepath"
)

// ScaleOut holds the addresses of the real servers (deploy/local/services.sh
// writes them to .cache/services/env), or is nil when they are not set.
type ScaleOut struct{ Kafka, ES, PG string }

// ScaleOutFromEnv reads YUQING_KAFKA, YUQING_ES and YUQING_PG.
func ScaleOutFromEnv() *ScaleOut {
	s := &ScaleOut{Kafka: os.Getenv("YUQING_KAFKA"), ES: os.Getenv("YUQING_ES"), PG: os.Getenv("YUQING_PG")}
	if s.Kafka == "" || s.ES == "" || s.PG == "" {
		return nil
	}
	return s
}

// Config writes a configuration for the real servers whose topics, indices
// and schema all carry prefix, so that runs do not see each other's data.
func (s *ScaleOut) Config(dir, prefix string) (string, error) {
	path := filepath.Join(dir, prefix+".yaml")
	body := fmt.Sprintf(`bus:
  kafka: {brokers: [%q], partitions: 4, topic_prefix: %q}
index:
  elasticsearch: {addresses: [%q], prefix: %q}
store:
  postgres: {dsn: %q, schema: %q}
`, s.Kafka, prefix+"-", s.ES, prefix+"-posts", s.PG, prefix)
	return path, os.WriteFile(path, []byte(body), 0o644)
}
