package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"
)

// routes is the whole route table.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(recoverPanics(s.logger), logRequests(s.logger))

	r.Get("/", handlePage(s.logger, s.cfg))
	r.Handle("/static/*", handleStatic())
	r.Get("/healthz", handleHealth())
	r.Get("/api/profile", handleProfile(s.logger, s.compute, s.cfg.Limits))
	r.Get("/api/plot.png", handlePlot(s.logger, s.compute, s.cfg.Limits, "png"))
	r.Get("/api/plot.svg", handlePlot(s.logger, s.compute, s.cfg.Limits, "svg"))
	r.Get("/api/plot.csv", handlePlot(s.logger, s.compute, s.cfg.Limits, "csv"))
	r.Get("/ws", s.handleWebsocket())
	r.NotFound(handleNotFound())
	r.MethodNotAllowed(handleMethodNotAllowed())
	return r
}
