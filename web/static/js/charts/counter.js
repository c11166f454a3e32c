// One big number: the value of the latest window (or the running value),
// with the change from the window before.

import { h, fill } from '../dom.js';
import * as fmt from '../format.js';
import { pick } from '../rows.js';
import { windowText } from './bar.js';

export function render(body, ctx) {
  const { spec, feed } = ctx;
  const { ws, rows } = feed.latest();
  const v = pick(rows, '', spec.value).get('');
  if (v === undefined) return false;

  let delta = null;
  const starts = feed.windowStarts();
  if (ws !== null && starts.length > 1) {
    const prev = pick(feed.rowsIn(starts.at(-2)), '', spec.value).get('');
    if (prev !== undefined) delta = v - prev;
  }

  fill(body, h('div', { class: 'counter' },
    h('div', null,
      h('span', { class: 'value', dataset: { value: v }, text: fmt.num(v) }),
      spec.unit ? h('span', { class: 'unit', text: spec.unit }) : null),
    h('div', { class: 'muted' }, spec.value, ws !== null ? [' · ', windowText(ws, feed.width)] : ' (running)'),
    delta === null ? null : h('div', {
      class: `delta ${delta > 0 ? 'up' : delta < 0 ? 'down' : ''}`,
      text: `${delta > 0 ? '▲ +' : delta < 0 ? '▼ ' : '± '}${fmt.num(delta)} vs the window before`,
    })));
  return true;
}
