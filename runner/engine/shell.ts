// The `shell:` of a run step: which program runs the script file, with which arguments.
import { existsSync } from 'node:fs';
import path from 'node:path';

function hasCommand(cmd: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((d) => d && existsSync(path.join(d, cmd)));
}

/** The command line for a `shell:` value; `{0}` is the script file. */
export function shellCommand(shell: string | undefined): { command: string; args: string[]; ext: string } {
  const s = (shell ?? '').trim();
  if (s === '') {
    return hasCommand('bash')
      ? { command: 'bash', args: ['-e', '{0}'], ext: '.sh' }
      : { command: 'sh', args: ['-e', '{0}'], ext: '.sh' };
  }
  switch (s) {
    case 'bash':
      return { command: 'bash', args: ['--noprofile', '--norc', '-eo', 'pipefail', '{0}'], ext: '.sh' };
    case 'sh':
      return { command: 'sh', args: ['-e', '{0}'], ext: '.sh' };
    case 'python':
      return { command: hasCommand('python') ? 'python' : 'python3', args: ['{0}'], ext: '.py' };
    case 'node':
      return { command: process.execPath, args: ['{0}'], ext: '.cjs' };
    case 'pwsh':
      return { command: 'pwsh', args: ['-command', ". '{0}'"], ext: '.ps1' };
  }
  const parts = s.split(/\s+/);
  const args = parts.slice(1);
  if (!args.some((a) => a.includes('{0}'))) args.push('{0}');
  return { command: parts[0] as string, args, ext: '' };
}
