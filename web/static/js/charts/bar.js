// Horizontal bar chart of the latest window: one bar per value of the label
// column, largest first.

import { h, s, fill } from '../dom.js';
import * as fmt from '../format.js';
import { pick } from '../rows.js';
import { scale } from './axis.js';

const ROW = 26;

export function render(body, ctx) {
  const { spec, feed } = ctx;
  const { ws, rows } = feed.latest();
  const entries = [...pick(rows, spec.label, spec.value)];
  if (!entries.length) return false;
  if (spec.sort === 'label') entries.sort((a, b) => a[0].localeCompare(b[0]));
  else entries.sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const shown = entries.slice(0, spec.limit);

  const width = Math.max(body.clientWidth - 24, 280);
  const labelW = Math.min(width * 0.35, 12 + 7 * Math.max(...shown.map(([l]) => l.length)));
  const texts = shown.map(([, v]) => fmt.withUnit(fmt.num(v), spec.unit));
  const valueW = 12 + 7 * Math.max(...texts.map((t) => t.length));
  const max = Math.max(0, ...shown.map(([, v]) => v));
  const sx = scale(0, max || 1, labelW, width - valueW);
  const height = shown.length * ROW + 4;

  const svg = s('svg', {
    class: 'chart', width, height, viewBox: `0 0 ${width} ${height}`, role: 'img',
    'aria-label': `Bar chart of ${spec.value} by ${spec.label}${ws !== null ? ` for the window starting ${fmt.time(ws)}` : ''}. The data table below lists the values.`,
  });
  shown.forEach(([label, v], i) => {
    const y = i * ROW + 2;
    const barEnd = Math.max(sx(Math.max(v, 0)), labelW + 1);
    svg.append(
      s('text', { class: 'bar-label', x: labelW - 8, y: y + ROW / 2 + 4, 'text-anchor': 'end', text: label }),
      s('rect', { x: labelW, y: y + 4, width: barEnd - labelW, height: ROW - 8, rx: 2, fill: ctx.color(spec.value) }, s('title', { text: `${label}: ${texts[i]}` })),
      s('text', { class: 'bar-value', x: barEnd + 6, y: y + ROW / 2 + 4, text: texts[i] }),
    );
  });
  svg.append(s('line', { class: 'axis', x1: labelW, x2: labelW, y1: 0, y2: height }));

  const table = h('table', { class: 'data' },
    h('thead', null, h('tr', null, h('th', { scope: 'col', text: spec.label }), h('th', { scope: 'col', class: 'num', text: spec.value }))),
    h('tbody', null, shown.map(([label, v]) => h('tr', null, h('th', { scope: 'row', text: label }), h('td', { class: 'num', dataset: { label }, text: fmt.num(v) })))));

  fill(body,
    ws !== null ? h('p', { class: 'muted', style: { margin: '0 0 6px', fontSize: '12px' } }, windowText(ws, feed.width)) : null,
    svg,
    entries.length > shown.length ? h('p', { class: 'muted', text: `${entries.length - shown.length} more not shown` }) : null,
    h('details', { class: 'data-view' }, h('summary', { text: 'Data' }), table));
  return true;
}

// windowText names a window: "window 12:00:10–12:00:20".
export function windowText(ws, width) {
  return [
    'window ',
    h('time', { datetime: fmt.iso(ws), text: fmt.time(ws) }),
    width ? `–${fmt.time(ws + width)}` : '',
  ];
}
