// The scanner: bytes in, verdict out. In front of clamd: a verdict cache keyed by content hash and
// database version, one in-flight request per key (many processes opening one file at once cause one
// clamd scan, not a queue of identical ones: clamonacc's users report exactly that queue), a pool of
// connections so independent scans run in parallel, a bounded wait, and a breaker for a dead clamd.
import { createHash } from 'node:crypto'
import { tarBytes } from '../forensic/tar.js'
import { cacheKey, VerdictCache } from './cache.js'
import type { VerdictStore } from './verdictStore.js'
import { DEFAULT_MAX_BYTES, type Clamd } from './clamd.js'
import { ClamdClient, withTimeout, type Scanned } from './client.js'
import { describeEndpoint } from './endpoint.js'
import { reasonOf } from './errors.js'
import { Breaker, Slots } from './pool.js'
import { scanError, type ScanResult, type Verdict } from './verdict.js'

const tooLarge = (size: number, limit: number): Verdict => scanError(`${size} bytes exceed the scan limit of ${limit}`)

export interface ScannerOptions {
  /** parallel clamd connections; default 4 */
  readonly connections?: number
  /** bound on one scanBytes call, queueing included, ms; default 5000 */
  readonly timeoutMs?: number
  /** verdicts kept; default 65536 (0 disables the cache) */
  readonly cacheEntries?: number
  /** verdicts kept across runs (verdictStore.ts), behind the in-memory cache; whoever opened it closes it */
  readonly store?: VerdictStore
  /** after a clamd failure, fail at once for this long before probing again, ms; default 1000 (0: never) */
  readonly retryAfterMs?: number
  /** larger content is not sent (error verdict); default 256 MiB, what a private clamd accepts */
  readonly maxBytes?: number
  /** how often to ask clamd's VERSION again (a database update changes it), ms; default 60000 */
  readonly versionTtlMs?: number
  /** scanMany packs uncached contents of at most this many bytes into one tar per INSTREAM; 0 never
   *  does. Only for a clamd known to unpack archives (ScanArchive yes): one that does not would let
   *  hash signatures miss. Default PACK_BYTES when `clamd.unpacksArchives` (a private clamd), else 0. */
  readonly packBytes?: number
  /** most contents in one packed tar; default 64 */
  readonly packMembers?: number
}

/** Contents up to this size are packed by default (when clamd unpacks archives). */
export const PACK_BYTES = 64 * 1024
/** Content bytes per packed tar, at most. */
const PACK_TOTAL = 1 << 20

export interface ScannerStats {
  /** scanBytes calls */
  requests: number
  /** answered from the cache */
  cached: number
  /** of those, found in the verdict store (kept by an earlier run) */
  stored: number
  /** joined another caller's in-flight request for the same content */
  joined: number
  /** INSTREAM requests sent to clamd */
  clamd: number
  /** error verdicts returned */
  errors: number
  /** refused at once by the breaker */
  refused: number
  /** INSTREAM requests that carried several contents as one tar (scanMany) */
  packs: number
  /** contents judged inside such a tar */
  packed: number
  /** contents scanned again alone because their tar came back infected or refused */
  unpacked: number
}

interface Member {
  readonly bytes: Uint8Array
  readonly key: string
  readonly settle: (v: Verdict) => void
}

export const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

export class Scanner {
  readonly stats: ScannerStats = { requests: 0, cached: 0, stored: 0, joined: 0, clamd: 0, errors: 0, refused: 0, packs: 0, packed: 0, unpacked: 0 }
  readonly cache: VerdictCache
  readonly timeoutMs: number
  readonly maxBytes: number
  private readonly slots: Slots
  private readonly breaker: Breaker
  private readonly inflight = new Map<string, Promise<Verdict>>()
  private version: string
  private versionAt: number
  private refreshing = false
  /** Why the last VERSION refresh failed, if it did. */
  lastVersionError: string | null = null

  private constructor(private readonly client: ClamdClient, readonly clamd: Clamd, version: string, private readonly o: ScannerOptions) {
    this.cache = new VerdictCache(o.cacheEntries ?? 65536)
    this.timeoutMs = o.timeoutMs ?? 5000
    this.maxBytes = o.maxBytes ?? DEFAULT_MAX_BYTES
    this.slots = new Slots(o.connections ?? 4)
    this.breaker = new Breaker(o.retryAfterMs ?? 1000)
    this.version = version
    this.versionAt = Date.now()
  }

  /** A scanner on a running clamd (startClamd or connectClamd); asks its VERSION once now. */
  static async open(clamd: Clamd, o: ScannerOptions = {}): Promise<Scanner> {
    const client = await ClamdClient.create(clamd.endpoint, o.timeoutMs ?? 5000)
    return new Scanner(client, clamd, await client.version(), o)
  }

  /** What verdicts are cached under: clamd's VERSION (which names the official database version)
   *  plus the digest of a private database. */
  get dbVersion(): string {
    return this.clamd.databaseDigest === null ? this.version : `${this.version}+db:${this.clamd.databaseDigest.slice(0, 16)}`
  }

  /** Whether verdicts may outlive this run: only under a version that names the signature database
   *  (an official database's number in VERSION, or the digest of a private one). A bare "ClamAV
   *  1.4.6" could stand for any set of signatures. */
  get persistable(): boolean {
    return this.clamd.databaseDigest !== null || /^ClamAV [^/]+\/\d+\//.test(this.version)
  }

  /** The cached verdict for content with this hash, if any (no clamd, no bytes needed). */
  cached(sha256: string): Verdict | undefined {
    this.maybeRefreshVersion()
    return this.lookup(cacheKey(sha256, this.dbVersion))
  }

  /** In memory, else in the store (then kept in memory too). */
  private lookup(key: string): Verdict | undefined {
    const hit = this.cache.get(key)
    if (hit !== undefined || !this.storing) return hit
    const stored = this.o.store?.get(key)
    if (stored !== undefined) {
      this.stats.stored++
      this.cache.set(key, stored)
    }
    return stored
  }

  private get storing(): boolean {
    return this.o.store !== undefined && this.persistable
  }

  /** Whether a verdict is kept for `key` (no counting, no recency). */
  private known(key: string): boolean {
    return this.cache.has(key) || (this.storing && this.o.store?.get(key) !== undefined)
  }

  private remember(key: string, v: Verdict): void {
    this.cache.set(key, v)
    if (this.storing) this.o.store?.put(key, v)
  }

  /** The error verdict for content of `size` bytes when it exceeds the scan limit (counted as a
   *  request that failed), else null: a caller that knows the size refuses before reading it. */
  overLimit(size: number): Verdict | null {
    if (size <= this.maxBytes) return null
    this.stats.requests++
    this.stats.errors++
    return tooLarge(size, this.maxBytes)
  }

  /** Scans bytes as given. Never throws; resolves within timeoutMs (plus hashing). `background`: the
   *  request waits behind every queued one (nobody is held for it); otherwise it goes first. */
  async scanBytes(bytes: Uint8Array, sha256 = sha256Of(bytes), background = false): Promise<ScanResult> {
    const t0 = performance.now()
    this.stats.requests++
    const done = (verdict: Verdict, source: ScanResult['source']): ScanResult => {
      if (verdict.kind === 'error') this.stats.errors++
      return { verdict, sha256, size: bytes.length, source, ms: performance.now() - t0 }
    }
    const hit = this.cached(sha256)
    if (hit !== undefined) {
      this.stats.cached++
      return done(hit, 'cache')
    }
    if (bytes.length > this.maxBytes) return done(tooLarge(bytes.length, this.maxBytes), 'none')
    const key = cacheKey(sha256, this.dbVersion)
    const running = this.inflight.get(key)
    if (running !== undefined) {
      this.stats.joined++
      return done(await running, 'joined')
    }
    const refused = this.breaker.admit()
    if (refused !== null) {
      this.stats.refused++
      return done(scanError(refused), 'none')
    }
    const p = this.request(bytes, key, !background).then((s) => s.verdict)
    this.inflight.set(key, p)
    try {
      return done(await p, 'scan')
    } finally {
      this.inflight.delete(key)
    }
  }

  /** scanBytes on each content, in the background, with the same verdicts. Small uncached contents
   *  (packBytes) go to clamd together as one tar: clamd unpacks it and judges each member as a file
   *  of its own, so a clean tar means every member is clean (each is cached as such). An infected
   *  or refused tar is not attributed: each of its members is scanned again alone, and a verdict
   *  always names the very content it is about. Never throws. */
  async scanMany(items: readonly Uint8Array[]): Promise<ScanResult[]> {
    const limit = this.packBytes
    const packs: Member[][] = [[]]
    const results: Array<Promise<ScanResult>> = []
    const alone: Array<() => void> = []
    for (const bytes of items) {
      const sha256 = sha256Of(bytes)
      const key = cacheKey(sha256, this.dbVersion)
      if (limit <= 0 || bytes.length === 0 || bytes.length > limit || this.inflight.has(key) || this.known(key)) {
        // started once every member of a pack is in flight: the same content twice joins the first
        let start: (r: Promise<ScanResult>) => void = () => {}
        results.push(new Promise<ScanResult>((res) => (start = res)))
        alone.push(() => start(this.scanBytes(bytes, sha256, true)))
        continue
      }
      let settle: (v: Verdict) => void = () => {}
      const verdict = new Promise<Verdict>((res) => (settle = res))
      this.inflight.set(key, verdict)
      const t0 = performance.now()
      this.stats.requests++
      results.push(verdict.then((v) => {
        this.inflight.delete(key)
        if (v.kind === 'error') this.stats.errors++
        return { verdict: v, sha256, size: bytes.length, source: 'scan', ms: performance.now() - t0 }
      }))
      let last = packs[packs.length - 1]
      if (last.length >= (this.o.packMembers ?? 64) || last.reduce((n, m) => n + m.bytes.length, 0) + bytes.length > PACK_TOTAL) packs.push((last = []))
      last.push({ bytes, key, settle })
    }
    for (const f of alone) f()
    await Promise.all(packs.filter((p) => p.length > 0).map((p) => this.scanPack(p)))
    return Promise.all(results)
  }

  private async scanPack(members: readonly Member[]): Promise<void> {
    const refused = this.breaker.admit()
    if (refused !== null) {
      this.stats.refused += members.length
      for (const m of members) m.settle(scanError(refused))
      return
    }
    if (members.length === 1) {
      const s = await this.request(members[0].bytes, members[0].key, false)
      return members[0].settle(s.verdict)
    }
    this.stats.packs++
    this.stats.packed += members.length
    const tar = await tarBytes(members.map((m, i) => ({ name: String(i), data: m.bytes })))
    const s = await this.request(tar, null, false)
    if (s.verdict.kind === 'clean') {
      for (const m of members) {
        this.remember(m.key, s.verdict)
        m.settle(s.verdict)
      }
      return
    }
    if (s.verdict.kind === 'error' && !s.answered) {
      // clamd is gone or wedged (the breaker knows): asking again member by member cannot help
      for (const m of members) m.settle(s.verdict)
      return
    }
    this.stats.unpacked += members.length
    await Promise.all(members.map(async (m) => m.settle((await this.request(m.bytes, m.key, false)).verdict)))
  }

  /** One INSTREAM in a connection slot, bounded by the timeout; the verdict is cached under `key`. */
  private async request(bytes: Uint8Array, key: string | null, front: boolean): Promise<Scanned> {
    const deadline = performance.now() + this.timeoutMs
    let asked = false // a connection was ours and clamd was asked: running out of time is then clamd's
    let queueFull = false
    const queued = this.slots.run(async (): Promise<Scanned> => {
      const left = deadline - performance.now()
      if (left <= 0) {
        queueFull = true
        return { verdict: scanError(`no free clamd connection within ${this.timeoutMs} ms`), answered: true }
      }
      asked = true
      this.stats.clamd++
      return this.client.scan(bytes, left, front)
    }, front)
    const waited = (): Scanned => {
      if (asked) return { verdict: scanError(`no answer from clamd at ${describeEndpoint(this.clamd.endpoint)} within ${this.timeoutMs} ms`), answered: false }
      // a full queue is not clamd's failure: it neither trips nor closes the breaker
      queueFull = true
      return { verdict: scanError(`no free clamd connection within ${this.timeoutMs} ms (${this.slots.busy} busy, ${this.slots.queued} queued)`), answered: true }
    }
    // the queued task bounds itself by the same deadline: its late answer, if any, changes nothing
    const { verdict, answered } = await withTimeout(queued, this.timeoutMs, waited, () => {})
    if (!answered) this.breaker.failure(verdict.kind === 'error' ? verdict.reason : 'clamd failed')
    else if (!queueFull) this.breaker.success()
    if (key !== null) this.remember(key, verdict)
    return { verdict, answered }
  }

  private maybeRefreshVersion(): void {
    const ttl = this.o.versionTtlMs ?? 60_000
    if (this.refreshing || Date.now() - this.versionAt < ttl) return
    this.refreshing = true
    this.client.version().then(
      (v) => {
        this.version = v
        this.versionAt = Date.now()
        this.refreshing = false
      },
      (err: unknown) => {
        // keep the old version: verdicts stay valid until clamd can tell us otherwise
        this.versionAt = Date.now()
        this.refreshing = false
        this.lastVersionError = reasonOf(err)
      },
    )
  }

  get busy(): number {
    return this.slots.busy
  }

  /** Contents up to this size may be packed by scanMany (0: none are). */
  get packBytes(): number {
    return this.o.packBytes ?? (this.clamd.unpacksArchives === true ? PACK_BYTES : 0)
  }

  /** Connections kept open to clamd so far, for the scans a caller waited for (client.ts). */
  get sessionsOpened(): number {
    return this.client.sessionsOpened
  }

  /** The connection pool's size: INSTREAM requests at once, at most. */
  get connections(): number {
    return this.slots.size
  }

  describe(): string {
    return `clamd at ${describeEndpoint(this.clamd.endpoint)} (${this.dbVersion})`
  }
}
