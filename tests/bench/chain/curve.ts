// The confirmed-over-time chart of the chain stage: one line per system, confirmed bookings (y) by
// seconds since the first request (x), as a self-contained SVG the report and the README show.

export type Curve = {
  label: string;
  colour: string;
  /** Seconds from the first request to each CONFIRMED seen, in any order. */
  confirmedAtS: readonly number[];
};

const WIDTH = 720;
const HEIGHT = 360;
const MARGIN = { left: 56, right: 16, top: 66, bottom: 44 };

const escaped = (text: string) =>
  text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');

/** A round step (1, 2, 5 × 10^n) that gives at most `most` ticks over `span`. */
export function tickStep(span: number, most = 8): number {
  if (!(span > 0)) return 1;
  const raw = span / most;
  const power = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * power >= raw) return m * power;
  return 10 * power;
}

/** The points of a cumulative curve: (t, n) after each confirmation, starting at (0, 0). */
export function cumulative(confirmedAtS: readonly number[]): [number, number][] {
  const sorted = [...confirmedAtS].filter(Number.isFinite).sort((a, b) => a - b);
  return [[0, 0], ...sorted.map((t, i): [number, number] => [t, i + 1])];
}

export function renderCurves(title: string, curves: readonly Curve[]): string {
  const allT = curves.flatMap((c) => c.confirmedAtS.filter(Number.isFinite));
  const maxT = Math.max(1, ...allT);
  // Headroom above the highest curve, so that it does not run along the frame.
  const maxN = Math.max(1, ...curves.map((c) => c.confirmedAtS.length)) * 1.08;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (t: number) => MARGIN.left + (t / maxT) * plotW;
  const y = (n: number) => MARGIN.top + plotH - (n / maxN) * plotH;
  const f = (v: number) => v.toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${escaped(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2}" y="18" text-anchor="middle" font-size="14">${escaped(title)}</text>`,
  ];
  const xStep = tickStep(maxT);
  for (let t = 0; t <= maxT + 1e-9; t += xStep) {
    parts.push(
      `<line x1="${f(x(t))}" y1="${MARGIN.top}" x2="${f(x(t))}" y2="${MARGIN.top + plotH}" stroke="#e5e5e5"/>`,
      `<text x="${f(x(t))}" y="${MARGIN.top + plotH + 16}" text-anchor="middle">${Number(t.toFixed(6))}</text>`,
    );
  }
  const yStep = tickStep(maxN, 6);
  for (let n = 0; n <= maxN; n += yStep) {
    parts.push(
      `<line x1="${MARGIN.left}" y1="${f(y(n))}" x2="${MARGIN.left + plotW}" y2="${f(y(n))}" stroke="#e5e5e5"/>`,
      `<text x="${MARGIN.left - 6}" y="${f(y(n) + 4)}" text-anchor="end">${Number(n.toFixed(6))}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#444"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 8}" text-anchor="middle">seconds since the first request</text>`,
    `<text transform="translate(14 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">confirmed bookings</text>`,
  );
  for (const curve of curves) {
    const points = cumulative(curve.confirmedAtS);
    // A step line: the count holds until the next confirmation.
    const path = points
      .map(([t, n], j) => (j === 0 ? `M${f(x(t))},${f(y(n))}` : `H${f(x(t))}V${f(y(n))}`))
      .join('');
    parts.push(`<path d="${path}" fill="none" stroke="${escaped(curve.colour)}" stroke-width="2"/>`);
  }
  // The legend between the title and the plot, where it hides no curve: a second row when the
  // labels do not fit in one.
  let legendX = MARGIN.left;
  let legendY = 38;
  for (const curve of curves) {
    const width = 26 + 6.8 * curve.label.length;
    if (legendX > MARGIN.left && legendX + width > WIDTH - MARGIN.right) {
      legendX = MARGIN.left;
      legendY += 16;
    }
    parts.push(
      `<line x1="${f(legendX)}" y1="${legendY - 4}" x2="${f(legendX + 20)}" y2="${legendY - 4}" stroke="${escaped(curve.colour)}" stroke-width="2"/>`,
      `<text x="${f(legendX + 26)}" y="${legendY}">${escaped(curve.label)}</text>`,
    );
    legendX += width + 18;
  }
  parts.push('</svg>', '');
  return parts.join('\n');
}
