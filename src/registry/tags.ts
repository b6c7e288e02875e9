/**
 * Release tags of model versions: a convention with `{model}` and `{version}` placeholders
 * (default `{model}@v{version}`), versions in semantic-versioning form.
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

/** The version a tag names under the convention, or undefined when it is not a tag of this model. */
export function parseTag(template: string, model: string, tag: string): string | undefined {
  checkTemplate(template);
  const esc = (s: string) => s.replace(/[.*+?^$()|[\]\\{}]/g, '\\$&');
  const re = new RegExp(
    `^${template
      .split('{version}')
      .map((part) => part.split('{model}').map(esc).join(esc(model)))
      .join('(.+)')}$`,
  );
  const m = re.exec(tag);
  return m && isSemver(m[1]!) ? m[1] : undefined;
}
