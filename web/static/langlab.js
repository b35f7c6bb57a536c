// The language lab: the article's three sentences, trained in the
// server (langTrain), with each model's five best guesses for the blank
// and a strip that colours every word by ‖∂E/∂x_k‖, the user's own
// sentence read by the trained models (langRead), the memory horizon in
// words, and exports (the strip and the charts as PNG or SVG, a model
// with its vocabulary as JSON: langExport). docs/langlab.md says how the
// sentences are made and how to replay a model in PyTorch.

import { t, addStrings, lang as pageLang } from './i18n.js';
import { newId } from './socket.js';
import { makePanel } from './tabs.js';
import { LANG_TEXT } from './langlab-text.js';

addStrings(LANG_TEXT);

const TASKS = ['kerala', 'clouds', 'mouse'];
const CELLS = ['rnn', 'lstm', 'gru', 'attn'];
const MAX_MODELS = 4;
// The models each task compares when the user has not chosen: the
// article's point for that sentence.
const TASK_MODELS = { kerala: ['rnn', 'lstm'], clouds: ['rnn', 'lstm'], mouse: ['lstm', 'bi-lstm'] };
const TASK_DEFAULTS = {
  kerala: { distance: 30, iterations: 800 },
  clouds: { distance: 10, iterations: 300 },
  mouse: { distance: 5, iterations: 400 },
};
// Okabe–Ito colours, one per run.
const COLORS = ['#d55e00', '#0072b2', '#009e73', '#cc79a7'];
const SVGNS = 'http://www.w3.org/2000/svg';
const FONT = '14px system-ui, sans-serif';
const STRIP_WIDTH = 880;

export const lang = { name: 'lang', params: { langTask: TASKS }, create };

function el(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

function svg(tag, attrs = {}, children = []) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  e.append(...children);
  return e;
}

const num = (v) => (typeof v === 'number' ? v : Number(v));

// pct writes a probability or an accuracy in the page's language.
function pct(v, digits = 1) {
  if (!Number.isFinite(v)) return String(v);
  return `${(v * 100).toFixed(digits).replace('.', pageLang() === 'es' ? ',' : '.')} %`;
}

function dec(v, digits = 3) {
  if (!Number.isFinite(v)) return String(v);
  const s = v.toFixed(digits);
  return pageLang() === 'es' ? s.replace('.', ',') : s;
}

let measureCtx = null;
function textWidth(s) {
  if (!measureCtx) {
    measureCtx = document.createElement('canvas').getContext('2d');
    measureCtx.font = FONT;
  }
  return measureCtx.measureText(s).width;
}

// stripSVG draws rows of words, one row per model, each word on a
// background whose darkness is its ‖∂E/∂x_k‖ over the row's largest;
// unknown words are struck through, the blank is outlined.
export function stripSVG(rows, { title = '' } = {}) {
  const pad = 6;
  const lineH = 24;
  const labelW = 150;
  const parts = [];
  let y = title ? 22 : 4;
  if (title) parts.push(svg('text', { x: 4, y: 16, 'font-weight': 600, 'font-size': 14 }, [title]));
  for (const row of rows) {
    const max = Math.max(0, ...row.strip.map(num).filter(Number.isFinite));
    let x = labelW;
    const rowTop = y;
    const rowParts = [];
    parts.push(svg('g', { class: 'lang-row', 'data-model': row.model ?? '' }));
    rowParts.push(svg('text', { x: 4, y: y + 17, 'font-size': 13, fill: row.color || '#222', 'font-weight': 600 }, [row.label]));
    row.words.forEach((w, k) => {
      const wd = textWidth(w) + 2 * pad;
      if (x + wd > STRIP_WIDTH && x > labelW) {
        x = labelW;
        y += lineH + 2;
      }
      const v = num(row.strip[k]);
      const f = max > 0 && Number.isFinite(v) ? v / max : 0;
      // Light yellow to dark red as the gradient grows.
      const r = Math.round(255 - 75 * f);
      const g = Math.round(250 - 230 * f);
      const b = Math.round(230 - 200 * f);
      const known = row.known ? row.known[k] : true;
      const title2 = known ? `‖∂E/∂x‖ = ${Number.isFinite(v) ? v.toExponential(2) : v}` : t('lang.oov');
      rowParts.push(svg('g', { class: 'lang-word', 'data-word': w, 'data-k': k, 'data-value': Number.isFinite(v) ? v : 0 }, [
        svg('title', {}, [title2]),
        svg('rect', {
          x, y, width: wd - 2, height: lineH, rx: 3,
          fill: known ? `rgb(${r},${g},${b})` : '#eeeeee',
          stroke: k === row.blank ? '#000' : 'none', 'stroke-width': 1.5,
        }),
        svg('text', {
          x: x + pad - 1, y: y + 17, 'font-size': 14, fill: f > 0.55 ? '#fff' : '#111',
          'text-decoration': known ? 'none' : 'line-through', 'font-style': known ? 'normal' : 'italic',
        }, [w]),
      ]));
      x += wd;
    });
    y += lineH + 10;
    if (y === rowTop) y += lineH;
    parts[parts.length - 1].append(...rowParts);
  }
  const height = y + 4;
  return svg('svg', {
    xmlns: SVGNS, width: STRIP_WIDTH, height, viewBox: `0 0 ${STRIP_WIDTH} ${height}`, 'font-family': 'system-ui, sans-serif', class: 'lang-strip',
  }, [svg('rect', { x: 0, y: 0, width: STRIP_WIDTH, height, fill: '#fff' }), ...parts]);
}

// lineChart draws series of [x, y] points on linear axes; yMax 'auto'
// fits the values (0..1 while there are none).
export function lineChart(series, { title, xLabel, yLabel, xMax, yMin = 0, yMax = 1, hline, hlineLabel, width = 430, height = 250, markers = false }) {
  const L = 52;
  const R = 12;
  const T = 26;
  const B = 40;
  const pw = width - L - R;
  const ph = height - T - B;
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const xm = xMax ?? Math.max(1, ...xs);
  const ys = series.flatMap((s) => s.points.map((p) => p[1])).filter(Number.isFinite);
  // An empty chart (before any training) keeps a readable 0..1 axis.
  const yM = yMax !== 'auto' ? yMax : ys.length ? Math.max(1e-9, ...ys) * 1.05 : 1;
  const X = (v) => L + (v / xm) * pw;
  const Y = (v) => T + ph - ((Math.min(Math.max(v, yMin), yM) - yMin) / (yM - yMin)) * ph;
  const parts = [svg('rect', { x: 0, y: 0, width, height, fill: '#fff' })];
  parts.push(svg('text', { x: 4, y: 16, 'font-size': 13, 'font-weight': 600 }, [title]));
  for (let i = 0; i <= 4; i++) {
    const v = yMin + ((yM - yMin) * i) / 4;
    parts.push(svg('line', { x1: L, x2: L + pw, y1: Y(v), y2: Y(v), stroke: '#e3e3e3' }));
    parts.push(svg('text', { x: L - 6, y: Y(v) + 4, 'font-size': 11, 'text-anchor': 'end' }, [dec(v, yM - yMin < 2 ? 2 : 1)]));
  }
  for (let i = 0; i <= 4; i++) {
    const v = (xm * i) / 4;
    parts.push(svg('text', { x: X(v), y: T + ph + 15, 'font-size': 11, 'text-anchor': 'middle' }, [String(Math.round(v))]));
  }
  parts.push(svg('line', { x1: L, x2: L + pw, y1: T + ph, y2: T + ph, stroke: '#444' }));
  parts.push(svg('line', { x1: L, x2: L, y1: T, y2: T + ph, stroke: '#444' }));
  parts.push(svg('text', { x: L + pw / 2, y: height - 6, 'font-size': 12, 'text-anchor': 'middle' }, [xLabel]));
  parts.push(svg('text', { x: 12, y: T + ph / 2, 'font-size': 12, 'text-anchor': 'middle', transform: `rotate(-90 12 ${T + ph / 2})` }, [yLabel]));
  if (hline !== undefined) {
    parts.push(svg('line', { x1: L, x2: L + pw, y1: Y(hline), y2: Y(hline), stroke: '#777', 'stroke-dasharray': '5 4' }));
    if (hlineLabel) parts.push(svg('text', { x: L + pw - 4, y: Y(hline) - 4, 'font-size': 11, 'text-anchor': 'end', fill: '#555' }, [hlineLabel]));
  }
  series.forEach((s, i) => {
    const pts = s.points.filter((p) => Number.isFinite(p[1]));
    if (pts.length) {
      parts.push(svg('polyline', { points: pts.map((p) => `${X(p[0]).toFixed(1)},${Y(p[1]).toFixed(1)}`).join(' '), fill: 'none', stroke: s.color, 'stroke-width': 2 }));
      if (markers) for (const p of pts) parts.push(svg('circle', { cx: X(p[0]), cy: Y(p[1]), r: 3, fill: s.color }));
    }
    parts.push(svg('rect', { x: L + 8 + i * 100, y: T + 4, width: 12, height: 4, fill: s.color }));
    parts.push(svg('text', { x: L + 24 + i * 100, y: T + 10, 'font-size': 11 }, [s.name]));
  });
  return svg('svg', { xmlns: SVGNS, width, height, viewBox: `0 0 ${width} ${height}`, 'font-family': 'system-ui, sans-serif' }, parts);
}

function saveBlob(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 30000);
  document.body.dataset.exported = name.slice(name.lastIndexOf('.') + 1);
}

// exportSVG saves an SVG element as .svg, or drawn at twice its size as
// .png.
function exportSVG(node, name, format) {
  const text = new XMLSerializer().serializeToString(node);
  const blob = new Blob([text], { type: 'image/svg+xml' });
  if (format === 'svg') {
    saveBlob(blob, `${name}.svg`);
    return;
  }
  const url = URL.createObjectURL(blob);
  const img = new Image();
  img.onload = () => {
    const w = Number(node.getAttribute('width'));
    const h = Number(node.getAttribute('height'));
    const c = document.createElement('canvas');
    c.width = w * 2;
    c.height = h * 2;
    const ctx = c.getContext('2d');
    ctx.scale(2, 2);
    ctx.drawImage(img, 0, 0, w, h);
    URL.revokeObjectURL(url);
    c.toBlob((png) => saveBlob(png, `${name}.png`), 'image/png');
  };
  img.src = url;
}

function create(page) {
  const { view } = page;
  const limits = () => page.limits.lang || { distance: 200, H: 64, embed: 32, batch: 64, iterations: 5000 };
  const sheet = el('link', { rel: 'stylesheet', href: '/static/langlab.css' });
  document.head.append(sheet);

  // ---- state ----
  const st = {
    task: TASKS.includes(view.langTask) ? view.langTask : TASKS[0],
    sentLang: pageLang(), // the language of the sentences; follows the page's until chosen
    langChosen: false,
    distance: TASK_DEFAULTS.kerala.distance,
    iterations: TASK_DEFAULTS.kerala.iterations,
    H: 16,
    embed: 8,
    models: [...TASK_MODELS.kerala],
  };
  Object.assign(st, TASK_DEFAULTS[st.task], { models: [...TASK_MODELS[st.task]] });
  let run = null; // {id, start, runs: [{model, color, loss:[], acc:[], reading, done, accuracy, horizon}], state}
  let readId = 0;
  let reading = null; // the langReading of the own sentence
  let exportIds = new Map(); // id → run index
  let readTimer = 0;

  // ---- the panel ----
  const panel = makePanel('lang');
  const status = el('span', { class: 'status', id: 'lang-status', role: 'status', 'aria-live': 'polite' });
  const selTask = el('select', { id: 'lang-task' });
  const selLang = el('select', { id: 'lang-lang' });
  const numInput = (id, min, max) => el('input', { type: 'number', id, class: 'short', min: String(min), max: String(max), step: '1', inputmode: 'numeric' });
  const inDistance = numInput('lang-distance', 0, 200);
  const inIter = numInput('lang-iterations', 1, 5000);
  const inH = numInput('lang-H', 1, 64);
  const inEmbed = numInput('lang-embed', 1, 32);
  const boxes = new Map();
  const modelSet = el('fieldset', { class: 'group cells lang-models', id: 'lang-models' }, [el('legend', { 'data-i18n': 'lang.models' })]);
  for (const bi of [false, true]) {
    for (const c of CELLS) {
      const name = bi ? `bi-${c}` : c;
      const input = el('input', { type: 'checkbox', id: `lang-model-${name}`, value: name });
      const label = el('label', { for: `lang-model-${name}`, 'data-i18n': bi ? `lang.model.bi.${c}` : `lang.model.${c}` });
      boxes.set(name, input);
      modelSet.append(el('span', { class: 'check' }, [input, label]));
    }
  }
  const btnTrain = el('button', { type: 'button', id: 'lang-train', class: 'primary', 'data-i18n': 'lang.train' });
  const btnStop = el('button', { type: 'button', id: 'lang-stop', 'data-i18n': 'lang.stop' });
  btnStop.disabled = true;
  const err = el('p', { class: 'banner danger', id: 'lang-error', role: 'alert' });
  err.hidden = true;
  const note = el('p', { class: 'note', id: 'lang-note' });
  const stripBox = el('div', { class: 'lang-strip-box', id: 'lang-strip' });
  const guessBox = el('div', { class: 'lang-guesses', id: 'lang-guesses' });
  const lossBox = el('div', { class: 'lang-chart', id: 'lang-loss-chart' });
  const accBox = el('div', { class: 'lang-chart', id: 'lang-acc-chart' });
  const horizonBox = el('div', { class: 'lang-chart', id: 'lang-horizon-chart' });
  const resultBody = el('tbody', { id: 'lang-results' });
  const results = el('table', { class: 'lang-table' }, [
    el('thead', {}, [el('tr', {}, [el('th', { 'data-i18n': 'lang.col.model' }), el('th', { 'data-i18n': 'lang.col.iter' }),
      el('th', { 'data-i18n': 'lang.col.loss' }), el('th', { 'data-i18n': 'lang.col.acc' }), el('th', { 'data-i18n': 'lang.col.heldout' }),
      el('th', { 'data-i18n': 'lang.col.export' })])]),
    resultBody,
  ]);
  const own = el('input', { type: 'text', id: 'lang-own', class: 'lang-own', autocomplete: 'off', spellcheck: 'false', 'data-i18n-aria-label': 'lang.own.label' });
  const ownNote = el('p', { class: 'note', id: 'lang-own-note' });
  const ownStrip = el('div', { class: 'lang-strip-box', id: 'lang-own-strip' });
  const ownGuesses = el('div', { class: 'lang-guesses', id: 'lang-own-guesses' });
  const exportButtons = (what) => ['png', 'svg'].map((f) => {
    const b = el('button', { type: 'button', id: `lang-export-${what}-${f}`, 'data-i18n': `lang.export.${what}.${f}` });
    b.addEventListener('click', () => exportPicture(what, f));
    return b;
  });
  const group = (label, input) => el('span', { class: 'group' }, [el('label', { for: input.id, 'data-i18n': label }), input]);

  panel.append(
    el('div', { class: 'plot-head' }, [el('h2', { 'data-i18n': 'lang.title' }), status]),
    el('div', { class: 'toolbar lang-tools' }, [
      group('lang.task', selTask), group('lang.sentLang', selLang), group('lang.distance', inDistance),
      group('lang.H', inH), group('lang.embed', inEmbed), group('lang.iterations', inIter),
      modelSet,
      el('span', { class: 'group' }, [btnTrain, btnStop]),
    ]),
    err,
    note,
    el('h3', { 'data-i18n': 'lang.sentence' }),
    stripBox,
    el('p', { class: 'toolbar' }, [el('span', { class: 'group' }, exportButtons('strip'))]),
    guessBox,
    el('div', { class: 'lang-charts' }, [lossBox, accBox]),
    el('div', { class: 'table-scroll' }, [results]),
    el('h3', { 'data-i18n': 'lang.own' }),
    el('p', {}, [el('label', { for: 'lang-own', 'data-i18n': 'lang.own.label' })]),
    own,
    ownNote,
    ownStrip,
    ownGuesses,
    el('h3', { 'data-i18n': 'lang.horizon' }),
    horizonBox,
    el('p', { class: 'toolbar' }, [el('span', { class: 'group' }, exportButtons('horizon'))]),
    el('details', { class: 'explain', open: '' }, [
      el('summary', { 'data-i18n': 'explain.title' }),
      el('p', { 'data-i18n': 'lang.explain.1' }),
      el('p', { 'data-i18n': 'lang.explain.2' }),
      el('p', { 'data-i18n': 'lang.explain.3' }),
    ]),
  );

  function fillSelects() {
    selTask.replaceChildren(...TASKS.map((k) => {
      const o = el('option', { value: k });
      o.textContent = t(`lang.task.${k}`);
      return o;
    }));
    selLang.replaceChildren(...['en', 'es'].map((k) => {
      const o = el('option', { value: k });
      o.textContent = t(`lang.sentLang.${k}`);
      return o;
    }));
  }

  function syncControls() {
    fillSelects();
    selTask.value = st.task;
    selLang.value = st.sentLang;
    const lim = limits();
    inDistance.max = String(lim.distance);
    inIter.max = String(lim.iterations);
    inH.max = String(lim.H);
    inEmbed.max = String(lim.embed);
    for (const [input, v] of [[inDistance, st.distance], [inIter, st.iterations], [inH, st.H], [inEmbed, st.embed]]) {
      if (document.activeElement !== input) input.value = String(v);
    }
    for (const [name, box] of boxes) box.checked = st.models.includes(name);
    note.textContent = t(`lang.note.${st.task}`);
    if (!own.value || own.dataset.auto === '1') {
      own.value = t(`lang.example.${st.task}.${st.sentLang}`);
      own.dataset.auto = '1';
    }
  }

  function setError(text) {
    err.textContent = text;
    err.hidden = !text;
  }

  // ---- training ----
  function message() {
    return {
      type: 'langTrain', task: st.task, lang: st.sentLang, distance: st.distance, models: st.models,
      H: st.H, embed: st.embed, iterations: st.iterations, every: Math.max(1, Math.round(st.iterations / 80)),
    };
  }

  function train() {
    setError('');
    if (!st.models.length) {
      setError(t('lang.needModel'));
      return;
    }
    const id = newId();
    run = { id, start: null, runs: [], state: 'starting' };
    setState('starting');
    if (!page.conn.send({ ...message(), id })) {
      setError(t('conn.lost', { s: 1 }));
      setState('error');
    }
  }

  function setState(state) {
    if (run) run.state = state;
    document.body.dataset.langState = state;
    btnStop.disabled = !['starting', 'running'].includes(state);
    status.textContent = {
      starting: t('lang.status.starting'), running: t('lang.status.running'), finished: t('lang.status.finished'),
      stopped: t('lang.status.stopped'), error: '',
    }[state] ?? '';
  }

  function onStart(msg) {
    run.start = msg;
    run.runs = msg.runs.map((r, i) => ({ model: r.model, color: COLORS[i % COLORS.length], loss: [], acc: [], reading: null, done: '', accuracy: NaN, horizon: null, iter: 0 }));
    setState('running');
    document.body.dataset.langProgress = '0';
    drawAll();
  }

  function onProgress(msg) {
    const r = run.runs[msg.run];
    if (!r) return;
    r.iter = msg.iter;
    r.loss.push([msg.iter, num(msg.loss)]);
    r.acc.push([msg.iter, num(msg.accuracy)]);
    r.reading = msg.reading;
    document.body.dataset.langProgress = String(Number(document.body.dataset.langProgress || 0) + 1);
    drawAll();
  }

  function onDone(msg) {
    const r = run.runs[msg.run];
    if (!r) return;
    r.done = msg.reason;
    r.iter = msg.iter;
    if (msg.accuracy !== undefined) r.accuracy = num(msg.accuracy);
    if (msg.horizon) r.horizon = msg.horizon.map((p) => [p.distance, num(p.accuracy)]);
    drawAll();
  }

  function onEnd() {
    if (!run) return;
    const reasons = run.runs.map((r) => r.done);
    setState(reasons.length && reasons.every((x) => x === 'finished') ? 'finished' : 'stopped');
    document.body.dataset.langEnds = `${document.body.dataset.langEnds ? `${document.body.dataset.langEnds},` : ''}${run.state}`;
    readOwn();
  }

  // ---- drawing ----
  const modelLabel = (m) => (m.startsWith('bi-') ? t(`lang.model.bi.${m.slice(3)}`) : t(`lang.model.${m}`));

  function drawGuesses(box, rows) {
    box.replaceChildren(...rows.map((r) => {
      const items = (r.reading?.guesses || []).map((g) => {
        const p = num(g.p);
        const bar = el('span', { class: 'lang-bar' });
        bar.style.width = `${Math.max(1, Math.round(p * 120))}px`;
        bar.style.backgroundColor = r.color;
        return el('li', {}, [el('span', { class: 'lang-guess-word' }, [g.word]), bar, el('span', { class: 'lang-guess-p' }, [pct(p)])]);
      });
      return el('div', { class: 'lang-guess-col', 'data-model': r.model }, [el('h4', {}, [modelLabel(r.model)]), el('ol', {}, items)]);
    }));
  }

  function stripRows(runs, pick) {
    return runs.filter((r) => pick(r)).map((r) => ({ label: modelLabel(r.model), color: r.color, ...pick(r), model: r.model }));
  }

  let stripNode = null;
  let horizonNode = null;
  function drawAll() {
    const runs = run ? run.runs : [];
    if (!runs.length) {
      stripBox.replaceChildren(el('p', { class: 'note' }, [t('lang.none')]));
      guessBox.replaceChildren();
    } else {
      stripNode = stripSVG(stripRows(runs, (r) => r.reading), { title: t('lang.strip.title') });
      stripBox.replaceChildren(stripNode);
      drawGuesses(guessBox, runs);
    }
    const chance = run?.start ? num(run.start.chance) : undefined;
    const iters = run?.start?.iterations ?? st.iterations;
    lossBox.replaceChildren(lineChart(runs.map((r) => ({ name: modelLabel(r.model), color: r.color, points: r.loss })), {
      title: t('lang.chart.loss'), xLabel: t('lang.chart.iter'), yLabel: t('lang.chart.lossY'), xMax: iters, yMax: 'auto',
    }));
    accBox.replaceChildren(lineChart(runs.map((r) => ({ name: modelLabel(r.model), color: r.color, points: r.acc })), {
      title: t('lang.chart.acc'), xLabel: t('lang.chart.iter'), yLabel: t('lang.chart.accY'), xMax: iters, hline: chance, hlineLabel: t('lang.chance'),
    }));
    horizonNode = lineChart(runs.filter((r) => r.horizon).map((r) => ({ name: modelLabel(r.model), color: r.color, points: r.horizon })), {
      title: t('lang.horizon.title', { task: t(`lang.task.${run?.start?.task ?? st.task}`), d: run?.start?.distance ?? st.distance }),
      xLabel: t('lang.horizon.x'), yLabel: t('lang.chart.accY'), xMax: Math.min(200, limits().distance), hline: chance, hlineLabel: t('lang.chance'),
      width: 640, height: 280, markers: true,
    });
    horizonBox.replaceChildren(horizonNode);
    if (view.tab === 'lang') page.drawn('lang', { task: st.task, lang: st.sentLang, distance: st.distance, models: st.models });
    resultBody.replaceChildren(...runs.map((r, i) => {
      const last = (a) => (a.length ? a[a.length - 1][1] : NaN);
      const btn = el('button', { type: 'button', id: `lang-export-model-${i}`, 'data-i18n': 'lang.exportModel' }, [t('lang.exportModel')]);
      btn.addEventListener('click', () => exportModel(i));
      return el('tr', { 'data-model': r.model }, [
        el('td', {}, [modelLabel(r.model)]), el('td', {}, [String(r.iter)]), el('td', {}, [dec(last(r.loss))]),
        el('td', {}, [Number.isFinite(last(r.acc)) ? pct(last(r.acc)) : '']),
        el('td', { class: 'lang-heldout', 'data-accuracy': Number.isFinite(r.accuracy) ? String(r.accuracy) : '' }, [Number.isFinite(r.accuracy) ? pct(r.accuracy) : (r.done && r.done !== 'finished' ? t(`lang.reason.${r.done}`) : '')]),
        el('td', {}, [btn]),
      ]);
    }));
    drawOwn();
  }

  function drawOwn() {
    if (!reading) {
      ownStrip.replaceChildren();
      ownGuesses.replaceChildren();
      return;
    }
    const runs = reading.readings.map((rd) => ({ model: rd.model, color: COLORS[rd.run % COLORS.length], reading: rd }));
    const oov = reading.readings[0].words.filter((w, k) => !reading.readings[0].known[k]);
    ownNote.textContent = oov.length ? t('lang.own.oov', { words: oov.join(', ') }) : t('lang.own.allKnown');
    ownStrip.replaceChildren(stripSVG(stripRows(runs, (r) => r.reading)));
    drawGuesses(ownGuesses, runs);
  }

  // ---- the user's sentence ----
  function readOwn() {
    clearTimeout(readTimer);
    const text = own.value;
    if (!run || !run.start) {
      ownNote.textContent = t('lang.own.train');
      return;
    }
    if ((text.match(/_+/g) || []).length !== 1) {
      ownNote.textContent = t('lang.own.blank');
      return;
    }
    readId = newId();
    page.conn.send({ type: 'langRead', id: readId, sentence: text });
  }

  own.addEventListener('input', () => {
    own.dataset.auto = '0';
    clearTimeout(readTimer);
    readTimer = setTimeout(readOwn, 150);
  });

  // ---- exports ----
  function exportPicture(what, format) {
    const node = what === 'strip' ? stripNode : horizonNode;
    if (!node) return;
    exportSVG(node, `gradviz-lang-${st.task}-${what}`, format);
  }

  function exportModel(i) {
    const id = newId();
    exportIds.set(id, i);
    page.conn.send({ type: 'langExport', id, run: i });
  }

  // ---- controls ----
  function chooseTask(task) {
    st.task = task;
    view.langTask = task;
    Object.assign(st, TASK_DEFAULTS[task], { models: [...TASK_MODELS[task]] });
    if (own.dataset.auto === '1') own.value = '';
    syncControls();
    page.updateURL();
  }
  selTask.addEventListener('change', () => chooseTask(selTask.value));
  selLang.addEventListener('change', () => {
    st.sentLang = selLang.value;
    st.langChosen = true;
    if (own.dataset.auto === '1') own.value = '';
    syncControls();
  });
  for (const [input, key] of [[inDistance, 'distance'], [inIter, 'iterations'], [inH, 'H'], [inEmbed, 'embed']]) {
    input.addEventListener('input', () => {
      const v = Number(input.value);
      if (input.value === '' || !Number.isInteger(v) || v < Number(input.min) || v > Number(input.max)) {
        input.setAttribute('aria-invalid', 'true');
        setError(t('lang.badNumber', { field: t(`lang.${key}`), lo: input.min, hi: input.max }));
        return;
      }
      input.removeAttribute('aria-invalid');
      setError('');
      st[key] = v;
    });
  }
  for (const [name, box] of boxes) {
    box.addEventListener('change', () => {
      const chosen = [...boxes].filter(([, b]) => b.checked).map(([n]) => n);
      if (chosen.length > MAX_MODELS) {
        box.checked = false;
        setError(t('lang.tooMany', { n: MAX_MODELS }));
        return;
      }
      setError('');
      st.models = chosen;
      void name;
    });
  }
  btnTrain.addEventListener('click', train);
  btnStop.addEventListener('click', () => {
    page.conn.send({ type: 'stop', id: newId(), what: 'training' });
  });

  fillSelects();
  syncControls();
  drawAll();

  const ownsId = (id) => (run && id === run.id) || id === readId || exportIds.has(id);

  return {
    name: 'lang',
    panel,
    messages: ['langStart', 'langProgress', 'langDone', 'langReading', 'langModel'],
    owns: ownsId,
    receive(msg) {
      if (msg.type === 'langModel') {
        if (!exportIds.has(msg.id)) return;
        exportIds.delete(msg.id);
        const blob = new Blob([JSON.stringify(msg.model)], { type: 'application/json' });
        saveBlob(blob, `gradviz-lang-${msg.model.task}-${run?.runs[msg.run]?.model ?? msg.run}.json`);
        return;
      }
      if (msg.type === 'langReading') {
        if (msg.id !== readId) return;
        reading = msg;
        drawOwn();
        return;
      }
      if (msg.type === 'error') {
        if (exportIds.has(msg.id)) exportIds.delete(msg.id);
        const text = page.errorText(msg);
        if (msg.id === readId) {
          ownNote.textContent = text;
          return;
        }
        setError(t('error.general', { msg: text }));
        if (run && msg.id === run.id && run.state === 'starting') setState('error');
        return;
      }
      if (!run || msg.id !== run.id) return;
      if (msg.type === 'langStart') onStart(msg);
      else if (msg.type === 'langProgress') onProgress(msg);
      else if (msg.type === 'langDone') onDone(msg);
      else if (msg.type === 'done') onEnd();
    },
    request() {},
    redraw() {
      drawAll();
    },
    show(visible) {
      if (visible) drawAll();
    },
    relabel() {
      if (!st.langChosen) st.sentLang = pageLang();
      if (own.dataset.auto === '1') own.value = '';
      syncControls();
      drawAll();
    },
    export() {
      return '';
    },
    syncView() {
      if (TASKS.includes(view.langTask) && view.langTask !== st.task) chooseTask(view.langTask);
    },
    disconnected() {
      if (run && ['starting', 'running'].includes(run.state)) setState('stopped');
    },
    // preset applies a tour step: the task, its settings, and a training.
    preset(p) {
      chooseTask(p.task);
      Object.assign(st, p);
      if (p.models) st.models = [...p.models];
      syncControls();
      train();
    },
  };
}
