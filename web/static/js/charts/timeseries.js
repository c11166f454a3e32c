// Line chart: x is each window's start, one line per value of the series
// column, y the value column.

import { h, s, fill } from '../dom.js';
import * as fmt from '../format.js';
import { pick } from '../rows.js';
import { niceTicks, timeTicks, scale } from './axis.js';

const HEIGHT = 230;
const DASHES = ['', '7 3', '2 3', '9 3 2 3'];
const M = { top: 10, right: 16, bottom: 40 };

// collect returns the shown windows and, per series, its value per window.
function collect(feed, spec) {
  const starts = feed.windowStarts().slice(-spec.windows);
  const series = new Map();
  starts.forEach((ws, i) => {
    for (const [name, v] of pick(feed.rowsIn(ws), spec.series, spec.value)) {
      if (!series.has(name)) series.set(name, new Array(starts.length).fill(null));
      series.get(name)[i] = v;
    }
  });
  // Largest series first; the rest are counted, not drawn.
  const ranked = [...series].sort((a, b) => total(b[1]) - total(a[1]) || a[0].localeCompare(b[0]));
  return { starts, shown: ranked.slice(0, spec.limit), hidden: ranked.length - Math.min(ranked.length, spec.limit) };
}

const total = (vals) => vals.reduce((a, v) => a + (v ?? 0), 0);
const lastOf = (vals) => [...vals].reverse().find((v) => v !== null) ?? null;

export function render(body, ctx) {
  const { spec, feed, color } = ctx;
  const { starts, shown, hidden } = collect(feed, spec);
  if (!shown.length) return false;

  const width = Math.max(body.clientWidth - 24, 280);
  const values = shown.flatMap(([, v]) => v.filter((x) => x !== null));
  const y = niceTicks(Math.min(0, ...values), Math.max(...values));
  const labels = y.ticks.map((t) => fmt.compact(t));
  const left = 22 + 7 * Math.max(...labels.map((l) => l.length));
  const plotW = width - left - M.right;
  const plotH = HEIGHT - M.top - M.bottom;
  const w = feed.width || 0;
  const x0 = starts[0];
  const x1 = starts.length > 1 ? starts.at(-1) : starts[0] + (w || 1000);
  const sx = scale(x0, x1, left, left + plotW);
  const sy = scale(y.min, y.max, M.top + plotH, M.top);

  const unit = spec.unit ? ` (${spec.unit})` : '';
  const per = w ? ` per ${fmt.duration(w)}` : '';
  const name = spec.series ? ` by ${spec.series}` : '';
  const svg = s('svg', {
    class: 'chart', width, height: HEIGHT, viewBox: `0 0 ${width} ${HEIGHT}`, role: 'img',
    'aria-label': `Line chart of ${spec.value}${per}${name}, ${starts.length} window${starts.length === 1 ? '' : 's'}. The data table below lists the values.`,
  });

  for (const [i, t] of y.ticks.entries()) {
    svg.append(
      s('line', { class: 'gridline', x1: left, x2: left + plotW, y1: sy(t), y2: sy(t) }),
      s('text', { x: left - 6, y: sy(t) + 4, 'text-anchor': 'end', text: labels[i] }),
    );
  }
  const tt = timeTicks(x0, x1, Math.max(2, Math.floor(plotW / 90)));
  for (const t of tt.ticks) {
    svg.append(
      s('line', { class: 'axis', x1: sx(t), x2: sx(t), y1: M.top + plotH, y2: M.top + plotH + 4 }),
      s('text', { x: sx(t), y: M.top + plotH + 16, 'text-anchor': 'middle', text: fmt.time(t, tt.seconds) }),
    );
  }
  svg.append(
    s('line', { class: 'axis', x1: left, x2: left + plotW, y1: M.top + plotH, y2: M.top + plotH }),
    s('text', { class: 'axis-title', x: left + plotW, y: HEIGHT - 4, 'text-anchor': 'end', text: `window start${w ? ` (${fmt.duration(w)} windows)` : ''}` }),
    s('text', { class: 'axis-title', x: 0, y: 0, transform: `translate(11 ${M.top + plotH / 2}) rotate(-90)`, 'text-anchor': 'middle', text: `${spec.value}${unit}${per}` }),
  );

  // A line breaks where windows are missing, so a quiet stretch is not
  // drawn as a slope; dashes tell overlapping lines apart.
  for (const [k, [sname, vals]] of shown.entries()) {
    let d = '';
    let pen = 'M';
    vals.forEach((v, i) => {
      if (v === null || (w && i > 0 && starts[i] - starts[i - 1] > w)) pen = 'M';
      if (v === null) return;
      d += `${pen}${sx(starts[i]).toFixed(1)},${sy(v).toFixed(1)}`;
      pen = 'L';
    });
    svg.append(s('path', { class: 'series', d, stroke: color(sname), 'stroke-dasharray': DASHES[k % DASHES.length] || false }));
    if (starts.length <= 60) {
      vals.forEach((v, i) => {
        if (v !== null) svg.append(s('circle', { cx: sx(starts[i]), cy: sy(v), r: 3, fill: color(sname) }));
      });
    }
  }

  const guide = s('line', { class: 'guide', y1: M.top, y2: M.top + plotH, visibility: 'hidden' });
  const hit = s('rect', { x: left, y: M.top, width: plotW, height: plotH, fill: 'transparent' });
  svg.append(guide, hit);
  const tip = h('div', { class: 'tooltip', hidden: true });
  hit.addEventListener('mousemove', (e) => {
    const px = e.offsetX;
    let i = 0;
    starts.forEach((ws, j) => { if (Math.abs(sx(ws) - px) < Math.abs(sx(starts[i]) - px)) i = j; });
    guide.setAttribute('x1', sx(starts[i]));
    guide.setAttribute('x2', sx(starts[i]));
    guide.setAttribute('visibility', 'visible');
    fill(tip, h('div', { text: `${fmt.time(starts[i])}${w ? `–${fmt.time(starts[i] + w)}` : ''}` }),
      h('table', null, shown.map(([sname, vals]) => h('tr', null,
        h('td', null, h('span', { class: 'swatch', style: { background: color(sname) } })),
        h('td', { text: sname || spec.value }),
        h('td', { text: fmt.withUnit(fmt.num(vals[i]), spec.unit) })))));
    tip.hidden = false;
    const flip = sx(starts[i]) > width / 2;
    tip.style.left = flip ? '' : `${sx(starts[i]) + 24}px`;
    tip.style.right = flip ? `${width - sx(starts[i]) + 12}px` : '';
    tip.style.top = `${M.top + 4}px`;
  });
  hit.addEventListener('mouseleave', () => {
    tip.hidden = true;
    guide.setAttribute('visibility', 'hidden');
  });

  const legend = h('ul', { class: 'legend', 'aria-label': 'Series, latest value' },
    shown.map(([sname, vals], k) => h('li', { dataset: { series: sname } },
      s('svg', { width: 22, height: 8, 'aria-hidden': 'true' },
        s('line', { x1: 1, x2: 21, y1: 4, y2: 4, stroke: color(sname), 'stroke-width': 2.5, 'stroke-dasharray': DASHES[k % DASHES.length] || false })),
      h('span', { text: sname || spec.value }),
      h('span', { class: 'v', text: fmt.withUnit(fmt.num(lastOf(vals)), spec.unit) }))),
    hidden ? h('li', { class: 'muted', text: `+${hidden} more series not drawn` }) : null);

  const table = h('table', { class: 'data' },
    h('caption', { class: 'sr-only', text: `${spec.value} per window${name}` }),
    h('thead', null, h('tr', null, h('th', { scope: 'col', text: 'window start' }),
      shown.map(([sname]) => h('th', { scope: 'col', class: 'num', text: sname || spec.value })))),
    h('tbody', null, starts.map((ws, i) => h('tr', null,
      h('th', { scope: 'row' }, h('time', { datetime: fmt.iso(ws), text: fmt.time(ws) })),
      shown.map(([sname, vals]) => h('td', { class: 'num', dataset: { series: sname, window: ws }, text: fmt.num(vals[i]) }))))));

  fill(body, svg, tip, legend, h('details', { class: 'data-view' }, h('summary', { text: 'Data' }), h('div', { class: 'scroll' }, table)));
  return true;
}
