/** Typed action inputs with errors that name the input and the expected form. */
import * as core from '@actions/core';
import { UsageError } from '../util/errors.js';

export function getInput(name: string, fallback = ''): string {
  return core.getInput(name).trim() || fallback;
}

export function getInputAsBool(name: string, fallback: boolean): boolean {
  const v = core.getInput(name).trim().toLowerCase();
  if (!v) return fallback;
  if (['true', 'yes', '1', 'on'].includes(v)) return true;
  if (['false', 'no', '0', 'off'].includes(v)) return false;
  throw new UsageError(`Invalid input '${name}': "${v}". Expected true or false.`);
}

export function getInputAsInt(name: string, fallback: number): number {
  const v = core.getInput(name).trim();
  if (!v) return fallback;
  if (!/^-?\d+$/.test(v)) throw new UsageError(`Invalid input '${name}': "${v}". Expected an integer.`);
  return Number(v);
}

/** One value per line (and/or comma-separated), blank lines and # comments ignored. */
export function getInputAsList(name: string): string[] {
  return core
    .getInput(name)
    .split(/\r?\n/)
    .map((l) => l.replace(/(^|\s)#.*$/, '').trim())
    .filter(Boolean);
}
