/** The one plain-text table (the CLI, summaries): columns padded to their widest cell, two spaces apart. */
export function table(rows: string[][], opts: { rule?: boolean; rightAligned?: number[] } = {}): string {
  const widths = (rows[0] ?? []).map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  // `rule`: a line of dashes under the first row (the header), as wide as each column.
  const all = opts.rule && rows.length ? [rows[0]!, widths.map((w) => '-'.repeat(w)), ...rows.slice(1)] : rows;
  return all
    .map((r) =>
      r
        .map((c, i) => (opts.rightAligned?.includes(i) ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}
