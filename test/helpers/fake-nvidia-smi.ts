/**
 * A stand-in `nvidia-smi` for tests: a small executable script that answers the queries cdl's
 * scripts and telemetry make (`--query-gpu=...`, `--format=csv,noheader[,nounits]`, `-i LIST`,
 * `-lms N`), from a table of GPUs given by the test. Without a query it prints the banner line
 * with the CUDA version, like the real tool.
 */
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface FakeGpu {
  name: string;
  /** MiB. */
  memory: number;
  ecc?: number;
  cc?: string;
  utilization?: number;
  memoryUsed?: number;
  /** W; null: the driver reports "[N/A]". */
  power?: number | null;
}

/** Write the stand-in into `dir` and return `dir` (put it first on PATH). */
export function writeFakeNvidiaSmi(dir: string, gpus: FakeGpu[], opts: { cuda?: string; failWith?: string } = {}): string {
  const table = gpus.map((g, i) => ({
    index: String(i),
    uuid: `GPU-0000000${i}-fake`,
    name: `NVIDIA ${g.name}`,
    'memory.total': String(g.memory),
    compute_cap: g.cc ?? '8.0',
    'ecc.errors.uncorrected.volatile.total': String(g.ecc ?? 0),
    pstate: 'P0',
    'utilization.gpu': String(g.utilization ?? 0),
    'memory.used': String(g.memoryUsed ?? 0),
    'power.draw': g.power === null ? '[N/A]' : String(g.power ?? 100),
  }));
  const script = `#!${process.execPath}
const table = ${JSON.stringify(table)};
const args = process.argv.slice(2);
${opts.failWith ? `console.error(${JSON.stringify(opts.failWith)}); process.exit(9);` : ''}
const get = (flag) => { const a = args.find((x) => x.startsWith(flag + '=')); if (a) return a.slice(flag.length + 1); const i = args.indexOf(flag); return i >= 0 ? args[i + 1] : undefined; };
const query = get('--query-gpu');
if (!query) { console.log('| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: ${opts.cuda ?? '12.4'}     |'); process.exit(0); }
const fields = query.split(',');
const units = (get('--format') ?? '').includes('nounits');
const ids = (get('-i') ?? get('--id'))?.split(',');
const rows = table.filter((r) => !ids || ids.includes(r.index));
if (ids && rows.length !== ids.length) { console.error('No devices were found'); process.exit(6); }
const unit = { 'memory.total': ' MiB', 'memory.used': ' MiB', 'utilization.gpu': ' %', 'power.draw': ' W' };
// One write per round, as the real tool's buffered output flushes a whole round at once.
const print = () => { process.stdout.write(rows.map((r) => fields.map((f) => (r[f] ?? '[N/A]') + (units || r[f] === '[N/A]' ? '' : (unit[f] ?? ''))).join(', ') + '\\n').join('')); };
const loop = get('-lms');
if (loop) { process.on('SIGTERM', () => process.exit(0)); print(); setInterval(print, Number(loop)); } else print();
`;
  const file = path.join(dir, 'nvidia-smi');
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  return dir;
}
