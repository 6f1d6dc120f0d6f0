// Printing: human tables (cli-table3) or --json. bigint timestamps print as decimal strings.
import { createRequire } from 'node:module'
import type TableType from 'cli-table3'

// loaded at the first table: `record` prints none and starts sooner without it
let Table: typeof TableType | undefined
const table = (): typeof TableType => (Table ??= createRequire(import.meta.url)('cli-table3') as typeof TableType)

const bigints = (_k: string, x: unknown): unknown => (typeof x === 'bigint' ? x.toString() : x)
export const toJson = (v: unknown): string => JSON.stringify(v, bigints, 2)
/** On one line, as a table cell shows it (the strings in it as they are). */
export const toJsonLine = (v: unknown): string => JSON.stringify(v, bigints)

export const printJson = (v: unknown): void => {
  process.stdout.write(`${toJson(v)}\n`)
}

export const printTable = (head: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>>): void => {
  const t = new (table())({ head: [...head], style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } })
  for (const r of rows) t.push(r.map((c) => (c === null ? '-' : String(c))))
  process.stdout.write(`${t.toString()}\n`)
}

/** ns since the epoch -> ISO-8601 with nanoseconds. */
export const isoNanos = (ts: bigint): string => {
  const ms = Number(ts / 1_000_000n)
  const base = new Date(ms).toISOString().slice(0, 19)
  return `${base}.${(ts % 1_000_000_000n).toString().padStart(9, '0')}Z`
}
