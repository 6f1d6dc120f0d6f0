// Journal append throughput against its own floor, measured in one run on one disk:
//  (1) metadata events (fd.seek, 38-byte values) through Journal.append vs raw lmdb-js puts of ready-made
//      values of the same size under the same keys, same batching, same durability wait (commit + fsync);
//  (2) 1 MiB file.write payloads vs `dd bs=1M conv=fdatasync` to a file beside the journal. The journal
//      writes them to blob segments (pwritev + fdatasync before the LMDB commit, src/journal/blobs.ts);
//      raw lmdb-js puts of 1 MiB values (built as an LMDB value would be: crc + one copy) show what
//      keeping them in LMDB would reach; and the journal again with writeMap.
//  Both journal measures are repeated with the writeMap option (LMDB's MDB_WRITEMAP).
// Rounds alternate the measures so that drift (page cache, other load) hits all of them alike.
// Run: node --import tsx bench/journal.ts [--events 2000000] [--mib 512] [--rounds 3] [--no-sync] [--dir D]
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { crc32 } from 'node:zlib'
import { parseArgs } from 'node:util'
import { open, type RootDatabaseOptions } from 'lmdb'
import Table from 'cli-table3'
import { encodeBody, type Draft } from '../src/events/index.js'
import { openLmdbJournal } from '../src/journal/lmdb.js'

const { values: args } = parseArgs({
  options: {
    events: { type: 'string', default: '2000000' },
    batch: { type: 'string', default: '1000' },
    mib: { type: 'string', default: '512' },
    rounds: { type: 'string', default: '3' },
    depth: { type: 'string', default: '8' },
    'no-sync': { type: 'boolean', default: false },
    dir: { type: 'string', default: join(import.meta.dirname, 'work') },
  },
})
const EVENTS = Number(args.events)
const BATCH = Number(args.batch)
const MIB = Number(args.mib)
const ROUNDS = Number(args.rounds)
/** Batches in flight before the driver waits for the oldest to be durable: the same for both sides. */
const DEPTH = Number(args.depth)
const noSync = args['no-sync']
mkdirSync(args.dir, { recursive: true })
const GUEST = 'bench'

/** Issue `batches` batches through `write`, keeping DEPTH in flight; seconds until the last is durable. */
const drive = async (batches: number, write: (b: number) => PromiseLike<unknown>): Promise<number> => {
  const t0 = process.hrtime.bigint()
  const pending: PromiseLike<unknown>[] = []
  for (let b = 0; b < batches; b++) {
    pending.push(write(b))
    if (pending.length >= DEPTH) await pending.shift()
  }
  await Promise.all(pending)
  return Number(process.hrtime.bigint() - t0) / 1e9
}

const scratch = (): string => mkdtempSync(join(args.dir, 'journal.'))

const seekDrafts = (batch: number): Draft[] =>
  Array.from({ length: BATCH }, (_, i) => ({ ts: 1_700_000_000_000_000_000n + BigInt(batch * BATCH + i), pid: 4242, tid: 4243, body: { kind: 'fd.seek', fd: 7, pos: (batch * BATCH + i) * 512 } }))

const journalMeta = async (writeMap: boolean): Promise<number> => {
  const dir = scratch()
  const journal = await openLmdbJournal(dir, { noSync, writeMap })
  const batches = EVENTS / BATCH
  const drafts = Array.from({ length: 16 }, (_, b) => seekDrafts(b)) // built outside the clock, reused
  const s = await drive(batches, (b) => journal.append(GUEST, drafts[b % drafts.length]).committed)
  await journal.close()
  rmSync(dir, { recursive: true })
  return EVENTS / s
}

const rawMeta = async (valueSize: number): Promise<number> => {
  const dir = scratch()
  const options: RootDatabaseOptions = { noSubdir: false, maxDbs: 8, noSync, separateFlushed: true }
  const root = open(dir, options)
  const db = root.openDB<Uint8Array, [string, number]>('events', { encoding: 'binary', keyEncoding: 'ordered-binary' })
  // Values built outside the clock (like the journal's drafts): the raw side pays for put alone.
  const slab = randomBytes(16 * BATCH * valueSize)
  const values = Array.from({ length: 16 * BATCH }, (_, i) => slab.subarray(i * valueSize, (i + 1) * valueSize))
  let seq = 0
  const s = await drive(EVENTS / BATCH, (b) => {
    let put: Promise<boolean> = Promise.resolve(true)
    const base = (b % 16) * BATCH
    for (let i = 0; i < BATCH; i++) put = db.put([GUEST, ++seq], values[base + i])
    const flushed: unknown = Reflect.get(put, 'flushed')
    return noSync ? put : Promise.all([put, flushed])
  })
  await root.close()
  rmSync(dir, { recursive: true })
  return EVENTS / s
}

const PAYLOAD_BATCH = 8 // 8 MiB per append
const journalPayload = async (data: Buffer, writeMap: boolean): Promise<number> => {
  const dir = scratch()
  const journal = await openLmdbJournal(dir, { noSync, writeMap })
  const drafts: Draft[] = Array.from({ length: PAYLOAD_BATCH }, (_, i) => ({
    ts: BigInt(i), pid: 1, tid: 1, body: { kind: 'file.write', fd: 3, offset: i * data.length, len: data.length, known: data.length }, data,
  }))
  const s = await drive(MIB / PAYLOAD_BATCH, () => journal.append(GUEST, drafts).committed)
  await journal.close()
  rmSync(dir, { recursive: true })
  return MIB / s
}

const rawPayload = async (data: Buffer): Promise<number> => {
  const dir = scratch()
  const options: RootDatabaseOptions = { noSubdir: false, maxDbs: 8, noSync, separateFlushed: true }
  const root = open(dir, options)
  const db = root.openDB<Buffer, [string, number]>('payloads', { encoding: 'binary', keyEncoding: 'ordered-binary' })
  let seq = 0
  const s = await drive(MIB / PAYLOAD_BATCH, () => {
    let put: Promise<boolean> = Promise.resolve(true)
    for (let i = 0; i < PAYLOAD_BATCH; i++) {
      const value = Buffer.allocUnsafe(4 + data.length)
      value.set(data, 4)
      value.writeUInt32LE(crc32(data), 0)
      put = db.put([GUEST, ++seq], value)
    }
    const flushed: unknown = Reflect.get(put, 'flushed')
    return noSync ? put : Promise.all([put, flushed])
  })
  await root.close()
  rmSync(dir, { recursive: true })
  return MIB / s
}

const ddRate = (): number => {
  const dir = scratch()
  const t0 = process.hrtime.bigint()
  execFileSync('dd', ['if=/dev/zero', `of=${join(dir, 'dd.out')}`, 'bs=1M', `count=${MIB}`, 'conv=fdatasync'], { stdio: 'ignore' })
  const s = Number(process.hrtime.bigint() - t0) / 1e9
  rmSync(dir, { recursive: true })
  return MIB / s
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')

const main = async (): Promise<void> => {
  const valueSize = 4 + encodeBody(0n, 4242, 4243, { kind: 'fd.seek', fd: 7, pos: 123456 }).length
  const m = { raw: [] as number[], journal: [] as number[], journalWm: [] as number[], dd: [] as number[], rawPay: [] as number[], pay: [] as number[], payWm: [] as number[] }
  const data = randomBytes(1 << 20)
  for (let round = 0; round < ROUNDS; round++) {
    m.raw.push(await rawMeta(valueSize))
    m.journal.push(await journalMeta(false))
    m.journalWm.push(await journalMeta(true))
    m.dd.push(ddRate())
    m.rawPay.push(await rawPayload(data))
    m.pay.push(await journalPayload(data, false))
    m.payWm.push(await journalPayload(data, true))
  }
  const pct = (a: number[], b: number[]): string => `${((100 * median(a)) / median(b)).toFixed(0)} %`
  const row = (name: string, xs: number[], vs = '', ratio = '', target = ''): string[] => [name, fmt(median(xs)), xs.map(fmt).join(' '), vs, ratio, target]
  const table = new Table({ head: ['measure', 'median', 'runs', 'vs', 'ratio', 'target'], style: { head: [], border: [] } })
  table.push(
    row(`raw lmdb-js put, ${valueSize} B values, events/s`, m.raw),
    row('Journal.append fd.seek, events/s', m.journal, 'raw', pct(m.journal, m.raw), '>= 1,000,000 and >= 75 %'),
    row('  same, writeMap, events/s', m.journalWm, 'raw', pct(m.journalWm, m.raw), '>= 1,000,000 and >= 75 %'),
    row('dd bs=1M conv=fdatasync, MiB/s', m.dd),
    row('raw lmdb-js put, 1 MiB values, MiB/s', m.rawPay, 'dd', pct(m.rawPay, m.dd), '(LMDB floor)'),
    row('Journal.append 1 MiB file.write, MiB/s', m.pay, 'dd', pct(m.pay, m.dd), '>= 80 %'),
    row('  same, writeMap, MiB/s', m.payWm, 'dd', pct(m.payWm, m.dd), '>= 80 %'),
  )
  console.log(`batches of ${BATCH} events (${PAYLOAD_BATCH} MiB for payloads), ${DEPTH} in flight, ${noSync ? 'noSync' : 'durable (fsync)'}; ${EVENTS} events and ${MIB} MiB per run, ${ROUNDS} rounds; dir ${args.dir}`)
  console.log(table.toString())
  if (noSync) console.log('note: --no-sync skips fsync for lmdb only; dd still ends with fdatasync')
}

await main()
