package render

import (
	"bytes"
	"encoding/csv"
	"slices"
	"strings"
	"testing"

	"gradviz/internal/engine"
)

// TestSettingsCaptionBytes pins the caption's text: the schema's order
// and the old hand-written caption agree.
func TestSettingsCaptionBytes(t *testing.T) {
	s := engine.Defaults()
	want := "cell=rnn act=tanh T=100 H=32 D=4 K=4 init=gaussian gain=1 clip=none loss=last seed=1 bidir=false"
	if got := strings.Join(settingsCaption(s), " "); got != want {
		t.Errorf("default caption\n%s\nwant\n%s", got, want)
	}
	s.Cell, s.ForgetBias, s.Clip, s.Threshold, s.Gain, s.Bidir = engine.CellLSTM, 1, engine.ClipStepNorm, 0.25, 1.5, true
	want = "cell=lstm T=100 H=32 D=4 K=4 init=gaussian gain=1.5 forgetBias=1 clip=step-norm (threshold=0.25) loss=last seed=1 bidir=true"
	if got := strings.Join(settingsCaption(s), " "); got != want {
		t.Errorf("LSTM caption\n%s\nwant\n%s", got, want)
	}
}

// TestCaptionFollowsSchema: for every model and clipping mode the
// caption names exactly the settings the schema calls active, each with
// its value as a query string writes it, in the schema's order.
func TestCaptionFollowsSchema(t *testing.T) {
	for _, cell := range engine.Cells {
		for _, clip := range engine.ClipModes {
			s := engine.Defaults()
			s.Cell, s.Clip = cell, clip
			caption := strings.Join(settingsCaption(s), " ")
			last := -1
			for _, sp := range engine.SettingsSchema(engine.DefaultLimits()) {
				item := sp.Name + "=" + sp.Format(s)
				at := strings.Index(caption, item)
				if sp.Active(s) != (at >= 0) {
					t.Errorf("cell=%s clip=%s: %s active %v, caption %q", cell, clip, sp.Name, sp.Active(s), caption)
				}
				if at >= 0 {
					if at < last {
						t.Errorf("cell=%s clip=%s: %s out of the schema's order in %q", cell, clip, sp.Name, caption)
					}
					last = at
				}
			}
		}
	}
}

// otherValue returns a valid value of sp other than its default.
func otherValue(sp engine.SettingSpec) any {
	switch sp.Kind {
	case engine.KindEnum:
		for _, o := range sp.Options {
			if o != sp.Default {
				return o
			}
		}
	case engine.KindInt:
		return sp.Default.(int) + 1
	case engine.KindUint:
		return sp.Default.(uint64) + 1
	case engine.KindFloat:
		return sp.Default.(float64) + 0.5
	case engine.KindBool:
		return !sp.Default.(bool)
	}
	return nil
}

// TestLabelsAndCSVFollowSchema: a pin that differs from the current run
// in one setting is named by that setting in the legend and the CSV
// header when the setting acts on the pin, and is "pin 1" otherwise.
func TestLabelsAndCSVFollowSchema(t *testing.T) {
	for _, sp := range engine.SettingsSchema(engine.DefaultLimits()) {
		for _, cell := range engine.Cells {
			base := func(s *engine.Settings) {
				s.T, s.H, s.Cell, s.Clip = 20, 8, cell, engine.ClipStepNorm
				if sp.Name == "cell" {
					s.Cell = engine.CellRNN
				}
			}
			cur := profile(t, base)
			pin := profile(t, func(s *engine.Settings) { base(s); sp.Set(s, otherValue(sp)) })
			fig := Figure{Current: Run{Result: cur}, Pins: []Run{{Result: pin}}}
			label := fig.runLabels()[1]
			active := sp.Active(pin.Settings)
			named := label != "pin 1"
			if sp.Kind != engine.KindBool {
				named = named && strings.Contains(label, sp.Format(pin.Settings))
			}
			if active != named {
				t.Errorf("%s=%s on %s: active %v, pin labelled %q", sp.Name, sp.Format(pin.Settings), cell, active, label)
			}
			var buf bytes.Buffer
			if err := WriteCSV(&buf, fig); err != nil {
				t.Fatal(err)
			}
			header, err := csv.NewReader(&buf).Read()
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Contains(header, label+":dE_ds") {
				t.Errorf("%s on %s: CSV header %q lacks the pin %q", sp.Name, cell, header, label)
			}
		}
	}
}
