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
