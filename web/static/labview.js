// The training lab's view: its controls, the train and stop messages,
// and the streamed answers, drawn by Lab (lab.js).

import { t } from './i18n.js';
import { SETTINGS, LAB, CELLS, parseLab } from './url.js';
import { newId } from './socket.js';
import { Lab, everyFor } from './lab.js';
import { describeDiff } from './profile.js';
import { bindNumberBox, checkNumber, setBounds, showValue } from './numbox.js';
import { appliesTo } from './schema.js';
import { exportButtons, bindExports, FORMATS } from './exports.js';

const $ = (id) => document.getElementById(id);
const body = document.body;

export const lab = { name: 'lab', create };

function create(page) {
  const { settings, view, controls } = page;
  let lastTrain = null; // the train message last sent
  let queued = null; // a training asked for before the socket opened

  const chart = new Lab({
    loss: $('lab-loss'), lossLegend: $('lab-loss-legend'), side: $('lab-side'), sideLegend: $('lab-side-legend'),
    heat: $('lab-heat'), heatLegend: $('lab-heat-legend'), table: $('lab-table'), tableBody: $('lab-tbody'),
    status: $('lab-status'), banner: $('lab-banner'), summary: $('lab-summary'),
  }, { onState: onTrainState });

  function fillLabOptions() {
    const fill = (sel, values, prefix) => {
      sel.replaceChildren(...values.map((v) => {
        const o = document.createElement('option');
        o.value = v;
        o.dataset.i18n = `${prefix}${v}`;
        o.textContent = t(o.dataset.i18n);
        return o;
      }));
    };
    fill($('task'), LAB.task.values, 'lab.task.');
    fill($('optimizer'), LAB.optimizer.values, 'lab.opt.');
  }

  // The adding task is a regression: its "accuracy" is the share of
  // predictions within ±0.04 of the sum, and says so.
  function accuracyLabels() {
    const adding = view.lab.task === 'adding' ? '.adding' : '';
    for (const [el, key] of [[$('lab-chart').querySelector('option[value="accuracy"]'), 'lab.chart.accuracy'], [$('lab-acc-col'), 'lab.col.acc']]) {
      el.dataset.i18n = key + adding;
      el.textContent = t(el.dataset.i18n);
    }
  }

  function setLabControls() {
    for (const [name, spec] of Object.entries(LAB)) {
      if (spec.kind !== 'enum') showValue($(name), view.lab[name]);
      else if (document.activeElement !== $(name)) $(name).value = String(view.lab[name]);
    }
    for (const c of CELLS) $(`cell-${c}`).checked = view.lab.cells.includes(c);
    $('lab-chart').value = view.chart;
    $('lab-task-note').textContent = t(`lab.tasknote.${view.lab.task}`);
    accuracyLabels();
  }

  function trainMessage(cells, over = {}) {
    const s = { ...settings, ...over };
    const msg = { type: 'train' };
    for (const name of Object.keys(SETTINGS)) {
      if (name === 'D' || name === 'loss') continue; // the task decides
      msg[name] = s[name];
    }
    msg.cell = cells[0];
    msg.cells = cells;
    for (const name of Object.keys(LAB)) msg[name] = view.lab[name];
    msg.every = everyFor(view.lab.iterations);
    return msg;
  }

  function startTraining(cells = view.lab.cells, over = {}) {
    $('err-lab').hidden = true;
    if (!cells.length) {
      $('err-lab').textContent = t('lab.needCell');
      $('err-lab').hidden = false;
      return;
    }
    // Before the socket is open (a link to a training step, a reload)
    // the training waits for it instead of failing.
    if (!page.conn.open) {
      queued = { cells, over };
      body.dataset.train = 'queued';
      return;
    }
    queued = null;
    const msg = trainMessage(cells, over);
    const id = newId();
    const single = cells.length === 1;
    const label = lastTrain ? describeDiff(lastTrain, msg) : '';
    chart.begin(id, { ...msg, single });
    if (chart.previous) chart.previous.label = label ? `(${label})` : '';
    lastTrain = msg;
    refreshExports();
    if (!page.conn.send({ ...msg, id })) {
      chart.handle({ type: 'error', id, message: t('conn.lost', { s: 1 }) });
    }
  }

  // exportRun downloads /api/train.json for the lab's settings: the
  // server trains the same run again and writes everything a replay
  // needs.
  async function exportRun() {
    $('err-lab').hidden = true;
    if (!view.lab.cells.length) {
      $('err-lab').textContent = t('lab.needCell');
      $('err-lab').hidden = false;
      return;
    }
    const msg = trainMessage(view.lab.cells);
    const q = new URLSearchParams();
    for (const [name, v] of Object.entries(msg)) {
      if (name === 'type' || name === 'every' || name === 'cell') continue;
      q.set(name, Array.isArray(v) ? v.join(',') : String(v));
    }
    q.set('cell', msg.cell);
    const status = $('lab-export-status');
    status.textContent = t('lab.export.busy');
    $('train-export').disabled = true;
    await page.download(`/api/train.json?${q}`, `gradviz-training-${view.lab.task}.json`, { status, banner: $('err-lab') });
    $('train-export').disabled = false;
  }

  function stopTraining() {
    page.sequence = null;
    queued = null;
    chart.stopping();
    // Only the training: the profile, an animation and the analysis views
    // carry on.
    page.conn.send({ type: 'stop', id: newId(), what: 'training' });
  }

  function onTrainMessage(msg) {
    if (msg.type === 'error') {
      page.sequence = null;
      const text = page.errorText(msg);
      // A field's error says which field; another is the server's.
      $('err-lab').textContent = msg.field ? text : t('error.general', { msg: text });
      $('err-lab').hidden = false;
      if (msg.field) controls.showError(msg.field, text, true);
    }
    if (msg.type === 'trainStart') {
      $('err-lab').hidden = true;
      controls.clearServerErrors();
    }
    chart.handle(msg);
    if (msg.type === 'progress') body.dataset.progress = String(chart.progressCount);
  }

  function onTrainState(state) {
    body.dataset.train = state;
    if (['finished', 'stopped', 'diverged', 'error'].includes(state)) {
      body.dataset.trainEnds = `${body.dataset.trainEnds ? `${body.dataset.trainEnds},` : ''}${state}`;
    }
    const running = ['starting', 'running', 'stopping'].includes(state);
    $('train-stop').disabled = !running || state === 'stopping';
    // A preset's chain goes on once a step has ended by itself.
    if (state === 'finished' || state === 'diverged') page.trainingEnded();
  }

  function changeLab(name, value) {
    view.lab[name] = value;
    if (name === 'cells') controls.updateEnabled(settings);
    page.markPresetChanged();
    $('lab-task-note').textContent = t(`lab.tasknote.${view.lab.task}`);
    accuracyLabels();
    page.updateURL();
  }

  const show = () => chart.show(view.tab === 'lab', view.large, view.chart);

  fillLabOptions();
  for (const [name, spec] of Object.entries(LAB)) {
    const el = $(name);
    if (spec.kind === 'enum') {
      el.addEventListener('change', () => changeLab(name, parseLab(name, el.value)));
      continue;
    }
    setBounds(el, spec.min, spec.max);
    bindNumberBox(el, {
      check: (text) => checkNumber(t(`lab.${name}`), { lo: spec.min, hi: spec.max, int: spec.kind === 'int' }, text),
      commit: (v) => changeLab(name, v),
      showError: (text) => {
        $('err-lab').textContent = text;
        $('err-lab').hidden = !text;
        if (text) el.setAttribute('aria-invalid', 'true');
        else el.removeAttribute('aria-invalid');
      },
      step: spec.kind === 'int' ? 1 : 0,
    });
  }
  // One checkbox per model, in the registry's order.
  for (const c of CELLS) {
    const box = document.createElement('span');
    box.className = 'check';
    const input = Object.assign(document.createElement('input'), { type: 'checkbox', id: `cell-${c}`, value: c });
    const label = Object.assign(document.createElement('label'), { htmlFor: `cell-${c}`, textContent: t(`opt.cell.${c}`) });
    label.dataset.i18n = `opt.cell.${c}`;
    box.append(input, label);
    $('cells').append(box);
  }
  for (const c of CELLS) {
    $(`cell-${c}`).addEventListener('change', () => {
      changeLab('cells', CELLS.filter((x) => $(`cell-${x}`).checked));
    });
  }
  $('lab-chart').addEventListener('change', (e) => {
    view.chart = e.target.value;
    page.updateURL();
    show();
  });
  $('train-start').addEventListener('click', () => {
    page.sequence = null;
    startTraining(view.lab.cells);
  });
  $('train-compare').addEventListener('click', () => {
    page.sequence = null;
    view.lab.cells = [...CELLS];
    setLabControls();
    controls.updateEnabled(settings);
    page.updateURL();
    startTraining(view.lab.cells);
  });
  $('train-stop').addEventListener('click', stopTraining);
  $('train-export').addEventListener('click', exportRun);

  // The exports train the same runs again on the server (training is
  // deterministic): the last train message sent, or the one the
  // controls would send, as a query string.
  function labExportURL(format) {
    const msg = lastTrain || trainMessage(view.lab.cells);
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(msg)) {
      if (k === 'type' || v === undefined) continue;
      if (k === 'act' && !appliesTo('act', msg.cell)) continue;
      if (k === 'forgetBias' && !appliesTo('forgetBias', msg.cell)) continue;
      p.set(k, Array.isArray(v) ? v.join(',') : String(v));
    }
    // The chart beside the loss, as the server draws it: the heatmaps
    // with their memory horizon for the horizon chart, the loss for the
    // gradient norm's.
    p.set('chart', { accuracy: 'accuracy', profile: 'profile', horizon: 'heat' }[view.chart] || 'loss');
    p.set('lang', view.lang);
    if (format === 'gif') {
      p.set('w', '960');
      p.set('h', '540');
    } else if (format !== 'csv') {
      p.set('w', '1600');
      p.set('h', '900');
    }
    return `/api/lab.${format}?${p}`;
  }
  const labButtons = exportButtons('lab', false, [...FORMATS, 'gif']);
  for (const b of labButtons) if (b.dataset.format === 'gif') b.dataset.i18nTitle = 'export.lab.gif.title';
  const labGroup = document.createElement('span');
  labGroup.className = 'group';
  labGroup.append(...labButtons);
  $('panel-lab').querySelector('.lab-tools').append(labGroup);
  const refreshExports = bindExports(page, labButtons, labExportURL, (f) => {
    const msg = lastTrain || trainMessage(view.lab.cells);
    return `gradviz-lab-${msg.task}-${msg.cells.join('-')}-T${msg.T}.${f}`;
  }, { status: $('lab-status'), banner: $('err-lab') });

  return {
    name: 'lab',
    panel: $('panel-lab'),
    messages: ['trainStart', 'progress', 'trainDone'],
    owns: (id) => chart.owns(id),
    receive(msg) {
      if (chart.owns(msg.id)) onTrainMessage(msg);
    },
    redraw() {},
    show,
    relabel() {
      $('lab-task-note').textContent = t(`lab.tasknote.${view.lab.task}`);
      accuracyLabels();
      show();
      chart.relabel();
    },
    // A lab training one cell follows the Cell control.
    settingChanged(name, value) {
      if (name === 'cell' && view.lab.cells.length === 1) {
        view.lab.cells = [value];
        setLabControls();
        controls.updateEnabled(settings);
      }
    },
    disconnected: () => chart.lost(),
    connected() {
      if (queued) startTraining(queued.cells, queued.over);
    },
    export: labExportURL,
    urlWritten: refreshExports,
    syncControls: setLabControls,
    // train starts a training; fresh forgets the last one, whose
    // difference would otherwise label the faded curve.
    train(cells, { over = {}, fresh = false } = {}) {
      if (fresh) lastTrain = null;
      startTraining(cells, over);
    },
  };
}
