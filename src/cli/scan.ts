// `eyrie scan [--at T] [PATH...]` and `eyrie scan --history PATH`: judge content as the guest saw it,
// from the journal, with clamd. Exit codes: 0 all clean, 3 something infected, 1 an error (a scan that
// failed, a PATH that did not exist at T) and nothing infected, 2 usage.
import * as E from 'fp-ts/lib/Either.js'
import type { Journal } from '../journal/journal.js'
import { connectClamd, startClamd, type Clamd } from '../scanner/clamd.js'
import { parseEndpoint } from '../scanner/endpoint.js'
import { ScannerError } from '../scanner/errors.js'
import { scanAt, scanHistory, tally, type ContentScan, type Version } from '../scanner/forensic.js'
import { Scanner } from '../scanner/scanner.js'
import { defaultVerdictCache, VerdictStore } from '../scanner/verdictStore.js'
import type { ScanResult } from '../scanner/verdict.js'
import { openJournal, pickGuest, seqOf, type GlobalOpts } from './context.js'
import { CliError, UsageError } from './errors.js'
import { isoNanos, printJson, printTable } from './output.js'

export const EXIT_INFECTED = 3

export interface ClamdOpts { signatures?: string; clamd?: string; timeout?: string; connections?: string; verdictCache?: string }
export interface ScanOpts extends GlobalOpts, ClamdOpts { at?: string; history?: string }

const positive = (name: string, s: string | undefined, dflt: number): number => {
  if (s === undefined) return dflt
  if (!/^\d+$/.test(s) || Number(s) < 1) throw new UsageError(`${name} must be a positive integer, got ${JSON.stringify(s)}`)
  return Number(s)
}

/** A private clamd on --signatures, or the one at --clamd; a scanner on it, with the verdict store
 *  of --verdict-cache (default defaultVerdictCache(); `none`: none). retryAfterMs: the breaker (0:
 *  every request tries clamd, as a forensic scan wants). `stop` stops a private clamd and closes the
 *  store. */
export const openScanner = async (o: ClamdOpts, retryAfterMs = 0): Promise<{ scanner: Scanner; clamd: Clamd; store: VerdictStore | undefined; stop: () => Promise<void> }> => {
  if ((o.signatures === undefined) === (o.clamd === undefined)) throw new UsageError('give --signatures DIR (eyrie starts a private clamd) or --clamd SOCKET|HOST:PORT (an existing one)')
  const timeoutMs = positive('--timeout', o.timeout, 30_000)
  const connections = positive('--connections', o.connections, 4)
  const cacheDir = o.verdictCache ?? defaultVerdictCache()
  if (cacheDir === '') throw new UsageError('--verdict-cache needs a directory, or none')
  let store: VerdictStore | undefined
  let clamd: Clamd | undefined
  try {
    store = cacheDir === 'none' ? undefined : VerdictStore.open(cacheDir)
    if (o.signatures !== undefined) clamd = await startClamd({ signatures: o.signatures, threads: Math.max(4, connections) })
    else {
      const ep = parseEndpoint(o.clamd ?? '')
      if (E.isLeft(ep)) throw new UsageError(ep.left)
      clamd = await connectClamd(ep.right, Math.min(timeoutMs, 10_000))
    }
    const scanner = await Scanner.open(clamd, { timeoutMs, connections, retryAfterMs, ...(store === undefined ? {} : { store }) })
    const running = clamd
    const stop = async () => {
      await running.stop()
      await store?.close()
    }
    return { scanner, clamd, store, stop }
  } catch (err) {
    await clamd?.stop()
    await store?.close()
    if (err instanceof ScannerError) throw new CliError(err.message)
    throw err
  }
}

const verdictFields = (r: ScanResult | null) => ({
  sha256: r?.sha256 ?? null,
  verdict: r?.verdict.kind ?? null,
  signature: r?.verdict.kind === 'infected' ? r.verdict.signature : null,
  reason: r?.verdict.kind === 'error' ? r.verdict.reason : null,
})

const shown = (r: ScanResult | null, skipped: string | null): [string, string] => {
  if (r === null) return ['skipped', skipped ?? '']
  const v = r.verdict
  return v.kind === 'clean' ? ['clean', ''] : v.kind === 'infected' ? ['INFECTED', v.signature] : ['error', v.reason]
}

const summary = (t: ReturnType<typeof tally>): string =>
  `${t.clean + t.infected + t.error} scanned: ${t.clean} clean, ${t.infected} infected, ${t.error} error(s)${t.skipped > 0 ? `, ${t.skipped} skipped` : ''}`

const setExit = (t: ReturnType<typeof tally>, failed: boolean): void => {
  process.exitCode = t.infected > 0 ? EXIT_INFECTED : t.error > 0 || failed ? 1 : 0
}

export const runScan = async (paths: readonly string[], o: ScanOpts): Promise<void> => {
  if (o.history !== undefined && paths.length > 0) throw new UsageError('--history PATH scans one file: give no other PATH')
  for (const p of [...paths, ...(o.history === undefined ? [] : [o.history])]) {
    if (!p.startsWith('/')) throw new UsageError(`PATH must be absolute (as the guest named it), got ${JSON.stringify(p)}`)
  }
  const j = await openJournal(o)
  try {
    const guest = await pickGuest(j, o)
    const seq = await seqOf(j, guest, o.at ?? 'end')
    const { scanner, stop } = await openScanner(o)
    try {
      if (o.history !== undefined) await history(scanner, j, guest, o.history, seq, o)
      else await current(scanner, j, guest, seq, paths, o)
    } finally {
      await stop()
    }
  } finally {
    await j.close()
  }
}

const current = async (scanner: Scanner, j: Journal, guest: string, seq: number, paths: readonly string[], o: ScanOpts): Promise<void> => {
  const explicit = paths.length > 0
  const rows: ContentScan[] = await scanAt(scanner, j, guest, seq, explicit ? paths : null)
  const t = tally(rows.map((r) => r.result?.verdict ?? null))
  // a PATH the user named that did not exist at T is an error, a file whose bytes were never seen is not
  const missing = explicit ? rows.filter((r) => r.result === null) : []
  if (o.json) {
    printJson({
      guest, seq, clamd: scanner.dbVersion,
      results: rows.map((r) => ({ path: r.path, size: r.size, unknownBytes: r.unknownBytes, ...verdictFields(r.result), skipped: r.skipped })),
      summary: t,
    })
  } else {
    printTable(['path', 'size', 'unknown', 'verdict', 'signature / reason'], rows.map((r) => [r.path, r.size ?? '?', r.unknownBytes || '', ...shown(r.result, r.skipped)]))
    process.stderr.write(`eyrie: #${seq} of ${guest}: ${summary(t)}\n`)
  }
  for (const m of missing) process.stderr.write(`eyrie: ${m.skipped}\n`)
  setExit(t, missing.length > 0)
}

const history = async (scanner: Scanner, j: Journal, guest: string, path: string, upTo: number, o: ScanOpts): Promise<void> => {
  const h = await scanHistory(scanner, j, guest, path, upTo)
  const t = tally(h.versions.map((v) => v.result.verdict))
  const first = h.firstInfected
  const firstOut = (v: Version) => ({ seq: v.seq, ts: v.ts, signature: v.result.verdict.kind === 'infected' ? v.result.verdict.signature : null })
  if (o.json) {
    printJson({
      guest, path, upTo, clamd: scanner.dbVersion,
      versions: h.versions.map((v) => ({ seq: v.seq, ts: v.ts, size: v.size, unknownBytes: v.unknownBytes, ...verdictFields(v.result) })),
      firstInfected: first === null ? null : firstOut(first),
      summary: t,
    })
  } else {
    printTable(['seq', 'time', 'size', 'sha256', 'verdict', 'signature / reason'], h.versions.map((v) => [
      `#${v.seq}`, isoNanos(v.ts), v.size ?? '?', v.result.sha256.slice(0, 12), ...shown(v.result, null),
    ]))
    process.stderr.write(first === null
      ? `eyrie: ${path}: ${h.versions.length} version(s) up to #${upTo}, never infected\n`
      : `eyrie: ${path}: first infected at #${first.seq} (${isoNanos(first.ts)}): ${firstOut(first).signature}\n`)
  }
  if (h.versions.length === 0) process.stderr.write(`eyrie: ${path}: no content of it in the journal up to #${upTo}\n`)
  setExit(t, h.versions.length === 0)
}
