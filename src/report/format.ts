/** Number formats shared by the Markdown and HTML renderings of a report. */

/** Three decimals, or a dash for a missing value. */
export const f3 = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(3));

/** A change with its sign (+0.050, −0.250), or a dash. */
export const signed3 = (v: number | undefined): string =>
  v === undefined || !Number.isFinite(v) ? '—' : `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;

/** A p-value: three decimals, or scientific below 0.001. */
export const pValue = (p: number): string => (p < 0.001 ? p.toExponential(1) : p.toFixed(3));
