/**
 * What "production" means, once for the gate, the registry, deploy and monitor: the version
 * deployed to the production environment now (the newest successful deployment of that alias);
 * when nothing was ever deployed there, the latest release of the model, said as such.
 */
import type { DeploymentRecord, RegistryForge } from '../forge/types.js';
import { Registry } from './registry.js';

/** The environment (deployment alias) whose version is production. */
export const PRODUCTION_ENVIRONMENT = 'production';

export interface Production {
  tag: string;
  version: string;
  commit: string | null;
  /** deployed: the production alias points at it; latest-release: nothing was ever deployed there. */
  source: 'deployed' | 'latest-release';
  /** The deployment that put it there (source deployed). */
  deployment?: DeploymentRecord;
  /** One line for reports: "fashion-mnist@v1.0.0, deployed to production". */
  description: string;
}

/** Production of `model`, or undefined when nothing was deployed and nothing released yet. */
export async function resolveProduction(
  forge: RegistryForge,
  model: string,
  opts: { tagTemplate?: string; registry?: Registry } = {},
): Promise<Production | undefined> {
  const registry = opts.registry ?? new Registry({ forge, model, tagTemplate: opts.tagTemplate });
  const deployed = await registry.alias(PRODUCTION_ENVIRONMENT);
  if (deployed) {
    return {
      tag: deployed.tag,
      version: deployed.version,
      commit: deployed.commit,
      source: 'deployed',
      deployment: deployed,
      description: `${deployed.tag}, deployed to ${PRODUCTION_ENVIRONMENT}`,
    };
  }
  const latest = (await registry.list())[0];
  if (!latest) return undefined;
  return {
    tag: latest.tag,
    version: latest.version,
    commit: latest.commit,
    source: 'latest-release',
    description: `${latest.tag}, the latest release (nothing was ever deployed to ${PRODUCTION_ENVIRONMENT})`,
  };
}
