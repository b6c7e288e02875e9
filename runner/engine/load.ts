// Loads @actions/workflow-parser and @actions/expressions. The parser imports its JSON schema
// without an import attribute, which plain Node refuses; a module hook serves that JSON file as
// an ES module instead. Under tsx or vitest the import works as is, and the hook changes nothing.
import { register } from 'node:module';

type WorkflowParser = typeof import('@actions/workflow-parser');

const HOOK = `
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
export async function load(url, context, nextLoad) {
  if (url.endsWith('.json') && url.includes('/@actions/workflow-parser/') && context.importAttributes?.type !== 'json') {
    const text = readFileSync(fileURLToPath(url), 'utf8');
    return { format: 'module', source: 'export default ' + text + ';', shortCircuit: true };
  }
  return nextLoad(url, context);
}
`;

let parser: Promise<WorkflowParser> | undefined;

export function loadWorkflowParser(): Promise<WorkflowParser> {
  parser ??= (async () => {
    try {
      register(`data:text/javascript,${encodeURIComponent(HOOK)}`);
    } catch {
      // no module hooks here (an embedding that forbids them); the import below may still work
    }
    return import('@actions/workflow-parser');
  })();
  return parser;
}
