package api_test

// The export against the reference of reference_test.go: docs/design.md
// promises that "a student can load this file in NumPy or PyTorch and
// recompute every number to within 1e-9 relative error". These tests are
// that student.

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"gradviz/internal/api"
)

// Tolerance. The contract is 1e-9 relative error: |a−b| ≤ 1e-9·max(|a|,|b|).
// The engine and the reference sum in different orders and use different
// algorithms (an iterative spectral norm against a dense SVD), so bit
// equality is not expected. Sums and products stay within ~1e-12; the
// engine's iterative ‖J_k‖₂ is the tightest, at up to ~2e-10 (H up to
// 256). The absolute floor of
// 1e-300 only matters for values that underflow into the subnormal range,
// where relative error loses its meaning; no tested value is that small
// unless it is exactly zero on both sides.
const (
	relTol   = 1e-9
	absFloor = 1e-300
)

// closeEnough reports whether got and want agree within the contract.
// NaN agrees only with NaN, an infinity only with itself.
func closeEnough(got, want float64) bool {
	if math.IsNaN(got) || math.IsNaN(want) {
		return math.IsNaN(got) && math.IsNaN(want)
	}
	if got == want {
		return true
	}
	return math.Abs(got-want) <= relTol*math.Max(math.Abs(got), math.Abs(want))+absFloor
}

// relErr is |a−b|/max(|a|,|b|), 0 when equal.
func relErr(a, b float64) float64 {
	if a == b || (math.IsNaN(a) && math.IsNaN(b)) {
		return 0
	}
	return math.Abs(a-b) / math.Max(math.Abs(a), math.Abs(b))
}

// errStats records the worst relative error seen per quantity, for the
// report printed by go test -v.
type errStats struct {
	mu    sync.Mutex
	worst map[string]float64
	where map[string]string
	count map[string]int
}

func newErrStats() *errStats {
	return &errStats{worst: map[string]float64{}, where: map[string]string{}, count: map[string]int{}}
}

func (s *errStats) add(quantity, where string, e float64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count[quantity]++
	if _, seen := s.worst[quantity]; !seen || e > s.worst[quantity] {
		s.worst[quantity] = e
		s.where[quantity] = where
	}
}

func (s *errStats) log(t *testing.T) {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := make([]string, 0, len(s.worst))
	for n := range s.worst {
		names = append(names, n)
	}
	sort.Strings(names)
	t.Logf("worst relative error per quantity (tolerance %g):", relTol)
	for _, n := range names {
		t.Logf("  %-16s %9.3g  over %6d numbers  (worst in %s)", n, s.worst[n], s.count[n], s.where[n])
	}
}

// checker compares exported numbers with recomputed ones.
type checker struct {
	t     *testing.T
	stats *errStats
}

func (c *checker) number(name string, got, want float64) {
	c.t.Helper()
	c.stats.add(name, c.t.Name(), relErr(got, want))
	if !closeEnough(got, want) {
		c.t.Errorf("%s: got %.17g, want %.17g (relative error %.3g)", name, got, want, relErr(got, want))
	}
}

// series compares a per-step series; index i is step k = i+1.
func (c *checker) series(name string, got, want []float64) {
	c.t.Helper()
	if len(got) != len(want) {
		c.t.Errorf("%s: got %d values, want %d", name, len(got), len(want))
		return
	}
	bad := 0
	for i := range got {
		c.stats.add(name, c.t.Name(), relErr(got[i], want[i]))
		if !closeEnough(got[i], want[i]) {
			bad++
			if bad <= 5 {
				c.t.Errorf("%s[k=%d]: got %.17g, want %.17g (relative error %.3g)", name, i+1, got[i], want[i], relErr(got[i], want[i]))
			}
		}
	}
	if bad > 5 {
		c.t.Errorf("%s: %d of %d steps differ", name, bad, len(got))
	}
}

// ---------------------------------------------------------------------
// Fetching.

// newTestServer serves the default configuration without the per-client
// request rate: these tests send one request per case as fast as they
// can, from one address, and the limit has tests of its own.
func newTestServer(t testing.TB) *httptest.Server {
	t.Helper()
	cfg := api.DefaultConfig()
	cfg.HTTPRequestsPerSecond = 0
	srv := httptest.NewServer(api.NewServer(slog.New(slog.NewTextHandler(io.Discard, nil)), cfg))
	t.Cleanup(srv.Close)
	return srv
}

// get fetches a path and returns the status, Content-Type and body.
func get(t testing.TB, srv *httptest.Server, path string) (int, string, []byte) {
	t.Helper()
	resp, err := http.Get(srv.URL + path)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: reading body: %v", path, err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), body
}

// fetchExport fetches the export with weights for a settings query.
func fetchExport(t testing.TB, srv *httptest.Server, query string) []byte {
	t.Helper()
	path := "/api/profile?include=weights"
	if query != "" {
		path += "&" + query
	}
	status, _, body := get(t, srv, path)
	if status != http.StatusOK {
		t.Fatalf("GET %s: got status %d, want 200; body %s", path, status, body)
	}
	return body
}

// ---------------------------------------------------------------------
// The settings table.

type referenceCase struct {
	name  string
	query string
}

var referenceCases = []referenceCase{
	// The first picture a user sees: every setting at its default.
	{"defaults", ""},

	// Vanilla RNN: each activation, each loss.
	{"rnn/sigmoid/last", "cell=rnn&act=sigmoid&T=30&H=8&D=3&K=5&seed=2"},
	{"rnn/sigmoid/sum", "cell=rnn&act=sigmoid&T=30&H=8&D=3&K=5&seed=2&loss=sum"},
	{"rnn/sigmoid/big-gain", "cell=rnn&act=sigmoid&T=40&H=12&gain=6&seed=11"},
	{"rnn/tanh/last", "cell=rnn&act=tanh&T=60&H=16&D=5&K=6&seed=3"},
	{"rnn/tanh/sum", "cell=rnn&act=tanh&T=60&H=16&D=5&K=6&seed=3&loss=sum"},
	{"rnn/tanh/may-explode", "cell=rnn&act=tanh&T=50&H=10&gain=2.5&seed=4&loss=sum"},
	{"rnn/relu/last", "cell=rnn&act=relu&T=40&H=12&D=2&K=3&seed=5"},
	{"rnn/relu/sum", "cell=rnn&act=relu&T=40&H=12&D=2&K=3&seed=5&loss=sum"},
	{"rnn/linear/last", "cell=rnn&act=linear&T=25&H=6&seed=6"},
	{"rnn/linear/sum-exploding", "cell=rnn&act=linear&T=30&H=6&gain=1.6&seed=6&loss=sum"},

	// Each initialisation scheme.
	{"init/gaussian", "init=gaussian&T=20&H=10&D=2&K=3&gain=1.1&seed=7"},
	{"init/uniform", "init=uniform&T=20&H=10&D=2&K=3&gain=1.3&seed=7&loss=sum"},
	{"init/orthogonal", "init=orthogonal&T=20&H=10&D=2&K=3&gain=1.2&seed=7"},
	{"init/orthogonal-sigmoid", "init=orthogonal&act=sigmoid&T=30&H=9&gain=4&seed=8&loss=sum"},
	{"init/identity", "init=identity&T=20&H=10&D=2&K=3&gain=0.9&seed=7"},
	{"init/identity-relu", "init=identity&act=relu&T=30&H=8&gain=1&seed=9&loss=sum"},
	{"init/xavier", "init=xavier&T=20&H=10&D=2&K=3&gain=1&seed=7&loss=sum"},
	{"init/he", "init=he&act=relu&T=20&H=10&D=2&K=3&gain=1&seed=7"},
	{"init/gain-zero", "init=gaussian&T=15&H=5&gain=0&seed=10&loss=sum"},
	{"init/lstm-orthogonal", "cell=lstm&init=orthogonal&T=20&H=6&gain=1.5&seed=12"},
	{"init/gru-identity", "cell=gru&init=identity&T=20&H=6&seed=12&loss=sum"},
	{"init/lstm-xavier", "cell=lstm&init=xavier&T=20&H=6&seed=13&loss=sum"},
	{"init/gru-he", "cell=gru&init=he&T=20&H=6&seed=13"},
	{"init/lstm-uniform", "cell=lstm&init=uniform&T=20&H=6&gain=2&seed=14"},

	// Sizes.
	{"size/T1-H1-D1-K2", "T=1&H=1&D=1&K=2&seed=15"},
	{"size/T2-H1-sum", "T=2&H=1&D=1&K=2&seed=15&loss=sum"},
	{"size/T50-H16-D7-K9", "T=50&H=16&D=7&K=9&seed=16&loss=sum"},
	{"size/lstm-T1", "cell=lstm&T=1&H=3&D=2&K=2&seed=17"},
	{"size/gru-T1", "cell=gru&T=1&H=3&D=2&K=2&seed=17"},
	{"size/lstm-T60-H16", "cell=lstm&T=60&H=16&D=6&K=7&seed=18&loss=sum"},
	{"size/gru-T60-H16", "cell=gru&T=60&H=16&D=6&K=7&seed=18"},

	// LSTM.
	{"lstm/last", "cell=lstm&T=40&H=8&seed=19"},
	{"lstm/sum", "cell=lstm&T=40&H=8&seed=19&loss=sum"},
	{"lstm/forgetBias1", "cell=lstm&T=40&H=8&forgetBias=1&seed=19"},
	{"lstm/forgetBias-2-sum", "cell=lstm&T=40&H=8&forgetBias=-2&seed=19&loss=sum"},
	{"lstm/forgetBias5-gain3", "cell=lstm&T=50&H=8&forgetBias=5&gain=3&seed=20"},

	// GRU.
	{"gru/last", "cell=gru&T=40&H=8&seed=21"},
	{"gru/sum", "cell=gru&T=40&H=8&seed=21&loss=sum"},
	{"gru/gain3", "cell=gru&T=40&H=8&gain=3&seed=22&loss=sum"},

	// Clipping: every mode in every cell, thresholds small enough to fire.
	{"clip/rnn-global-norm", "cell=rnn&T=30&H=8&clip=global-norm&threshold=0.05&seed=23"},
	{"clip/rnn-step-norm", "cell=rnn&T=30&H=8&clip=step-norm&threshold=0.05&seed=23&loss=sum"},
	{"clip/rnn-step-value", "cell=rnn&T=30&H=8&clip=step-value&threshold=0.01&seed=23"},
	{"clip/rnn-step-norm-exploding", "cell=rnn&act=linear&T=40&H=8&gain=2&clip=step-norm&threshold=1&seed=24&loss=sum"},
	{"clip/rnn-step-value-exploding", "cell=rnn&act=relu&init=he&T=40&H=8&gain=3&clip=step-value&threshold=0.5&seed=24"},
	{"clip/rnn-none-explicit", "cell=rnn&T=30&H=8&clip=none&threshold=0.01&seed=23"},
	{"clip/lstm-global-norm", "cell=lstm&T=30&H=8&clip=global-norm&threshold=0.05&seed=25&loss=sum"},
	{"clip/lstm-step-norm", "cell=lstm&T=30&H=8&clip=step-norm&threshold=0.05&seed=25"},
	{"clip/lstm-step-value", "cell=lstm&T=30&H=8&clip=step-value&threshold=0.01&seed=25&loss=sum"},
	{"clip/lstm-step-norm-gain3", "cell=lstm&T=40&H=8&gain=3&forgetBias=2&clip=step-norm&threshold=0.1&seed=26&loss=sum"},
	{"clip/gru-global-norm", "cell=gru&T=30&H=8&clip=global-norm&threshold=0.05&seed=27"},
	{"clip/gru-step-norm", "cell=gru&T=30&H=8&clip=step-norm&threshold=0.05&seed=27&loss=sum"},
	{"clip/gru-step-value", "cell=gru&T=30&H=8&clip=step-value&threshold=0.01&seed=27"},

	// Bidirectional models.
	{"bidir/rnn-last", "cell=rnn&bidir=true&T=30&H=8&D=3&K=4&seed=28"},
	{"bidir/rnn-sum", "cell=rnn&bidir=true&T=30&H=8&D=3&K=4&seed=28&loss=sum"},
	{"bidir/rnn-relu-step-norm", "cell=rnn&act=relu&init=he&bidir=true&T=30&H=8&clip=step-norm&threshold=0.05&seed=29&loss=sum"},
	{"bidir/rnn-sigmoid-step-value", "cell=rnn&act=sigmoid&bidir=true&T=20&H=5&clip=step-value&threshold=0.01&seed=29"},
	{"bidir/lstm-last", "cell=lstm&bidir=true&T=30&H=8&seed=30"},
	{"bidir/lstm-sum-step-value", "cell=lstm&bidir=true&T=30&H=8&forgetBias=1&clip=step-value&threshold=0.01&seed=30&loss=sum"},
	{"bidir/lstm-step-norm", "cell=lstm&bidir=true&T=30&H=8&clip=step-norm&threshold=0.05&seed=31&loss=sum"},
	{"bidir/gru-last-global-norm", "cell=gru&bidir=true&T=30&H=8&clip=global-norm&threshold=0.05&seed=32"},
	{"bidir/gru-sum-step-norm", "cell=gru&bidir=true&T=30&H=8&clip=step-norm&threshold=0.05&seed=32&loss=sum"},
	{"bidir/gru-T1", "cell=gru&bidir=true&T=1&H=2&D=1&K=2&seed=33"},

	// Self-attention: each activation, loss, mask and clipping mode,
	// an odd H (the position code's last column is a sine) and T=1.
	{"attn/defaults", "cell=attn"},
	{"attn/sigmoid-sum", "cell=attn&act=sigmoid&T=30&H=8&D=3&K=5&seed=2&loss=sum"},
	{"attn/relu-bidir", "cell=attn&act=relu&init=he&T=25&H=7&bidir=true&seed=3"},
	{"attn/linear-sum-bidir", "cell=attn&act=linear&T=20&H=6&bidir=true&seed=4&loss=sum"},
	{"attn/gain3-orthogonal", "cell=attn&init=orthogonal&T=40&H=9&gain=3&seed=5"},
	{"attn/step-norm", "cell=attn&T=30&H=8&clip=step-norm&threshold=0.01&seed=6&loss=sum"},
	{"attn/step-value", "cell=attn&T=30&H=8&clip=step-value&threshold=0.001&seed=6"},
	{"attn/global-norm", "cell=attn&T=30&H=8&clip=global-norm&threshold=0.05&seed=6"},
	{"attn/T1", "cell=attn&T=1&H=3&D=2&K=2&seed=7"},

	// Saturated outputs: the states of a linear or ReLU RNN grow until the
	// model is all but certain of y_T, so 1 − ŷ_T[y_T] and E_T are far below
	// machine epsilon relative to ŷ. The exact ∂E/∂o_T[y] = ŷ_y − 1 equals
	// −Σ_{j≠y} ŷ_j; computing it as ŷ_y − 1 from the rounded ŷ_y would lose
	// every digit, so these cases hold the engine to the careful form.
	{"saturated/rnn-linear-xavier", "cell=rnn&act=linear&init=xavier&H=8&T=40&seed=1"},
	{"saturated/rnn-relu-orthogonal", "cell=rnn&act=relu&init=orthogonal&H=8&T=40&gain=2&seed=2"},
}

// defaultConfig is the engine's default settings, as the export echoes them.
var defaultConfig = map[string]string{
	"cell": "rnn", "act": "tanh", "T": "100", "H": "32", "D": "4", "K": "4",
	"init": "gaussian", "gain": "1", "forgetBias": "0", "clip": "none",
	"threshold": "1", "loss": "last", "seed": "1", "bidir": "false",
}

func TestExportMatchesReference(t *testing.T) {
	srv := newTestServer(t)
	stats := newErrStats()
	for _, tc := range referenceCases {
		t.Run(tc.name, func(t *testing.T) {
			body := fetchExport(t, srv, tc.query)
			ex := decodeExport(t, body)
			if v := ex["version"]; v != 1.0 {
				t.Errorf("version: got %v, want 1", v)
			}
			checkConfig(t, ex, tc.query)
			m := modelFromExport(t, ex)
			checkInit(t, ex, m)
			want := reference(m)
			compareExport(&checker{t: t, stats: stats}, ex, m, want)
		})
	}
	stats.log(t)
}

// checkConfig checks that config echoes the query over the defaults.
func checkConfig(t *testing.T, ex map[string]any, query string) {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatalf("bad test query %q: %v", query, err)
	}
	cfg := object(t, ex["config"], "config")
	if len(cfg) != len(defaultConfig) {
		t.Errorf("config: got names %v, want %d names", keys(cfg), len(defaultConfig))
	}
	for name, def := range defaultConfig {
		want := def
		if v := q.Get(name); v != "" {
			want = v
		}
		got, ok := cfg[name]
		if !ok {
			t.Errorf("config.%s: missing, want %s", name, want)
			continue
		}
		switch g := got.(type) {
		case string:
			if g != want {
				t.Errorf("config.%s: got %q, want %q", name, g, want)
			}
		case bool:
			if strconv.FormatBool(g) != want {
				t.Errorf("config.%s: got %v, want %s", name, g, want)
			}
		case float64:
			w, err := strconv.ParseFloat(want, 64)
			if err != nil || g != w {
				t.Errorf("config.%s: got %v, want %s", name, g, want)
			}
		default:
			t.Errorf("config.%s: got %#v, want %s", name, got, want)
		}
	}
}

// checkInit checks the few initialisation properties that are exact: the
// identity scheme is gain·I, the orthogonal one gain·Q with QQᵀ = I, and the
// LSTM's forget bias is forgetBias.
func checkInit(t *testing.T, ex map[string]any, m *refModel) {
	t.Helper()
	cfg := object(t, ex["config"], "config")
	gain := num(t, cfg["gain"], "config.gain")
	for d, ch := range m.Chains {
		for _, g := range gateNames(m.Cell) {
			Wh := ch.Wh[g]
			switch cfg["init"] {
			case "identity":
				for i := range m.H {
					for j := range m.H {
						want := 0.0
						if i == j {
							want = gain
						}
						if Wh[i][j] != want {
							t.Errorf("chain %d Wh.%s[%d][%d] (identity): got %v, want %v", d, g, i, j, Wh[i][j], want)
						}
					}
				}
			case "orthogonal":
				for i := range m.H {
					for j := range m.H {
						dot := 0.0
						for k := range m.H {
							dot += Wh[i][k] * Wh[j][k]
						}
						want := 0.0
						if i == j {
							want = gain * gain
						}
						if math.Abs(dot-want) > 1e-12*math.Max(1, gain*gain) {
							t.Errorf("chain %d (Wh.%s Wh.%sᵀ)[%d][%d] (orthogonal): got %v, want %v", d, g, g, i, j, dot, want)
						}
					}
				}
			}
		}
		if m.Cell == "lstm" {
			fb := num(t, cfg["forgetBias"], "config.forgetBias")
			for j, v := range ch.B["f"] {
				if v != fb {
					t.Errorf("chain %d b.f[%d]: got %v, want forgetBias %v", d, j, v, fb)
				}
			}
		}
	}
}

// compareExport compares every number of the export with the reference.
func compareExport(c *checker, ex map[string]any, m *refModel, want *refResult) {
	t := c.t
	t.Helper()
	c.number("loss", num(t, ex["loss"], "loss"), want.Loss)
	c.number("gradNorm", num(t, ex["gradNorm"], "gradNorm"), want.GradNorm)
	c.number("gradNormClipped", num(t, ex["gradNormClipped"], "gradNormClipped"), want.GradNormClipped)

	if ex["overflow"] != nil {
		t.Errorf("overflow: got %v, want null for a finite run", ex["overflow"])
	}
	if want.OverflowForward != 0 {
		t.Errorf("reference overflowed at t=%d; the table should hold finite runs", want.OverflowForward)
	}

	prof := object(t, ex["profile"], "profile")
	series := func(name string, present bool, ref []float64) {
		t.Helper()
		v, ok := prof[name]
		if !present {
			if ok {
				t.Errorf("profile.%s: present, want absent for cell=%s bidir=%v", name, m.Cell, m.Bidir)
			}
			return
		}
		if !ok {
			t.Errorf("profile.%s: absent, want %d values", name, m.T)
			return
		}
		c.series(name, vec(t, v, "profile."+name), ref)
	}
	lstm, rnn := m.Cell == "lstm", m.Cell == "rnn"
	series("dE_ds", true, want.DEds)
	series("dE_ds_raw", true, want.DEdsRaw)
	series("dE_dc", lstm, want.DEdc)
	series("dE_dc_raw", lstm, want.DEdcRaw)
	series("cellPath", lstm, want.CellPath)
	series("forgetPrediction", lstm, want.ForgetPrediction)
	rev := m.Bidir && m.Cell != "attn" // attention's bidir lifts the mask instead
	series("dE_ds_rev", rev, want.DEdsRev)
	series("dE_ds_rev_raw", rev, want.DEdsRevRaw)
	series("stateNorm", true, want.StateNorm)
	series("jacobianNorm", rnn, want.JacobianNorm)
	series("bound", rnn, want.Bound)
	for name := range prof {
		switch name {
		case "dE_ds", "dE_ds_raw", "dE_dc", "dE_dc_raw", "cellPath", "forgetPrediction", "dE_ds_rev", "dE_ds_rev_raw", "stateNorm", "jacobianNorm", "bound":
		default:
			t.Errorf("profile.%s: unexpected series", name)
		}
	}

	checkClipFired(t, ex, m, prof)

	if !rnn {
		if ex["theory"] != nil {
			t.Errorf("theory: got %v, want null for cell=%s", ex["theory"], m.Cell)
		}
		return
	}
	th := object(t, ex["theory"], "theory")
	c.number("gamma", num(t, th["gamma"], "theory.gamma"), want.Gamma)
	c.number("sigmaMax", num(t, th["sigmaMax"], "theory.sigmaMax"), want.SigmaMax)
	c.number("spectralRadius", num(t, th["spectralRadius"], "theory.spectralRadius"), want.SpectralRadius)
	if got := th["regime"]; got != want.Regime {
		t.Errorf("theory.regime: got %v, want %s (γ·σ_max = %g)", got, want.Regime, want.Gamma*want.SigmaMax)
	}
	sv := vec(t, th["singularValues"], "theory.singularValues")
	c.series("singularValues", sv, want.SingularValues)
	compareEigenvalues(c, th["eigenvalues"], want.Eigenvalues)
}

// checkClipFired makes sure the clipping cases really clip, so the
// comparison of the clipped numbers means something, and that the
// non-step modes leave the profile alone.
func checkClipFired(t *testing.T, ex map[string]any, m *refModel, prof map[string]any) {
	t.Helper()
	ds := vec(t, prof["dE_ds"], "profile.dE_ds")
	raw := vec(t, prof["dE_ds_raw"], "profile.dE_ds_raw")
	differs := false
	for i := range ds {
		if ds[i] != raw[i] {
			differs = true
		}
	}
	gn := num(t, ex["gradNorm"], "gradNorm")
	gc := num(t, ex["gradNormClipped"], "gradNormClipped")
	switch m.Clip {
	case "step-norm", "step-value":
		if !differs {
			t.Errorf("clip=%s threshold=%g: dE_ds equals dE_ds_raw at every step, want clipping to fire", m.Clip, m.Theta)
		}
	case "global-norm":
		if !(gc < gn) {
			t.Errorf("clip=global-norm threshold=%g: got gradNormClipped %g, want < gradNorm %g", m.Theta, gc, gn)
		}
		fallthrough
	default:
		if differs {
			t.Errorf("clip=%s: dE_ds differs from dE_ds_raw, want equal when clip is not a step mode", m.Clip)
		}
		if m.Clip == "none" && gc != gn {
			t.Errorf("clip=none: got gradNormClipped %v, want gradNorm %v", gc, gn)
		}
	}
}

// compareEigenvalues checks the [re, im] pairs: H of them, in decreasing
// modulus, and equal as a multiset to the reference's (a conjugate pair, or
// a repeated eigenvalue, has no canonical order). For complex numbers the
// relative error is |λ−μ| / max(|λ|, |μ|).
func compareEigenvalues(c *checker, v any, want []complex128) {
	t := c.t
	t.Helper()
	pairs, ok := v.([]any)
	if !ok || len(pairs) != len(want) {
		t.Errorf("theory.eigenvalues: got %v, want %d [re, im] pairs", v, len(want))
		return
	}
	got := make([]complex128, len(pairs))
	for i, p := range pairs {
		reim := vec(t, p, fmt.Sprintf("theory.eigenvalues[%d]", i))
		if len(reim) != 2 {
			t.Fatalf("theory.eigenvalues[%d]: got %v, want [re, im]", i, reim)
		}
		got[i] = complex(reim[0], reim[1])
	}
	for i := 1; i < len(got); i++ {
		if cmplxAbs(got[i]) > cmplxAbs(got[i-1])*(1+relTol) {
			t.Errorf("theory.eigenvalues: |λ_%d| = %g > |λ_%d| = %g, want decreasing modulus", i, cmplxAbs(got[i]), i-1, cmplxAbs(got[i-1]))
		}
	}
	used := make([]bool, len(want))
	for i, g := range got {
		best, bestErr := -1, math.Inf(1)
		for j, w := range want {
			if used[j] {
				continue
			}
			e := cmplxRelErr(g, w)
			if e < bestErr {
				best, bestErr = j, e
			}
		}
		used[best] = true
		c.stats.add("eigenvalues", t.Name(), bestErr)
		w := want[best]
		if cmplxAbs(g-w) > relTol*math.Max(cmplxAbs(g), cmplxAbs(w))+absFloor {
			t.Errorf("theory.eigenvalues[%d]: got %v, want %v (relative error %.3g)", i, g, w, bestErr)
		}
	}
}

func cmplxRelErr(a, b complex128) float64 {
	if a == b {
		return 0
	}
	return cmplxAbs(a-b) / math.Max(cmplxAbs(a), cmplxAbs(b))
}

// ---------------------------------------------------------------------
// Determinism.

// TestExportDeterministic: the same query gives the same bytes. The run
// time, the one number that is not a function of the settings, is in the
// Server-Timing header, not the body.
func TestExportDeterministic(t *testing.T) {
	srv := newTestServer(t)
	for _, query := range []string{
		"",
		"cell=rnn&act=relu&T=50&H=12&clip=step-norm&threshold=0.1&loss=sum&seed=3",
		"cell=lstm&T=40&H=8&forgetBias=1&bidir=true&seed=4",
		"cell=gru&T=40&H=8&init=orthogonal&clip=step-value&threshold=0.01&seed=5",
		"cell=rnn&act=linear&gain=6&T=2000&H=8",
	} {
		t.Run(query, func(t *testing.T) {
			a := fetchExport(t, srv, query)
			b := fetchExport(t, srv, query)
			if string(a) != string(b) {
				i := 0
				for i < len(a) && i < len(b) && a[i] == b[i] {
					i++
				}
				lo := max(0, i-60)
				t.Errorf("same query twice: bodies differ at byte %d: got …%s…, want …%s…",
					i, a[lo:min(len(a), i+60)], b[lo:min(len(b), i+60)])
			}
			if strings.Contains(string(a), `"elapsedMs"`) {
				t.Errorf("the export carries elapsedMs; the run time belongs in Server-Timing")
			}
			resp, err := http.Get(srv.URL + "/api/profile?" + query)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if timing := resp.Header.Get("Server-Timing"); !strings.HasPrefix(timing, "run;dur=") {
				t.Errorf("Server-Timing: got %q, want the run time", timing)
			}
		})
	}
}
