// Embedded mode, ?embed=1: the current tab's plot and the model's key
// controls (cell, activation, sequence length, gain), compact, and
// nothing else, to fill an iframe in a course page or a slide. The
// server must list the embedding page's origin (-frame-ancestors) for a
// browser to show gradviz in a frame at all.

// KEY_CONTROLS are the controls an embedded page keeps, by id.
const KEY_CONTROLS = ['cell', 'act', 'T', 'gain'];

// initEmbed applies embedded mode when the URL asks for it.
export function initEmbed(page) {
  if (!page.view.embed) return;
  document.documentElement.classList.add('embed');
  for (const id of KEY_CONTROLS) {
    const field = document.getElementById(id)?.closest('.field');
    if (field) field.classList.add('embed-keep');
  }
}
