// The tour's panels: what a step with "panel" shows below its text.
// "bptt" is the article's first example, E₃ → s₃ → s₂ → s₁ with T = 3:
// the chain rule as MathML, and each factor's norm as the engine measured
// it for the current weights (the profile's ‖∂E/∂s_k‖ and ‖J_k‖), updated
// with every profile.

import { t, addStrings } from './i18n.js';
import { fmtNum } from './plot.js';

const NS = 'http://www.w3.org/1998/Math/MathML';

function m(tag, ...kids) {
  const el = document.createElementNS(NS, tag);
  for (const k of kids) el.append(typeof k === 'string' ? document.createTextNode(k) : k);
  return el;
}
const mi = (x) => m('mi', x);
const mo = (x) => m('mo', x);
const mn = (x) => m('mn', x);
const sub = (base, s) => m('msub', typeof base === 'string' ? mi(base) : base, typeof s === 'string' ? mn(s) : s);
// d(top, bottom): ∂top/∂bottom as a fraction.
const d = (top, bottom) => m('mfrac', m('mrow', mo('∂'), top), m('mrow', mo('∂'), bottom));
const norm = (x) => m('mrow', mo('‖'), x, mo('‖'));
const math = (...kids) => {
  const el = m('math', m('mrow', ...kids));
  el.setAttribute('display', 'block');
  return el;
};

const E3 = () => sub('E', '3');
const s = (k) => sub('s', k);

function chainEquation() {
  return math(d(E3(), s('1')), mo('='), d(E3(), s('3')), mo('·'), d(s('3'), s('2')), mo('·'), d(s('2'), s('1')));
}

function jacobianEquation() {
  const km1 = m('mrow', mi('k'), mo('−'), mn('1'));
  return math(sub('J', mi('k')), mo('='), d(sub('s', mi('k')), sub('s', km1)), mo('='),
    mi('diag'), mo('('), mi('f′'), mo('('), sub('a', mi('k')), mo(')'), mo(')'), mo('·'), sub('W', mi('h')));
}

function boundEquation() {
  return math(norm(d(E3(), s('1'))), mo('≤'), norm(d(E3(), s('3'))), mo('·'), norm(sub('J', '3')), mo('·'), norm(sub('J', '2')));
}

// showBptt fills el for the profile res (a profile message, or null).
export function showBptt(el, res) {
  const rows = [];
  const cfg = res?.config;
  const fits = cfg && cfg.cell === 'rnn' && cfg.T === 3;
  const prof = res?.profile;
  const dE = prof?.dE_ds;
  const jac = prof?.jacobianNorm;
  const value = (v) => (fits && v !== undefined ? fmtNum(v) : '—');
  const product = fits && dE && jac ? dE[2] * jac[2] * jac[1] : undefined;
  rows.push([norm(d(E3(), s('3'))), t('bptt.dE3'), value(dE?.[2]), 'dE3']);
  rows.push([norm(sub('J', '3')), t('bptt.J3'), value(jac?.[2]), 'J3']);
  rows.push([norm(sub('J', '2')), t('bptt.J2'), value(jac?.[1]), 'J2']);
  rows.push([m('mrow', norm(d(E3(), s('3'))), mo('·'), norm(sub('J', '3')), mo('·'), norm(sub('J', '2'))), t('bptt.product'), value(product), 'product']);
  rows.push([norm(d(E3(), s('1'))), t('bptt.dE1'), value(dE?.[0]), 'dE1']);
  const table = document.createElement('table');
  table.className = 'bptt-values';
  for (const [expr, label, v, key] of rows) {
    const tr = document.createElement('tr');
    const a = document.createElement('td');
    a.append(m('math', expr));
    tr.title = label;
    const c = document.createElement('td');
    c.className = 'num';
    c.dataset.value = key;
    c.textContent = v;
    tr.append(a, c);
    table.append(tr);
  }
  const eqs = [chainEquation(), jacobianEquation(), boundEquation()].map((x) => {
    const div = document.createElement('div');
    div.className = 'eq';
    div.append(x);
    return div;
  });
  const caption = document.createElement('p');
  caption.className = 'note';
  caption.textContent = fits ? t('bptt.caption') : t('bptt.notFit');
  el.replaceChildren(...eqs, caption, table);
  el.dataset.values = fits && dE && jac ? JSON.stringify({ dE3: dE[2], J3: jac[2], J2: jac[1], dE1: dE[0], gain: cfg.gain, act: cfg.act }) : '';
}

addStrings({
  en: {
    'bptt.dE3': 'the error signal at the last step',
    'bptt.J3': 'Jacobian from s₂ to s₃',
    'bptt.J2': 'Jacobian from s₁ to s₂',
    'bptt.product': 'the product of the factors',
    'bptt.dE1': 'what reaches s₁',
    'bptt.caption': 'Norms measured by the engine for the current weights; they change with Gain and Activation.',
    'bptt.notFit': 'These equations are for the plain RNN with T = 3; “Apply again” sets them back.',
  },
  es: {
    'bptt.dE3': 'la señal de error en el último paso',
    'bptt.J3': 'jacobiano de s₂ a s₃',
    'bptt.J2': 'jacobiano de s₁ a s₂',
    'bptt.product': 'el producto de los factores',
    'bptt.dE1': 'lo que llega a s₁',
    'bptt.caption': 'Normas medidas por el motor para los pesos actuales; cambian con la ganancia y la activación.',
    'bptt.notFit': 'Estas ecuaciones son para la RNN simple con T = 3; «Volver a aplicar» las restablece.',
  },
});
