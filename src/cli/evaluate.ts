/** `cdl evaluate` and `cdl gate`: thin handlers over src/evaluate. */
import { loadConfig } from '../config/index.js';
import { describeSignificance, fmtDelta, fmtValue } from '../evaluate/format.js';
import { forceBless } from '../evaluate/force-bless.js';
import { compareEvaluations } from '../evaluate/gate.js';
import { METRIC_INFO } from '../evaluate/metrics.js';
import { EVALUATION_FILE, type MetricComparison } from '../model-dir/records.js';
import { changesOf, evaluateWithBaseline, evaluationRecord, runGate } from '../evaluate/pipeline.js';
import { recordGate } from '../runs/record.js';
import { addToModelDir } from '../model-dir/index.js';
import { selectForge } from '../forge/index.js';
import { UsageError } from '../util/errors.js';
import { parse } from './args.js';
import { COMMANDS } from './commands.js';
import path from 'node:path';
import { table } from '../util/table.js';

const log = (line: string) => process.stderr.write(line + '\n');

function metricTable(rows: MetricComparison[], withBaseline: boolean): string {
  const lines = rows.map((r) => {
    const cells = [METRIC_INFO[r.metric]?.label ?? r.metric, fmtValue(r.candidate, r.metric)];
    if (withBaseline)
      cells.push(fmtValue(r.baseline, r.metric), fmtDelta(r.delta, r.metric), describeSignificance(r.significance, r.metric));
    return cells;
  });
  const head = withBaseline ? ['metric', 'candidate', 'baseline', 'delta', 'significance'] : ['metric', 'value'];
  return table([head, ...lines]);
}

export async function evaluateCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, COMMANDS.evaluate, 'evaluate');
  if (!values.model) throw new UsageError('evaluate: --model DIR is required (a model directory holding model.onnx)');
  const loaded = await loadConfig(values.config as string, values.set as string[]);
  const forge = await selectForge({ log });
  const pair = await evaluateWithBaseline({
    loaded,
    candidate: values.model as string,
    baseline: (values.baseline as string | undefined) ?? 'none',
    forge,
    log,
  });
  if (pair.baselineNote && values.baseline) log(`baseline: ${pair.baselineNote}`);
  const record = evaluationRecord(pair, changesOf(pair));
  const file = path.join(pair.candidate.modelDir.dir, EVALUATION_FILE);
  // Written through the model directory, so its SHA256SUMS keeps covering every file.
  await addToModelDir(pair.candidate.modelDir, { [EVALUATION_FILE]: JSON.stringify(record, null, 2) + '\n' });
  if (values.json) process.stdout.write(JSON.stringify(record, null, 2) + '\n');
  else {
    const rows = compareEvaluations(pair.candidate, pair.baseline, pair.gate);
    process.stdout.write(metricTable(rows, Boolean(pair.baseline)) + '\n');
    log(`written to ${file}`);
  }
  return 0;
}

export async function gateCommand(argv: string[]): Promise<number> {
  const { values } = parse(argv, COMMANDS.gate, 'gate');
  if (!values.model) throw new UsageError('gate: --model DIR is required (the candidate model directory)');
  const forced = forceBless(values['force-bless'] as string | undefined);
  const loaded = await loadConfig(values.config as string, values.set as string[]);
  const forge = await selectForge({ log });
  const result = await runGate({
    loaded,
    candidate: values.model as string,
    baseline: values.baseline as string | undefined,
    forge,
    log,
    comment: !values['no-comment'],
    reportDir: values['report-dir'] as string | undefined,
    forceBless: forced,
  });
  await recordGate(result, loaded, { log });
  const b = result.blessing;
  if (values.json) process.stdout.write(JSON.stringify(b, null, 2) + '\n');
  else {
    process.stdout.write(metricTable(b.comparison, Boolean(result.baseline)) + '\n\n');
    for (const v of b.verdicts)
      process.stdout.write(`${v.verdict === 'pass' ? 'pass' : 'FAIL'}  ${v.metric}: ${v.reasons.join('; ')}\n`);
    process.stdout.write(`${b.decision}: ${b.reason}\n`);
    log(`decision written to ${result.blessingPath}; report: ${path.join(result.reportDir, 'report.html')}`);
  }
  const failOnReject = result.gate.fail_on_reject && !values['no-fail'];
  return b.decision === 'rejected' && failOnReject ? 1 : 0;
}
