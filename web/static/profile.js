// The profile view: ‖∂E/∂s_k‖ over the steps with its pins, the
// per-step factors, the spectrum, the readout, Play and the exports.

import { t } from './i18n.js';
import { SETTINGS, MAX_PINS, exportURL } from './url.js';
import { Requests } from './socket.js';
import { Plot, fmtNum } from './plot.js';
import { fmtExact } from './numbers.js';
import { showReadout, outcome } from './readout.js';
import { describe as describePlot, num, modelName, decades, extentOf } from './describe.js';
import { Spectrum } from './spectrum.js';
import { model } from './models.js';
import { active, appliesTo } from './schema.js';
import { exportButtons, viewExportURL, bindExports, viewFileName } from './exports.js';

const $ = (id) => document.getElementById(id);
const body = document.body;

export const profile = { name: 'profile', create };

function create(page) {
  const { settings, view, controls } = page;
  let current = null; // the newest profile message shown
  let reveal = 1; // first step drawn; T+1 at the start of an animation
  let pendingDraw = null; // what the next plot draw completes
  let measuredSeq = 0;
  let sentSeq = 0;
  let pinSerial = 0;
  let predict = null; // a tour step's prediction: {hidden, guess, range}

  const plot = new Plot({
    el: $('plot'), legend: $('legend'), jacEl: $('jacplot'), jacLegend: $('jaclegend'), table: page.series, onDraw, live: $('plot-live'),
  });
  const spectrum = new Spectrum({ plane: $('spec-plane'), stems: $('spec-stems'), caption: $('spec-caption') });
  const requests = new Requests(page.conn, {
    onMain,
    onPin,
    onBusy: setBusy,
    onSend: onMainSent,
    pinSettings: (key) => page.pins.find((p) => p.key === key)?.settings,
  });

  // newPin keys a pinned run, so that its answer finds it.
  const newPin = (settings, res = null) => ({ key: `p${++pinSerial}`, settings, res, error: '' });
  page.pins = page.pins.map((s) => newPin(s));

  // wantJacobians: the per-step factors ‖J_k‖ cost more than the profile
  // at large T, so the server sends them, after the profile, only to a
  // page that draws them.
  function wantJacobians() {
    return view.jac && !!model(settings.cell).spectrum;
  }

  function requestMain() {
    requests.main({ ...page.modelMessage('config'), jacobians: wantJacobians() }, { inputSeq: page.inputSeq });
    syncPlayButton();
  }

  function play() {
    const msg = { ...page.modelMessage('animate'), stepsPerSecond: Number($('speed').value), jacobians: wantJacobians() };
    requests.main(msg, { inputSeq: page.inputSeq });
    requests.animating = true; // until the server says done
    syncPlayButton();
  }

  function syncPlayButton() {
    const on = requests.animating;
    $('play').dataset.i18n = on ? 'stop' : 'play';
    $('play').textContent = t(on ? 'stop' : 'play');
    $('play').dataset.playing = String(on);
  }

  // onMainSent measures how long a control took to reach the server: the
  // input event to the message leaving the page.
  function onMainSent(meta) {
    const seq = meta?.inputSeq ?? 0;
    if (seq <= sentSeq) return;
    sentSeq = seq;
    const mark = `gv-input-${seq}`;
    if (performance.getEntriesByName(mark, 'mark').length) {
      if (performance.getEntriesByName('gv-send').length > 500) performance.clearMeasures('gv-send');
      performance.measure('gv-send', mark);
    }
  }

  // ---- server → profile ----

  function onMain(msg) {
    switch (msg.type) {
      case 'profile':
        performance.mark('gv-answer');
        body.dataset.elapsedMs = String(msg.elapsedMs);
        current = msg;
        reveal = requests.animating ? msg.config.T + 1 : 1;
        controls.clearServerErrors();
        $('banner-error').hidden = true;
        delete body.dataset.error;
        render(msg.id);
        showReadout(msg);
        announce();
        break;
      case 'jacobians':
        if (!current || current.id !== msg.id) return;
        current.profile.jacobianNorm = msg.jacobianNorm;
        render(current.id);
        announce();
        break;
      case 'frame':
        if (!current) return;
        reveal = msg.k;
        render(current.id);
        break;
      case 'done':
        reveal = 1;
        if (current) render(current.id);
        break;
      case 'error':
        page.showServerError(msg, $('banner-error'));
        break;
    }
    syncPlayButton();
  }

  // announce tells the rest of the page (the tour's panel) about the
  // profile now shown.
  function announce() {
    document.dispatchEvent(new CustomEvent('gv-profile', { detail: current }));
  }

  function onPin(key, msg) {
    const pin = page.pins.find((p) => p.key === key);
    if (!pin) return;
    if (msg.type === 'profile') {
      pin.res = { config: msg.config, profile: msg.profile };
      pin.error = '';
    } else {
      pin.error = page.errorText(msg);
    }
    if (current) render(current.id);
  }

  function setBusy(on) {
    body.classList.toggle('busy', on);
    $('status').textContent = on ? t('computing') : '';
  }

  // ---- drawing the profile ----

  function render(id) {
    if (!current || view.tab !== 'profile') return;
    const shownPins = page.pins.map((p) => ({
      label: pinLabel(p.res ? p.res.config : p.settings, current.config),
      res: p.res,
    }));
    pendingDraw = { id, config: current.config, pins: page.pins.filter((p) => p.res).length, seq: requests.last?.meta?.inputSeq ?? 0 };
    plot.render({ res: current, pins: shownPins, view, reveal, predict });
    const showSpec = view.spectrum && !!current.theory;
    $('spectrum').hidden = !showSpec;
    $('show-spectrum').disabled = !current.theory;
    if (showSpec) spectrum.show(current.theory, view.large);
    showBanners();
    showNotes();
    summarize();
  }

  // summarize describes the plots in words, from the data they show.
  function summarize() {
    const cfg = current.config;
    const prof = current.profile;
    const v = prof.dE_ds;
    const o = outcome(v);
    const vars = { model: modelName(cfg), T: cfg.T, a: num(v[v.length - 1]), b: num(v[0]) };
    let text;
    if (!o) text = t('sum.profile.none', vars);
    else if (o.kind === 'overflow') text = t('sum.profile.overflow', vars);
    else text = t(`sum.profile.${o.kind}`, { ...vars, n: decades(v[0], v[v.length - 1]) });
    const pins = page.pins.filter((p) => p.res).length;
    if (pins) text += ` ${t('sum.pins', { n: pins })}`;
    describePlot($('plot'), `${text} ${t('sum.keys')}`);
    const jac = prof.jacobianNorm;
    const ext = extentOf(jac);
    const th = current.theory;
    if (ext && view.jac) {
      const gs = th && typeof th.gamma === 'number' && typeof th.sigmaMax === 'number' ? num(th.gamma * th.sigmaMax) : '—';
      describePlot($('jacplot'), t('sum.jac', { n: jac.length, lo: num(ext[0]), hi: num(ext[1]), gs }));
    }
  }

  // onDraw runs after uPlot has drawn: it marks the page for tests and
  // measures the time from the user's input to the redrawn plot.
  function onDraw() {
    const d = pendingDraw;
    if (!d) return;
    pendingDraw = null;
    body.dataset.rendered = JSON.stringify(d.config);
    body.dataset.renderedPins = String(d.pins);
    body.dataset.curves = String(1 + d.pins);
    if (!body.dataset.ready) performance.mark('gv-first-plot');
    body.dataset.ready = String(d.id);
    page.drawn('profile', d.config);
    if (d.seq > measuredSeq && reveal === 1) {
      measuredSeq = d.seq;
      const mark = `gv-input-${d.seq}`;
      if (performance.getEntriesByName(mark, 'mark').length) {
        if (performance.getEntriesByName('gv-redraw').length > 500) {
          performance.clearMeasures('gv-redraw');
          performance.clearMeasures('gv-draw');
        }
        performance.measure('gv-redraw', mark);
        // The page's own share: from the answer's arrival to the drawn plot.
        if (performance.getEntriesByName('gv-answer', 'mark').length) performance.measure('gv-draw', 'gv-answer');
      }
      performance.clearMarks('gv-answer');
      for (const m of performance.getEntriesByType('mark')) {
        if (m.name.startsWith('gv-input-') && Number(m.name.slice(9)) <= d.seq) performance.clearMarks(m.name);
      }
    }
  }

  function showBanners() {
    const o = current.overflow;
    const banner = $('banner-overflow');
    if (o && (o.forward || o.backward)) {
      banner.textContent = o.forward
        ? `${t('overflow.forward', { k: o.forward })} ${t('overflow.states')}`
        : t('overflow.backward', { k: o.backward });
      banner.hidden = false;
      body.dataset.overflow = String(o.forward || o.backward);
    } else {
      banner.hidden = true;
      delete body.dataset.overflow;
    }
  }

  function showNotes() {
    const cfg = current.config;
    const notes = [];
    const prof = current.profile;
    const zeros = prof.dE_ds.filter((v) => v === 0).length;
    if (zeros > 0) notes.push(t('underflow', { n: zeros, T: cfg.T }));
    if (cfg.clip === 'global-norm') notes.push(t('note.global'));
    if (cfg.bidir && cfg.loss === 'last') notes.push(t('note.bidirLast'));
    const th = current.theory;
    const first = prof.dE_ds[0];
    const last = prof.dE_ds[prof.dE_ds.length - 1];
    if (th && th.regime === 'may-explode' && typeof first === 'number' && typeof last === 'number' && last > 0 && first / last < 1e-3) {
      notes.push(t('note.mayExplode', { gs: fmtNum(th.gamma * th.sigmaMax), r: fmtNum(first / last) }));
    }
    if (prof.cellPath) notes.push(t('note.lstmPaths', { f: fmtNum(1 / (1 + Math.exp(-cfg.forgetBias))) }));
    for (const p of page.pins) if (p.error) notes.push(t('pin.error', { msg: p.error }));
    if (requests.animating && reveal > 1) notes.push(t('animating', { k: Math.min(reveal, cfg.T), T: cfg.T }));
    $('notes').replaceChildren(...notes.map((n) => {
      const span = document.createElement('span');
      span.textContent = n;
      return span;
    }));
  }

  // exportPins are the pins with the names the legend shows, so that the
  // server's figure reads like the screen.
  function exportPins() {
    return page.pins.map((p) => ({
      settings: p.settings,
      label: pinLabel(p.res ? p.res.config : p.settings, settings),
    }));
  }

  // changed redraws after a change of the view's own state. Only the pins
  // are part of a preset; the x axis and the companions are ways of
  // looking at it (looked) and leave it as it was.
  function changed({ looked = false } = {}) {
    if (!looked) page.markPresetChanged();
    page.applyView();
    if (current) render(current.id);
  }

  function exportFile(format) {
    return `gradviz-${settings.cell}-${appliesTo('act', settings.cell) ? settings.act + '-' : ''}T${settings.T}.${format}`;
  }

  // ---- the panel's controls ----

  // While a prediction is hidden, a press or a drag on the plot places
  // the guess.
  let guessed = null;
  let dragging = false;
  const moveGuess = (e) => {
    const v = plot.yAt(e.clientY);
    if (v != null && Number.isFinite(v) && guessed) guessed(v);
  };
  $('plot').addEventListener('pointerdown', (e) => {
    if (!predict?.hidden) return;
    dragging = true;
    $('plot').setPointerCapture(e.pointerId);
    moveGuess(e);
  });
  $('plot').addEventListener('pointermove', (e) => {
    if (dragging && predict?.hidden) moveGuess(e);
  });
  for (const type of ['pointerup', 'pointercancel']) $('plot').addEventListener(type, () => { dragging = false; });

  for (const r of document.querySelectorAll('input[name="x"]')) {
    r.addEventListener('change', (e) => {
      view.x = e.target.value;
      changed({ looked: true });
    });
  }
  $('states').addEventListener('change', (e) => {
    view.states = e.target.checked;
    changed({ looked: true });
  });
  $('jac').addEventListener('change', (e) => {
    view.jac = e.target.checked;
    changed({ looked: true });
    if (wantJacobians() && current && !current.profile.jacobianNorm) requestMain();
  });
  $('show-spectrum').addEventListener('change', (e) => {
    view.spectrum = e.target.checked;
    changed({ looked: true });
  });
  $('pin').addEventListener('click', () => {
    if (!current || page.pins.length >= MAX_PINS) return;
    const s = {};
    for (const name of Object.keys(SETTINGS)) s[name] = current.config[name];
    page.pins.push(newPin(s, { config: current.config, profile: current.profile }));
    changed();
  });
  $('clear-pins').addEventListener('click', () => {
    page.pins = [];
    requests.clearPins();
    changed();
  });
  $('play').addEventListener('click', () => {
    if (requests.animating) {
      // Stopping shows the whole profile again: a curve cut short with no
      // animation running would look like a broken run.
      requests.stopAnimation();
      reveal = 1;
      syncPlayButton();
      if (current) render(current.id);
    } else {
      play();
    }
  });
  const panel = $('panel-profile');
  // The spectrum's own exports: its eigenvalues, drawn by the server.
  const specButtons = exportButtons('spectrum', true);
  const specGroup = document.createElement('p');
  specGroup.className = 'spec-exports';
  specGroup.append(...specButtons);
  $('spectrum').append(specGroup);
  const specURL = (format) => viewExportURL('spectrum', format, settings, page.defaults, view.lang);
  const refreshSpec = bindExports(page, specButtons, specURL, (f) => viewFileName('spectrum', settings, f), { status: $('status'), banner: $('banner-error') });
  for (const b of panel.querySelectorAll('#export-png, #export-svg, #export-pdf, #export-csv, #export-gif')) {
    b.addEventListener('click', () => {
      const format = b.dataset.format;
      page.download(it.export(format), exportFile(format), { status: $('status'), banner: $('banner-error') });
    });
  }

  const it = {
    name: 'profile',
    panel,
    messages: ['profile', 'jacobians', 'frame'],
    owns: (id) => id === requests.mainId || requests.pinIds.has(id),
    receive: (msg) => requests.handle(msg),
    unowned: (msg) => requests.handle(msg),
    request: requestMain,
    redraw() {
      if (current) render(current.id);
    },
    relabel() {
      syncPlayButton();
      if (current) {
        showReadout(current);
        render(current.id);
      }
    },
    export: (format) => exportURL(format, settings, view, exportPins(), page.defaults),
    syncView() {
      $(view.x === 'back' ? 'x-back' : 'x-step').checked = true;
      $('states').checked = view.states;
      $('jac').checked = view.jac;
      $('show-spectrum').checked = view.spectrum;
      $('pin').disabled = page.pins.length >= MAX_PINS;
      $('pin').title = t(page.pins.length >= MAX_PINS ? 'pin.full' : 'pin.title');
      $('clear-pins').disabled = page.pins.length === 0;
    },
    urlWritten() {
      for (const b of panel.querySelectorAll('#export-png, #export-svg, #export-pdf, #export-csv, #export-gif')) b.dataset.href = it.export(b.dataset.format);
      refreshSpec();
    },
    connected() {
      requests.reconnected();
      syncPlayButton();
    },
    disconnected: () => setBusy(false),
    // start asks for the pins of the URL; setPins replaces them (a preset).
    start() {
      for (const p of page.pins) requests.pin(p.key, p.settings);
    },
    // setPredict shows a prediction (null: none); onGuess(v) is told
    // where the student drags the marker, as log10 of the value.
    setPredict(p, onGuess) {
      predict = p;
      guessed = onGuess || null;
      if (current) render(current.id);
    },
    setPins(list) {
      page.pins = list.map((s) => newPin(s));
      requests.clearPins();
      for (const p of page.pins) requests.pin(p.key, p.settings);
    },
  };
  return it;
}

// pinLabel names a pin by what differs from the current settings.
function pinLabel(ps, cur) {
  const text = describeDiff(ps, cur);
  if (!text) return t('pin.same');
  return text.length > 40 ? `${text.slice(0, 39)}…` : text;
}

// describeDiff says, in the page's language, how settings ps differ from
// cur: "ReLU, gain=2".
export function describeDiff(ps, cur) {
  const parts = [];
  for (const name of Object.keys(SETTINGS)) {
    if (ps[name] === cur[name]) continue;
    // Settings that do not act on the pinned run would only add noise.
    if (!active(name, ps)) continue;
    parts.push(describe(name, ps[name]));
  }
  return parts.join(', ');
}

function describe(name, v) {
  switch (name) {
    case 'cell':
    case 'act':
    case 'init':
      return t(`opt.${name}.${v}`);
    case 'clip':
    case 'loss':
      return `${t(name)}: ${t(`opt.${name}.${v}`)}`;
    case 'bidir':
      return t(`opt.bidir.${v}`);
  }
  return `${t(`short.${name}`)}=${typeof v === 'number' ? fmtExact(v) : v}`;
}

