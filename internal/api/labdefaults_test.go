package api

import (
	"io/fs"
	"regexp"
	"strconv"
	"testing"

	"gradviz/internal/engine"
	"gradviz/web"
)

// TestPageLabDefaultsAreTheEngines: the lab's defaults in url.js (LAB's
// def values and LAB_MODEL) are engine.DefaultTrainSettings, the run that
// TestDefaultsTeach holds to its lesson.
func TestPageLabDefaultsAreTheEngines(t *testing.T) {
	src, err := fs.ReadFile(web.Static(), "url.js")
	if err != nil {
		t.Fatal(err)
	}
	ts := engine.DefaultTrainSettings()
	for name, want := range map[string]string{
		"task": "'" + string(ts.Task) + "'", "optimizer": "'" + string(ts.Optimizer) + "'",
		"lr": strconv.FormatFloat(ts.LR, 'g', -1, 64), "batch": strconv.Itoa(ts.Batch), "iterations": strconv.Itoa(ts.Iterations),
	} {
		m := regexp.MustCompile(`(?m)^\s+` + name + `: \{[^}]*def: ([^ ,}]+)`).FindSubmatch(src)
		if m == nil || string(m[1]) != want {
			t.Errorf("url.js LAB.%s: default %q, want %s as engine.DefaultTrainSettings", name, m, want)
		}
	}
	m := regexp.MustCompile(`export const LAB_MODEL = \{ T: (\d+), K: (\d+), gain: ([0-9.]+), forgetBias: ([0-9.]+) \};`).FindSubmatch(src)
	if m == nil {
		t.Fatal("url.js has no LAB_MODEL = { T, K, gain, forgetBias }")
	}
	mod := ts.Model
	for i, want := range []float64{float64(mod.T), float64(mod.K), mod.Gain, mod.ForgetBias} {
		if got, _ := strconv.ParseFloat(string(m[i+1]), 64); got != want {
			t.Errorf("url.js LAB_MODEL value %d is %s, want %v as engine.DefaultTrainSettings", i+1, m[i+1], want)
		}
	}
	if mod.H != engine.Defaults().H || mod.Seed != engine.Defaults().Seed {
		t.Errorf("the lab's H %d and seed %d differ from the page's %d and %d, which LAB_MODEL leaves alone", mod.H, mod.Seed, engine.Defaults().H, engine.Defaults().Seed)
	}
}
