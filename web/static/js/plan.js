// A statement's plan as a small top-down graph: operators in layers, each
// layer fed by the layers above it.

import { h } from './dom.js';

export function planView(plan) {
  if (!Array.isArray(plan) || !plan.length) return h('p', { class: 'muted', text: 'No plan.' });
  const byId = new Map(plan.map((n) => [n.id, n]));
  const wired = plan.some((n) => (n.inputs || []).length);
  const depth = new Map();
  const depthOf = (n, seen) => {
    if (depth.has(n.id)) return depth.get(n.id);
    if (seen.has(n.id)) return 0;
    seen.add(n.id);
    let d = 0;
    for (const i of n.inputs || []) if (byId.has(i)) d = Math.max(d, depthOf(byId.get(i), seen) + 1);
    depth.set(n.id, d);
    return d;
  };
  // Without wiring, the list order is the chain.
  plan.forEach((n, i) => (wired ? depthOf(n, new Set()) : depth.set(n.id, i)));
  const layers = [];
  for (const n of plan) (layers[depth.get(n.id)] ||= []).push(n);
  const shown = layers.filter(Boolean);

  const items = [];
  shown.forEach((layer, i) => {
    if (i > 0) items.push(h('li', { class: 'arrow', 'aria-hidden': 'true', text: '↓' }));
    const prev = shown[i - 1] || [];
    items.push(h('li', { class: 'layer' }, layer.map((n) => {
      const inputs = (n.inputs || []).filter((x) => byId.has(x));
      const obvious = inputs.length === 1 && prev.length === 1 && prev[0].id === inputs[0];
      return h('div', { class: 'node', dataset: { op: n.op } },
        h('div', null, h('span', { class: 'id', text: `#${n.id}` }), h('span', { class: 'op', text: n.op })),
        n.detail ? h('div', { class: 'detail', text: n.detail }) : null,
        inputs.length && !obvious ? h('div', { class: 'inputs', text: `from ${inputs.map((x) => `#${x}`).join(', ')}` }) : null);
    })));
  });
  return h('ol', { class: 'plan', 'aria-label': 'Operators, first to last' }, items);
}
