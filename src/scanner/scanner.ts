// The scanner: bytes in, verdict out. In front of clamd: a verdict cache keyed by content hash and
// database version, one in-flight request per key (many processes opening one file at once cause one
// clamd scan, not a queue of identical ones: clamonacc's users report exactly that queue), a pool of
// connections so independent scans run in parallel, a bounded wait, and a breaker for a dead clamd.
import { createHash } from 'node:crypto'
import { cacheKey, VerdictCache } from './cache.js'
import { DEFAULT_MAX_BYTES, type Clamd } from './clamd.js'
import { ClamdClient, withTimeout, type Scanned } from './client.js'
import { describeEndpoint } from './endpoint.js'
import { reasonOf } from './errors.js'
import { Breaker, Slots } from './pool.js'
import { scanError, type ScanResult, type Verdict } from './verdict.js'

export interface ScannerOptions {
  /** parallel clamd connections; default 4 */
  readonly connections?: number
  /** bound on one scanBytes call, queueing included, ms; default 5000 */
  readonly timeoutMs?: number
  /** verdicts kept; default 65536 (0 disables the cache) */
  readonly cacheEntries?: number
  /** after a clamd failure, fail at once for this long before probing again, ms; default 1000 (0: never) */
  readonly retryAfterMs?: number
  /** larger content is not sent (error verdict); default 256 MiB, what a private clamd accepts */
  readonly maxBytes?: number
  /** how often to ask clamd's VERSION again (a database update changes it), ms; default 60000 */
  readonly versionTtlMs?: number
}

export interface ScannerStats {
  /** scanBytes calls */
  requests: number
  /** answered from the cache */
  cached: number
  /** joined another caller's in-flight request for the same content */
  joined: number
  /** INSTREAM requests sent to clamd */
  clamd: number
  /** error verdicts returned */
  errors: number
  /** refused at once by the breaker */
  refused: number
}

export const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex')

export class Scanner {
  readonly stats: ScannerStats = { requests: 0, cached: 0, joined: 0, clamd: 0, errors: 0, refused: 0 }
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

  /** The cached verdict for content with this hash, if any (no clamd, no bytes needed). */
  cached(sha256: string): Verdict | undefined {
    this.maybeRefreshVersion()
    return this.cache.get(cacheKey(sha256, this.dbVersion))
  }

  /** Scans bytes as given. Never throws; resolves within timeoutMs (plus hashing). */
  async scanBytes(bytes: Uint8Array, sha256 = sha256Of(bytes)): Promise<ScanResult> {
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
    if (bytes.length > this.maxBytes) return done(scanError(`${bytes.length} bytes exceed the scan limit of ${this.maxBytes}`), 'none')
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
    const p = this.request(bytes, key)
    this.inflight.set(key, p)
    try {
      return done(await p, 'scan')
    } finally {
      this.inflight.delete(key)
    }
  }

  private async request(bytes: Uint8Array, key: string): Promise<Verdict> {
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
      return this.client.scan(bytes, left)
    })
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
    this.cache.set(key, verdict)
    return verdict
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

  describe(): string {
    return `clamd at ${describeEndpoint(this.clamd.endpoint)} (${this.dbVersion})`
  }
}
