// Workflow commands: the `::name key=value::message` lines a step prints (masks, groups,
// annotations, the deprecated set-output/save-state, stop-commands), read line by line.
import { parseCommand, type Masker } from './commands.js';
import type { Annotation } from './context.js';

interface WorkflowCommandSink {
  /** A line for the step's log. */
  log(line: string): void;
  masker: Masker;
  verbose: boolean;
  annotate(a: Omit<Annotation, 'job'>): void;
}

/** Reads one process's output; what the deprecated commands set stays in `outputs` and `state`. */
export class WorkflowCommandReader {
  readonly outputs: Record<string, string> = {};
  readonly state: Record<string, string> = {};
  private stopToken: string | undefined;

  constructor(private readonly sink: WorkflowCommandSink) {}

  read(line: string): void {
    if (this.stopToken !== undefined) {
      if (line.trim() === `::${this.stopToken}::`) this.stopToken = undefined;
      else this.sink.log(line);
      return;
    }
    const cmd = parseCommand(line);
    if (!cmd) {
      this.sink.log(line);
      return;
    }
    switch (cmd.name) {
      case 'add-mask':
        this.sink.masker.add(cmd.message);
        return;
      case 'group':
        this.sink.log(`▸ ${cmd.message}`);
        return;
      case 'endgroup':
      case 'echo':
        return;
      case 'debug':
        if (this.sink.verbose) this.sink.log(`debug: ${cmd.message}`);
        return;
      case 'error':
      case 'warning':
      case 'notice': {
        const p = cmd.properties;
        const at = p['file'] ? `${p['file']}${p['line'] ? `:${p['line']}` : ''}${p['col'] ? `:${p['col']}` : ''}: ` : '';
        this.sink.log(`${cmd.name}: ${at}${cmd.message}`);
        this.sink.annotate({
          level: cmd.name,
          message: this.sink.masker.mask(cmd.message),
          file: p['file'],
          line: p['line'],
          col: p['col'],
        });
        return;
      }
      case 'set-output':
        if (cmd.properties['name']) this.outputs[cmd.properties['name']] = cmd.message;
        return;
      case 'save-state':
        if (cmd.properties['name']) this.state[cmd.properties['name']] = cmd.message;
        return;
      case 'stop-commands':
        this.stopToken = cmd.message;
        return;
      case 'set-env':
      case 'add-path':
        this.sink.log(`error: the ${cmd.name} command is disabled; use the GITHUB_ENV / GITHUB_PATH files`);
        return;
      default:
        this.sink.log(line);
    }
  }
}
