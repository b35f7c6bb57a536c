package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"gradviz/internal/api"
)

// Timeouts of the HTTP server. Websocket sessions set their own deadlines
// once upgraded.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	idleTimeout       = 120 * time.Second
	// shutdownTimeout bounds a graceful stop: sessions get close frames
	// and in-flight requests finish, or are cut off after this.
	shutdownTimeout = 4 * time.Second
)

// run starts the server and blocks until ctx is cancelled or serving
// fails. Every flag has an environment variable that sets its default.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := api.DefaultConfig()
	env := envDefaults{getenv: getenv}
	addr := fs.String("addr", env.str("ADDR", ":8080"), "listen address (env ADDR)")
	logLevel := fs.String("log-level", env.str("LOG_LEVEL", "info"), "debug, info, warn or error (env LOG_LEVEL)")
	fs.IntVar(&cfg.Limits.MaxT, "max-T", env.int("MAX_T", cfg.Limits.MaxT), "longest sequence a request may ask for (env MAX_T)")
	fs.IntVar(&cfg.Limits.MaxH, "max-H", env.int("MAX_H", cfg.Limits.MaxH), "most hidden units a request may ask for (env MAX_H)")
	fs.Int64Var(&cfg.Limits.MaxWork, "max-work", env.int64("MAX_WORK", cfg.Limits.MaxWork), "largest T·H²·gates·directions of one run (env MAX_WORK)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if err := env.err; err != nil {
		return err
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	app := api.NewServer(logger, cfg)
	srv := &http.Server{
		Handler:           app,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	fmt.Fprintf(stdout, "gradviz listening on http://%s\n", displayAddr(ln.Addr()))

	serveErr := make(chan error, 1)
	// Exits when the listener is closed by Shutdown, or on a serve error.
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(shutdownCtx)
	app.Close(shutdownCtx)
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}

// displayAddr turns ":8080" or "[::]:8080" into "localhost:8080", which a
// browser can open.
func displayAddr(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return a.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return net.JoinHostPort(host, port)
}

// envDefaults reads flag defaults from the environment and remembers the
// first malformed one.
type envDefaults struct {
	getenv func(string) string
	err    error
}

func (e *envDefaults) str(name, def string) string {
	if v := e.getenv(name); v != "" {
		return v
	}
	return def
}

func (e *envDefaults) int64(name string, def int64) int64 {
	v := strings.TrimSpace(e.getenv(name))
	if v == "" {
		return def
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("environment %s=%q: not a whole number", name, v)
	}
	return n
}

func (e *envDefaults) int(name string, def int) int { return int(e.int64(name, int64(def))) }
