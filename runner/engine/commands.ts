// Workflow commands (::name key=value::message), file commands (GITHUB_OUTPUT and friends) and masking.

/** Replaces every secret value with *** in a line. Longer values are masked first. */
export class Masker {
  private values: string[] = [];

  add(value: string | undefined): void {
    if (!value) return;
    for (const part of [value, ...value.split(/\r?\n/)]) {
      const v = part.trim() === '' ? '' : part;
      if (v.length < 1 || this.values.includes(v)) continue;
      this.values.push(v);
    }
    this.values.sort((a, b) => b.length - a.length);
  }

  mask(text: string): string {
    let out = text;
    for (const v of this.values) if (out.includes(v)) out = out.split(v).join('***');
    return out;
  }

  /** A child masker that sees these values and its own (one per job). */
  child(): Masker {
    const m = new Masker();
    m.values = [...this.values];
    return m;
  }
}

interface WorkflowCommand {
  name: string;
  properties: Record<string, string>;
  message: string;
}

function unescapeData(s: string): string {
  return s.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');
}

function unescapeProperty(s: string): string {
  return s.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%3A/gi, ':').replace(/%2C/gi, ',').replace(/%25/g, '%');
}

/** Parses `::name k=v,k2=v2::message`; undefined for an ordinary line. */
export function parseCommand(line: string): WorkflowCommand | undefined {
  const m = /^\s*::([A-Za-z][A-Za-z0-9-]*)(?:\s+([^:]*))?::(.*)$/.exec(line);
  if (!m) return undefined;
  const properties: Record<string, string> = {};
  for (const pair of (m[2] ?? '').split(',')) {
    const eq = pair.indexOf('=');
    if (eq > 0) properties[pair.slice(0, eq).trim()] = unescapeProperty(pair.slice(eq + 1));
  }
  return { name: (m[1] as string).toLowerCase(), properties, message: unescapeData(m[3] ?? '') };
}

/** Parses a GITHUB_OUTPUT / GITHUB_ENV / GITHUB_STATE file: `name=value` and `name<<DELIM` blocks. */
export function parseKeyValueFile(text: string, file: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') continue;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    const eq = line.indexOf('=');
    if (heredoc && (eq < 0 || eq > line.indexOf('<<'))) {
      const [, name, delimiter] = heredoc as unknown as [string, string, string];
      const value: string[] = [];
      let closed = false;
      for (i++; i < lines.length; i++) {
        if (lines[i] === delimiter) {
          closed = true;
          break;
        }
        value.push(lines[i] as string);
      }
      if (!closed) throw new Error(`${file}: matching delimiter not found for ${JSON.stringify(delimiter)}`);
      out[name] = value.join('\n');
    } else if (eq > 0) {
      out[line.slice(0, eq)] = line.slice(eq + 1);
    } else {
      throw new Error(`${file}: invalid line ${JSON.stringify(line)} (expected name=value or name<<DELIMITER)`);
    }
  }
  return out;
}
