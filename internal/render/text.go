package render

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"

	"gradviz/internal/engine"
)

// phrases is every piece of figure text that depends on the language,
// but the series' legend names, which are in the series table.
// Settings and their values are named by the schema's labels in the
// figure's language; only the CSV keeps their protocol names.
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
	yes, no        string // a boolean setting's values in a caption
	// The takeaway: what reaches the first step of what left the last.
	reachesLess, reachesMore, reachesSame string // format: ratio
	reachesZero, reachesNone              string
	link                                  string // the caption's link: "reproduce: "
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
			rawOverflow:    "‖δ_k‖ sin recorte desborda (%s) en el paso %d",
			underflow:      "‖δ_k‖ queda en 0 por subdesbordamiento (por debajo de 4,9e−324) en el paso %d",
			exactZero:      "‖δ_k‖ = 0 en el paso %d",
			regime: map[engine.Regime]string{
				engine.RegimeVanishing:  "< 1: el gradiente se desvanece",
				engine.RegimeMayExplode: "≥ 1: el gradiente puede explotar",
				engine.RegimeUnknown:    "desconocido: Wh no es finita",
			},
			yes: "sí", no: "no",
			reachesLess: "El primer paso recibe %s de la señal del último: el gradiente se desvanece.",
			reachesMore: "El primer paso recibe %s veces la señal del último: el gradiente explota.",
			reachesSame: "El primer paso recibe %s de la señal del último: el gradiente conserva su tamaño.",
			reachesZero: "La señal del último paso no llega al primero: ‖∂E/∂s_1‖ es 0.",
			reachesNone: "La señal no es finita: el gradiente se desbordó y no hay nada que comparar.",
			link:        "Esta vista: ",
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
		yes: "yes", no: "no",
		reachesLess: "The first step gets %s of the last step's signal: the gradient vanishes.",
		reachesMore: "The first step gets %s times the last step's signal: the gradient explodes.",
		reachesSame: "The first step gets %s of the last step's signal: the gradient keeps its size.",
		reachesZero: "The last step's signal does not reach the first: ‖∂E/∂s_1‖ is 0.",
		reachesNone: "The signal is not finite: the gradient overflowed, there is nothing to compare.",
		link:        "This view: ",
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

// readableCaption lists every setting of s that affects the run, as
// settingsCaption does, but in lang: by the schema's labels of the
// settings and of their values, "Cell: LSTM", "Initialization: Gaussian",
// with numbers in the language's decimal mark and booleans as words. A
// setting that another one can make idle follows it after a comma:
// "Clipping: step norm, threshold 0.25". Settings named in skip are left
// out.
func readableCaption(s engine.Settings, lang Lang, tr phrases, skip ...string) []string {
	value := func(sp engine.SettingSpec) string {
		switch v := sp.Value(s).(type) {
		case bool:
			if v {
				return tr.yes
			}
			return tr.no
		case float64:
			return decimal(formatSetting(v), lang)
		}
		return optionText(sp, s, lang)
	}
	var items []string
	for _, sp := range schema {
		if sp.IdleWhen != nil || !sp.Active(s) || isOneOf(sp.Name, skip) {
			continue
		}
		item := in(sp.Label, lang) + ": " + value(sp)
		for _, dep := range schema {
			if dep.IdleWhen != nil && dep.IdleWhen.Setting == sp.Name && dep.Active(s) {
				item += ", " + strings.ToLower(in(dep.Label, lang)) + " " + value(dep)
			}
		}
		items = append(items, item)
	}
	return items
}

// in returns a text of the schema in lang.
func in(t engine.Text, lang Lang) string { return Text{En: t.En, Es: t.Es}.In(lang) }

// optionText writes the setting's value in s as the figure's text names
// it: an option by the schema's label in lang, anything else as the
// query string writes it.
func optionText(sp engine.SettingSpec, s engine.Settings, lang Lang) string {
	if l, ok := sp.OptionLabel(s); ok {
		return in(l, lang)
	}
	return sp.Format(s)
}

// cellName is a model's name in lang, as the schema labels it.
func cellName(c engine.Cell, lang Lang) string {
	s := engine.Defaults()
	s.Cell = c
	return optionText(settingSpec("cell"), s, lang)
}

// localTicks writes an axis' tick labels in the language's decimal mark.
type localTicks struct {
	plot.Ticker
	lang Lang
}

// Ticks implements plot.Ticker.
func (t localTicks) Ticks(lo, hi float64) []plot.Tick {
	ticks := t.Ticker.Ticks(lo, hi)
	for i := range ticks {
		ticks[i].Label = decimal(ticks[i].Label, t.lang)
	}
	return ticks
}

// localizeTicks makes both axes of p label their ticks as lang writes
// numbers.
func localizeTicks(p *plot.Plot, lang Lang) {
	if lang != Spanish {
		return
	}
	p.X.Tick.Marker = localTicks{p.X.Tick.Marker, lang}
	p.Y.Tick.Marker = localTicks{p.Y.Tick.Marker, lang}
}

// decimal writes a number's decimal point as lang does in prose.
func decimal(v string, lang Lang) string {
	if lang == Spanish {
		return strings.Replace(v, ".", ",", 1)
	}
	return v
}

// takeaway says in words how much of the last step's signal reaches the
// first: ‖∂E/∂s_1‖ / ‖∂E/∂s_T‖ of the drawn profile.
func takeaway(r *engine.Result, lang Lang, tr phrases) string {
	d := r.Profile.DEds
	if len(d) == 0 {
		return ""
	}
	first, last := d[0], d[len(d)-1]
	switch {
	case math.IsNaN(first) || math.IsInf(first, 0) || math.IsNaN(last) || math.IsInf(last, 0) || last == 0:
		return tr.reachesNone
	case first == 0:
		return tr.reachesZero
	}
	// The difference of logarithms, as the phase diagram's: the ratio
	// itself can overflow (1e300 / 1e−300).
	decades := math.Log10(first) - math.Log10(last)
	text := decimal(formatRatio(decades), lang)
	switch ratio := math.Pow(10, decades); {
	case ratio < 0.5:
		return fmt.Sprintf(tr.reachesLess, text)
	case ratio > 2:
		return fmt.Sprintf(tr.reachesMore, text)
	}
	return fmt.Sprintf(tr.reachesSame, text)
}

// formatRatio writes the ratio 10^decades for prose: two significant
// digits, as a power of ten ("1e−18", "3.2e+12") beyond 1000 or below
// 0.001.
func formatRatio(decades float64) string {
	if decades > -3 && decades < 3 {
		return strconv.FormatFloat(math.Pow(10, decades), 'g', 2, 64)
	}
	e := math.Floor(decades)
	mant := strconv.FormatFloat(math.Pow(10, decades-e), 'f', 1, 64)
	if mant == "10.0" {
		mant, e = "1.0", e+1
	}
	mant = strings.TrimSuffix(mant, ".0")
	if e < 0 {
		return mant + "e−" + strconv.Itoa(int(-e))
	}
	return mant + "e+" + strconv.Itoa(int(e))
}

// theoryCaption states Pascanu et al.'s condition for the vanilla RNN
// and the formula of the bound drawn.
func theoryCaption(sp *engine.Spectrum, loss engine.LossMode, lang Lang, tr phrases) []string {
	formatValue := func(v float64) string { return decimal(formatValue(v), lang) }
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
