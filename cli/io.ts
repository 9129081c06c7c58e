// Node-only file IO and the CLI's error kinds: user errors (exit 1), usage errors (exit 2), atomic writes.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** A problem with the user's input that is not a source diagnostic (missing file, bad .npy). Exit 1. */
export class UserError extends Error {
  constructor(message: string, readonly hint?: string) {
    super(message);
    this.name = 'UserError';
  }
}

/** A malformed command line. Exit 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/** Largest file the CLI reads (sources, IR, tensors). */
export const MAX_INPUT_BYTES = 512 * 1024 * 1024;

export function readBytes(path: string): Uint8Array {
  let size: number;
  try {
    const st = statSync(path);
    if (!st.isFile()) throw new UserError(`cannot read '${path}': not a file`);
    size = st.size;
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`cannot read '${path}': ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`);
  }
  if (size > MAX_INPUT_BYTES) throw new UserError(`cannot read '${path}': ${size} bytes is over the ${MAX_INPUT_BYTES}-byte limit`);
  return new Uint8Array(readFileSync(path));
}

export function readText(path: string): string {
  return new TextDecoder('utf-8').decode(readBytes(path));
}

/**
 * Writes a file atomically: a temporary file in the same directory, fsync, then rename over
 * the target, so a crash leaves either the old file or the new one, never half of one.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      let off = 0;
      while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    try {
      unlinkSync(tmp);
    } catch {
      // The temporary file may not exist; nothing to clean up then.
    }
    throw new UserError(`cannot write '${path}': ${(e as Error).message}`);
  }
}

/** Parses repeated `name=path` options. */
export function parseAssignments(values: readonly string[], option: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of values) {
    const eq = v.indexOf('=');
    if (eq <= 0 || eq === v.length - 1) throw new UsageError(`${option} expects name=file.npy, got '${v}'`);
    const name = v.slice(0, eq);
    if (out.has(name)) throw new UsageError(`${option} names '${name}' twice`);
    out.set(name, v.slice(eq + 1));
  }
  return out;
}

/** A positive integer option value. */
export function positiveInt(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < 1) throw new UsageError(`${option} expects a positive integer, got '${value}'`);
  return n;
}

/** A float type option value (`--precision`, `--storage`): f32 or f16. */
export function floatType(value: string, option: string): 'f32' | 'f16' {
  if (value !== 'f32' && value !== 'f16') throw new UsageError(`${option} must be f32 or f16, got '${value}'`);
  return value;
}

/** A non-negative integer option value. */
export function nonNegativeInt(value: string, option: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`${option} expects a non-negative integer, got '${value}'`);
  return n;
}
