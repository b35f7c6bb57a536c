package api

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"

	"gradviz/internal/render"
)

// routes is the whole route table.
func (s *Server) routes() http.Handler {
	r := chi.NewRouter()
	// The Host is checked before anything else answers, so a page on a
	// rebound name learns nothing from any route.
	r.Use(recoverPanics(s.logger, s.metrics), logRequests(s.logger, s.metrics), securityHeaders(pageSecurityHeaders(s.cfg.FrameAncestors)), s.checkHost, refuseBodies)
	// HEAD is answered like GET (without the body), for health checkers.
	r.Use(middleware.GetHead)

	r.Get("/", handlePage(s.logger, s.cfg))
	r.Method(http.MethodGet, "/static/*", handleStatic())
	r.Get("/healthz", handleHealth())
	r.Get("/metrics", s.handleMetrics())
	r.Group(func(r chi.Router) {
		// A deadline on the context, not http.TimeoutHandler: the runs
		// stop when it passes, and /ws is outside this group.
		r.Use(s.limitRequests, strictQuery, runTimeout(s.cfg.RunTimeout), s.httpLanes.tagRuns)
		r.Get("/api/profile", handleProfile(s.logger, s.compute, s.cfg.Limits))
		r.Get("/api/plot.png", handlePlot(s.logger, s.compute, s.withSlot, s.cfg.Limits, "png"))
		r.Get("/api/plot.svg", handlePlot(s.logger, s.compute, s.withSlot, s.cfg.Limits, "svg"))
		r.Get("/api/plot.pdf", handlePlot(s.logger, s.compute, s.withSlot, s.cfg.Limits, "pdf"))
		r.Get("/api/plot.gif", handlePlot(s.logger, s.compute, s.withSlot, s.cfg.Limits, "gif"))
		r.Get("/api/plot.csv", handlePlot(s.logger, s.compute, s.withSlot, s.cfg.Limits, "csv"))
		r.Get("/api/phase.{format}", s.handlePhaseExport())
		r.Get("/api/tours/{name}", s.handleTour())
		r.Get("/api/bidir.{format}", s.handleViewExport(render.ViewBidir))
		r.Get("/api/map.{format}", s.handleViewExport(render.ViewMap))
		r.Get("/api/spectrum.{format}", s.handleViewExport(render.ViewSpectrum))
		r.Get("/api/lab.{format}", s.handleLabExport())
		r.Get("/api/class/{code}/qr.png", s.handleClassQR())
	})
	r.Group(func(r chi.Router) {
		// A training run is bounded like the lab's: its CPU time by
		// -max-train-cpu, and its wall time by that too.
		r.Use(s.limitRequests, strictQuery, runTimeout(max(s.cfg.RunTimeout, s.cfg.TrainCPU)), s.httpLanes.tagRuns)
		r.Get("/api/train.json", s.handleTrainExport())
	})
	r.With(s.limitRequests).Get("/ws", s.handleWebsocket())
	r.NotFound(handleNotFound())
	r.MethodNotAllowed(handleMethodNotAllowed())
	return r
}
