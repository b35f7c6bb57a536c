// The view tabs: a WAI-ARIA tablist with a roving tabindex; arrow keys,
// Home and End move between tabs and select them.

export class Tabs {
  constructor(list, onSelect) {
    this.list = list;
    this.onSelect = onSelect;
    this.tabs = [...list.querySelectorAll('[role="tab"]')];
    for (const tab of this.tabs) {
      tab.addEventListener('click', () => this.onSelect(tab.dataset.tab));
    }
    list.addEventListener('keydown', (e) => {
      const i = this.tabs.indexOf(document.activeElement);
      if (i < 0) return;
      let j = -1;
      if (e.key === 'ArrowRight') j = (i + 1) % this.tabs.length;
      else if (e.key === 'ArrowLeft') j = (i - 1 + this.tabs.length) % this.tabs.length;
      else if (e.key === 'Home') j = 0;
      else if (e.key === 'End') j = this.tabs.length - 1;
      if (j < 0) return;
      e.preventDefault();
      this.tabs[j].focus();
      this.onSelect(this.tabs[j].dataset.tab);
    });
  }

  // show marks name selected and shows its panel only.
  show(name) {
    for (const tab of this.tabs) {
      const on = tab.dataset.tab === name;
      tab.setAttribute('aria-selected', String(on));
      tab.tabIndex = on ? 0 : -1;
      document.getElementById(tab.getAttribute('aria-controls')).hidden = !on;
    }
  }
}

// tabButton is the tab that shows the view called name; its label is
// the string tab.<name>.
export function tabButton(name, selected) {
  const b = document.createElement('button');
  b.type = 'button';
  b.id = `tab-${name}`;
  b.dataset.tab = name;
  b.dataset.i18n = `tab.${name}`;
  b.setAttribute('role', 'tab');
  b.setAttribute('aria-controls', `panel-${name}`);
  b.setAttribute('aria-selected', String(selected));
  if (!selected) b.tabIndex = -1;
  return b;
}

// makePanel builds an empty tabpanel for a view whose panel is not in
// index.html; the page adds it after the others.
export function makePanel(name) {
  const panel = document.createElement('section');
  panel.className = 'plot-area panel';
  panel.id = `panel-${name}`;
  panel.setAttribute('role', 'tabpanel');
  panel.setAttribute('aria-labelledby', `tab-${name}`);
  panel.hidden = true;
  return panel;
}
