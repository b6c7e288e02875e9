/** What the event that started the workflow run names. */
import { existsSync, readFileSync } from 'node:fs';

/** The tag of a `release: published` event, else of a tag push. */
export function eventTag(): string | undefined {
  const file = process.env.GITHUB_EVENT_PATH;
  if (file && existsSync(file)) {
    try {
      const tag = (JSON.parse(readFileSync(file, 'utf8')) as { release?: { tag_name?: string } }).release?.tag_name;
      if (tag) return tag;
    } catch {
      // Not JSON: fall through to the ref.
    }
  }
  if (process.env.GITHUB_REF_TYPE === 'tag' || process.env.GITHUB_REF?.startsWith('refs/tags/'))
    return process.env.GITHUB_REF_NAME || process.env.GITHUB_REF?.slice('refs/tags/'.length);
  return undefined;
}
