// Small element builders: the pages are built from plain DOM nodes, so no
// markup is ever assembled from strings and nothing needs escaping.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') el.textContent = v;
    else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

// h('div', {class: 'x', on: {click: fn}}, child, …) builds an HTML element.
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

// s('line', {x1: 0, …}) builds an SVG element.
export function s(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

// fill empties an element and appends the given children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// uid returns a document-unique id with the given prefix.
let next = 0;
export function uid(prefix) {
  next += 1;
  return `${prefix}-${next}`;
}
