// Axis ticks: round numbers for values, round clock times for windows.

// niceTicks spans [lo, hi] with about count ticks at 1, 2, 2.5 or 5 × 10^n.
export function niceTicks(lo, hi, count = 5) {
  if (lo === hi) {
    if (hi === 0) hi = 1;
    else if (hi > 0) lo = 0;
    else hi = 0;
  }
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw);
  const min = Math.floor(lo / step) * step;
  const max = Math.ceil(hi / step) * step;
  const ticks = [];
  for (let v = min; v <= max + step / 2; v += step) ticks.push(Number(v.toPrecision(12)));
  return { min, max, ticks };
}

const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400].map((s) => s * 1000);

// timeTicks returns clock-aligned times between lo and hi (epoch ms), at most
// about count of them, and whether their labels need seconds.
export function timeTicks(lo, hi, count = 6) {
  const span = Math.max(hi - lo, 1000);
  const step = TIME_STEPS.find((s) => span / s <= count) || TIME_STEPS.at(-1);
  const offset = new Date(lo).getTimezoneOffset() * 60000;
  const ticks = [];
  for (let t = Math.ceil((lo - offset) / step) * step + offset; t <= hi; t += step) ticks.push(t);
  return { ticks, seconds: step < 60000 };
}

// scale maps [d0, d1] onto [r0, r1].
export function scale(d0, d1, r0, r1) {
  const k = d1 === d0 ? 0 : (r1 - r0) / (d1 - d0);
  return (v) => r0 + (v - d0) * k;
}

// Colours chosen to stay apart for common colour-blindness and to keep
// 3:1 contrast against the white panel.
export const PALETTE = ['#0b6bcb', '#d55e00', '#00875a', '#b5428f', '#6b4fbb', '#a86a00', '#2f8fa8', '#5c6570'];

// colorer hands out palette colours by name, stable for the widget's life.
export function colorer() {
  const given = new Map();
  return (name) => {
    if (!given.has(name)) given.set(name, PALETTE[given.size % PALETTE.length]);
    return given.get(name);
  };
}
