// Number and time formatting, fixed to one locale so that every viewer (and
// the browser tests) see the same digits.

const intFmt = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const compactFmt = new Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 });
const fracFmts = [0, 1, 2, 3, 4].map((d) => new Intl.NumberFormat('en-US', { maximumFractionDigits: d }));
const timeFmt = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
const minuteFmt = new Intl.DateTimeFormat('en-GB', { hour: '2-digit', minute: '2-digit', hour12: false });
const dateTimeFmt = new Intl.DateTimeFormat('en-GB', { month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });

// num formats a value exactly enough to read: integers in full, fractions with
// fewer decimals the larger they are.
export function num(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return v === null || v === undefined ? '–' : String(v);
  if (Number.isInteger(v)) return intFmt.format(v);
  const a = Math.abs(v);
  return fracFmts[a >= 100 ? 1 : a >= 1 ? 2 : 4].format(v);
}

// compact formats an axis tick: 1.2K, 3M.
export function compact(v) {
  return Math.abs(v) < 1000 ? num(v) : compactFmt.format(v);
}

export function withUnit(text, unit) {
  return unit ? `${text} ${unit}` : text;
}

// time formats epoch ms as HH:MM:SS (or HH:MM when seconds do not matter).
export function time(ms, seconds = true) {
  return (seconds ? timeFmt : minuteFmt).format(new Date(ms));
}

export function dateTime(ms) {
  return dateTimeFmt.format(new Date(ms));
}

export function iso(ms) {
  return new Date(ms).toISOString();
}

// duration formats ms as "10 s", "5 min", "2 h".
export function duration(ms) {
  const sec = Math.round(ms / 1000);
  if (sec < 60) return `${sec} s`;
  if (sec < 3600 && sec % 60 === 0) return `${sec / 60} min`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min ${sec % 60} s`;
  if (sec % 3600 === 0) return `${sec / 3600} h`;
  return `${Math.floor(sec / 3600)} h ${Math.round((sec % 3600) / 60)} min`;
}

// ago formats how long ago a moment was, coarsely.
export function ago(ms, now = Date.now()) {
  const d = Math.max(0, now - ms);
  if (d < 2000) return 'just now';
  return `${duration(d)} ago`;
}

// parseDuration reads "500ms", "10s", "2m", "1h"; it returns ms or null.
export function parseDuration(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(String(text ?? ''));
  if (!m) return null;
  const n = Number(m[1]);
  return n * { ms: 1, s: 1000, m: 60000, h: 3600000 }[m[2] || 's'];
}
