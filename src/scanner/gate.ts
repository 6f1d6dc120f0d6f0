// The gate: the live recorder asks it before an exec or an open is allowed to happen, and after a
// close that ended writes. It answers allow/deny (an errno for the interceptor), quarantines an
// infected file, and hands back the events that explain the decision (scan.verdict, access.denied,
// file.quarantine), which the recorder journals ahead of anything the tracee does next (a denial
// committed before the tracee learns of it; closes: in the background, many at once with
// afterCloses; the tracee went on).
import type { Body } from '../events/index.js'
import { elfInterpreterOf, matchByName, MAGIC_BYTES, shebangOf, shouldScan, type FilterOptions } from './filter.js'
import { DEFAULT_FAILURE_POLICY, type FailurePolicy } from './policy.js'
import { quarantine, type QuarantineRecord } from './quarantine.js'
import { reasonOf } from './errors.js'
import type { Scanner } from './scanner.js'
import type { StampMemo } from './verdictStore.js'
import { describeVerdict, scanError, type ScanResult, type Verdict, type VerdictSource } from './verdict.js'

export const EACCES = 13

export type Trigger = 'exec' | 'open' | 'close'

/** Content as the guest sees it, fetched only when needed. */
export interface ContentRef {
  /** Changes whenever the bytes may have changed (inode, size, times, last journaled write); with it,
   *  an unchanged file is judged from memory without reading or hashing it again. */
  readonly stamp?: string
  /** Set when the content is the host file's as it is (not written in this run): its stat (device,
   *  inode, size, mtime, ctime), under which an earlier run may have remembered it (`stamps`). */
  readonly hostStamp?: string
  /** Its length when known without reading it: content over the scanner's limit is refused unread
   *  (a 330 MB video opened under --scan-all was read whole, then refused) */
  readonly size?: number
  /** The first n bytes, for the filter's magic; without it, read() is used. */
  head?(n: number): Promise<Uint8Array>
  read(): Promise<Uint8Array>
}

/** Content of a path now; null when there is no such file. */
export type ContentSource = (path: string) => Promise<ContentRef | null>

export interface GateOptions {
  readonly scanner: Scanner
  /** content of any path (the `#!` interpreter of a script, calls that pass no content) */
  readonly source?: ContentSource
  readonly failure?: FailurePolicy
  readonly filter?: FilterOptions
  /** journal directory whose quarantine/ receives infected files; null or absent: files stay put */
  readonly quarantineTo?: string | null
  /** recorded in quarantine records */
  readonly guest?: string | null
  /** paths remembered with their stamp and hash; default 65536 */
  readonly memoEntries?: number
  /** host stamps remembered across runs (verdictStore.ts) */
  readonly stamps?: StampMemo
}

export interface Decision {
  /** 0 lets the call run; otherwise the errno it fails with (EACCES) */
  readonly errno: number
  readonly path: string
  readonly trigger: Trigger
  /** null: not scanned (the filter let it through, or there is no such file) */
  readonly verdict: Verdict | null
  readonly sha256: string | null
  readonly source: VerdictSource | 'memo'
  /** to journal, in this order, before the tracee goes on */
  readonly events: readonly Body[]
  readonly quarantined: QuarantineRecord | null
  /** one line for a log or the user */
  readonly message: string
  /** the content starts with `#!`: an exec of it runs an interpreter, judged too */
  readonly script: boolean
  /** an exec's interpreter (`#!`, PT_INTERP), judged clean with it: the kernel loads it as well */
  readonly interpreter?: { readonly path: string; readonly sha256: string }
}

interface Judged {
  readonly verdict: Verdict
  readonly sha256: string
  readonly source: VerdictSource | 'memo'
  readonly head: Uint8Array | null
  /** the whole content, when `judge` read it (not for a verdict from memory) */
  readonly bytes?: Uint8Array
}

/** A judgment started before its question (Gate.foresee), of the content under `stamp`. */
interface Ahead {
  readonly stamp: string
  readonly judged: Promise<Judged>
}

const MAX_INTERPRETERS = 4 // the kernel's limit on nested #! interpreters

/** A placeholder in afterCloses for a small content judged with the others at the end. */
const CLOSE_PENDING: Judged = { verdict: scanError('bug: not judged'), sha256: '', source: 'none', head: null }

/** Contents whose ELF interpreter is remembered (by sha256: the interpreter is in the bytes). */
const INTERPRETERS = 4096

export class Gate {
  private readonly memo = new Map<string, { stamp: string; sha256: string; head: Uint8Array }>()
  /** sha256 -> the content's PT_INTERP (null: none): the loader asked about at every exec is not
   *  read again for it (64 KiB each time) */
  private readonly interpreters = new Map<string, string | null>()
  private readonly moving = new Map<string, Promise<QuarantineRecord | string>>()
  /** judgments started ahead of their question (foresee), by path; null: none (not the host's, filtered out) */
  private readonly ahead = new Map<string, Promise<Ahead | null>>()
  readonly failure: FailurePolicy

  constructor(private readonly o: GateOptions) {
    this.failure = o.failure ?? DEFAULT_FAILURE_POLICY
  }

  /** Before execve/execveat: always scanned, and so is what the kernel loads with it (a `#!`
   *  script's interpreter, an ELF program's PT_INTERP), by the name `hostName` gives it (the kernel
   *  walks it for the exec'ing process: its cwd, its /proc/self). */
  async decideExec(path: string, content?: ContentRef | null, call = 'execve', hostName: (name: string) => string = (n) => n): Promise<Decision> {
    return this.exec(path, content, call, 0, hostName)
  }

  /** Before an open for reading: scanned when the filter says so. */
  async decideOpen(path: string, content?: ContentRef | null, call = 'openat'): Promise<Decision> {
    const ref = content === undefined ? await this.lookup(path) : content
    if (ref === null) return this.pass(path, 'open', 'no such file')
    const passes = await this.passesFilter(path, ref)
    if (passes instanceof Error) return this.decide(path, 'open', call, { verdict: scanError(reasonOf(passes)), sha256: '', source: 'none', head: null })
    if (!passes) return this.pass(path, 'open', 'filtered out')
    return this.decide(path, 'open', call, await this.judge(path, ref))
  }

  /** After a close that ended writes: the call cannot be refused any more, but an infected file is
   *  quarantined before anyone else opens it, and the verdict is journaled. */
  async afterClose(path: string, content?: ContentRef | null): Promise<Decision> {
    const ref = content === undefined ? await this.lookup(path) : content
    if (ref === null) return this.pass(path, 'close', 'no such file')
    if ((await this.passesFilter(path, ref)) === false) return this.pass(path, 'close', 'filtered out')
    return this.decide(path, 'close', 'close', await this.judge(path, ref))
  }

  /** afterClose for many files at once, in the background (their closes happened already): the
   *  contents are looked up together (one R(now)); small ones are judged together at the end
   *  (Scanner.scanMany may send them to clamd as one stream), larger ones one after the other as they
   *  are read, so a batch holds at most one large content at a time. Decisions in the order of `paths`. */
  async afterCloses(paths: readonly string[]): Promise<Decision[]> {
    const refs = await Promise.all(paths.map((p) => this.lookup(p))) // each source reads R(now) as it is called
    const small = this.o.scanner.packBytes
    const judged: Array<Judged | Decision> = []
    const pending: Array<{ readonly i: number; readonly ref: ContentRef; readonly bytes: Uint8Array }> = []
    for (const [i, path] of paths.entries()) {
      const ref = refs[i]
      if (ref === null) {
        judged.push(this.pass(path, 'close', 'no such file'))
        continue
      }
      if ((await this.passesFilter(path, ref)) === false) {
        judged.push(this.pass(path, 'close', 'filtered out'))
        continue
      }
      const bytes = await this.contentOf(path, ref)
      if (!(bytes instanceof Uint8Array)) judged.push(bytes)
      else if (bytes.length <= small) {
        pending.push({ i, ref, bytes })
        judged.push(CLOSE_PENDING)
      } else judged.push(this.judged(path, ref, bytes, await this.o.scanner.scanBytes(bytes, undefined, true)))
    }
    const scanned = await this.o.scanner.scanMany(pending.map((p) => p.bytes))
    pending.forEach((p, k) => (judged[p.i] = this.judged(paths[p.i], p.ref, p.bytes, scanned[k])))
    return Promise.all(judged.map((j, i) => ('errno' in j ? j : this.decide(paths[i], 'close', 'close', j))))
  }

  /** A question about this path is on its way (gateForesight), behind batches R(now) does not hold
   *  yet: a file whose bytes are all the host's (`hostStamp`: nothing of it journaled) is judged now,
   *  as the question would judge it (the filter first, for an open; an exec's ELF interpreter found
   *  too), and the question joins that judgment when it finds the same stamp (a batch ahead that
   *  wrote the file, or a change on the host, gives another: judged anew). Decides nothing, never
   *  throws: a hint. */
  foresee(path: string, trigger: 'exec' | 'open'): void {
    if (this.o.source === undefined || this.ahead.has(path)) return
    // never rejects: what fails here (a stat, a read) fails the question too, which says why
    const early = this.judgedAhead(path, trigger, this.o.source).catch(() => null)
    this.ahead.set(path, early)
    void early.then((e) => e?.judged).finally(() => this.ahead.delete(path))
  }

  private async judgedAhead(path: string, trigger: 'exec' | 'open', source: ContentSource): Promise<Ahead | null> {
    const ref = await source(path)
    if (ref === null || ref.hostStamp === undefined || ref.stamp === undefined) return null
    if (trigger === 'open' && (await this.passesFilter(path, ref)) !== true) return null
    const judged = this.judgeAnew(path, ref).then(async (j) => {
      // the question finds it known by the content's hash (or reads it itself, and says what failed)
      if (trigger === 'exec' && j.head !== null && shebangOf(j.head) === null && j.verdict.kind === 'clean') await this.elfInterpreter(ref, j).catch(() => null)
      return j
    })
    return { stamp: ref.stamp, judged }
  }

  /** Forget what is remembered about a path (the recorder saw it change). Stamps make this optional. */
  forget(path: string): void {
    this.memo.delete(path)
  }

  private async exec(path: string, content: ContentRef | null | undefined, call: string, depth: number, hostName: (name: string) => string): Promise<Decision> {
    const ref = content === undefined ? await this.lookup(path) : content
    // the kernel will fail the call with ENOENT itself
    if (ref === null) return this.pass(path, 'exec', 'no such file')
    const judged = await this.judge(path, ref)
    const own = await this.decide(path, 'exec', call, judged)
    if (own.errno !== 0 || judged.head === null || depth >= MAX_INTERPRETERS || this.o.source === undefined) return own
    let interp: string | null
    try {
      interp = shebangOf(judged.head) ?? (await this.elfInterpreter(ref, judged))
    } catch (err) {
      const failed = await this.decide(path, 'exec', call, { verdict: scanError(`cannot read ${path}: ${reasonOf(err)}`), sha256: '', source: 'none', head: null })
      return { ...failed, events: [...own.events, ...failed.events] }
    }
    if (interp === null) return own
    const inner = await this.exec(hostName(interp), undefined, call, depth + 1, hostName)
    const clean = inner.verdict?.kind === 'clean' && inner.sha256 !== null ? { interpreter: { path: inner.path, sha256: inner.sha256 } } : {}
    if (inner.errno === 0) return { ...own, events: [...own.events, ...inner.events], ...clean }
    return { ...inner, path, events: [...own.events, ...inner.events], message: `${path}: interpreter ${inner.message}` }
  }

  /** An ELF program's interpreter (what the kernel loads with it, unseen by any call): known by its
   *  content's hash, else found in the bytes judged, or read from its first 64 KiB, or all of it
   *  where the program headers lie further. */
  private async elfInterpreter(ref: ContentRef, judged: Judged): Promise<string | null> {
    const known = judged.sha256 === '' ? undefined : this.interpreters.get(judged.sha256)
    if (known !== undefined) return known
    const first = judged.bytes ?? (ref.head !== undefined ? await ref.head(1 << 16) : await ref.read())
    const found = elfInterpreterOf(first)
    const interp = found.reaches <= first.length ? found.interp : elfInterpreterOf(await ref.read()).interp
    if (judged.sha256 !== '') {
      if (this.interpreters.size >= INTERPRETERS) this.interpreters.clear() // bounded; refilled as execs come
      this.interpreters.set(judged.sha256, interp)
    }
    return interp
  }

  private async lookup(path: string): Promise<ContentRef | null> {
    if (this.o.source === undefined) throw new Error('bug: Gate called without content and without a source')
    return this.o.source(path)
  }

  /** Whether the filter passes the file: by its name, else by its first bytes; the error that kept
   *  them from being read (each caller says what that means for it). */
  private async passesFilter(path: string, ref: ContentRef): Promise<boolean | Error> {
    if (matchByName(path, this.o.filter).scan) return true
    const head = await this.headOf(path, ref)
    return head instanceof Error ? head : shouldScan(path, head, this.o.filter).scan
  }

  private async headOf(path: string, ref: ContentRef): Promise<Uint8Array | Error> {
    const known = this.remembered(path, ref)
    if (known !== undefined) return known.head
    try {
      return ref.head !== undefined ? await ref.head(MAGIC_BYTES) : (await ref.read()).subarray(0, MAGIC_BYTES)
    } catch (err) {
      return err instanceof Error ? err : new Error(String(err))
    }
  }

  /** The verdict for a path's content: from the memo (unchanged stamp), the cache, or clamd. */
  private async judge(path: string, ref: ContentRef): Promise<Judged> {
    const early = await this.ahead.get(path)
    if (early != null && early.stamp === ref.stamp) return early.judged
    return this.judgeAnew(path, ref)
  }

  private async judgeAnew(path: string, ref: ContentRef): Promise<Judged> {
    const bytes = await this.contentOf(path, ref)
    if (!(bytes instanceof Uint8Array)) return bytes
    // with its bytes, for an exec's interpreter (afterCloses keeps no bytes: it holds many judgments)
    return { ...this.judged(path, ref, bytes, await this.o.scanner.scanBytes(bytes)), bytes }
  }

  /** What judging a content starts from: a verdict known, or refused for its size, without reading
   *  it; else its bytes. */
  private async contentOf(path: string, ref: ContentRef): Promise<Uint8Array | Judged> {
    const known = this.memoized(path, ref)
    if (known !== undefined) return known
    const over = ref.size === undefined ? null : this.o.scanner.overLimit(ref.size)
    if (over !== null) return { verdict: over, sha256: '', source: 'none', head: null }
    return this.bytesOf(path, ref)
  }

  private memoized(path: string, ref: ContentRef): Judged | undefined {
    const known = this.remembered(path, ref)
    const v = known === undefined ? undefined : this.o.scanner.cached(known.sha256)
    return known === undefined || v === undefined ? undefined : { verdict: v, sha256: known.sha256, source: 'memo', head: known.head }
  }

  /** What is known of this content without reading it: this run's memo under the same stamp, else
   *  what an earlier run kept under the host file's stamp (then in the memo too). */
  private remembered(path: string, ref: ContentRef): { readonly sha256: string; readonly head: Uint8Array } | undefined {
    if (ref.stamp === undefined) return undefined
    const m = this.memo.get(path)
    if (m !== undefined && m.stamp === ref.stamp) return m
    const earlier = ref.hostStamp === undefined ? undefined : this.o.stamps?.stamped(ref.hostStamp)
    if (earlier !== undefined) this.remember(path, { stamp: ref.stamp, sha256: earlier.sha256, head: earlier.head })
    return earlier
  }

  private async bytesOf(path: string, ref: ContentRef): Promise<Uint8Array | Judged> {
    try {
      return await ref.read()
    } catch (err) {
      return { verdict: scanError(`cannot read ${path}: ${reasonOf(err)}`), sha256: '', source: 'none', head: null }
    }
  }

  private judged(path: string, ref: ContentRef, bytes: Uint8Array, r: ScanResult): Judged {
    // a copy: a Buffer's slice is a view, and the memo would keep every judged file's bytes alive
    const head = Uint8Array.prototype.slice.call(bytes, 0, 256)
    if (ref.stamp !== undefined && r.verdict.kind !== 'error') this.remember(path, { stamp: ref.stamp, sha256: r.sha256, head })
    if (ref.hostStamp !== undefined && r.verdict.kind !== 'error') this.o.stamps?.stamp(ref.hostStamp, { sha256: r.sha256, head })
    return { verdict: r.verdict, sha256: r.sha256, source: r.source, head }
  }

  private remember(path: string, m: { stamp: string; sha256: string; head: Uint8Array }): void {
    this.memo.delete(path)
    this.memo.set(path, m)
    if (this.memo.size > (this.o.memoEntries ?? 65536)) {
      const oldest = this.memo.keys().next()
      if (oldest.done !== true) this.memo.delete(oldest.value)
    }
  }

  private pass(path: string, trigger: Trigger, why: string): Decision {
    return { errno: 0, path, trigger, verdict: null, sha256: null, source: 'none', events: [], quarantined: null, message: `${path}: not scanned (${why})`, script: false }
  }

  private async decide(path: string, trigger: Trigger, call: string, j: Judged): Promise<Decision> {
    const { verdict } = j
    const events: Body[] = [{
      kind: 'scan.verdict', path, sha256: j.sha256, verdict: verdict.kind,
      signature: verdict.kind === 'infected' ? verdict.signature : null, trigger,
    }]
    const base = { path, trigger, verdict, sha256: j.sha256, source: j.source, script: j.head !== null && shebangOf(j.head) !== null }
    if (verdict.kind === 'clean') return { ...base, errno: 0, events, quarantined: null, message: `${path}: clean` }
    if (verdict.kind === 'error') {
      const deny = trigger !== 'close' && this.failure[trigger] === 'deny'
      if (deny) events.push({ kind: 'access.denied', path, call, errno: EACCES })
      return {
        ...base, errno: deny ? EACCES : 0, events, quarantined: null,
        message: `${path}: not scanned: ${verdict.reason}; ${trigger} ${deny ? 'denied (fail closed)' : 'allowed'} by --on-scanner-failure`,
      }
    }
    if (trigger !== 'close') events.push({ kind: 'access.denied', path, call, errno: EACCES })
    const moved = await this.quarantineOnce(path, j)
    if (typeof moved !== 'string') events.push({ kind: 'file.quarantine', path, id: moved.id, to: moved.to, ...(moved.copied === true ? { copied: true } : {}) })
    const where = typeof moved === 'string' ? moved : `quarantined as ${moved.id}`
    return {
      ...base, errno: trigger === 'close' ? 0 : EACCES, events, quarantined: typeof moved === 'string' ? null : moved,
      message: `${path}: ${describeVerdict(verdict)}; ${trigger === 'close' ? 'written' : `${trigger} denied`}, ${where}`,
    }
  }

  /** One move per path at a time: many processes opening one infected file at once get one
   *  quarantine (and one file.quarantine event); the others are told it is already on its way. */
  private async quarantineOnce(path: string, j: Judged): Promise<QuarantineRecord | string> {
    const to = this.o.quarantineTo
    if (to === undefined || to === null) return 'left in place (no quarantine directory)'
    const running = this.moving.get(path)
    if (running !== undefined) {
      const r = await running
      return typeof r === 'string' ? r : `already quarantined as ${r.id}`
    }
    const signature = j.verdict.kind === 'infected' ? j.verdict.signature : null
    const p = quarantine(path, to, { sha256: j.sha256, signature, guest: this.o.guest ?? null }).catch((err: unknown) => `quarantine failed: ${reasonOf(err)}`)
    this.moving.set(path, p)
    try {
      return await p
    } finally {
      this.moving.delete(path)
      this.memo.delete(path)
    }
  }
}
