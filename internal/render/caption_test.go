package render

import (
	"strings"
	"testing"

	"gradviz/internal/engine"
)

// TestReadableCaption: the caption names the active settings and their
// values by the schema's labels in the figure's language, with no
// key=value pairs and no protocol names of options.
func TestReadableCaption(t *testing.T) {
	s := engine.Defaults()
	s.Cell, s.ForgetBias, s.Clip, s.Threshold, s.Gain, s.Bidir = engine.CellLSTM, 1, engine.ClipStepNorm, 0.25, 1.5, true
	want := map[Lang]string{
		English: "Cell: LSTM|Sequence length: 100|Hidden units: 32|Input features: 4|Classes: 4|Initialization: Gaussian|Gain: 1.5|Forget bias: 1|Clipping: step norm, threshold 0.25|Loss: last step|Seed: 1|Bidirectional: yes",
		Spanish: "Celda: LSTM|Longitud de la secuencia: 100|Unidades ocultas: 32|Dimensión de la entrada: 4|Clases: 4|Inicialización: gaussiana|Ganancia: 1,5|Sesgo de olvido: 1|Recorte del gradiente: norma por paso, umbral 0,25|Pérdida: último paso|Semilla: 1|Bidireccional: sí",
	}
	for lang, w := range want {
		if got := strings.Join(readableCaption(s, lang, phrasesFor(lang)), "|"); got != w {
			t.Errorf("%s caption\n%s\nwant\n%s", lang, got, w)
		}
	}
}

func TestTakeaway(t *testing.T) {
	res := func(first, last float64) *engine.Result {
		return &engine.Result{Profile: engine.Profile{DEds: []float64{first, 0.5, last}}}
	}
	tests := []struct {
		first, last float64
		lang        Lang
		want        string
	}{
		{1e-18, 1, English, "The first step gets 1e−18 of the last step's signal: the gradient vanishes."},
		{2.3e-20, 0.5, Spanish, "El primer paso recibe 4,6e−20 de la señal del último: el gradiente se desvanece."},
		{1e300, 1e-300, English, "The first step gets 1e+600 times the last step's signal: the gradient explodes."},
		{0.9, 1, Spanish, "El primer paso recibe 0,9 de la señal del último: el gradiente conserva su tamaño."},
		{0, 1, English, "The last step's signal does not reach the first: ‖∂E/∂s_1‖ is 0."},
	}
	for _, tt := range tests {
		if got := takeaway(res(tt.first, tt.last), tt.lang, phrasesFor(tt.lang)); got != tt.want {
			t.Errorf("%g/%g %s: got %q, want %q", tt.first, tt.last, tt.lang, got, tt.want)
		}
	}
}

func TestPDFText(t *testing.T) {
	if got, want := pdfText("‖∂E/∂s_k‖ señal — γ·σ_max ≥ 1"), "||dE/ds_k|| se\xf1al \x97 gamma\xb7sigma_max >= 1"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestLegendLabels: the legend names pins in the figure's language by the
// schema's labels, numbers with the language's decimal mark, while the
// CSV's names (runLabels) stay the protocol's.
func TestLegendLabels(t *testing.T) {
	cur := engine.Defaults()
	cur.Act, cur.Gain = engine.ActTanh, 1
	gain := cur
	gain.Act, gain.Gain = engine.ActSigmoid, 1.5
	clip := cur
	clip.Clip, clip.Threshold = engine.ClipStepNorm, 0.25
	run := func(s engine.Settings) Run { return Run{Result: &engine.Result{Settings: s}} }
	fig := Figure{Current: run(cur), Pins: []Run{run(gain), run(clip), run(cur)}}
	want := map[Lang][]string{
		English: {"tanh · gain 1 · clipping: none", "sigmoid · gain 1.5", "clipping: step norm · θ = 0.25", "pin 3"},
		Spanish: {"tanh · ganancia 1 · recorte: ninguno", "sigmoide · ganancia 1,5", "recorte: norma por paso · θ = 0,25", "curva fijada 3"},
		"":      {"tanh, gain=1, clip=none", "sigmoid, gain=1.5", "clip=step-norm, θ=0.25", "pin 3"},
	}
	for lang, w := range want {
		fig.Lang = lang
		got := fig.legendLabels()
		if lang == "" {
			got = fig.runLabels()
		}
		if strings.Join(got, "|") != strings.Join(w, "|") {
			t.Errorf("%q labels %q, want %q", lang, got, w)
		}
	}
}
