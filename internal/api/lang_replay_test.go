package api

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gradviz/internal/engine"
)

// replayScript returns the PyTorch script of docs/langlab.md.
func replayScript(t *testing.T) string {
	t.Helper()
	doc, err := os.ReadFile("../../docs/langlab.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(doc), "```python\n")
	script, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("docs/langlab.md has no python block")
	}
	return script
}

// TestLangReplayInPyTorch trains small models briefly, exports them as
// langExport does and runs the PyTorch script of docs/langlab.md on the
// export: its guesses, their probabilities and the strip match the
// server's reading to 1e-7. It needs /usr/bin/python3 with torch.
func TestLangReplayInPyTorch(t *testing.T) {
	python := "/usr/bin/python3"
	// PyTorch is for checking by hand (apt-get install python3-torch), not
	// a dependency of the tests: without it, CI included, this skips.
	if err := exec.Command(python, "-c", "import torch").Run(); err != nil {
		t.Skip("no python3 with torch")
	}
	dir := t.TempDir()
	script := filepath.Join(dir, "replay.py")
	if err := os.WriteFile(script, []byte(replayScript(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []struct {
		task     engine.LangTask
		lang     engine.Lang
		cell     engine.Cell
		bidir    bool
		sentence string
	}{
		{engine.LangKerala, engine.LangEN, engine.CellLSTM, false, "Jane was born in Kerala. Zorblat, she used to play! Jane speaks ____ fluently."},
		{engine.LangMouse, engine.LangES, engine.CellGRU, true, "El ratón es realmente bueno. El ratón se utiliza para ____ el queso de la cocina"},
		{engine.LangClouds, engine.LangEN, engine.CellRNN, true, "The women's clouds are in the ____"},
		{engine.LangMouse, engine.LangEN, engine.CellAttn, false, "The bank is really good. The bank is used to ____ by the river in the evening"},
		{engine.LangMouse, engine.LangEN, engine.CellAttn, true, "The bat is used to ____ insects"},
	} {
		ls := engine.DefaultLangSettings()
		ls.Task, ls.Lang, ls.Distance, ls.Iterations = c.task, c.lang, 3, 30
		ls.Model.Cell, ls.Model.Bidir, ls.Model.H, ls.Model.D = c.cell, c.bidir, 7, 5
		if err := ls.Validate(engine.DefaultLangLimits()); err != nil {
			t.Fatal(err)
		}
		tr := engine.NewLangTrainer(ls)
		for range ls.Iterations {
			if _, err := tr.Step(ctx); err != nil {
				t.Fatal(err)
			}
		}
		want, err := tr.Read(ctx, engine.Tokenize(c.sentence))
		if err != nil {
			t.Fatal(err)
		}
		data, err := json.Marshal(langExportOf(&langModel{name: string(c.cell), tr: tr}))
		if err != nil {
			t.Fatal(err)
		}
		model := filepath.Join(dir, "model.json")
		if err := os.WriteFile(model, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(python, script, model, c.sentence).Output()
		if err != nil {
			t.Fatalf("%s bidir=%v: %v", c.cell, c.bidir, err)
		}
		var got struct {
			Guesses []engine.LangGuess `json:"guesses"`
			Strip   []float64          `json:"strip"`
		}
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: %v in %s", c.cell, err, out)
		}
		name := string(c.cell)
		if c.bidir {
			name = "bi-" + name
		}
		if len(got.Guesses) != len(want.Guesses) || len(got.Strip) != len(want.Strip) {
			t.Fatalf("%s: got %d guesses, %d strip; want %d, %d", name, len(got.Guesses), len(got.Strip), len(want.Guesses), len(want.Strip))
		}
		worst := 0.0
		for i, g := range want.Guesses {
			if got.Guesses[i].Word != g.Word {
				t.Errorf("%s: guess %d is %q in PyTorch, %q here", name, i, got.Guesses[i].Word, g.Word)
			}
			worst = math.Max(worst, math.Abs(got.Guesses[i].P-g.P))
		}
		for k, v := range want.Strip {
			worst = math.Max(worst, math.Abs(got.Strip[k]-v))
		}
		t.Logf("%s: largest difference %.2g", name, worst)
		if worst > 1e-7 {
			t.Errorf("%s: PyTorch differs by %g, want at most 1e-7", name, worst)
		}
	}
}
