/**
 * Build provenance of the model assets: an in-toto statement with the SLSA provenance predicate,
 * one subject per asset. On GitHub it is signed and stored by `@actions/attest` (verify with
 * `gh attestation verify model.onnx --repo OWNER/REPO`); the local forge keeps the same statement
 * unsigned as the release asset provenance.intoto.json.
 */
import type { ProvenanceSubject } from '../forge/types.js';
import { serverUrl } from '../util/run-env.js';
import { CDL_VERSION } from '../version.js';

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1';
export const SLSA_PROVENANCE = 'https://slsa.dev/provenance/v1';
export const BUILD_TYPE = 'https://github.com/cdl/cdl/registry/promote@v1';

export function provenanceSubjects(sums: Map<string, string>): ProvenanceSubject[] {
  return [...sums].sort((a, b) => a[0].localeCompare(b[0])).map(([name, sha256]) => ({ name, digest: { sha256 } }));
}

export interface ProvenanceContext {
  model: string;
  tag: string;
  commit: string | null;
  repository?: string | null;
  runUrl?: string | null;
  env?: NodeJS.ProcessEnv;
}

/** The unsigned statement: what was built, from which commit, by which run. */
export function provenanceStatement(subjects: ProvenanceSubject[], ctx: ProvenanceContext): Record<string, unknown> {
  const env = ctx.env ?? process.env;
  const server = serverUrl(env);
  const repo = ctx.repository ?? env.GITHUB_REPOSITORY ?? null;
  return {
    _type: STATEMENT_TYPE,
    subject: subjects,
    predicateType: SLSA_PROVENANCE,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: { model: ctx.model, tag: ctx.tag },
        internalParameters: { cdl_version: CDL_VERSION },
        resolvedDependencies: ctx.commit
          ? [
              {
                uri: repo ? `git+${server}/${repo}@refs/tags/${ctx.tag}` : `git+file:${ctx.tag}`,
                digest: { gitCommit: ctx.commit },
              },
            ]
          : [],
      },
      runDetails: {
        builder: {
          id: env.GITHUB_WORKFLOW_REF ? `${server}/${env.GITHUB_WORKFLOW_REF}` : `cdl ${CDL_VERSION} (local, unsigned)`,
        },
        metadata: { invocationId: ctx.runUrl ?? null, startedOn: new Date().toISOString() },
      },
    },
  };
}
