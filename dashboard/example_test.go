package dashboard_test

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"

	"yuqing/dashboard"
	"yuqing/domain"
)

// The server mounts the page at "/" and the hub at /api/v1/stream; the
// pipeline publishes what changes.
func ExampleNewHub() {
	reg := prometheus.NewRegistry()
	hub := dashboard.NewHub(reg, dashboard.WithPostRate(50), dashboard.WithAllowedOrigins("https://screen.example.gov.cn"))
	defer hub.Close()

	mux := http.NewServeMux()
	mux.Handle("/", dashboard.Handler())
	mux.HandleFunc("GET /api/v1/stream", hub.ServeWS)

	hub.Publish(dashboard.KindEvent, domain.Event{ID: "e1", Title: "某市暴雨内涝", Grade: domain.GradeIII})
	hub.Publish(dashboard.KindCase, domain.Case{ID: "c1", Status: domain.CaseOpen})
}
