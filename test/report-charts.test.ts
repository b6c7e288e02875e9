import { describe, expect, it } from 'vitest';
import { renderChart } from '../src/report/charts.js';

describe('renderChart', () => {
  it('renders a Vega-Lite spec to a self-contained SVG with marks and an accessible name', async () => {
    const svg = await renderChart(
      {
        data: {
          values: [
            { epoch: 1, loss: 0.9 },
            { epoch: 2, loss: 0.5 },
            { epoch: 3, loss: 0.3 },
          ],
        },
        mark: { type: 'line', point: true },
        encoding: { x: { field: 'epoch', type: 'quantitative' }, y: { field: 'loss', type: 'quantitative' } },
      },
      'Loss <per> epoch',
    );
    expect(svg.startsWith('<svg role="img" aria-label="Loss &lt;per&gt; epoch" ')).toBe(true);
    expect(svg).toContain('role-mark');
    // one path for the line and one symbol per point
    expect(svg.match(/<path/g)!.length).toBeGreaterThanOrEqual(4);
    expect(svg).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });

  it('refuses data from a URL instead of fetching it', async () => {
    await expect(renderChart({ data: { url: 'http://127.0.0.1:9/x.json' }, mark: 'point' }, 'x')).rejects.toThrow(
      /must be inline/,
    );
  });
});
