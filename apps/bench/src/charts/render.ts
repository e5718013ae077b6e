import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/**
 * The font every chart uses, shipped inside an npm package (dejavu-fonts-ttf)
 * so text renders the same on a machine with no fonts installed: vega sizes
 * its labels for it, resvg draws with it.
 */
export const CHART_FONT = 'DejaVu Sans';

let fontFile: string | undefined;
function chartFontFile(): string {
  if (!fontFile) fontFile = join(dirname(createRequire(import.meta.url).resolve('dejavu-fonts-ttf/package.json')), 'ttf', 'DejaVuSans.ttf');
  return fontFile;
}

/** Defaults for every chart: the font, readable sizes, a white background. */
const CONFIG = {
  font: CHART_FONT,
  background: 'white',
  padding: 8,
  title: { fontSize: 14, anchor: 'start', offset: 8 },
  axis: { labelFontSize: 11, titleFontSize: 12, titleFontWeight: 'normal', grid: true, gridColor: '#e6e6e6' },
  legend: { labelFontSize: 11, titleFontSize: 12, orient: 'right', labelLimit: 400 },
  view: { stroke: '#bbbbbb' },
} as const;

export interface RenderedChart {
  /** A standalone SVG document (fonts by name; text stays text). */
  svg: string;
  /** The same picture as PNG, text drawn with the shipped font. */
  png: Buffer;
  width: number;
  height: number;
}

/**
 * Compile a Vega-Lite spec with vega-lite, render it to SVG with vega (headless,
 * no canvas), and to PNG with resvg at `scale` times the SVG's size.
 */
export async function renderChart(spec: TopLevelSpec, options: { scale?: number } = {}): Promise<RenderedChart> {
  const withConfig = { ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as TopLevelSpec;
  const compiled = compile(withConfig).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    const scale = options.scale ?? 2;
    const resvg = new Resvg(svg, {
      fitTo: { mode: 'zoom', value: scale },
      background: 'white',
      font: { fontFiles: [chartFontFile()], loadSystemFonts: false, defaultFontFamily: CHART_FONT, sansSerifFamily: CHART_FONT },
    });
    const image = resvg.render();
    return { svg, png: image.asPng(), width: image.width, height: image.height };
  } finally {
    view.finalize();
  }
}
