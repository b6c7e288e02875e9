/** deploy: release tags, deployment environments and aliases, the target and the canary rollout (cdl.yaml). */
import { z } from 'zod';
import { DEFAULT_TAG_TEMPLATE } from '../../forge/tags.js';
import { nonNegativeInt } from './primitives.js';

/** deploy: release tags, the target a release is deployed to, and the canary rollout (docs/deploy.md). */
/** Deployment environments and aliases: names that are safe as a path part, a ref part and a GitHub environment. */
export const ALIAS_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const ALIAS_EXPECTED =
  'expected a name of letters, digits, ".", "_" and "-" (at most 63, starting with a letter or digit), e.g. production';

export const deploySection = z.strictObject({
  tag: z
    .string()
    .refine((t) => t.includes('{version}'), { error: 'expected a {version} placeholder, e.g. {model}@v{version}' })
    .default(DEFAULT_TAG_TEMPLATE)
    .describe('Release tag convention of model versions: {model} and {version} (semantic versioning) are filled in'),
  environment: z
    .string()
    .regex(ALIAS_NAME, { error: ALIAS_EXPECTED })
    .default('production')
    .describe('The alias a deployment moves (production, staging, or your own); also the GitHub environment'),
  aliases: z
    .array(z.string().regex(ALIAS_NAME, { error: ALIAS_EXPECTED }))
    .default(['production', 'staging'])
    .describe('Aliases cdl models lists; any other name can be used too'),
  target: z
    .enum(['server', 'kserve', 'release'])
    .default('release')
    .describe('server: a running cdl serve; kserve: an InferenceService manifest; release: verify and keep the assets only'),
  server: z
    .strictObject({
      url: z.string().describe('Base URL of the running cdl serve, e.g. http://127.0.0.1:8000'),
      repository: z.string().describe('Its model repository directory, relative to cdl.yaml'),
      model_name: z.string().optional().describe('Name of the model in the repository (default model.name)'),
      ready_timeout_s: z.number().positive().default(120).describe('How long to wait for the new version to be ready'),
    })
    .optional(),
  kserve: z
    .strictObject({
      name: z.string().optional().describe('InferenceService name (default model.name)'),
      namespace: z.string().default('default'),
      storage_uri: z
        .string()
        .optional()
        .describe(
          'Where KServe fetches the model; {tag}, {version}, {model}, {repository} are filled in (default the release asset on GitHub)',
        ),
      runtime: z.string().optional().describe('ServingRuntime to use, e.g. kserve-tritonserver'),
      service_account: z.string().optional(),
      apply: z
        .enum(['auto', 'always', 'never'])
        .default('auto')
        .describe('auto: kubectl apply when kubectl has a current context, else publish the manifest as an artifact'),
    })
    .default({ namespace: 'default', apply: 'auto' }),
  canary: z
    .strictObject({
      percent: z
        .number()
        .min(0)
        .max(100)
        .default(0)
        .describe('Share of traffic for the new version during the window; 0: no canary'),
      window_s: z.number().positive().default(300).describe('How long the canary is watched, in seconds'),
      interval_s: z.number().positive().default(10).describe('How often the server metrics are read, in seconds'),
      max_error_rate: z.number().min(0).max(1).default(0.01).describe('Largest share of non-200 responses of the canary'),
      max_latency_ms: z.number().positive().optional().describe('Largest p95 latency of the canary, in milliseconds'),
      min_requests: nonNegativeInt
        .default(20)
        .describe('Fewer canary requests in the window: rolled back, nothing shows it works'),
    })
    .default({ percent: 0, window_s: 300, interval_s: 10, max_error_rate: 0.01, min_requests: 20 }),
  shadow: z
    .strictObject({
      fraction: z
        .number()
        .min(0)
        .max(1)
        .default(0)
        .describe(
          'Server target: start the new version in shadow, copying this share of production requests to it; it answers no client and production stays (0: no shadow)',
        ),
      window_s: z.number().positive().default(300).describe('How long the shadow comparison is watched before it is reported'),
      interval_s: z.number().positive().default(10).describe("How often the server's comparison is read, in seconds"),
    })
    .default({ fraction: 0, window_s: 300, interval_s: 10 }),
});

export type DeploySection = z.infer<typeof deploySection>;
