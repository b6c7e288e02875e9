/** The deploy section of cdl.yaml as deploy settings, with the command line's overrides. */
import path from 'node:path';
import type { DeploySection } from '../config/schema/deploy.js';
import { ALIAS_EXPECTED, ALIAS_NAME, deploySection } from '../config/schema/deploy.js';
import { UsageError } from '../util/errors.js';
import type { DeploySettings } from './types.js';

export interface DeployOverrides {
  target?: string;
  environment?: string;
  serverUrl?: string;
  repository?: string;
  canaryPercent?: string;
  canaryWindow?: string;
  shadowFraction?: string;
  shadowWindow?: string;
}

function num(flag: string, v: string | undefined, min: number, max = Infinity): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`${flag}: expected a number from ${min}${max < Infinity ? ` to ${max}` : ''}, got "${v}"`);
  return n;
}

/** Refuse an environment or alias name that could leave its folder or ref (`../../etc`). */
export function checkAliasName(flag: string, name: string | undefined): void {
  if (name !== undefined && !ALIAS_NAME.test(name)) {
    throw new UsageError(`${flag}: invalid name ${JSON.stringify(name)}; ${ALIAS_EXPECTED}`);
  }
}

export function deploySettings(section: DeploySection | undefined, baseDir: string, o: DeployOverrides = {}): DeploySettings {
  const d = section ?? deploySection.parse({});
  checkAliasName('--environment', o.environment);
  const target = (o.target ?? d.target) as DeploySettings['target'];
  if (!['server', 'kserve', 'release'].includes(target))
    throw new UsageError(`--target: expected server, kserve or release, got "${target}"`);
  let server = d.server ? { ...d.server, repository: path.resolve(baseDir, d.server.repository) } : undefined;
  if (o.serverUrl || o.repository) {
    const url = o.serverUrl ?? server?.url;
    const repository = o.repository ? path.resolve(o.repository) : server?.repository;
    if (!url || !repository)
      throw new UsageError('the server target needs both --server-url and --repository (or deploy.server in cdl.yaml)');
    server = { ...(server ?? { ready_timeout_s: 120 }), url, repository };
  }
  if (target === 'server' && !server)
    throw new UsageError(
      'target server: set deploy.server.url and deploy.server.repository in cdl.yaml, or --server-url and --repository',
    );
  const canary = { ...d.canary };
  const pct = num('--canary-percent', o.canaryPercent, 0, 100);
  if (pct !== undefined) canary.percent = pct;
  const win = num('--canary-window', o.canaryWindow, 0.1);
  if (win !== undefined) canary.window_s = win;
  const shadow = { ...d.shadow };
  const frac = num('--shadow-fraction', o.shadowFraction, 0, 1);
  if (frac !== undefined) shadow.fraction = frac;
  const swin = num('--shadow-window', o.shadowWindow, 0.1);
  if (swin !== undefined) shadow.window_s = swin;
  if (shadow.fraction > 0 && canary.percent > 0)
    throw new UsageError(
      'a deploy starts the version either as a canary or in shadow; set one of --canary-percent, --shadow-fraction',
    );
  return { tag: d.tag, environment: o.environment ?? d.environment, target, server, kserve: d.kserve, canary, shadow };
}
