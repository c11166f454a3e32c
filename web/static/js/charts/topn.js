// Ranked table of the latest window's rows, highest value first.

import { h, fill } from '../dom.js';
import * as fmt from '../format.js';
import { pick } from '../rows.js';
import { windowText } from './bar.js';

export function render(body, ctx) {
  const { spec, feed } = ctx;
  const { ws, rows } = feed.latest();
  const entries = [...pick(rows, spec.label, spec.value)]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .slice(0, spec.limit);
  if (!entries.length) return false;
  const max = Math.max(...entries.map(([, v]) => v), 0) || 1;

  fill(body,
    ws !== null ? h('p', { class: 'muted', style: { margin: '0 0 6px', fontSize: '12px' } }, windowText(ws, feed.width)) : null,
    h('table', { class: 'data topn' },
      h('thead', null, h('tr', null,
        h('th', { scope: 'col', class: 'num', text: '#' }),
        h('th', { scope: 'col', text: spec.label }),
        h('th', { scope: 'col', class: 'num', text: fmt.withUnit(spec.value, spec.unit && `(${spec.unit})`) }),
        h('th', { scope: 'col', class: 'barcell' }, h('span', { class: 'sr-only', text: 'share of the top value' })))),
      h('tbody', null, entries.map(([label, v], i) => h('tr', { dataset: { label } },
        h('td', { class: 'num', text: String(i + 1) }),
        h('td', { text: label }),
        h('td', { class: 'num', dataset: { label }, text: fmt.num(v) }),
        h('td', { class: 'barcell' }, h('div', { class: 'minibar', style: { width: `${Math.max(0, (v / max) * 100)}%` } })))))));
  return true;
}
