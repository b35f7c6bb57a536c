package render

import (
	"strings"
	"testing"

	"gradviz/internal/engine"
)

// TestReadableCaption: the caption names the active settings by the
// schema's labels in the figure's language, with no key=value pairs.
func TestReadableCaption(t *testing.T) {
	s := engine.Defaults()
	s.Cell, s.ForgetBias, s.Clip, s.Threshold, s.Gain, s.Bidir = engine.CellLSTM, 1, engine.ClipStepNorm, 0.25, 1.5, true
	want := map[Lang]string{
		English: "Cell: lstm|Sequence length: 100|Hidden units: 32|Input features: 4|Classes: 4|Initialization: gaussian|Gain: 1.5|Forget bias: 1|Clipping: step-norm (threshold 0.25)|Loss: last|Seed: 1|Bidirectional: yes",
		Spanish: "Celda: lstm|Longitud de la secuencia: 100|Unidades ocultas: 32|Dimensión de la entrada: 4|Clases: 4|Inicialización: gaussian|Ganancia: 1,5|Sesgo de olvido: 1|Recorte del gradiente: step-norm (umbral 0,25)|Pérdida: last|Semilla: 1|Bidireccional: sí",
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
