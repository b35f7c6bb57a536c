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
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"gradviz/internal/api"
	"gradviz/internal/class"
	"gradviz/internal/engine"
)

// Timeouts and sizes of the HTTP server. Websocket sessions set their own
// deadlines once upgraded (gorilla clears the server's on hijack).
const (
	// readHeaderTimeout bounds a client sending its request line and
	// headers, against slow-loris connections.
	readHeaderTimeout = 10 * time.Second
	// readTimeout bounds reading a whole request; requests have no body.
	readTimeout = 30 * time.Second
	// writeMargin is added to the run timeout to bound writing a response:
	// the runs, then rendering and sending the plot.
	writeMargin = 15 * time.Second
	// idleTimeout closes keep-alive connections nobody uses.
	idleTimeout = 120 * time.Second
	// maxHeaderBytes bounds the request line and headers, so a 1 MB query
	// string is the longest a request can carry; past it net/http answers
	// 431 Request Header Fields Too Large. It is net/http's default, made
	// explicit because the query string is the whole request here.
	maxHeaderBytes = 1 << 20
	// shutdownTimeout bounds a graceful stop: sessions get close frames
	// and in-flight requests finish, or are cut off after this. With the
	// sessions' own grace it keeps the exit within 5 s of the signal.
	shutdownTimeout = 3 * time.Second
	// healthcheckTimeout bounds the -healthcheck request.
	healthcheckTimeout = 3 * time.Second
)

// run starts the server and blocks until ctx is cancelled or serving
// fails. Every flag but -healthcheck has an environment variable that
// sets its default.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfg := api.DefaultConfig()
	env := envDefaults{getenv: getenv}
	addr := fs.String("addr", env.str("ADDR", ":8080"), "listen address (env ADDR)")
	logLevel := fs.String("log-level", env.str("LOG_LEVEL", "info"), "debug, info, warn or error (env LOG_LEVEL)")
	healthcheck := fs.Bool("healthcheck", false, "check that the server at -addr answers /healthz, exit 0 if so and 1 if not (for container health checks)")

	lim := &cfg.Limits
	fs.IntVar(&lim.MaxT, "max-T", env.int("MAX_T", lim.MaxT), "longest sequence T a request may ask for (env MAX_T)")
	fs.IntVar(&lim.MaxH, "max-H", env.int("MAX_H", lim.MaxH), "most hidden units H a request may ask for (env MAX_H)")
	fs.IntVar(&lim.MaxD, "max-D", env.int("MAX_D", lim.MaxD), "most input features D a request may ask for (env MAX_D)")
	fs.IntVar(&lim.MaxK, "max-K", env.int("MAX_K", lim.MaxK), "most output classes K a request may ask for (env MAX_K)")
	fs.Int64Var(&lim.MaxWork, "max-work", env.int64("MAX_WORK", lim.MaxWork), "largest T·H²·gates·directions of one run (env MAX_WORK)")

	fs.IntVar(&cfg.MaxConnections, "max-connections", env.int("MAX_CONNECTIONS", cfg.MaxConnections), "most websockets open at once; more are refused with 503 (env MAX_CONNECTIONS)")
	fs.Int64Var(&cfg.MaxMessageBytes, "max-message-bytes", env.int64("MAX_MESSAGE_BYTES", cfg.MaxMessageBytes), "largest websocket message a client may send; a larger one closes the socket with 1009 (env MAX_MESSAGE_BYTES)")
	fs.Float64Var(&cfg.MessagesPerSecond, "messages-per-second", env.float("MESSAGES_PER_SECOND", cfg.MessagesPerSecond), "websocket messages one client may send a second, on average (env MESSAGES_PER_SECOND)")
	fs.IntVar(&cfg.MessageBurst, "message-burst", env.int("MESSAGE_BURST", cfg.MessageBurst), "websocket messages one client may send at once (env MESSAGE_BURST)")
	fs.IntVar(&cfg.Workers, "workers", env.int("WORKERS", cfg.Workers), "runs computed at once across all clients, one core each; default the number of CPUs (env WORKERS)")
	fs.Int64Var(&cfg.MemoryBudget, "memory-budget", env.int64("MEMORY_BUDGET", cfg.MemoryBudget), "bytes of estimated working memory the runs admitted at once may reserve; others wait (env MEMORY_BUDGET)")
	fs.Int64Var(&cfg.PassCache, "pass-cache", env.int64("PASS_CACHE", cfg.PassCache), "bytes of recent profiles' forward and unclipped backward passes kept, so that a Clipping or Threshold change, or a return to a model seen before, skips them; apart from -memory-budget; 0 keeps none (env PASS_CACHE)")
	fs.DurationVar(&cfg.TrainCPU, "max-train-cpu", env.duration("MAX_TRAIN_CPU", cfg.TrainCPU), "CPU time one training run may use, its models together (env MAX_TRAIN_CPU)")
	origins := env.origins("ALLOW_ORIGIN")
	fs.Var(&origins, "allow-origin", "an origin such as https://class.example.org that may open the websocket besides the server's own; repeat or separate with commas (env ALLOW_ORIGIN)")
	hosts := env.hosts("ALLOW_HOST")
	fs.Var(&hosts, "allow-host", "a host name such as class.example.org, or an address, that the server answers to besides localhost, the loopback addresses, the address a client connected to and the host of -addr; other Host headers get 421 (against DNS rebinding); repeat or separate with commas (env ALLOW_HOST)")
	frames := env.frames("FRAME_ANCESTORS")
	fs.Var(&frames, "frame-ancestors", "origins such as https://moodle.example.org or https://*.example.org whose pages may embed gradviz in a frame, separated by spaces or commas; default none (env FRAME_ANCESTORS)")
	fs.Float64Var(&cfg.HTTPRequestsPerSecond, "http-requests-per-second", env.float("HTTP_REQUESTS_PER_SECOND", cfg.HTTPRequestsPerSecond), "API requests and websocket upgrades one client address may make a second, on average; more get 429; 0 means no limit (env HTTP_REQUESTS_PER_SECOND)")
	fs.IntVar(&cfg.HTTPRequestBurst, "http-request-burst", env.int("HTTP_REQUEST_BURST", cfg.HTTPRequestBurst), "API requests and websocket upgrades one client address may make at once (env HTTP_REQUEST_BURST)")
	fs.DurationVar(&cfg.RunTimeout, "run-timeout", env.duration("RUN_TIMEOUT", cfg.RunTimeout), "longest an HTTP request's runs may take, the wait for a worker included (env RUN_TIMEOUT)")

	fs.StringVar(&cfg.ToursDir, "tours", env.str("TOURS_DIR", ""), "a directory of guided tours, NAME.json each, opened by the page as ?tour=NAME; every file is checked at start (env TOURS_DIR)")

	cl := &cfg.Class
	fs.IntVar(&cl.MaxRooms, "class-max-rooms", env.int("CLASS_MAX_ROOMS", cl.MaxRooms), "most classes this process holds at once (env CLASS_MAX_ROOMS)")
	fs.IntVar(&cl.MaxMembers, "class-max-members", env.int("CLASS_MAX_MEMBERS", cl.MaxMembers), "most students in one class, and so answers to one question (env CLASS_MAX_MEMBERS)")
	fs.DurationVar(&cl.Idle, "class-idle", env.duration("CLASS_IDLE", cl.Idle), "a class nobody has used for this long ends (env CLASS_IDLE)")
	fs.Float64Var(&cfg.ClassJoinsPerMinute, "class-joins-per-minute", env.float("CLASS_JOINS_PER_MINUTE", cfg.ClassJoinsPerMinute), "class joins one client address may make a minute, on average; 0 means no limit (env CLASS_JOINS_PER_MINUTE)")
	fs.IntVar(&cfg.ClassJoinBurst, "class-join-burst", env.int("CLASS_JOIN_BURST", cfg.ClassJoinBurst), "class joins one client address may make at once (env CLASS_JOIN_BURST)")

	pubsub := fs.String("pubsub", env.str("PUBSUB", ""), "nats://HOST:PORT of a NATS server the replicas share, so a class started on one is joined on any; default none, the classes stay in this process (env PUBSUB)")

	tl := &cfg.Train
	fs.IntVar(&tl.MaxT, "max-train-T", env.int("MAX_TRAIN_T", tl.MaxT), "longest sequence a training run may use (env MAX_TRAIN_T)")
	fs.IntVar(&tl.MaxH, "max-train-H", env.int("MAX_TRAIN_H", tl.MaxH), "most hidden units a training run may use (env MAX_TRAIN_H)")
	fs.IntVar(&tl.MaxBatch, "max-train-batch", env.int("MAX_TRAIN_BATCH", tl.MaxBatch), "largest batch of a training run (env MAX_TRAIN_BATCH)")
	fs.IntVar(&tl.MaxIterations, "max-train-iterations", env.int("MAX_TRAIN_ITERATIONS", tl.MaxIterations), "most iterations of a training run (env MAX_TRAIN_ITERATIONS)")

	ll := &cfg.Lang
	fs.IntVar(&ll.MaxDistance, "max-lang-distance", env.int("MAX_LANG_DISTANCE", ll.MaxDistance), "most words of filler between clue and blank in the language lab, at most 200 (env MAX_LANG_DISTANCE)")
	fs.IntVar(&ll.MaxH, "max-lang-H", env.int("MAX_LANG_H", ll.MaxH), "most hidden units of a language-lab model (env MAX_LANG_H)")
	fs.IntVar(&ll.MaxEmbed, "max-lang-embed", env.int("MAX_LANG_EMBED", ll.MaxEmbed), "widest word embedding of a language-lab model (env MAX_LANG_EMBED)")
	fs.IntVar(&ll.MaxBatch, "max-lang-batch", env.int("MAX_LANG_BATCH", ll.MaxBatch), "largest batch of a language-lab run (env MAX_LANG_BATCH)")
	fs.IntVar(&ll.MaxIterations, "max-lang-iterations", env.int("MAX_LANG_ITERATIONS", ll.MaxIterations), "most iterations of a language-lab run (env MAX_LANG_ITERATIONS)")
	fs.IntVar(&ll.MaxVocab, "max-lang-vocab", env.int("MAX_LANG_VOCAB", ll.MaxVocab), "largest vocabulary of a language-lab task, special words included (env MAX_LANG_VOCAB)")

	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil // the usage is printed
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q: every setting is a flag", fs.Arg(0))
	}
	if err := env.err; err != nil {
		return err
	}
	if *healthcheck {
		return checkHealth(ctx, *addr)
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		return fmt.Errorf("-log-level: %w", err)
	}
	cfg.AllowedOrigins = origins.origins
	cfg.AllowedHosts = hosts.hosts
	cfg.FrameAncestors = frames.origins
	// The host -addr names is the server's own.
	if h, _, err := net.SplitHostPort(*addr); err == nil && h != "" && net.ParseIP(h) == nil {
		if _, _, err := api.ParseAllowedHost(h); err == nil {
			cfg.AllowedHosts = append(cfg.AllowedHosts, h)
		}
	}
	if err := validateConfig(cfg); err != nil {
		return err
	}
	if _, err := api.LoadTours(cfg.ToursDir, cfg.Limits, cfg.Train); err != nil {
		return err
	}
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	if *pubsub != "" {
		host, _ := os.Hostname()
		broker, err := class.DialNATS(*pubsub, "gradviz "+host)
		if err != nil {
			return err
		}
		defer broker.Close()
		cfg.ClassBroker = broker
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	app := api.NewServer(logger, cfg)
	srv := newHTTPServer(app, cfg.RunTimeout, logger)
	fmt.Fprintf(stdout, "gradviz listening on http://%s\n", displayAddr(ln.Addr()))
	logger.Info("listening", "addr", ln.Addr().String(), "workers", cfg.Workers, "maxConnections", cfg.MaxConnections)

	serveErr := make(chan error, 1)
	// Exits when the listener is closed by Shutdown, or on a serve error.
	go func() { serveErr <- srv.Serve(api.Listener(ln)) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	// Websocket sessions and HTTP requests close side by side: Shutdown
	// does not know about hijacked connections, and Close does not know
	// about requests.
	sessionsClosed := make(chan struct{})
	// Exits when every session has ended or been cut off.
	go func() {
		app.Close(shutdownCtx)
		close(sessionsClosed)
	}()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		// Requests still running past the timeout are cut off: the stop
		// was asked for, and a bounded stop matters more than they do.
		logger.Warn("requests cut off at shutdown", "err", err)
		srv.Close()
	}
	<-sessionsClosed
	if err := <-serveErr; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}

// newHTTPServer returns the server with every timeout and size bound set.
// Writing a response may take the run timeout and writeMargin more; with
// no run timeout, there is no write timeout either.
func newHTTPServer(h http.Handler, runTimeout time.Duration, logger *slog.Logger) *http.Server {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      runTimeout + writeMargin,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    maxHeaderBytes,
		// "OPTIONS *" goes to the handler like any request, so it meets
		// the Host check too, instead of net/http's own empty 200.
		DisableGeneralOptionsHandler: true,
		ErrorLog:                     slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	if runTimeout <= 0 {
		srv.WriteTimeout = 0
	}
	return srv
}

// validateConfig checks the flags' values, naming the flag at fault.
func validateConfig(cfg api.Config) error {
	for _, f := range []struct {
		flag string
		got  int64
		min  int64
	}{
		{"-max-T", int64(cfg.Limits.MaxT), 1},
		{"-max-H", int64(cfg.Limits.MaxH), 1},
		{"-max-D", int64(cfg.Limits.MaxD), 1},
		{"-max-K", int64(cfg.Limits.MaxK), 2},
		{"-max-work", cfg.Limits.MaxWork, 0},
		{"-max-connections", int64(cfg.MaxConnections), 1},
		{"-max-message-bytes", cfg.MaxMessageBytes, 512},
		{"-message-burst", int64(cfg.MessageBurst), 1},
		{"-http-request-burst", int64(cfg.HTTPRequestBurst), 1},
		{"-workers", int64(cfg.Workers), 1},
		{"-memory-budget", cfg.MemoryBudget, 0},
		{"-pass-cache", cfg.PassCache, 0},
		{"-max-train-cpu", int64(cfg.TrainCPU), 0},
		{"-max-train-T", int64(cfg.Train.MaxT), 1},
		{"-max-train-H", int64(cfg.Train.MaxH), 1},
		{"-max-train-batch", int64(cfg.Train.MaxBatch), 1},
		{"-max-train-iterations", int64(cfg.Train.MaxIterations), 1},
		{"-max-lang-distance", int64(cfg.Lang.MaxDistance), 0},
		{"-max-lang-H", int64(cfg.Lang.MaxH), 1},
		{"-max-lang-embed", int64(cfg.Lang.MaxEmbed), 1},
		{"-max-lang-batch", int64(cfg.Lang.MaxBatch), 1},
		{"-max-lang-iterations", int64(cfg.Lang.MaxIterations), 1},
		{"-max-lang-vocab", int64(cfg.Lang.MaxVocab), 3},
		{"-class-max-rooms", int64(cfg.Class.MaxRooms), 1},
		{"-class-max-members", int64(cfg.Class.MaxMembers), 1},
		{"-class-join-burst", int64(cfg.ClassJoinBurst), 1},
	} {
		if f.got < f.min {
			return fmt.Errorf("%s must be at least %d, got %d", f.flag, f.min, f.got)
		}
	}
	if cfg.Lang.MaxDistance > engine.MaxLangDistance {
		return fmt.Errorf("-max-lang-distance must be at most %d, got %d", engine.MaxLangDistance, cfg.Lang.MaxDistance)
	}
	if r := cfg.MessagesPerSecond; !(r > 0) || r > 1e6 {
		return fmt.Errorf("-messages-per-second must be greater than 0 and at most 1e6, got %g", r)
	}
	if r := cfg.HTTPRequestsPerSecond; !(r >= 0) || r > 1e6 {
		return fmt.Errorf("-http-requests-per-second must be 0 (no limit) to 1e6, got %g", r)
	}
	if r := cfg.ClassJoinsPerMinute; !(r >= 0) || r > 1e6 {
		return fmt.Errorf("-class-joins-per-minute must be 0 (no limit) to 1e6, got %g", r)
	}
	if cfg.Class.Idle < time.Minute {
		return fmt.Errorf("-class-idle must be at least 1m, got %s", cfg.Class.Idle)
	}
	if cfg.RunTimeout < 0 {
		return fmt.Errorf("-run-timeout must not be negative (0 means none), got %s", cfg.RunTimeout)
	}
	return nil
}

// originList is the repeatable, comma-separated -allow-origin flag. The
// first use of the flag replaces the list from the environment.
type originList struct {
	origins []string
	fromEnv bool
}

func (o *originList) String() string {
	if o == nil {
		return ""
	}
	return strings.Join(o.origins, ",")
}

// Set adds each comma-separated origin, which must be scheme://host[:port]
// with nothing after it, as browsers send in the Origin header.
func (o *originList) Set(v string) error {
	if o.fromEnv {
		o.origins, o.fromEnv = nil, false
	}
	return o.add(v)
}

func (o *originList) add(v string) error {
	for _, origin := range strings.Split(v, ",") {
		origin = strings.TrimSpace(origin)
		if origin == "" {
			continue
		}
		u, err := url.Parse(origin)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			strings.TrimSuffix(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			return fmt.Errorf("origin %q must be http(s)://host[:port], without a path", origin)
		}
		o.origins = append(o.origins, strings.TrimSuffix(origin, "/"))
	}
	return nil
}

// hostList is the repeatable, comma-separated -allow-host flag. The
// first use of the flag replaces the list from the environment.
type hostList struct {
	hosts   []string
	fromEnv bool
}

func (h *hostList) String() string {
	if h == nil {
		return ""
	}
	return strings.Join(h.hosts, ",")
}

// Set adds each comma-separated host name or address.
func (h *hostList) Set(v string) error {
	if h.fromEnv {
		h.hosts, h.fromEnv = nil, false
	}
	return h.add(v)
}

func (h *hostList) add(v string) error {
	for _, host := range strings.Split(v, ",") {
		host = strings.TrimSpace(host)
		if host == "" {
			continue
		}
		if _, _, err := api.ParseAllowedHost(host); err != nil {
			return err
		}
		h.hosts = append(h.hosts, host)
	}
	return nil
}

// frameList is the -frame-ancestors flag: origins separated by spaces
// or commas (api.ParseFrameAncestors). A use of the flag replaces the
// list from the environment; repeating it adds to it.
type frameList struct {
	origins []string
	fromEnv bool
}

func (f *frameList) String() string {
	if f == nil {
		return ""
	}
	return strings.Join(f.origins, " ")
}

func (f *frameList) Set(v string) error {
	if f.fromEnv {
		f.origins, f.fromEnv = nil, false
	}
	origins, err := api.ParseFrameAncestors(v)
	if err != nil {
		return err
	}
	f.origins = append(f.origins, origins...)
	return nil
}

// checkHealth asks the server at addr for /healthz, on the loopback
// interface when addr listens on every interface.
func checkHealth(ctx context.Context, addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-healthcheck: -addr %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, healthcheckTimeout)
	defer cancel()
	u := "http://" + net.JoinHostPort(host, port) + "/healthz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("-healthcheck: %w", err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("-healthcheck: %w", err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("-healthcheck: GET %s: status %d, want 200", u, resp.StatusCode)
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

func (e *envDefaults) fail(name, v, want string) {
	if e.err == nil {
		e.err = fmt.Errorf("environment %s=%q: not %s", name, v, want)
	}
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
	if err != nil {
		e.fail(name, v, "a whole number")
		return def
	}
	return n
}

func (e *envDefaults) int(name string, def int) int { return int(e.int64(name, int64(def))) }

func (e *envDefaults) float(name string, def float64) float64 {
	v := strings.TrimSpace(e.getenv(name))
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		e.fail(name, v, "a number")
		return def
	}
	return f
}

func (e *envDefaults) duration(name string, def time.Duration) time.Duration {
	v := strings.TrimSpace(e.getenv(name))
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.fail(name, v, "a duration such as 20s")
		return def
	}
	return d
}

// hosts reads a comma-separated list of host names.
func (e *envDefaults) hosts(name string) hostList {
	h := hostList{fromEnv: true}
	if err := h.add(e.getenv(name)); err != nil && e.err == nil {
		e.err = fmt.Errorf("environment %s: %w", name, err)
	}
	return h
}

// frames reads a list of frame ancestors.
func (e *envDefaults) frames(name string) frameList {
	origins, err := api.ParseFrameAncestors(e.getenv(name))
	if err != nil && e.err == nil {
		e.err = fmt.Errorf("environment %s: %w", name, err)
	}
	return frameList{origins: origins, fromEnv: true}
}

// origins reads a comma-separated list of origins.
func (e *envDefaults) origins(name string) originList {
	o := originList{fromEnv: true}
	if err := o.add(e.getenv(name)); err != nil && e.err == nil {
		e.err = fmt.Errorf("environment %s: %w", name, err)
	}
	return o
}
