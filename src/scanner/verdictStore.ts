// Verdicts kept across runs: the same keys as the in-memory cache (signature database version +
// sha256 of the content), in an LMDB file of the user's. A library that every recording loads is
// then streamed to clamd once per signature database, not once per run (x264 loads 136 libraries,
// 172 MB). Content-addressed, so it is as exact as the in-memory cache: a write changes the hash, a
// new database the version. Only for versions that name their database (see Scanner.persistable).
//
// Beside the verdicts, what a host file's stat said its content was (`stamps`): device, inode, size,
// mtime and ctime -> sha256 and the first bytes. A later run then judges an unchanged library without
// reading or hashing it. That trusts the stat as the in-run memo and the tracer's loans do: a change
// that leaves all five alone (stores into pages an untraced process dirtied through a shared mapping
// before the stat) is not seen; --verdict-cache none when that matters.
//
// Whoever can write this file can make malware pass for clean: the directory must be the user's
// own and closed to everyone else, or it is refused.
//
// Bounded: each record carries the time it was written, and a store found holding more than
// `maxEntries` verdicts (or stamps) when opened loses its oldest tenth. Verdicts under a database
// version no longer in use (freshclam moves it daily) and stamps of files since changed are what
// goes; a verdict still in use that goes is asked for once more and written again.
import { mkdirSync, statSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import * as t from 'io-ts'
import { isRight } from 'fp-ts/lib/Either.js'
import { open, type Database, type RootDatabase, type RootDatabaseOptions } from 'lmdb'
import { ScannerError } from './errors.js'
import { cacheKey } from './cache.js'
import { shebangOf } from './filter.js'
import { CLEAN, infected, type Verdict } from './verdict.js'

/** when a record was written, ms since the epoch (records of versions before it have none: oldest) */
const Written = t.partial({ at: t.number })
const Stamped = t.intersection([t.type({ sha256: t.string, head: t.string }), Written])

/** What a stamp said: the content's sha256 and its first bytes (the filter's magic, a `#!` line). */
export interface StampedContent {
  readonly sha256: string
  readonly head: Uint8Array
}

/** The gate's view of the stamps (gate.ts). */
export interface StampMemo {
  stamped(stamp: string): StampedContent | undefined
  stamp(stamp: string, c: StampedContent): void
}

const Stored = t.intersection([
  t.union([
    t.type({ kind: t.literal('clean') }),
    t.type({ kind: t.literal('infected'), signature: t.string }),
  ]),
  Written,
])

export interface VerdictStoreOptions {
  /** verdicts, and stamps, kept before the oldest tenth goes (default DEFAULT_MAX_ENTRIES) */
  readonly maxEntries?: number
  /** ms since the epoch (default Date.now) */
  readonly now?: () => number
}

/** the store then takes ~80 MB at most (a stamp holds up to 256 bytes of head); going down to 90 %
 *  took ~0.6 s of one run's start-up per 10,000 records written */
export const DEFAULT_MAX_ENTRIES = 100_000

/** `$EYRIE_VERDICT_CACHE`, else `$XDG_CACHE_HOME/eyrie/verdicts`, else `~/.cache/eyrie/verdicts`;
 *  `none` turns it off. */
export const defaultVerdictCache = (env: NodeJS.ProcessEnv = process.env): string =>
  env.EYRIE_VERDICT_CACHE ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'eyrie', 'verdicts')

/** When a record was written (0: unknown, or no record of ours: the first to go). */
const writtenAt = (raw: Uint8Array): number => {
  try {
    const at: unknown = JSON.parse(Buffer.from(raw).toString('utf8'))?.at
    return typeof at === 'number' && Number.isFinite(at) ? at : 0
  } catch {
    return 0
  }
}

export class VerdictStore implements StampMemo {
  /** verdicts put */
  stored = 0
  private failure: Error | undefined

  private constructor(
    readonly dir: string,
    private readonly root: RootDatabase,
    private readonly db: Database<Uint8Array, string>,
    private readonly stamps: Database<Uint8Array, string>,
    private readonly now: () => number,
  ) {}

  /** Opens (creating it 0700) the store in `dir`; refuses a directory another user could write.
   *  Over `maxEntries`, the oldest tenth of the records goes first. */
  static open(dir: string, o: VerdictStoreOptions = {}): VerdictStore {
    const path = resolve(dir)
    try {
      mkdirSync(path, { recursive: true, mode: 0o700 })
    } catch (err) {
      throw new ScannerError('CACHE', `verdict cache ${path}: cannot create it: ${(err as Error).message} (--verdict-cache none turns it off)`)
    }
    const st = statSync(path)
    const uid = process.geteuid?.() ?? st.uid
    if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
      throw new ScannerError('CACHE', `verdict cache ${path} is ${st.isDirectory() ? `owned by uid ${st.uid} with mode ${(st.mode & 0o777).toString(8)}` : 'not a directory'}: ` +
        `it must be a directory of uid ${uid} that no one else can write (whoever writes it decides what is clean); --verdict-cache none turns it off`)
    }
    try {
      // permissionsMode: an lmdb-js option its typings omit (the mode of data.mdb and lock.mdb)
      const options: RootDatabaseOptions & { permissionsMode: number } = { noSubdir: false, maxDbs: 2, permissionsMode: 0o600 }
      const root = open(path, options)
      const db = root.openDB<Uint8Array, string>('verdicts', { encoding: 'binary' })
      const stamps = root.openDB<Uint8Array, string>('stamps', { encoding: 'binary' })
      const store = new VerdictStore(path, root, db, stamps, o.now ?? Date.now)
      store.bound(o.maxEntries ?? DEFAULT_MAX_ENTRIES)
      return store
    } catch (err) {
      throw new ScannerError('CACHE', `verdict cache ${path}: cannot open it: ${(err as Error).message} (--verdict-cache none turns it off)`)
    }
  }

  /** Removes the oldest records of each database holding more than `max` (down to 90 % of it):
   *  one pass over the records, at open, once every tenth of `max` new records at most. */
  private bound(max: number): void {
    for (const db of [this.db, this.stamps]) {
      const count = db.getCount()
      if (count <= max) continue
      const ages: Array<[string, number]> = []
      for (const { key, value } of db.getRange({})) ages.push([key, writtenAt(value)])
      ages.sort((a, b) => a[1] - b[1])
      const doomed = ages.slice(0, count - Math.floor(max * 0.9))
      this.root.transactionSync(() => {
        for (const [key] of doomed) db.removeSync(key)
      })
    }
  }

  /** The verdict stored under `key`; a record that does not decode is reported once and ignored. */
  get(key: string): Verdict | undefined {
    const v = this.decoded(this.db.get(key), Stored)
    return v === undefined ? undefined : v.kind === 'clean' ? CLEAN : infected(v.signature)
  }

  stamped(stamp: string): StampedContent | undefined {
    return this.stampedContent(this.stamps.get(stamp))
  }

  private stampedContent(raw: Uint8Array | undefined): StampedContent | undefined {
    const v = this.decoded(raw, Stamped)
    if (v === undefined) return undefined
    if (!/^[0-9a-f]{64}$/.test(v.sha256)) return this.undecodable()
    return { sha256: v.sha256, head: Buffer.from(v.head, 'base64') }
  }

  stamp(stamp: string, c: StampedContent): void {
    this.write(this.stamps, stamp, { sha256: c.sha256, head: Buffer.from(c.head).toString('base64') })
  }

  /** The stamps whose content is clean under `dbVersion` (at most `limit`): what the tracer may let
   *  through without asking, from the start of a run (TraceOptions.lent). `exec` is false for a
   *  `#!` script, whose interpreter is judged at its exec too. */
  cleanStamps(dbVersion: string, limit: number): { stamp: string; sha256: string; exec: boolean }[] {
    const out: { stamp: string; sha256: string; exec: boolean }[] = []
    for (const { key, value } of this.stamps.getRange({})) {
      if (out.length >= limit) break
      const c = this.stampedContent(value)
      if (c === undefined || this.get(cacheKey(c.sha256, dbVersion))?.kind !== 'clean') continue
      out.push({ stamp: key, sha256: c.sha256, exec: shebangOf(c.head) === null }) // as the gate lends
    }
    return out
  }

  /** Keeps a clean or infected verdict (an error says nothing about the bytes). Written in the
   *  background: a failure is reported once, and the verdict is then only in memory. */
  put(key: string, v: Verdict): void {
    if (v.kind === 'error') return
    this.stored++
    this.write(this.db, key, v.kind === 'clean' ? { kind: 'clean' } : { kind: 'infected', signature: v.signature })
  }

  private decoded<A>(raw: Uint8Array | undefined, codec: t.Type<A>): A | undefined {
    if (raw === undefined) return undefined
    let value: unknown
    try {
      value = JSON.parse(Buffer.from(raw).toString('utf8'))
    } catch {
      value = undefined
    }
    const decoded = codec.decode(value)
    return isRight(decoded) ? decoded.right : this.undecodable()
  }

  private undecodable(): undefined {
    this.warn(new Error(`verdict cache ${this.dir}: a record does not decode; it is ignored and will be replaced`))
    return undefined
  }

  private write(db: Database<Uint8Array, string>, key: string, value: object): void {
    db.put(key, Buffer.from(JSON.stringify({ ...value, at: this.now() }))).then(
      () => {},
      (err: unknown) => this.warn(new Error(`verdict cache ${this.dir}: cannot write: ${err instanceof Error ? err.message : String(err)}`)),
    )
  }

  async close(): Promise<void> {
    await this.root.close()
  }

  private warn(err: Error): void {
    if (this.failure !== undefined) return
    this.failure = err
    process.emitWarning(err.message, { code: 'EYRIE_VERDICT_CACHE' })
  }
}
