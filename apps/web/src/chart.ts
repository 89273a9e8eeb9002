/** One series of a line chart. */
export interface Series {
  label: string;
  color: string;
  points: readonly { x: number; y: number }[];
}

/** Draws line series on a canvas with linear x, linear or log10 y, and min/max labels. */
export function drawChart(
  canvas: HTMLCanvasElement,
  title: string,
  series: readonly Series[],
  options: { logY?: boolean; yMax?: number } = {},
): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { width: W, height: H } = canvas;
  const pad = { l: 64, r: 12, t: 24, b: 28 };
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, W, H);
  ctx.fillStyle = '#222';
  ctx.font = '13px system-ui, sans-serif';
  ctx.fillText(title, pad.l, 16);
  const f = (y: number) => (options.logY ? Math.log10(Math.max(y, 1e-12)) : y);
  const pts = series.flatMap((s) => s.points).filter((p) => Number.isFinite(p.y));
  if (pts.length === 0) return;
  const xMax = Math.max(1, ...pts.map((p) => p.x));
  let yLo = Math.min(...pts.map((p) => f(p.y)));
  let yHi = Math.max(...pts.map((p) => f(p.y)), options.yMax !== undefined ? f(options.yMax) : -Infinity);
  if (yHi - yLo < 1e-9) {
    yHi += 0.5;
    yLo -= 0.5;
  }
  const X = (x: number) => pad.l + (x / xMax) * (W - pad.l - pad.r);
  const Y = (y: number) => H - pad.b - ((f(y) - yLo) / (yHi - yLo)) * (H - pad.t - pad.b);
  ctx.strokeStyle = '#999';
  ctx.strokeRect(pad.l, pad.t, W - pad.l - pad.r, H - pad.t - pad.b);
  ctx.fillStyle = '#555';
  const label = (v: number) => (options.logY ? (10 ** v).toExponential(1) : v.toPrecision(3));
  ctx.fillText(label(yHi), 4, pad.t + 10);
  ctx.fillText(label(yLo), 4, H - pad.b);
  ctx.fillText('0', pad.l, H - 8);
  ctx.fillText(`step ${xMax}`, W - pad.r - 70, H - 8);
  if (options.yMax !== undefined) {
    ctx.setLineDash([4, 4]);
    ctx.strokeStyle = '#c33';
    ctx.beginPath();
    ctx.moveTo(pad.l, Y(options.yMax));
    ctx.lineTo(W - pad.r, Y(options.yMax));
    ctx.stroke();
    ctx.setLineDash([]);
  }
  series.forEach((s, i) => {
    ctx.strokeStyle = s.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (const [j, p] of s.points.entries()) {
      if (j === 0) ctx.moveTo(X(p.x), Y(p.y));
      else ctx.lineTo(X(p.x), Y(p.y));
    }
    ctx.stroke();
    ctx.fillStyle = s.color;
    ctx.fillText(s.label, W - pad.r - 220, pad.t + 16 + 16 * i);
  });
}
