// A self-contained SVG line chart: side-by-side panels sharing an x axis, each with ticks, labels and a legend.
//
// Written for training curves (`sinter train --plot`, `sinter plot`), but it knows nothing
// about training: panels of labelled series of (x, y) points. The output needs no fonts,
// scripts or stylesheets beyond the file itself, so it renders the same in a browser, an
// image viewer or a README. Every piece of text is XML-escaped (model names come from users).

export interface ChartSeries {
  readonly label: string;
  readonly points: readonly (readonly [number, number])[];
  readonly color: string;
  readonly dashed?: boolean;
}

export interface ChartPanel {
  readonly title: string;
  readonly yLabel: string;
  readonly series: readonly ChartSeries[];
}

export interface Chart {
  readonly title: string;
  readonly xLabel: string;
  readonly panels: readonly ChartPanel[];
}

/** An axis: its range and the tick values inside it. */
export interface Axis {
  readonly lo: number;
  readonly hi: number;
  readonly ticks: readonly number[];
}

const PANEL_W = 420;
const PANEL_H = 300;
const MARGIN = { left: 64, right: 16, top: 56, bottom: 48 };

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' })[c]!);
}

/**
 * A range covering [min, max] with about `count` ticks at round steps (1, 2 or 5 times a power
 * of ten); an empty or one-value range is widened so the axis has extent.
 */
export function niceAxis(min: number, max: number, count = 5): Axis {
  if (!Number.isFinite(min) || !Number.isFinite(max)) [min, max] = [0, 1];
  if (max - min < 1e-9 * Math.max(1, Math.abs(min), Math.abs(max))) {
    const pad = Math.abs(min) > 1e-6 ? Math.abs(min) * 0.1 : 1;
    [min, max] = [min - pad, max + pad];
  }
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw)!;
  // Rounding in floor/ceil can land a hair inside the data; one more step covers it.
  let lo = +(Math.floor(min / step) * step).toPrecision(12);
  let hi = +(Math.ceil(max / step) * step).toPrecision(12);
  if (lo > min) lo -= step;
  if (hi < max) hi += step;
  const ticks: number[] = [];
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) ticks.push(+(lo + i * step).toPrecision(12));
  return { lo, hi, ticks };
}

function tickText(v: number, axis: Axis): string {
  const step = axis.ticks.length > 1 ? axis.ticks[1]! - axis.ticks[0]! : 1;
  const digits = Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  return v.toFixed(digits);
}

const fmt = (v: number): string => (Math.round(v * 100) / 100).toString();

/** The x axis: integer ticks (epochs) when the data are integers, else round ones. */
function xAxisOf(xs: readonly number[]): Axis {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  if (xs.every(Number.isInteger) && hi - lo <= 12) {
    const a = hi === lo ? lo - 1 : lo;
    const b = hi === lo ? hi + 1 : hi;
    return { lo: a, hi: b, ticks: Array.from({ length: b - a + 1 }, (_, i) => a + i) };
  }
  return niceAxis(lo, hi, 6);
}

function panelSvg(p: ChartPanel, x: Axis, xLabel: string, ox: number): string {
  const ys = p.series.flatMap((s) => s.points.map((q) => q[1])).filter(Number.isFinite);
  const y = niceAxis(ys.length ? Math.min(...ys) : 0, ys.length ? Math.max(...ys) : 1);
  const left = ox + MARGIN.left;
  const right = ox + PANEL_W - MARGIN.right;
  const top = MARGIN.top;
  const bottom = PANEL_H - MARGIN.bottom;
  const sx = (v: number): number => left + ((v - x.lo) / (x.hi - x.lo)) * (right - left);
  const sy = (v: number): number => bottom - ((v - y.lo) / (y.hi - y.lo)) * (bottom - top);
  const out: string[] = [`<g class="panel" data-title="${escapeXml(p.title)}" data-y-range="${y.lo} ${y.hi}" data-x-range="${x.lo} ${x.hi}">`];
  out.push(`<text x="${fmt((left + right) / 2)}" y="${top - 10}" text-anchor="middle" font-size="13" font-weight="bold">${escapeXml(p.title)}</text>`);
  for (const t of y.ticks) {
    out.push(`<line x1="${left}" y1="${fmt(sy(t))}" x2="${right}" y2="${fmt(sy(t))}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${left - 6}" y="${fmt(sy(t) + 4)}" text-anchor="end" font-size="11">${tickText(t, y)}</text>`);
  }
  for (const t of x.ticks) {
    out.push(`<line x1="${fmt(sx(t))}" y1="${bottom}" x2="${fmt(sx(t))}" y2="${bottom + 4}" stroke="#333"/>`);
    out.push(`<text x="${fmt(sx(t))}" y="${bottom + 17}" text-anchor="middle" font-size="11">${tickText(t, x)}</text>`);
  }
  out.push(`<text x="${fmt((left + right) / 2)}" y="${PANEL_H - 12}" text-anchor="middle" font-size="12">${escapeXml(xLabel)}</text>`);
  out.push(`<polyline class="axes" points="${left},${top} ${left},${bottom} ${right},${bottom}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${fmt(ox + 16)}" y="${fmt((top + bottom) / 2)}" text-anchor="middle" font-size="12" transform="rotate(-90 ${fmt(ox + 16)} ${fmt((top + bottom) / 2)})">${escapeXml(p.yLabel)}</text>`);
  for (const s of p.series) {
    const pts = s.points.filter((q) => Number.isFinite(q[1]));
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<polyline class="series" data-series="${escapeXml(s.label)}" points="${pts.map((q) => `${fmt(sx(q[0]))},${fmt(sy(q[1]))}`).join(' ')}" fill="none" stroke="${s.color}" stroke-width="2"${dash}/>`);
    for (const q of pts) out.push(`<circle cx="${fmt(sx(q[0]))}" cy="${fmt(sy(q[1]))}" r="2.5" fill="${s.color}"/>`);
  }
  // The legend goes in the first corner no data point falls in (top right, bottom right, top left, bottom left).
  const [lw, lh] = [124, 16 * p.series.length + 4];
  const screen = p.series.flatMap((s) => s.points.filter((q) => Number.isFinite(q[1])).map((q) => [sx(q[0]), sy(q[1])] as const));
  const corners = [[right - lw, top], [right - lw, bottom - lh], [left + 4, top], [left + 4, bottom - lh]] as const;
  const [cx, cy] = corners.find(([x0, y0]) => !screen.some(([x1, y1]) => x1 >= x0 - 4 && x1 <= x0 + lw && y1 >= y0 - 4 && y1 <= y0 + lh + 4)) ?? corners[0];
  p.series.forEach((s, i) => {
    const ly = cy + 10 + i * 16;
    const dash = s.dashed ? ' stroke-dasharray="6 4"' : '';
    out.push(`<line x1="${fmt(cx + 4)}" y1="${fmt(ly)}" x2="${fmt(cx + 24)}" y2="${fmt(ly)}" stroke="${s.color}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${fmt(cx + 29)}" y="${fmt(ly + 4)}" font-size="11">${escapeXml(s.label)}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

/** The chart as an SVG document. */
export function renderChart(c: Chart): string {
  const xs = c.panels.flatMap((p) => p.series.flatMap((s) => s.points.map((q) => q[0])));
  const x = xAxisOf(xs.length ? xs : [0, 1]);
  const width = PANEL_W * Math.max(1, c.panels.length);
  const height = PANEL_H + 8;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">`,
    `<title>${escapeXml(c.title)}</title>`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="22" text-anchor="middle" font-size="15">${escapeXml(c.title)}</text>`,
    ...c.panels.map((p, i) => panelSvg(p, x, c.xLabel, i * PANEL_W)),
    '</svg>',
    '',
  ].join('\n');
}
