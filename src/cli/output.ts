// Printing: human tables (cli-table3) or --json. bigint timestamps print as decimal strings.
import Table from 'cli-table3'

export const toJson = (v: unknown): string => JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? x.toString() : x), 2)

export const printJson = (v: unknown): void => {
  process.stdout.write(`${toJson(v)}\n`)
}

export const printTable = (head: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number | null>>): void => {
  const t = new Table({ head: [...head], style: { head: [], border: [] }, chars: { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' } })
  for (const r of rows) t.push(r.map((c) => (c === null ? '-' : String(c))))
  process.stdout.write(`${t.toString()}\n`)
}

/** ns since the epoch -> ISO-8601 with nanoseconds. */
export const isoNanos = (ts: bigint): string => {
  const ms = Number(ts / 1_000_000n)
  const base = new Date(ms).toISOString().slice(0, 19)
  return `${base}.${(ts % 1_000_000_000n).toString().padStart(9, '0')}Z`
}
