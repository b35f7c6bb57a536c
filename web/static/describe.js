// Text for those who cannot see a plot: each plot is described by a
// visually hidden paragraph (aria-describedby) that says, in the page's
// language, what the plot shows now, written again with every new data.

import { t, lang, addStrings } from './i18n.js';
import { fmtNum } from './plot.js';

// describe sets the text that describes el, making its paragraph on the
// first call. The paragraph is also readable by tests as el's summary.
export function describe(el, text) {
  const id = `${el.id}-desc`;
  let p = document.getElementById(id);
  if (!p) {
    p = document.createElement('p');
    p.id = id;
    p.className = 'sr-only';
    el.after(p);
    const ids = (el.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
    if (!ids.includes(id)) el.setAttribute('aria-describedby', [...ids, id].join(' '));
  }
  if (p.textContent !== text) p.textContent = text;
}

// num writes a number for prose: fmtNum, with the decimal comma in
// Spanish.
export function num(v) {
  const s = fmtNum(v);
  return lang() === 'es' ? s.replace('.', ',') : s;
}

// modelName names a run's model: "tanh RNN", "LSTM".
export function modelName(cfg) {
  const cell = t(`opt.cell.${cfg.cell}`);
  if (cfg.cell === 'rnn' || cfg.cell === 'attn') return t('sum.model', { cell, act: t(`opt.act.${cfg.act}`) });
  return cell;
}

// decades is how many powers of ten lie between two positive numbers.
export function decades(a, b) {
  return Math.round(Math.abs(Math.log10(b / a)));
}

// extentOf is the least and greatest finite positive values of arrays.
export function extentOf(...arrays) {
  let lo = Infinity;
  let hi = -Infinity;
  for (const a of arrays) {
    for (const v of a ?? []) {
      if (typeof v !== 'number' || !(v > 0) || v === Infinity) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo === Infinity ? null : [lo, hi];
}

addStrings({
  en: {
    'skip': 'Skip to the plot',
    'sum.model': '{act} {cell}',
    'sum.profile.vanishes': '{model}, T={T}: ‖∂E/∂s_k‖ falls from {a} at step {T} to {b} at step 1 (vanishes, {n} orders of magnitude).',
    'sum.profile.explodes': '{model}, T={T}: ‖∂E/∂s_k‖ rises from {a} at step {T} to {b} at step 1 (explodes, {n} orders of magnitude).',
    'sum.profile.keeps': '{model}, T={T}: ‖∂E/∂s_k‖ goes from {a} at step {T} to {b} at step 1 (keeps its size).',
    'sum.profile.overflow': '{model}, T={T}: ‖∂E/∂s_k‖ is {a} at step {T} and overflows to {b} by step 1 (explodes).',
    'sum.profile.none': '{model}, T={T}: no finite ‖∂E/∂s_k‖ to show.',
    'sum.pins': '{n} pinned runs drawn with it.',
    'sum.keys': 'Left and right arrows move a cursor through the steps; Home and End go to the ends.',
    'sum.cursor': '{x}: {values}',
    'sum.jac': 'Per-step factor ‖J_k‖ over {n} steps, from {lo} to {hi}; the bound γ·σ_max is {gs}.',
    'sum.stems': '{n} singular values of Wh, from {hi} down to {lo}; {above} of them above σ = 1/γ = {inv}.',
    'sum.lab.loss': 'Training loss over {iters} iterations: {runs}.',
    'sum.lab.run': '{cell} from {a} to {b}',
    'sum.lab.side': '{chart} at iteration {iter}: {runs}.',
    'sum.lab.value': '{cell} {v}',
    'sum.lab.none': 'No training yet.',
    'sum.lab.heat': '{cell}: ‖∂E/∂s_k‖ on the probe sequence over {n} reports; in the last, from {a} at step {T} to {b} at step 1.',
    'sum.bidir': 'Output step t = {t} of {T}: the unidirectional model’s ‖∂E_t/∂x_k‖ goes from {u1} at k = 1 to {ut} at k = t and is 0 after t; the bidirectional model’s is {b1} at k = 1 and {bT} at k = {T}.',
    'sum.map': 'Gradient map of {rows} output steps t by {T} steps k: ‖∂E_t/∂s_k‖ from {lo} to {hi}; {zeros} cells are 0.',
    'sum.phase': 'Phase diagram over {x} and {y}: log10(‖∂E/∂s_1‖/‖∂E/∂s_T‖) from {lo} to {hi}; {neg} of {n} points vanish, {pos} grow.',
  },
  es: {
    'skip': 'Saltar al gráfico',
    'sum.model': '{cell} {act}',
    'sum.profile.vanishes': '{model}, T={T}: ‖∂E/∂s_k‖ cae de {a} en el paso {T} a {b} en el paso 1 (se desvanece, {n} órdenes de magnitud).',
    'sum.profile.explodes': '{model}, T={T}: ‖∂E/∂s_k‖ sube de {a} en el paso {T} a {b} en el paso 1 (explota, {n} órdenes de magnitud).',
    'sum.profile.keeps': '{model}, T={T}: ‖∂E/∂s_k‖ va de {a} en el paso {T} a {b} en el paso 1 (conserva su tamaño).',
    'sum.profile.overflow': '{model}, T={T}: ‖∂E/∂s_k‖ vale {a} en el paso {T} y se desborda hasta {b} antes del paso 1 (explota).',
    'sum.profile.none': '{model}, T={T}: no hay ningún ‖∂E/∂s_k‖ finito que mostrar.',
    'sum.pins': 'Con {n} ejecuciones fijadas.',
    'sum.keys': 'Las flechas izquierda y derecha mueven un cursor por los pasos; Inicio y Fin van a los extremos.',
    'sum.cursor': '{x}: {values}',
    'sum.jac': 'Factor por paso ‖J_k‖ en {n} pasos, de {lo} a {hi}; la cota γ·σ_max vale {gs}.',
    'sum.stems': '{n} valores singulares de Wh, de {hi} a {lo}; {above} de ellos por encima de σ = 1/γ = {inv}.',
    'sum.lab.loss': 'Pérdida de entrenamiento en {iters} iteraciones: {runs}.',
    'sum.lab.run': '{cell} de {a} a {b}',
    'sum.lab.side': '{chart} en la iteración {iter}: {runs}.',
    'sum.lab.value': '{cell} {v}',
    'sum.lab.none': 'Todavía no hay entrenamiento.',
    'sum.lab.heat': '{cell}: ‖∂E/∂s_k‖ en la secuencia de prueba a lo largo de {n} informes; en el último, de {a} en el paso {T} a {b} en el paso 1.',
    'sum.bidir': 'Paso de salida t = {t} de {T}: en el modelo unidireccional ‖∂E_t/∂x_k‖ va de {u1} en k = 1 a {ut} en k = t y es 0 después de t; en el bidireccional vale {b1} en k = 1 y {bT} en k = {T}.',
    'sum.map': 'Mapa del gradiente de {rows} pasos de salida t por {T} pasos k: ‖∂E_t/∂s_k‖ de {lo} a {hi}; {zeros} celdas valen 0.',
    'sum.phase': 'Diagrama de fases sobre {x} y {y}: log10(‖∂E/∂s_1‖/‖∂E/∂s_T‖) de {lo} a {hi}; de {n} puntos, {neg} se desvanecen y {pos} crecen.',
  },
});
