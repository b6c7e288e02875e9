/** `cdl data validate|version|status|push|pull`: thin handlers over src/data. */
import path from 'node:path';
import { loadConfig } from '../config/index.js';
import { buildManifest, dataStatus, manifestText, pullData, pushData, readManifest, writeManifest } from '../data/manifest.js';
import { manifestPath, statusText } from '../data/manifest-status.js';
import { dataRoot } from '../data/raw.js';
import { validateData, validationText } from '../data/validate.js';
import { UsageError } from '../util/errors.js';
import { parse } from './args.js';
import { COMMANDS } from './commands.js';

const SUBCOMMANDS = ['validate', 'version', 'status', 'push', 'pull'] as const;
const log = (line: string) => process.stderr.write(line + '\n');

export async function dataCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
    throw new UsageError(
      `data: expected a subcommand, one of ${SUBCOMMANDS.join(', ')}${sub ? `, got "${sub}"` : ''} (cdl data --help)`,
    );
  }
  const { values } = parse(rest, COMMANDS.data, `data ${sub}`);
  const loaded = await loadConfig(values.config as string, values.set as string[]);
  const cfg = loaded.config;
  const opts = { baseDir: loaded.dir, task: cfg.model.task };
  const manifestFile = manifestPath(loaded, values.manifest as string | undefined);
  const out = (s: string) => process.stdout.write(s + '\n');

  switch (sub) {
    case 'validate': {
      const v = await validateData(cfg.data, opts, cfg.model);
      out(values.json ? JSON.stringify(v, null, 2) : validationText(v));
      return v.failed ? 1 : 0;
    }
    case 'version': {
      const m = await buildManifest(cfg.data, opts);
      if (values.check) {
        const current = await readManifest(manifestFile);
        const same = manifestText(current) === manifestText(m);
        out(
          same
            ? `${manifestFile} is up to date (${m.version})`
            : `${manifestFile} is out of date: ${current.version} recorded, ${m.version} now`,
        );
        return same ? 0 : 1;
      }
      const changed = await writeManifest(manifestFile, m);
      if (values.json) out(manifestText(m).trimEnd());
      else out(`${m.version}  ${m.files.length} files, ${m.size} bytes`);
      log(changed ? `written to ${manifestFile}` : `${manifestFile} unchanged`);
      return 0;
    }
    case 'status': {
      const m = await readManifest(manifestFile);
      const s = await dataStatus(cfg.data, m, opts);
      out(values.json ? JSON.stringify(s, null, 2) : statusText(s, path.relative(process.cwd(), manifestFile) || manifestFile));
      return s.clean ? 0 : 1;
    }
    case 'push':
    case 'pull': {
      const store = (values.store as string | undefined) ?? process.env.CDL_DATA_STORE;
      if (!store) throw new UsageError(`data ${sub}: --store DIR (or $CDL_DATA_STORE) is required: the content-addressed store`);
      const m = await readManifest(manifestFile);
      const root = dataRoot(cfg.data, opts);
      if (sub === 'push') {
        const r = await pushData(root, m, path.resolve(store));
        out(`${r.copied} files copied to ${store}, ${r.present} already there (${m.version})`);
      } else {
        const written = await pullData(root, m, path.resolve(store));
        out(`${written.length} files restored from ${store} (${m.version})`);
      }
      return 0;
    }
  }
  return 0;
}
