// The statement's latest rows as they came, newest window first.

import { h, fill } from '../dom.js';
import * as fmt from '../format.js';

function cell(col, v) {
  if (v === null || v === undefined) return h('td', { class: 'null', text: v === null ? 'null' : '' });
  if ((col === 'window_start' || col === 'window_end') && typeof v === 'number') {
    return h('td', null, h('time', { datetime: fmt.iso(v), text: fmt.time(v) }));
  }
  if (typeof v === 'number') return h('td', { class: 'num', text: fmt.num(v) });
  if (typeof v === 'object') return h('td', { class: 'mono', text: JSON.stringify(v) });
  return h('td', { text: String(v) });
}

export function render(body, ctx) {
  const { spec, feed } = ctx;
  const rows = feed.recent(spec.limit);
  if (!rows.length) return false;
  let cols = spec.columns;
  if (!cols.length) {
    // The window's start names it well enough; the key is for sinks.
    cols = [];
    const wanted = (c) => !cols.includes(c) && c !== '_key' && c !== 'window_end';
    for (const c of ['window_start', ...ctx.columns]) if (wanted(c) && rows.some((r) => c in r)) cols.push(c);
    for (const r of rows) for (const c of Object.keys(r)) if (wanted(c)) cols.push(c);
  }
  fill(body, h('div', { class: 'scroll' }, h('table', { class: 'data' },
    h('thead', null, h('tr', null, cols.map((c) => h('th', {
      scope: 'col', class: rows.some((r) => typeof r[c] === 'number') && !c.startsWith('window_') ? 'num' : false, text: c,
    })))),
    h('tbody', null, rows.map((r) => h('tr', null, cols.map((c) => cell(c, r[c]))))))));
  return true;
}
