// `eyrie import strace|jsonl FILE` and `eyrie export jsonl`: events in and out of the journal.
import { createReadStream, createWriteStream } from 'node:fs'
import { basename } from 'node:path'
import { createInterface } from 'node:readline'
import * as E from 'fp-ts/lib/Either.js'
import { formatJsonLine, hasPayload, parseJsonLine, type Draft } from '../events/index.js'
import { Ingest } from '../engine/replay.js'
import { parseStrace } from '../import/strace/index.js'
import { openJournal, pickGuest, type GlobalOpts } from './context.js'
import { CliError } from './errors.js'

export interface ImportOpts extends GlobalOpts { skipBad?: boolean; cwd?: string; checkpointEvery?: string }

type Parsed = { line: number; drafts: Draft[] } | { line: number; error: string }

const linesOf = (file: string) => createInterface({ input: createReadStream(file), crlfDelay: Infinity })

async function* jsonlParser(lines: AsyncIterable<string>): AsyncGenerator<Parsed> {
  let n = 0
  for await (const text of lines) {
    n++
    if (text.trim() === '') continue
    const d = parseJsonLine(text)
    yield E.isLeft(d) ? { line: n, error: d.left } : { line: n, drafts: [d.right] }
  }
}

const parserFor = (format: string, file: string, o: ImportOpts): (() => AsyncGenerator<Parsed>) => {
  if (format === 'strace') return () => parseStrace(linesOf(file), { cwd: o.cwd ?? process.cwd() })
  if (format === 'jsonl') return () => jsonlParser(linesOf(file))
  throw new CliError(`unknown import format ${JSON.stringify(format)}: use strace or jsonl`)
}

/** Strict (default): a first pass finds every bad line and commits nothing if there is one.
 *  --skip-bad: imports the good lines and reports how many were bad. */
export const runImport = async (format: string, file: string, o: ImportOpts): Promise<void> => {
  const parse = parserFor(format, file, o)
  let bad = 0
  const report = (p: { line: number; error: string }) => {
    bad++
    if (bad <= 20) process.stderr.write(`${file}:${p.line}: ${p.error}\n`)
  }
  if (!o.skipBad) {
    try {
      for await (const p of parse()) if ('error' in p) report(p)
    } catch (err) {
      throw new CliError(`${file}: ${(err as Error).message}`)
    }
    if (bad > 0) throw new CliError(`${file}: ${bad} bad line(s); nothing imported (--skip-bad imports the rest)`)
  }
  const guest = o.guest ?? `${basename(file).replace(/[^A-Za-z0-9._-]/g, '_')}-${new Date().toISOString().replace(/[-:.]/g, '').slice(0, 15)}`
  const j = await openJournal(o, false)
  try {
    if (o.guest !== undefined && (await j.lastSeq(guest)) > 0) throw new CliError(`guest ${guest} already has events; import into a new guest`)
    const ingest = await Ingest.open(j, guest, o.checkpointEvery === undefined ? undefined : Number(o.checkpointEvery))
    let batch: Draft[] = []
    let count = 0
    for await (const p of parse()) {
      if ('error' in p) {
        if (!o.skipBad) throw new CliError(`${file}:${p.line}: ${p.error} (the file changed during import?)`)
        report(p)
        continue
      }
      batch.push(...p.drafts)
      if (batch.length >= 4096) {
        count += batch.length
        await ingest.push(batch)
        batch = []
      }
    }
    count += batch.length
    await ingest.push(batch)
    await ingest.finish()
    await j.setMeta(guest, { source: `${format}:${file}` })
    process.stderr.write(`eyrie: imported ${count} event(s) into guest ${guest}${o.skipBad ? `, skipped ${bad} bad line(s)` : ''}\n`)
  } finally {
    await j.close()
  }
}

export const runExport = async (format: string, o: GlobalOpts & { out?: string }): Promise<void> => {
  if (format !== 'jsonl') throw new CliError(`unknown export format ${JSON.stringify(format)}: use jsonl`)
  const j = await openJournal(o)
  try {
    const guest = await pickGuest(j, o)
    const out = o.out === undefined ? process.stdout : createWriteStream(o.out, { mode: 0o600 })
    const write = (s: string) => new Promise<void>((resolve, reject) => { out.write(s, (err) => (err ? reject(err) : resolve())) })
    for await (const batch of j.read(guest, 1, await j.lastSeq(guest))) {
      for (const e of batch) await write(`${formatJsonLine(e, hasPayload(e) && e.known > 0 ? await j.payload(guest, e.seq) : hasPayload(e) ? new Uint8Array(0) : undefined)}\n`)
    }
    if (out !== process.stdout) await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())))
  } finally {
    await j.close()
  }
}
