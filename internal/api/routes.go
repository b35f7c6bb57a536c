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
	r.Get("/api/profile", handleProfile(s.logger, s.runner, s.cfg.Limits))
	r.Get("/ws", s.handleWebsocket())
	r.NotFound(handleNotFound())
	r.MethodNotAllowed(handleMethodNotAllowed())
	return r
}
