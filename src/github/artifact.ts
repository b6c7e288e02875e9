/** Model directories as workflow artifacts, through the unmodified @actions/artifact client. */
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { DefaultArtifactClient } from '@actions/artifact';

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

export async function uploadModelDir(dir: string, name: string, retentionDays?: number): Promise<{ id?: number; size?: number }> {
  const root = path.resolve(dir);
  const files = await filesUnder(root);
  const client = new DefaultArtifactClient();
  const res = await client.uploadArtifact(name, files, root, retentionDays ? { retentionDays } : undefined);
  return { id: res.id, size: res.size };
}

export async function downloadModelDir(
  name: string,
  dir: string,
  opts: { runId?: number; repository?: string; token?: string } = {},
): Promise<string> {
  const client = new DefaultArtifactClient();
  const findBy =
    opts.runId && opts.repository && opts.token
      ? {
          workflowRunId: opts.runId,
          repositoryOwner: opts.repository.split('/')[0]!,
          repositoryName: opts.repository.split('/')[1]!,
          token: opts.token,
        }
      : undefined;
  const { artifact } = await client.getArtifact(name, findBy ? { findBy } : undefined);
  const res = await client.downloadArtifact(artifact.id, { path: dir, ...(findBy ? { findBy } : {}) });
  return res.downloadPath ?? dir;
}
