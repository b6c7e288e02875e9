/**
 * Charts as static SVG through Vega-Lite: a spec is compiled to Vega and rendered headless in Node,
 * so HTML pages stay self-contained and work without JavaScript. Every report and dashboard chart
 * goes through `renderChart`; the Markdown comment keeps Mermaid, which GitHub renders itself.
 *
 * Data is always inline (`data.values`): the loader refuses every URL and file, so a chart can
 * never read the network or the disk, whatever its values hold.
 */
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

export type ChartSpec = TopLevelSpec;

/** A loader that loads nothing: charts carry their data inline. */
const noLoader = {
  ...vega.loader(),
  load: async (uri: string) => {
    throw new Error(`chart data must be inline; refused to load ${JSON.stringify(uri)}`);
  },
  sanitize: async (uri: string) => {
    throw new Error(`chart data must be inline; refused to load ${JSON.stringify(uri)}`);
  },
};

/** The house look: one font, one palette, no chart border. */
const CONFIG = {
  font: 'system-ui, sans-serif',
  view: { stroke: null },
  axis: { labelFontSize: 11, titleFontSize: 12, gridColor: '#e5e5e5' },
  legend: { labelFontSize: 11, titleFontSize: 12 },
  range: { category: ['#4c78a8', '#bab0ac', '#f58518', '#54a24b', '#e45756', '#72b7b2', '#b279a2'] },
};

/**
 * Render a Vega-Lite spec to an SVG string. `label` becomes the SVG's accessible name, so a chart
 * reads as one image to screen readers and in tests.
 */
export async function renderChart(spec: ChartSpec, label: string): Promise<string> {
  const withConfig = { ...spec, config: { ...CONFIG, ...(spec.config ?? {}) } } as ChartSpec;
  const { spec: vgSpec } = compile(withConfig);
  for (const d of vgSpec.data ?? []) {
    if ('url' in d) throw new Error(`chart data must be inline; refused to load ${JSON.stringify(d.url)}`);
  }
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none', loader: noLoader });
  try {
    const svg = await view.toSVG();
    const attr = label.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
    return svg.replace(/^<svg /, `<svg role="img" aria-label="${attr}" `);
  } finally {
    view.finalize();
  }
}
