// What each model has (the server's engine.ModelInfo), from the page's
// bootstrap data: whether Activation and Forget bias apply, whether it
// has the spectrum theory, a cell state, a reverse chain for bidir.

const boot = JSON.parse(document.getElementById('bootstrap').textContent);

export const MODELS = boot.models;

// model returns what cell has; an unknown cell has nothing.
export function model(cell) {
  return MODELS.find((m) => m.cell === cell) ?? {};
}
