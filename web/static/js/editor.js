// SQL editor: a textarea with line numbers, compile errors marked at their
// line and column with the message beside the line, and completion of
// function names with Tab.

import { h, fill, uid } from './dom.js';

const PAD = 6; // textarea padding, px
const WORD = /[A-Za-z_][A-Za-z0-9_]*$/;

export class Editor {
  constructor({ id, describedBy, onSubmit }) {
    this.errors = [];
    this.words = [];
    this.onSubmit = onSubmit;
    this.gutterInner = h('div');
    this.gutter = h('div', { class: 'gutter', 'aria-hidden': 'true' }, this.gutterInner);
    this.marks = h('div', { class: 'marks', 'aria-hidden': 'true' });
    this.listId = uid('completions');
    this.list = h('ul', { class: 'completions', id: this.listId, role: 'listbox', 'aria-label': 'Functions', hidden: true });
    this.ta = h('textarea', {
      id, spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off', wrap: 'off',
      'aria-describedby': describedBy, 'aria-autocomplete': 'list', 'aria-controls': this.listId,
    });
    this.notesInner = h('div');
    this.notes = h('div', { class: 'notes', 'aria-hidden': 'true' }, this.notesInner);
    this.el = h('div', { class: 'editor' }, this.gutter, h('div', { class: 'code' }, this.marks, this.ta, this.list), this.notes);
    this.lines = 0;
    this.ta.addEventListener('input', () => this.changed(true));
    this.ta.addEventListener('scroll', () => this.sync());
    this.ta.addEventListener('keydown', (e) => this.key(e));
    this.ta.addEventListener('blur', () => this.hideList());
    this.changed(false);
  }

  get value() {
    return this.ta.value;
  }

  set value(v) {
    this.ta.value = v;
    this.setErrors([]);
    this.changed(false);
  }

  setWords(words) {
    this.words = [...new Set(words)].sort();
  }

  lineHeight() {
    return Number.parseFloat(getComputedStyle(this.ta).lineHeight) || 20;
  }

  changed(edited) {
    const n = this.ta.value.split('\n').length;
    if (n !== this.lines) {
      this.lines = n;
      fill(this.gutterInner, Array.from({ length: n }, (_, i) => h('div', { text: String(i + 1) })));
    }
    if (edited && this.errors.length) this.clearMarks();
    else this.drawMarks();
    if (edited) this.suggest();
    this.sync();
  }

  // setErrors marks compile errors: [{line, column, token, message}].
  setErrors(errors) {
    this.errors = errors.filter((e) => e.line > 0);
    this.ta.setAttribute('aria-invalid', String(errors.length > 0));
    this.drawMarks();
  }

  clearMarks() {
    this.errors = [];
    this.ta.removeAttribute('aria-invalid');
    this.drawMarks();
  }

  drawMarks() {
    const lh = this.lineHeight();
    const text = this.ta.value.split('\n');
    const byLine = new Map();
    for (const e of this.errors) {
      if (!byLine.has(e.line)) byLine.set(e.line, []);
      byLine.get(e.line).push(e);
    }
    [...this.gutterInner.children].forEach((d, i) => d.classList.toggle('err', byLine.has(i + 1)));
    fill(this.marks, [...byLine].map(([line, errs]) => {
      const src = text[line - 1] ?? '';
      const e = errs[0];
      const col = Math.max(1, e.column || 1) - 1;
      const len = Math.max(1, (e.token || '').length);
      return h('div', { class: 'line', style: { top: `${PAD + (line - 1) * lh}px` }, dataset: { line } },
        src.slice(0, col), h('span', { class: 'tok' }, src.slice(col, col + len) || ' '));
    }));
    fill(this.notesInner, [...byLine].map(([line, errs]) => {
      const msg = errs.map((e) => e.message).join('; ');
      return h('div', { class: 'note', style: { top: `${PAD + (line - 1) * lh}px` }, title: msg, dataset: { line } }, `✖ ${msg}`);
    }));
  }

  sync() {
    const { scrollTop: t, scrollLeft: l } = this.ta;
    this.gutterInner.style.transform = `translateY(${-t}px)`;
    this.notesInner.style.transform = `translateY(${-t}px)`;
    this.marks.style.transform = `translate(${-l}px, ${-t}px)`;
  }

  // focusAt puts the caret at a 1-based line and column and scrolls there.
  focusAt(line, column) {
    const lines = this.ta.value.split('\n');
    let pos = 0;
    for (let i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
    pos += Math.max(0, (column || 1) - 1);
    this.ta.focus();
    this.ta.setSelectionRange(pos, pos);
    const lh = this.lineHeight();
    const top = (line - 1) * lh;
    if (top < this.ta.scrollTop || top > this.ta.scrollTop + this.ta.clientHeight - 2 * lh) this.ta.scrollTop = top - lh * 2;
    this.sync();
  }

  key(e) {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      this.onSubmit?.();
      return;
    }
    if (this.list.hidden) return;
    const items = [...this.list.children];
    const at = items.findIndex((li) => li.getAttribute('aria-selected') === 'true');
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      this.select((at + (e.key === 'ArrowDown' ? 1 : -1) + items.length) % items.length);
    } else if (e.key === 'Tab') {
      e.preventDefault();
      this.accept(items[Math.max(at, 0)].textContent);
    } else if (e.key === 'Escape') {
      e.preventDefault();
      this.hideList();
    }
  }

  suggest() {
    const caret = this.ta.selectionStart;
    const m = WORD.exec(this.ta.value.slice(0, caret));
    if (!m || m[0].length < 2 || !this.words.length) return this.hideList();
    const w = m[0].toLowerCase();
    const found = this.words.filter((x) => x.toLowerCase().startsWith(w) && x.toLowerCase() !== w).slice(0, 8);
    if (!found.length) return this.hideList();
    fill(this.list, found.map((name, i) => h('li', {
      id: `${this.listId}-${i}`, role: 'option', 'aria-selected': String(i === 0), text: name,
      on: { mousedown: (ev) => { ev.preventDefault(); this.accept(name); } },
    })));
    const before = this.ta.value.slice(0, caret).split('\n');
    const lh = this.lineHeight();
    const cw = this.charWidth();
    this.list.style.top = `${PAD + before.length * lh - this.ta.scrollTop}px`;
    this.list.style.left = `${10 + (before.at(-1).length - m[0].length) * cw - this.ta.scrollLeft}px`;
    this.list.hidden = false;
    this.ta.setAttribute('aria-expanded', 'true');
    this.ta.setAttribute('aria-activedescendant', `${this.listId}-0`);
    return undefined;
  }

  select(i) {
    [...this.list.children].forEach((li, j) => li.setAttribute('aria-selected', String(i === j)));
    this.ta.setAttribute('aria-activedescendant', `${this.listId}-${i}`);
  }

  accept(name) {
    const caret = this.ta.selectionStart;
    const m = WORD.exec(this.ta.value.slice(0, caret));
    const start = m ? caret - m[0].length : caret;
    this.ta.setRangeText(`${name}(`, start, caret, 'end');
    this.hideList();
    this.changed(true);
  }

  hideList() {
    this.list.hidden = true;
    this.ta.setAttribute('aria-expanded', 'false');
    this.ta.removeAttribute('aria-activedescendant');
  }

  charWidth() {
    if (!this.cw) {
      const probe = h('span', { style: { font: getComputedStyle(this.ta).font, position: 'absolute', visibility: 'hidden', whiteSpace: 'pre' } }, 'x'.repeat(40));
      document.body.append(probe);
      this.cw = probe.getBoundingClientRect().width / 40 || 8;
      probe.remove();
    }
    return this.cw;
  }
}
