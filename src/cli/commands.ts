/** The command table: names, help texts and lazy loaders. */
import { CDL_VERSION } from '../version.js';

export type CommandFn = (argv: string[]) => Promise<number | void>;

export interface CommandEntry {
  summary: string;
  help: string;
  load: () => Promise<CommandFn>;
}

export const COMMANDS: Record<string, CommandEntry> = {
  train: {
    summary: 'train the model of a cdl.yaml and write a model directory',
    help: `Usage: cdl train [--config FILE] [--out DIR] [--set key=value ...] [--resume] [--quiet]

Train the model that cdl.yaml describes (the built-in TF.js trainer, or train.command) and write a
model directory: model.onnx, tfjs/, metrics.json, lineage.json, model-card.md.

Options:
  -c, --config FILE   configuration file (default: cdl.yaml)
  -o, --out DIR       model directory to write (default: .cdl/models/<model name>)
  -s, --set KEY=VAL   override a configuration value, e.g. --set train.epochs=3 (repeatable)
      --resume        continue from the checkpoint of a run that was stopped
  -q, --quiet         no progress bar
      --json          print the metrics as JSON on stdout when done

Exit codes: 0 success, 1 failure, 2 usage or configuration error.`,
    load: async () => (await import('./train.js')).trainCommand,
  },
  validate: {
    summary: 'check a cdl.yaml and print every problem',
    help: `Usage: cdl validate [--config FILE] [--set key=value ...]

Validate cdl.yaml against its schema and report every problem with its path and line.`,
    load: async () => (await import('./validate.js')).validateCommand,
  },
  schema: {
    summary: 'print the JSON Schema of cdl.yaml (for editors)',
    help: `Usage: cdl schema [--out FILE]

Print the JSON Schema of cdl.yaml, generated from the same schema the validation uses.`,
    load: async () => (await import('./validate.js')).schemaCommand,
  },
};

export function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((k) => k.length));
  return `cdl ${CDL_VERSION} — continuous deep learning: train, evaluate, compress and deploy models from CI

Usage: cdl <command> [options]

Commands:
${Object.entries(COMMANDS)
  .map(([k, v]) => `  ${k.padEnd(width)}  ${v.summary}`)
  .join('\n')}

Run "cdl <command> --help" for a command's options.`;
}
