// The guided tour. Each preset starts from the defaults, sets what it
// names, picks a tab and says (in i18n.js, preset.<id>.name/.text) what
// to notice. A preset with `train` starts the training lab; with a
// `sequence` it trains once per step, each with the step's settings, so
// the earlier run stays on the loss chart, faded, for comparison.

export const PRESETS = [
  {
    id: 'sigmoid',
    tab: 'profile',
    settings: { act: 'sigmoid' },
    pins: [{}],
  },
  {
    id: 'tanh-small',
    tab: 'profile',
    settings: { act: 'tanh', gain: 0.5 },
    pins: [{ gain: 1 }],
  },
  {
    id: 'explode',
    tab: 'profile',
    settings: { act: 'linear', gain: 6, T: 2000, H: 8 },
    view: { states: true },
  },
  {
    id: 'clip-profile',
    tab: 'profile',
    settings: { act: 'relu', gain: 2, T: 200, clip: 'step-norm', threshold: 1 },
  },
  {
    id: 'clip-train',
    tab: 'lab',
    settings: { act: 'relu', gain: 1.5, T: 50, clip: 'global-norm', threshold: 1 },
    lab: { task: 'adding', optimizer: 'sgd', lr: 0.05, batch: 32, iterations: 1000, cells: ['rnn'] },
    view: { chart: 'grad' },
    // First without clipping (it diverges at once), then with it.
    sequence: [{ clip: 'none' }, {}],
    train: true,
  },
  {
    id: 'irnn',
    tab: 'profile',
    settings: { act: 'relu', init: 'identity', gain: 1 },
    pins: [{}],
  },
  {
    id: 'lstm-bias',
    tab: 'profile',
    settings: { cell: 'lstm', forgetBias: 1 },
    pins: [{ cell: 'lstm', forgetBias: 0 }],
  },
  {
    id: 'spectrum',
    tab: 'profile',
    settings: { act: 'linear', gain: 0.8 },
    view: { spectrum: true },
  },
  {
    id: 'bidir',
    tab: 'bidir',
    settings: { cell: 'lstm', T: 40 },
    view: { outputStep: 20 },
  },
  {
    id: 'map',
    tab: 'map',
    settings: { loss: 'sum' },
  },
  {
    id: 'recall',
    tab: 'lab',
    settings: { T: 40, K: 8, gain: 0.8, forgetBias: 1 },
    lab: { task: 'recall', optimizer: 'adam', lr: 0.01, batch: 32, iterations: 1000, cells: ['rnn', 'lstm'] },
    view: { chart: 'accuracy' },
    train: true,
  },
  {
    // The article's three sentences, trained in the language lab.
    id: 'lang-clouds',
    tab: 'lang',
    view: { langTask: 'clouds' },
    langlab: { task: 'clouds', distance: 10, iterations: 300, models: ['rnn', 'lstm'] },
  },
  {
    id: 'lang-kerala',
    tab: 'lang',
    view: { langTask: 'kerala' },
    langlab: { task: 'kerala', distance: 30, iterations: 800, models: ['rnn', 'lstm'] },
  },
  {
    id: 'lang-mouse',
    tab: 'lang',
    view: { langTask: 'mouse' },
    langlab: { task: 'mouse', distance: 5, iterations: 400, models: ['lstm', 'bi-lstm'] },
  },
  {
    // The article's last word: self-attention (BERT) reaches every word
    // in one step.
    id: 'attention',
    tab: 'profile',
    settings: { cell: 'attn', T: 200 },
    pins: [{ cell: 'rnn', T: 200 }],
  },
];

export const PRESET_IDS = PRESETS.map((p) => p.id);

export function presetById(id) {
  return PRESETS.find((p) => p.id === id) || null;
}
