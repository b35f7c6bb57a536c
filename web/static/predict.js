// Predict, then reveal: a tour step with "predict" hides the profile's
// curve and its readout, asks its question, and lets the student place a
// marker where ‖∂E/∂s_1‖ (the curve at step 1) will land: by dragging on
// the plot, or with the arrow keys on the guess control here (one order
// of magnitude a press, a tenth with Shift, ten with Page Up/Down).
// Reveal draws the curve with the guess left on the plot and says how
// far off it was, in orders of magnitude.

import { t, lang, addStrings } from './i18n.js';
import { fmtNum } from './plot.js';

const RANGE = [-90, 10]; // log10 of the values a guess may take
const $ = (id) => document.getElementById(id);
const body = document.body;
// num writes a value for prose: a decimal comma in Spanish.
const num = (v, digits) => (lang() === 'es' ? fmtNum(v, digits).replace('.', ',') : fmtNum(v, digits));

export class Predict {
  // box is the element the question goes in; profile is the profile view.
  constructor(box, profile) {
    this.box = box;
    this.profile = profile;
    this.state = null;
    this.question = null;
    this.res = null; // the profile shown
    document.addEventListener('gv-profile', (e) => {
      this.res = e.detail;
      if (this.state && !this.state.hidden) this.showResult();
    });
  }

  start(predict) {
    this.question = predict.question;
    this.state = { hidden: true, guess: 0, range: RANGE };
    this.build();
    this.push();
  }

  stop() {
    if (!this.state) return;
    this.state = null;
    this.box.hidden = true;
    this.box.replaceChildren();
    $('readout').style.visibility = '';
    delete body.dataset.predict;
    this.profile.setPredict(null);
  }

  active() { return !!this.state; }

  push() {
    const s = this.state;
    $('readout').style.visibility = s.hidden ? 'hidden' : '';
    body.dataset.predict = s.hidden ? 'hidden' : 'revealed';
    this.profile.setPredict({ ...s }, (v) => this.setGuess(v));
    this.showGuess();
  }

  setGuess(v) {
    if (!this.state?.hidden) return;
    this.state.guess = Math.round(Math.min(RANGE[1], Math.max(RANGE[0], v)) * 10) / 10;
    this.push();
  }

  build() {
    const q = document.createElement('p');
    q.className = 'predict-question';
    q.textContent = this.question[lang()] ?? this.question.en;
    const guess = document.createElement('div');
    guess.id = 'predict-guess';
    guess.className = 'predict-guess';
    guess.tabIndex = 0;
    guess.setAttribute('role', 'slider');
    guess.setAttribute('aria-label', t('predict.guess'));
    guess.setAttribute('aria-valuemin', String(RANGE[0]));
    guess.setAttribute('aria-valuemax', String(RANGE[1]));
    guess.addEventListener('keydown', (e) => {
      if (!this.state?.hidden) return;
      const step = e.shiftKey ? 0.1 : 1;
      const moves = { ArrowUp: step, ArrowRight: step, ArrowDown: -step, ArrowLeft: -step, PageUp: 10, PageDown: -10 };
      if (e.key in moves) this.setGuess(this.state.guess + moves[e.key]);
      else if (e.key === 'Home') this.setGuess(RANGE[0]);
      else if (e.key === 'End') this.setGuess(RANGE[1]);
      else return;
      e.preventDefault();
    });
    const help = document.createElement('p');
    help.className = 'note';
    help.textContent = t('predict.help');
    const reveal = document.createElement('button');
    reveal.type = 'button';
    reveal.id = 'predict-reveal';
    reveal.textContent = t('predict.reveal');
    reveal.addEventListener('click', () => this.reveal());
    const result = document.createElement('p');
    result.id = 'predict-result';
    result.className = 'predict-result';
    result.setAttribute('role', 'status');
    this.box.replaceChildren(q, guess, help, reveal, result);
    this.box.hidden = false;
  }

  showGuess() {
    const el = $('predict-guess');
    if (!el) return;
    const g = this.state.guess;
    const text = num(10 ** g, 2);
    el.textContent = t('predict.guessIs', { v: text });
    el.setAttribute('aria-valuenow', String(g));
    el.setAttribute('aria-valuetext', text);
    el.setAttribute('aria-disabled', String(!this.state.hidden));
    $('predict-reveal').disabled = !this.state.hidden;
  }

  reveal() {
    if (!this.state?.hidden) return;
    this.state.hidden = false;
    this.push();
    this.showResult();
  }

  // showResult says how far the guess is from the curve at step 1.
  showResult() {
    const el = $('predict-result');
    if (!el) return;
    const v = this.res?.profile?.dE_ds?.[0];
    const guess = num(10 ** this.state.guess, 2);
    if (typeof v !== 'number' || !(v > 0) || !Number.isFinite(v)) {
      el.textContent = t('predict.none');
      return;
    }
    const off = this.state.guess - Math.log10(v);
    const n = Math.abs(off).toFixed(1);
    const shown = lang() === 'es' ? n.replace('.', ',') : n;
    const key = Math.abs(off) < 0.5 ? 'predict.close' : off > 0 ? 'predict.high' : 'predict.low';
    el.textContent = `${t('predict.actual', { actual: num(v) })} ${t(key, { guess, n: shown })}`;
    el.dataset.off = String(off);
  }

  relabel() {
    if (!this.state) return;
    const hidden = this.state.hidden;
    this.build();
    this.showGuess();
    if (!hidden) this.showResult();
  }
}

addStrings({
  en: {
    'predict.guess': 'Your guess for ‖∂E/∂s_1‖',
    'predict.guessIs': 'Your guess: {v}',
    'predict.help': 'Drag the marker on the plot, or select your guess here and use the arrow keys: one order of magnitude a press (Shift: a tenth).',
    'predict.reveal': 'Reveal',
    'predict.marker': 'your guess',
    'predict.actual': 'At step 1 the curve is at {actual}:',
    'predict.high': 'your guess, {guess}, is {n} orders of magnitude too high.',
    'predict.low': 'your guess, {guess}, is {n} orders of magnitude too low.',
    'predict.close': 'your guess, {guess}, is within half an order of magnitude.',
    'predict.none': 'The curve has no finite value at step 1 to compare your guess with.',
  },
  es: {
    'predict.guess': 'Tu estimación de ‖∂E/∂s_1‖',
    'predict.guessIs': 'Tu estimación: {v}',
    'predict.help': 'Arrastra el marcador sobre el gráfico, o selecciona aquí tu estimación y usa las flechas: un orden de magnitud por pulsación (con Mayús, una décima).',
    'predict.reveal': 'Mostrar',
    'predict.marker': 'tu estimación',
    'predict.actual': 'En el paso 1 la curva está en {actual}:',
    'predict.high': 'tu estimación, {guess}, queda {n} órdenes de magnitud por encima.',
    'predict.low': 'tu estimación, {guess}, queda {n} órdenes de magnitud por debajo.',
    'predict.close': 'tu estimación, {guess}, queda a menos de medio orden de magnitud.',
    'predict.none': 'La curva no tiene en el paso 1 un valor finito con el que comparar tu estimación.',
  },
});
