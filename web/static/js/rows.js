// How widgets read output rows. A statement's rows carry its group columns
// and aggregates; windowed rows add window_start, window_end and _key, and
// CUBE rows hold null in the dimensions they roll up.

export const WINDOW_FIELDS = new Set(['window_start', 'window_end', '_key']);

export function numeric(v) {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

// rowKey identifies a row so that a replayed or updated row replaces the
// one it repeats: the server's _key, else the window and the non-numeric
// (group) columns.
export function rowKey(row) {
  if (typeof row._key === 'string' || typeof row._key === 'number') return String(row._key);
  const dims = [];
  for (const [k, v] of Object.entries(row)) {
    if (!WINDOW_FIELDS.has(k) && typeof v !== 'number') dims.push([k, v]);
  }
  return `${row.window_start ?? ''}|${JSON.stringify(dims)}`;
}

// pick reduces a window's rows to one number per value of the dimension
// column dim (or one number under '' when dim is empty). Rows where dim
// itself is null are totals over it and are left out. Of the rows that
// share a dimension value, the ones with the most null columns win: with
// CUBE(country, device) shown by device, those are the subtotals over
// country. When several rows still tie (a plain GROUP BY with more columns
// than the widget shows), their values are added up.
export function pick(rows, dim, value) {
  const best = new Map();
  for (const row of rows) {
    const d = dim ? row[dim] : '';
    if (d === null || d === undefined) continue;
    const v = numeric(row[value]);
    if (v === null) continue;
    let nulls = 0;
    for (const [k, x] of Object.entries(row)) {
      if (x === null && k !== dim && k !== value && !WINDOW_FIELDS.has(k)) nulls += 1;
    }
    const name = String(d);
    const cur = best.get(name);
    if (!cur || nulls > cur.nulls) best.set(name, { nulls, sum: v });
    else if (nulls === cur.nulls) cur.sum += v;
  }
  return new Map([...best].map(([k, x]) => [k, x.sum]));
}

// firstColumn finds the first column (in the statement's column order, then
// the rows' own) whose values satisfy test.
export function firstColumn(columns, rows, test, skip = []) {
  const names = [...(columns || [])];
  for (const r of rows) for (const k of Object.keys(r)) if (!names.includes(k)) names.push(k);
  for (const c of names) {
    if (WINDOW_FIELDS.has(c) || skip.includes(c)) continue;
    if (rows.some((r) => test(r[c]))) return c;
  }
  return '';
}

export const isNumber = (v) => typeof v === 'number';
export const isLabel = (v) => typeof v === 'string';
