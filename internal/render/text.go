package render

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gradviz/internal/engine"
)

// phrases is every piece of figure text that depends on the language,
// but the series' legend names, which are in the series table.
// Setting names and values (cell=rnn, clip=step-norm) stay as they are:
// they are the names of the page's URL and the export in both languages.
type phrases struct {
	heading        string
	revealed       string // an animation's heading: format: per cent of the steps
	xStep, xBack   string
	yAxis          string
	allNaN         string
	becauseForward string // format: step
	zeroAt         string // legend suffix: format: zeros, T
	boundIs        string // caption: format: formula
	allZero        string
	notDrawn       string // legend suffix: format: "NaN" or "0"
	stateOverflow  string // format: kind, step
	deltaOverflow  string // format: kind, step
	rawOverflow    string // format: kind, step
	underflow      string // format: step
	exactZero      string // format: step
	regime         map[engine.Regime]string
}

// phrasesFor returns the figure text in lang.
func phrasesFor(lang Lang) phrases {
	if lang == Spanish {
		return phrases{
			heading:        "Cómo cambia la norma del gradiente ‖∂E/∂s_k‖ hacia atrás en el tiempo",
			revealed:       "El paso hacia atrás: la señal ‖∂E/∂s_k‖ viaja desde el último paso (%d %% del camino)",
			xStep:          "paso k",
			xBack:          "pasos hacia atrás T − k",
			yAxis:          "‖∂E/∂s_k‖ (escala logarítmica)",
			allNaN:         "sin curva: todos los ‖∂E/∂s_k‖ son NaN",
			becauseForward: "(el paso hacia delante desbordó en el paso %d, así que E es NaN)",
			zeroAt:         " (0 en %d de %d pasos)",
			boundIs:        "cota de Pascanu = %s",
			allZero:        "sin curva: todos los ‖∂E/∂s_k‖ son 0",
			notDrawn:       " (todo %s, no se dibuja)",
			stateOverflow:  "‖s_t‖ desborda (%s) en el paso %d",
			deltaOverflow:  "‖δ_k‖ desborda (%s) en el paso %d",
			rawOverflow:    "‖δ_k‖ sin recortar desborda (%s) en el paso %d",
			underflow:      "‖δ_k‖ subdesborda a 0 (bajo 4.9e−324) en el paso %d",
			exactZero:      "‖δ_k‖ = 0 en el paso %d",
			regime: map[engine.Regime]string{
				engine.RegimeVanishing:  "< 1: el gradiente se desvanece",
				engine.RegimeMayExplode: "≥ 1: el gradiente puede explotar",
				engine.RegimeUnknown:    "desconocido: Wh no es finita",
			},
		}
	}
	return phrases{
		heading:        "How the gradient norm ‖∂E/∂s_k‖ changes going back through time",
		revealed:       "The backward pass: the signal ‖∂E/∂s_k‖ travels back from the last step (%d%% of the way)",
		xStep:          "step k",
		xBack:          "steps back T − k",
		yAxis:          "‖∂E/∂s_k‖ (log scale)",
		allNaN:         "no curve: every ‖∂E/∂s_k‖ is NaN",
		becauseForward: "(the forward pass overflowed at step %d, so E is NaN)",
		zeroAt:         " (0 at %d of %d steps)",
		boundIs:        "Pascanu bound = %s",
		allZero:        "no curve: every ‖∂E/∂s_k‖ is 0",
		notDrawn:       " (all %s, not drawn)",
		stateOverflow:  "‖s_t‖ overflows (%s) at step %d",
		deltaOverflow:  "‖δ_k‖ overflows (%s) at step %d",
		rawOverflow:    "unclipped ‖δ_k‖ overflows (%s) at step %d",
		underflow:      "‖δ_k‖ underflows to 0 (below 4.9e−324) at step %d",
		exactZero:      "‖δ_k‖ = 0 at step %d",
		regime: map[engine.Regime]string{
			engine.RegimeVanishing:  "< 1: the gradient vanishes",
			engine.RegimeMayExplode: "≥ 1: the gradient may explode",
			engine.RegimeUnknown:    "unknown: Wh is not finite",
		},
	}
}

// schema is the engine's settings schema, the order and the rules by
// which captions and labels mention settings.
var schema = engine.SettingsSchema(engine.DefaultLimits())

// settingSpec returns the schema's entry for name.
func settingSpec(name string) engine.SettingSpec {
	for _, sp := range schema {
		if sp.Name == name {
			return sp
		}
	}
	panic("render: no setting " + name)
}

// settingsCaption lists every setting of s that affects the run, in the
// shared vocabulary of the query string, so a slide can be reproduced
// from its caption. The schema says which apply: the activation is left
// out for models that do not use it (the gated cells), the forget bias
// for those without a forget gate. A setting that another one can make
// idle follows it in parentheses, and only when it acts: the threshold
// after the clipping mode, when something is clipped.
func settingsCaption(s engine.Settings) []string {
	var items []string
	for _, sp := range schema {
		if sp.IdleWhen != nil || !sp.Active(s) {
			continue
		}
		item := sp.Name + "=" + sp.Format(s)
		for _, dep := range schema {
			if dep.IdleWhen != nil && dep.IdleWhen.Setting == sp.Name && dep.Active(s) {
				item += " (" + dep.Name + "=" + dep.Format(s) + ")"
			}
		}
		items = append(items, item)
	}
	return items
}

// theoryCaption states Pascanu et al.'s condition for the vanilla RNN
// and the formula of the bound drawn.
func theoryCaption(sp *engine.Spectrum, loss engine.LossMode, tr phrases) []string {
	formula := "‖δ_T‖·(γ·σ_max)^(T−k)"
	if loss == engine.LossSum {
		formula = "Σ_t≥k ‖Vᵀ∂E_t/∂o_t‖·(γ·σ_max)^(t−k)"
	}
	return []string{
		"σ_max(Wh) = " + formatValue(sp.SigmaMax),
		"γ = " + formatValue(sp.Gamma),
		"γ·σ_max = " + formatValue(sp.Gamma*sp.SigmaMax) + " " + tr.regime[sp.Regime()],
		fmt.Sprintf(tr.boundIs, formula),
	}
}

// formatSetting prints a setting as a query string would carry it.
func formatSetting(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

// formatValue prints a measured number with four significant digits.
func formatValue(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Inf"
	case math.IsInf(v, -1):
		return "−Inf"
	}
	return strings.Replace(strconv.FormatFloat(v, 'g', 4, 64), "e-", "e−", 1)
}

// nonFiniteKind names a value for an overflow label.
func nonFiniteKind(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 0):
		return "Inf"
	}
	return "Inf/NaN"
}
