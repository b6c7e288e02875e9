/**
 * Release tags of model versions, the one convention forge and registry share: a template with
 * `{model}` and `{version}` placeholders (default `{model}@v{version}`, versions in semantic-versioning
 * form). Listing releases, a forge also recognises the other spellings in RECOGNISED_TAG_TEMPLATES,
 * and plain `v1.2.0` tags in a repository with one model. Versions are ordered by compareVersions.
 */
import { UsageError } from '../util/errors.js';

export const DEFAULT_TAG_TEMPLATE = '{model}@v{version}';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export function isSemver(v: string): boolean {
  return SEMVER.test(v);
}

function checkTemplate(template: string): void {
  if (!template.includes('{version}'))
    throw new UsageError(`deploy.tag ${JSON.stringify(template)}: expected a {version} placeholder, e.g. {model}@v{version}`);
}

/** The tag of `version` of `model`: formatTag('{model}@v{version}', 'mnist', '1.2.0') = 'mnist@v1.2.0'. */
export function formatTag(template: string, model: string, version: string): string {
  checkTemplate(template);
  const v = version.replace(/^v/, '');
  if (!isSemver(v)) throw new UsageError(`version ${JSON.stringify(version)}: expected semantic versioning such as 1.2.0`);
  return template.replaceAll('{model}', model).replaceAll('{version}', v);
}

/** What stands in the `{version}` place of a tag that follows the template, or undefined. */
function versionPart(template: string, model: string, tag: string): string | undefined {
  checkTemplate(template);
  const esc = (s: string) => s.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
  const re = new RegExp(
    `^${template
      .split('{version}')
      .map((part) => part.split('{model}').map(esc).join(esc(model)))
      .join('(.+)')}$`,
  );
  return re.exec(tag)?.[1];
}

/** The version a tag names under the convention, or undefined when it is not a tag of this model. */
export function parseTag(template: string, model: string, tag: string): string | undefined {
  const v = versionPart(template, model, tag);
  return v !== undefined && isSemver(v) ? v : undefined;
}

/** The spellings of a model's release tags a forge recognises, in order; the default comes from here. */
export const RECOGNISED_TAG_TEMPLATES = ['{model}-v{version}', DEFAULT_TAG_TEMPLATE, '{model}@{version}', '{model}/v{version}'];

/** The version of a release tag of `model` in any recognised spelling (`mnist-v1.2.0`, `mnist@v1.2`), or undefined. */
export function releaseVersion(tag: string, model: string): string | undefined {
  for (const template of RECOGNISED_TAG_TEMPLATES) {
    const v = versionPart(template, model, tag);
    if (v !== undefined && /^\d/.test(v)) return v;
  }
  return undefined;
}

/** Releases that belong to `model`: tagged with its name, else (no such tag at all) plain `v*` tags. */
export function releasesOfModel<T extends { tag: string }>(releases: T[], model: string): T[] {
  const own = releases.filter((r) => releaseVersion(r.tag, model) !== undefined);
  if (own.length) return own;
  return releases.filter((r) => /^v?\d+(\.\d+)*([-+].*)?$/.test(r.tag));
}

/** Compares version strings numerically part by part (1.10.0 > 1.9.2); pre-releases sort lower. */
export function compareVersions(a: string, b: string): number {
  const parse = (v: string) => {
    const [core, pre] = v.replace(/^v/, '').split(/-(.*)/s, 2) as [string, string | undefined];
    return {
      nums: core
        .split('+')[0]!
        .split('.')
        .map((x) => Number.parseInt(x, 10) || 0),
      pre,
    };
  };
  const x = parse(a);
  const y = parse(b);
  for (let i = 0; i < Math.max(x.nums.length, y.nums.length); i++) {
    const d = (x.nums[i] ?? 0) - (y.nums[i] ?? 0);
    if (d) return d;
  }
  if (x.pre && !y.pre) return -1;
  if (!x.pre && y.pre) return 1;
  return (x.pre ?? '').localeCompare(y.pre ?? '');
}
