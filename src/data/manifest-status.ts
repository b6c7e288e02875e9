/** Where the data manifest is, and how a difference from it reads: for the CLI and the data action alike. */
import path from 'node:path';
import type { LoadedConfig } from '../config/index.js';
import { MANIFEST_FILE, type DataStatus } from './manifest.js';

/** The manifest a user named, else cdl.data.json beside cdl.yaml. */
export function manifestPath(loaded: LoadedConfig, option: string | undefined): string {
  return option ? path.resolve(option) : path.join(loaded.dir, MANIFEST_FILE);
}

export function statusText(s: DataStatus, manifest: string): string {
  if (s.clean) return `data matches ${manifest} (${s.version})`;
  const lines = [`data differs from ${manifest}: ${s.manifestVersion} recorded, ${s.version} now`];
  for (const f of s.added) lines.push(`  added:    ${f}`);
  for (const f of s.removed) lines.push(`  removed:  ${f}`);
  for (const f of s.modified) lines.push(`  modified: ${f}`);
  if (s.splitChanged) lines.push('  split:    data.validation or data.limit changed the validation split');
  lines.push('record the new data with: cdl data version');
  return lines.join('\n');
}
