// Test support: write strace -xx -y text the way strace does, and parse it.
import assert from 'node:assert/strict'
import type { Draft } from '../../src/events/index.js'
import { parseStrace, type ParsedLine } from '../../src/import/strace/index.js'

/** Bytes as strace -xx escapes them (no quotes). */
export const hexOf = (b: Uint8Array | string): string => {
  const bytes = typeof b === 'string' ? Buffer.from(b, 'utf8') : b
  let s = ''
  for (const x of bytes) s += `\\x${x.toString(16).padStart(2, '0')}`
  return s
}

/** Plain bytes (not a Buffer, so deep equality with parsed data holds). */
export const bytes = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'))

/** A C string argument: `"\x61\x62"`. */
export const str = (b: Uint8Array | string): string => `"${hexOf(b)}"`

/** An fd with its -y decoration: `3</w/a>`. */
export const fdp = (fd: number | 'AT_FDCWD', path: string): string => `${fd}<${hexOf(path)}>`

/** One log line of task `tid` at `sec.usec` seconds. */
export const at = (tid: number, text: string, sec = 1700000000, usec = 0): string =>
  `${tid}  ${sec}.${String(usec).padStart(6, '0')} ${text}`

export const T0 = 1700000000n * 1_000_000_000n

export const parseAll = async (lines: readonly string[], cwd = '/w'): Promise<ParsedLine[]> => {
  const out: ParsedLine[] = []
  for await (const p of parseStrace(lines, { cwd })) out.push(p)
  return out
}

/** All drafts of well-formed lines; fails on any error. */
export const draftsOf = async (lines: readonly string[], cwd = '/w'): Promise<Draft[]> => {
  const out: Draft[] = []
  for (const p of await parseAll(lines, cwd)) {
    if ('error' in p) assert.fail(`line ${p.line}: ${p.error}`)
    out.push(...p.drafts)
  }
  return out
}

/** The bodies only, for tests about what happened rather than who did it. */
export const bodiesOf = async (lines: readonly string[], cwd = '/w') => (await draftsOf(lines, cwd)).map((d) => d.body)

export const errorsOf = async (lines: readonly string[], cwd = '/w') =>
  (await parseAll(lines, cwd)).flatMap((p) => ('error' in p ? [{ line: p.line, error: p.error }] : []))
