/** Whether /usr/bin/python3 has torch and numpy (Debian: python3-torch), for tests that need them. */
import { execFileSync } from 'node:child_process';

export function torchAvailable(): boolean {
  try {
    // Find the modules without importing them: importing torch can take a minute on a busy machine,
    // and a timeout here would skip the PyTorch tests quietly.
    const find = 'import importlib.util, sys; sys.exit(0 if all(importlib.util.find_spec(m) for m in ("torch", "numpy")) else 1)';
    execFileSync('/usr/bin/python3', ['-c', find], { stdio: 'ignore', timeout: 300_000 });
    return true;
  } catch {
    return false;
  }
}
