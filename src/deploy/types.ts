/** Settings of the deployment targets (the deploy section of cdl.yaml, with defaults filled in). */

export interface CanarySettings {
  /** Percent of unversioned requests sent to the new version; 0 turns the canary off. */
  percent: number;
  /** How long to watch, in seconds. */
  window_s: number;
  /** How often to read the server's metrics, in seconds. */
  interval_s: number;
  /** Largest share of non-200 responses of the canary. */
  max_error_rate: number;
  /** Largest p95 latency of the canary in milliseconds (unset: not checked). */
  max_latency_ms?: number;
  /** Fewer canary requests than this in the window: roll back (nothing shows the canary works). */
  min_requests: number;
}

export interface ShadowSettings {
  /** Share of production requests copied to the new version; 0: no shadow. */
  fraction: number;
  /** How long the comparison is watched before deploy reports it, in seconds. */
  window_s: number;
  /** How often the server's comparison is read, in seconds. */
  interval_s: number;
}

export interface ServerTarget {
  /** Base URL of the running `cdl serve`. */
  url: string;
  /** Its model repository (the same filesystem). */
  repository: string;
  /** Model name in the repository (default the model's name). */
  model_name?: string;
  ready_timeout_s: number;
}

export interface KServeTarget {
  name?: string;
  namespace: string;
  /** Where KServe's storage initializer fetches the model; {tag}, {version}, {model}, {repository} are filled in. */
  storage_uri?: string;
  runtime?: string;
  service_account?: string;
  /** auto: kubectl apply when kubectl and a current context exist; always; never (publish the manifest only). */
  apply: 'auto' | 'always' | 'never';
}

export interface DeploySettings {
  tag: string;
  environment: string;
  target: 'server' | 'kserve' | 'release';
  server?: ServerTarget;
  kserve: KServeTarget;
  canary: CanarySettings;
  /** Start the version in shadow instead (server target): it answers no client, production stays. */
  shadow?: ShadowSettings;
}

export const DEFAULT_SHADOW: ShadowSettings = { fraction: 0, window_s: 300, interval_s: 10 };

export const DEFAULT_CANARY: CanarySettings = {
  percent: 0,
  window_s: 300,
  interval_s: 10,
  max_error_rate: 0.01,
  min_requests: 20,
};
