// Command benchreport turns the files that bench/run writes into the
// performance tables of README.md: medians of the Go benchmark lines of
// each run, PyTorch's lines of the same names beside them, and the load
// generator's summary.
//
//	go run ./cmd/benchreport bench/out/2026-12-01
package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: benchreport DIR (the folder bench/run wrote)")
		os.Exit(2)
	}
	if err := report(os.Stdout, os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "benchreport:", err)
		os.Exit(1)
	}
}

// results maps a benchmark's name (without the -N of GOMAXPROCS) and a
// unit to the values of its runs.
type results map[string]map[string][]float64

// median returns the median of name's values in unit, and whether any.
func (r results) median(name, unit string) (float64, bool) {
	v := r[name][unit]
	if len(v) == 0 {
		return 0, false
	}
	s := slices.Sorted(slices.Values(v))
	return (s[(len(s)-1)/2] + s[len(s)/2]) / 2, true
}

// parse reads Go benchmark lines: name, iterations, then value-unit pairs.
func parse(r io.Reader) (results, error) {
	out := results{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || len(f)%2 != 0 {
			continue
		}
		if _, err := strconv.Atoi(f[1]); err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		if out[name] == nil {
			out[name] = map[string][]float64{}
		}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: value %q: %w", name, f[i], err)
			}
			out[name][f[i+1]] = append(out[name][f[i+1]], v)
		}
	}
	return out, sc.Err()
}

// load parses dir/name, or returns empty results if it is missing.
func load(dir, name string) (results, error) {
	f, err := os.Open(filepath.Join(dir, name))
	if errors.Is(err, fs.ErrNotExist) {
		return results{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parse(f)
}

// ms formats nanoseconds as milliseconds with three significant digits.
func ms(ns float64) string { return sig(ns/1e6) + " ms" }

func sig(v float64) string {
	switch {
	case v >= 100:
		return strconv.FormatFloat(v, 'f', 0, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	case v >= 1:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}

// cell formats r's median of name in ns/op, or a dash.
func cell(r results, name string) string {
	if v, ok := r.median(name, "ns/op"); ok {
		return ms(v)
	}
	return "–"
}

// ratio formats a/b of two medians in unit, or a dash.
func ratio(a results, an string, b results, bn, unit string) string {
	x, ok1 := a.median(an, unit)
	y, ok2 := b.median(bn, unit)
	if !ok1 || !ok2 || y == 0 {
		return "–"
	}
	return strconv.FormatFloat(x/y, 'f', 2, 64) + "×"
}

// cells are the models benchmarked, in the engine's display order.
var cells = []string{"rnn", "lstm", "gru", "attn"}

func report(w io.Writer, dir string) error {
	files := map[string]results{}
	for _, name := range []string{"engine.txt", "export.txt", "browser.txt", "torch-1.txt", "torch-2.txt"} {
		r, err := load(dir, name)
		if err != nil {
			return err
		}
		files[name] = r
	}
	eng, torch1, torch2 := files["engine.txt"], files["torch-1.txt"], files["torch-2.txt"]
	if machine, err := os.ReadFile(filepath.Join(dir, "machine.txt")); err == nil {
		fmt.Fprintf(w, "Measured by `bench/run` on %s\n", strings.TrimSpace(string(machine)))
	}

	fmt.Fprintln(w, "\n#### A profile, one sequence")
	fmt.Fprintln(w, "\n| cell | T, H | bare passes | Gain change (what the page waits for) | ratio | full profile (HTTP) | ‖J_k‖ for every step | PyTorch autograd, 1 thread | 2 threads | gradviz / PyTorch (1 thread) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range cells {
		for _, size := range []string{"T=100/H=32", "T=1000/H=128"} {
			sub := "/cell=" + c + "/" + size
			jac := "–"
			if c == "rnn" {
				jac = cell(eng, "BenchmarkJacobianNorms"+sub)
			}
			fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", c, strings.ReplaceAll(size, "/", ", "),
				cell(eng, "BenchmarkPasses"+sub), cell(eng, "BenchmarkGainChange"+sub),
				ratio(eng, "BenchmarkGainChange"+sub, eng, "BenchmarkPasses"+sub, "ns/op"),
				cell(eng, "BenchmarkProfile"+sub), jac,
				cell(torch1, "BenchmarkPasses"+sub), cell(torch2, "BenchmarkPasses"+sub),
				ratio(eng, "BenchmarkGainChange"+sub, torch1, "BenchmarkPasses"+sub, "ns/op"))
		}
	}

	fmt.Fprintln(w, "\n#### One training iteration on recall (T=50, H=64, batch 32, Adam)")
	fmt.Fprintln(w, "\n| cell | gradviz | allocations | PyTorch fused, 1 thread | 2 threads | gradviz / PyTorch (1 thread) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, c := range cells {
		name := "BenchmarkTrainStep/cell=" + c + "/T=50/H=64/batch=32"
		allocs := "–"
		if v, ok := eng.median(name, "allocs/op"); ok {
			b, _ := eng.median(name, "B/op")
			allocs = fmt.Sprintf("%.0f (%s KB)", v, sig(b/1e3))
		}
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s |\n", c, cell(eng, name), allocs,
			cell(torch1, name), cell(torch2, name), ratio(eng, name, torch1, name, "ns/op"))
	}

	fmt.Fprintln(w, "\n#### Clipping and the phase diagram")
	fmt.Fprintln(w, "\n| what | "+strings.Join(cells, " | ")+" |")
	fmt.Fprintln(w, "|---"+strings.Repeat("|---", len(cells))+"|")
	for _, row := range []struct{ what, name string }{
		{"step-norm profile from nothing, a second core lent", "BenchmarkProfileStepClip/cell=%s/T=1000/H=128/lent=yes"},
		{"the same, no core lent", "BenchmarkProfileStepClip/cell=%s/T=1000/H=128/lent=no"},
		{"Threshold change, step-norm, passes kept", "BenchmarkThresholdChange/cell=%s/T=1000/H=128/clip=step-norm/kept=yes"},
		{"the same, none kept", "BenchmarkThresholdChange/cell=%s/T=1000/H=128/clip=step-norm/kept=no"},
		{"Threshold change, global-norm, passes kept", "BenchmarkThresholdChange/cell=%s/T=1000/H=128/clip=global-norm/kept=yes"},
		{"the same, none kept", "BenchmarkThresholdChange/cell=%s/T=1000/H=128/clip=global-norm/kept=no"},
		{"phase diagram, 48×48, gain 0.1–3 × T 4–200, H=32", "BenchmarkPhaseDiagram/cell=%s"},
	} {
		line := "| " + row.what + " (T=1000, H=128)"
		if strings.HasPrefix(row.what, "phase") {
			line = "| " + row.what
		}
		for _, c := range cells {
			line += " | " + cell(eng, fmt.Sprintf(row.name, c))
		}
		fmt.Fprintln(w, line+" |")
	}

	br := files["browser.txt"]
	fmt.Fprintln(w, "\n#### In the browser, T=1000, H=128: input event to redrawn plot, median of 20")
	fmt.Fprintln(w, "\n| control | "+strings.Join(cells, " | ")+" |")
	fmt.Fprintln(w, "|---"+strings.Repeat("|---", len(cells))+"|")
	var controls []string
	for name := range br {
		if _, ctl, ok := strings.Cut(name, "/control="); ok && !slices.Contains(controls, ctl) && !strings.Contains(name, "/kept=no/") {
			controls = append(controls, ctl)
		}
	}
	slices.Sort(controls)
	for _, ctl := range controls {
		row := "| " + ctl
		for _, c := range cells {
			name := "BenchmarkBrowser/cell=" + c + "/control=" + ctl
			redraw, ok := br.median(name, "ms/redraw")
			if !ok {
				row += " | –"
				continue
			}
			run, _ := br.median(name, "ms/server-run")
			draw, _ := br.median(name, "ms/draw")
			row += fmt.Sprintf(" | %s ms (server %s, drawing %s)", sig(redraw), sig(run), sig(draw))
			if cold, ok := br.median("BenchmarkBrowser/kept=no/cell="+c+"/control="+ctl, "ms/redraw"); ok {
				coldRun, _ := br.median("BenchmarkBrowser/kept=no/cell="+c+"/control="+ctl, "ms/server-run")
				row += fmt.Sprintf("; none kept: %s ms (server %s)", sig(cold), sig(coldRun))
			}
		}
		fmt.Fprintln(w, row+" |")
	}
	if v, ok := br.median("BenchmarkBrowser/first-plot", "ms/first-plot"); ok {
		fmt.Fprintf(w, "\nFirst plot %s ms after navigation.\n", sig(v))
	}

	ex := files["export.txt"]
	fmt.Fprintln(w, "\n#### Export, 1600×900 with three pins (profiles computed, figure drawn)")
	fmt.Fprintln(w, "\n| format | time | bytes |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, f := range []string{"png", "svg", "csv"} {
		name := "BenchmarkPlotExport/format=" + f + "/pins=3"
		bytes := "–"
		if v, ok := ex.median(name, "MB/s"); ok {
			t, _ := ex.median(name, "ns/op")
			bytes = fmt.Sprintf("%.0f KB", v*t/1e9*1e3)
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", f, cell(ex, name), bytes)
	}

	if load, err := os.ReadFile(filepath.Join(dir, "load.txt")); err == nil {
		fmt.Fprintln(w, "\n#### A class of 200 (cmd/loadgen, 30 s)")
		fmt.Fprintf(w, "\n```\n%s```\n", load)
	}
	if load, err := os.ReadFile(filepath.Join(dir, "class.txt")); err == nil {
		fmt.Fprintln(w, "\n#### A class following its teacher (cmd/loadgen -class 300, 10 s)")
		fmt.Fprintf(w, "\n```\n%s```\n", load)
	}
	if load, err := os.ReadFile(filepath.Join(dir, "class-nats.txt")); err == nil {
		fmt.Fprintln(w, "\n#### The same class over two replicas and NATS (TestClassLoadOverNATS, 2 s)")
		fmt.Fprintf(w, "\n```\n%s```\n", load)
	}
	if load, err := os.ReadFile(filepath.Join(dir, "hostile.txt")); err == nil {
		fmt.Fprintln(w, "\n#### 20 light clients beside 50 hostile ones (cmd/loadgen -heavy 50, 30 s)")
		fmt.Fprintf(w, "\n```\n%s```\n", load)
	}
	return nil
}
