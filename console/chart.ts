/** A line chart's geometry, pure: the page draws the SVG paths and labels this returns. */

export interface ChartLine {
  name: string;
  values: (number | null)[];
}

export interface PlottedLine {
  name: string;
  /** SVG path data; a gap (null) breaks the line. Empty when the line has no figure. */
  path: string;
  /** Every figure's point: a minute between two gaps has no line to show it. */
  points: { x: number; y: number }[];
  last: number | null;
}

export interface Plot {
  lines: PlottedLine[];
  /** The top of the y axis: a round number at or above the largest figure (1 when all are 0). */
  max: number;
  /** Horizontal grid values, 0 to max. */
  ticks: number[];
}

/** The smallest 1, 2 or 5 × 10^n at or above `v`. */
export function niceCeil(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 5, 10]) if (m * p >= v - 1e-9) return m * p;
  return 10 * p;
}

/**
 * Lines over `width` × `height` (y grows downwards, as in SVG), the points spread evenly across
 * the width; all lines share one scale. A single point is drawn as a short flat line.
 */
export function plot(lines: ChartLine[], width: number, height: number): Plot {
  const all = lines.flatMap((l) => l.values.filter((v): v is number => v !== null));
  const max = niceCeil(Math.max(0, ...all));
  const y = (v: number): number => Math.round((height - (v / max) * height) * 10) / 10;
  const plotted = lines.map((l) => {
    const n = l.values.length;
    const x = (i: number): number => (n <= 1 ? 0 : Math.round(((i * width) / (n - 1)) * 10) / 10);
    let path = '';
    let pen = false;
    const points: { x: number; y: number }[] = [];
    l.values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      path += `${pen ? 'L' : 'M'}${x(i)},${y(v)}`;
      points.push({ x: x(i), y: y(v) });
      pen = true;
    });
    if (n === 1 && l.values[0] !== null) path += `L${width},${y(l.values[0])}`;
    const known = l.values.filter((v): v is number => v !== null);
    return { name: l.name, path, points, last: known.length ? known[known.length - 1] : null };
  });
  return { lines: plotted, max, ticks: [0, max / 2, max] };
}
