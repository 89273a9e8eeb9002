/**
 * Figures of a report: Vega-Lite specs rendered to SVG headless (Vega View.toSVG(), no DOM), for
 * any experiment — a heat map of cells (grey where a cell has no value) and a line chart of
 * series, both with legends and tooltips.
 */
import * as vega from 'vega';
import * as vl from 'vega-lite';

/**
 * Renders a Vega-Lite spec to SVG. Vega's SVG string renderer writes a mark's tooltip only as its
 * `aria-label`; each such mark also gets it as an SVG `<title>`, which browsers show on hover.
 */
export async function renderSvg(spec: vl.TopLevelSpec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return withTitles(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/** `<path aria-label="x" …/>` → `<path aria-label="x" …><title>x</title></path>` (mark items only). */
function withTitles(svg: string): string {
  return svg.replace(
    /<(path|rect|circle|line|text)(\s[^>]*?aria-roledescription="[^"]*"[^>]*?)\/>/g,
    (whole, tag: string, attrs: string) => {
      const label = /aria-label="([^"]*)"/.exec(attrs)?.[1];
      return label === undefined ? whole : `<${tag}${attrs}><title>${label}</title></${tag}>`;
    },
  );
}

/** sRGB relative luminance (WCAG 2) of `rgb(r, g, b)` or `#rrggbb`. */
export function luminance(colour: string): number {
  const m = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(colour);
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
  const parts = m ? m.slice(1) : hex ? hex.slice(1).map((h) => String(Number.parseInt(h, 16))) : null;
  if (!parts) throw new Error(`luminance: not an rgb() or #rrggbb colour: ${colour}`);
  const [r, g, b] = parts.map((p) => {
    const c = Number(p) / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  return 0.2126 * r + 0.7152 * g + 0.0722 * b;
}

/** WCAG contrast ratio of two colours (1 to 21). */
export function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x) as [number, number];
  return (hi + 0.05) / (lo + 0.05);
}

/** Black or white, whichever reads better on `fill`. */
export function textColourOn(fill: string): '#000000' | '#ffffff' {
  return contrast(fill, '#000000') >= contrast(fill, '#ffffff') ? '#000000' : '#ffffff';
}

/** A sequential colour scale over the values it will show. */
export interface ColourScale {
  /** `log` where the (positive) values span a decade or more, else `linear`. */
  type: 'log' | 'linear';
  domain: [number, number];
  scheme: 'viridis' | 'inferno';
  /** No values: the scale has nothing to show (no legend). */
  empty: boolean;
  /** The fill Vega draws for `v` (the same interpolation: normalized position in the domain). */
  colourOf(v: number): string;
}

/** The colour scale of a set of values (non-finite values are not part of it). */
export function colourScale(values: readonly number[], scheme: 'viridis' | 'inferno'): ColourScale {
  const vs = values.filter((v) => Number.isFinite(v));
  let lo = vs.length ? Math.min(...vs) : 0;
  let hi = vs.length ? Math.max(...vs) : 1;
  const type = lo > 0 && hi / lo >= 10 ? 'log' : 'linear';
  if (hi === lo) {
    // one value: a domain around it, so that it sits mid-scale
    const d = lo === 0 ? 1 : Math.abs(lo) / 2;
    [lo, hi] = [lo - d, hi + d];
  }
  const interp = vega.scheme(scheme) as (t: number) => string;
  const pos = (v: number) =>
    type === 'log' ? (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo)) : (v - lo) / (hi - lo);
  return {
    type,
    domain: [lo, hi],
    scheme,
    empty: vs.length === 0,
    colourOf: (v) => interp(Math.min(1, Math.max(0, pos(v)))),
  };
}

/** One cell of a heat map: its position, value (null: no value, drawn grey) and text. */
export interface HeatCell {
  x: string;
  y: string;
  value: number | null;
  /** Text drawn in the cell. */
  label: string;
  /** Extra tooltip lines (title → text), e.g. the step sizes of the cell's best run. */
  details?: Record<string, string>;
}

/** Fill of a cell without a value (its label says why). */
export const NO_VALUE_FILL = '#d4d4d4';

/**
 * A heat map: `x` × `y` ordinal axes, colour = `value` on `scale` (with its legend), every cell
 * labelled in black or white by contrast with its fill; cells without a value are grey and
 * outside the scale. Each cell has a tooltip with its coordinates, value and details.
 */
export async function heatmapSvg(
  cells: readonly HeatCell[],
  o: {
    title: string;
    xTitle: string;
    yTitle: string;
    xOrder: string[];
    yOrder: string[];
    colourTitle: string;
    scale: ColourScale;
  },
): Promise<string> {
  const values = cells.map((c) => ({
    x: c.x,
    y: c.y,
    value: c.value,
    label: c.label,
    text: c.value === null ? textColourOn(NO_VALUE_FILL) : textColourOn(o.scale.colourOf(c.value)),
    tip: [
      `${o.yTitle}: ${c.y}`,
      `${o.xTitle}: ${c.x}`,
      `${o.colourTitle}: ${c.value === null ? c.label : Number(c.value.toPrecision(6))}`,
      ...Object.entries(c.details ?? {}).map(([k, v]) => `${k}: ${v}`),
    ].join('; '),
  }));
  // the tooltip text is also the mark's description (aria-label; a <title> in the SVG)
  const tooltip = { field: 'tip', type: 'nominal' } as const;
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    data: { values },
    width: Math.max(180, 56 * o.xOrder.length),
    height: Math.max(120, 30 * o.yOrder.length),
    encoding: {
      x: { field: 'x', type: 'ordinal', sort: o.xOrder, title: o.xTitle, axis: { labelAngle: 0 } },
      y: { field: 'y', type: 'ordinal', sort: o.yOrder, title: o.yTitle },
    },
    layer: [
      // every cell, grey: what shows where a cell has no value
      {
        mark: { type: 'rect', stroke: 'white', fill: NO_VALUE_FILL },
        encoding: { tooltip, description: tooltip },
      },
      {
        transform: [{ filter: 'datum.value !== null && isFinite(datum.value)' }],
        mark: { type: 'rect', stroke: 'white' },
        encoding: {
          color: {
            field: 'value',
            type: 'quantitative',
            title: o.colourTitle,
            scale: {
              type: o.scale.type,
              scheme: o.scale.scheme,
              domain: o.scale.domain,
              nice: false,
              // (a log scale has no zero; naming it there makes Vega-Lite print a warning)
              ...(o.scale.type === 'log' ? {} : { zero: false }),
            },
            legend: o.scale.empty
              ? null
              : { format: o.scale.type === 'log' ? '.2~e' : '.2~g', gradientLength: 120, titleLimit: 0 },
          },
          tooltip,
          description: tooltip,
        },
      },
      // labels in black or white, whichever contrasts more with the fill beneath
      ...(['#000000', '#ffffff'] as const).map((colour) => ({
        transform: [{ filter: `datum.text === '${colour}'` }],
        mark: { type: 'text' as const, fontSize: 10, color: colour, aria: false },
        encoding: { text: { field: 'label', type: 'nominal' as const } },
      })),
    ],
  };
  return renderSvg(spec);
}

/** Powers of ten over the range of positive values, at most 8 of them (ticks of a log axis). */
export function decades(values: readonly number[]): number[] {
  const pos = values.filter((v) => v > 0 && Number.isFinite(v));
  if (pos.length === 0) return [];
  const lo = Math.floor(Math.log10(Math.min(...pos)));
  const hi = Math.ceil(Math.log10(Math.max(...pos)));
  const step = Math.max(1, Math.ceil((hi - lo) / 7));
  const out: number[] = [];
  for (let e = lo; e <= hi; e += step) out.push(10 ** e);
  return out;
}

/** Dash patterns of the groups of a line chart, in order (solid first). */
const DASHES: number[][] = [
  [1, 0],
  [6, 3],
  [2, 2],
  [8, 3, 2, 3],
];

/** One point of a line chart. */
export interface LinePoint {
  x: number;
  y: number;
  /** The line it belongs to (legend entry). */
  series: string;
  /** A grouping of the series drawn as the dash pattern, e.g. the regime (say it in `series`). */
  group: string;
}

/**
 * A line chart: one line per `series` (colour legend), dash pattern per `group` (no legend: name the
 * group in the series),
 * a log y axis when `logY`, a tooltip on every point (series, x, y).
 */
export async function linesSvg(
  points: readonly LinePoint[],
  o: {
    title: string;
    xTitle: string;
    yTitle: string;
    seriesTitle: string;
    logY: boolean;
  },
): Promise<string> {
  // the tooltip text is also the mark's description (aria-label; a <title> in the SVG)
  const tooltip = { field: 'tip', type: 'nominal' } as const;
  const series = [...new Set(points.map((p) => p.series))].sort();
  const groupOf = new Map(points.map((p) => [p.series, p.group]));
  const groups = [...new Set(points.map((p) => p.group))].sort();
  const spec: vl.TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    data: {
      values: points.map((p) => ({
        ...p,
        tip: `${p.series}; ${o.xTitle}: ${p.x}; ${o.yTitle}: ${Number(p.y.toPrecision(6))}`,
      })),
    },
    width: 360,
    height: 220,
    encoding: {
      x: { field: 'x', type: 'quantitative', title: o.xTitle },
      y: {
        field: 'y',
        type: 'quantitative',
        title: o.yTitle,
        ...(o.logY
          ? { scale: { type: 'log' }, axis: { values: decades(points.map((p) => p.y)), format: '.0e' } }
          : {}),
      },
      color: {
        field: 'series',
        type: 'nominal',
        title: o.seriesTitle,
        // Node has no text metrics (Vega estimates widths coarsely): no truncation
        legend: { labelLimit: 0, titleLimit: 0, symbolType: 'stroke', symbolStrokeWidth: 3 },
      },
      // dash by group (the legend shows the colours; the series names say the group)
      strokeDash: {
        field: 'series',
        type: 'nominal',
        legend: null,
        scale: {
          domain: series,
          range: series.map((s) => DASHES[groups.indexOf(groupOf.get(s)!) % DASHES.length]!),
        },
      },
    },
    layer: [
      // a line's tooltip names its series; a point's says series, x and y
      {
        mark: { type: 'line' },
        encoding: {
          tooltip: { field: 'series', type: 'nominal' },
          description: { field: 'series', type: 'nominal' },
        },
      },
      { mark: { type: 'point', filled: true, size: 14 }, encoding: { tooltip, description: tooltip } },
    ],
  };
  return renderSvg(spec);
}

/** One point of an error-bar chart: a mean and its interval. */
export interface IntervalPoint {
  x: number;
  mean: number;
  lo: number;
  hi: number;
  /** The line it belongs to (legend entry). */
  series: string;
}

/**
 * Means joined by lines with their intervals as vertical bars, one colour per `series`; a log x
 * axis when `logX`; dashed vertical rules with a label at `marks` (e.g. a reference setting).
 */
export async function intervalsSvg(
  points: readonly IntervalPoint[],
  o: {
    title: string;
    xTitle: string;
    yTitle: string;
    seriesTitle: string;
    logX: boolean;
    marks?: readonly { x: number; label: string }[];
  },
): Promise<string> {
  const x = {
    field: 'x',
    type: 'quantitative',
    title: o.xTitle,
    ...(o.logX ? { scale: { type: 'log' } } : {}),
  } as const;
  const colour = {
    field: 'series',
    type: 'nominal',
    title: o.seriesTitle,
    legend: { labelLimit: 0, titleLimit: 0 },
  } as const;
  const tip = { field: 'tip', type: 'nominal' } as const;
  const layers: vl.TopLevelSpec['layer' & keyof vl.TopLevelSpec] = [
    {
      data: {
        values: points.map((p) => ({
          ...p,
          tip: `${p.series}; ${o.xTitle}: ${p.x}; ${o.yTitle}: ${Number(p.mean.toPrecision(4))} [${Number(p.lo.toPrecision(4))}, ${Number(p.hi.toPrecision(4))}]`,
        })),
      },
      layer: [
        {
          mark: { type: 'line' },
          encoding: { x, y: { field: 'mean', type: 'quantitative', title: o.yTitle }, color: colour },
        },
        {
          mark: { type: 'point', filled: true, size: 20 },
          encoding: {
            x,
            y: { field: 'mean', type: 'quantitative' },
            color: colour,
            tooltip: tip,
            description: tip,
          },
        },
        {
          mark: { type: 'rule' },
          encoding: { x, y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' }, color: colour },
        },
      ],
    },
    ...(o.marks?.length
      ? [
          {
            data: { values: o.marks.map((m) => ({ ...m })) },
            layer: [
              { mark: { type: 'rule', strokeDash: [4, 3], color: '#555' }, encoding: { x } },
              {
                mark: { type: 'text', align: 'left', dx: 3, dy: -4, color: '#333' },
                encoding: { x, y: { value: 8 }, text: { field: 'label' } },
              },
            ],
          },
        ]
      : []),
  ] as never;
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: o.title,
    width: 380,
    height: 240,
    layer: layers,
  } as vl.TopLevelSpec;
  return renderSvg(spec);
}
