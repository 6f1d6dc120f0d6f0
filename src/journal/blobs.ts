// Large payloads live outside LMDB's B-tree, in append-only segment files under `<journal>/blobs/`;
// LMDB holds a reference (segment, offset, length, crc) to them. LMDB copies a large value twice
// (into its dirty pages, then out to the file) and writes it through its own page machinery; here the
// caller's bytes go to the file in one pwritev, as `dd` writes them (bench/journal.ts).
//
// Durability: a batch's bytes are written and fdatasync'd *before* the LMDB transaction that refers
// to them is issued (lmdb.ts orders this), so a committed reference never points at bytes a crash can
// lose. A crash can leave bytes past the last committed reference: the writer cuts the segment back
// to the committed end when it opens the journal. Format: journal/README.md.
import { closeSync, fdatasync, fsync, mkdirSync, openSync, readdirSync, readSync, ftruncateSync, unlinkSync, writeSync, writev, fstatSync } from 'node:fs'
import { join } from 'node:path'
import { DIR_MODE, FILE_MODE } from './files.js'
import { JournalError } from './errors.js'

export const BLOB_DIR = 'blobs'
/** At the start of every segment file: what it is, and the layout version of what follows. */
export const SEGMENT_MAGIC = Buffer.from('eyrie-blobs\0\0\0\0\x01', 'latin1')
/** Segments hold at most this much, unless one batch alone is larger. */
export const SEGMENT_BYTES = 64 * 1024 * 1024

export const segmentName = (segment: number): string => `${segment.toString().padStart(8, '0')}.seg`
const SEGMENT_FILE = /^(\d{8})\.seg$/

export interface BlobRef {
  readonly segment: number
  readonly offset: number
  readonly length: number
}

/** Committed state of one segment, as the `segments` database holds it. */
export interface SegmentState {
  /** bytes of the file that committed references may use (magic included) */
  readonly end: number
  /** bytes still referenced (forget lowers it; at 0 the segment can go) */
  readonly live: number
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err))

const ioError = (what: string, err: unknown): JournalError =>
  new JournalError('IO', `journal blobs: ${what}: ${message(err)}`, {}, { cause: err })

const promised = <T>(f: (cb: (err: NodeJS.ErrnoException | null, value?: T) => void) => void): Promise<T | undefined> =>
  new Promise((resolve, reject) => f((err, value) => (err ? reject(err) : resolve(value))))

/** The segment files of one journal: appends (the writer) and reads (any process). */
export class BlobLog {
  private readonly dir: string
  private readonly fds = new Map<number, number>()
  /** the segment appends go to, and where the next one lands in it (reserved, not yet committed) */
  private current = 0
  private tail = 0
  /** segments written since the last sync began, and those whose directory entry is not yet synced */
  private dirty = new Set<number>()
  private newFiles = new Set<number>()
  private syncing: Promise<void> | undefined
  private queued: Promise<void> | undefined

  constructor(journalDir: string, private readonly opts: { readonly readOnly: boolean; readonly noSync: boolean; readonly segmentBytes?: number }) {
    this.dir = join(journalDir, BLOB_DIR)
  }

  /** The writer's start: cut the last segment back to its committed end (a crash may have left bytes
   *  no reference uses), remove segment files no record knows (created, or left to die, by a writer
   *  that stopped before it could commit or unlink), and continue in the last segment. */
  openForWriting(committed: ReadonlyMap<number, SegmentState>): void {
    mkdirSync(this.dir, { recursive: true, mode: DIR_MODE })
    for (const name of readdirSync(this.dir)) {
      const m = SEGMENT_FILE.exec(name)
      if (m !== null && !committed.has(Number(m[1]))) unlinkSync(join(this.dir, name))
    }
    const last = Math.max(0, ...committed.keys())
    if (last === 0) return
    const state = committed.get(last)
    if (state === undefined) return
    const fd = this.fd(last, true)
    if (fstatSync(fd).size > state.end) ftruncateSync(fd, state.end)
    this.current = last
    this.tail = state.end
  }

  /** Where `length` bytes go: the current segment, or a new one when they would not fit (a batch larger
   *  than a segment gets one of its own). Synchronous, so that appends take places in call order. */
  reserve(length: number): BlobRef {
    const full = this.tail > SEGMENT_MAGIC.length && this.tail + length > (this.opts.segmentBytes ?? SEGMENT_BYTES)
    if (this.current === 0 || full) this.startSegment()
    const ref = { segment: this.current, offset: this.tail, length }
    this.tail += length
    return ref
  }

  /** Writes one batch's bytes at the place reserve() gave for their first buffer. The segment counts
   *  as dirty once the bytes are written: a sync that began before would not cover them. */
  async write(segment: number, offset: number, buffers: readonly Uint8Array[]): Promise<void> {
    const fd = this.fd(segment, true)
    let rest = buffers.filter((b) => b.length > 0)
    let at = offset
    try {
      // a write may be short (the disk filling up): go on with what is left until all is written or
      // the file system says why not
      while (rest.length > 0) {
        const n = (await promised<number>((cb) => writev(fd, rest, at, cb))) ?? 0
        if (n <= 0) throw new Error('pwritev wrote nothing')
        at += n
        let skip = n
        const next: Uint8Array[] = []
        for (const b of rest) {
          if (skip >= b.length) {
            skip -= b.length
            continue
          }
          next.push(skip > 0 ? b.subarray(skip) : b)
          skip = 0
        }
        rest = next
      }
    } catch (err) {
      throw ioError(`write to ${segmentName(segment)} at ${at}`, err)
    }
    this.dirty.add(segment)
  }

  /** Resolves once every write that completed before this call is on disk (and every new segment's
   *  name with it). One fdatasync runs at a time; callers that arrive meanwhile share the next one. */
  sync(): Promise<void> {
    if (this.opts.noSync) return Promise.resolve()
    if (this.syncing === undefined) {
      this.syncing = this.syncOnce().finally(() => (this.syncing = undefined))
      return this.syncing
    }
    this.queued ??= this.syncing.catch(() => {}).then(() => {
      this.queued = undefined
      return this.sync()
    })
    return this.queued
  }

  private async syncOnce(): Promise<void> {
    const segments = [...this.dirty]
    const created = this.newFiles.size > 0
    this.dirty = new Set()
    this.newFiles = new Set()
    try {
      await Promise.all(segments.map((s) => promised((cb) => fdatasync(this.fd(s, true), cb))))
      if (created) {
        const dirFd = openSync(this.dir, 'r')
        try {
          await promised((cb) => fsync(dirFd, cb))
        } finally {
          closeSync(dirFd)
        }
      }
    } catch (err) {
      throw ioError('fdatasync', err)
    }
  }

  /** `length` bytes at `offset` of a segment; fewer when the file is shorter (the caller checks). */
  read(ref: BlobRef): Buffer {
    const out = Buffer.allocUnsafe(ref.length)
    const fd = this.fd(ref.segment, false)
    let got = 0
    while (got < ref.length) {
      const n = readSync(fd, out, got, ref.length - got, ref.offset + got)
      if (n === 0) break
      got += n
    }
    return got === ref.length ? out : out.subarray(0, got)
  }

  /** A segment's size (its header checked first). */
  size(segment: number): number {
    return fstatSync(this.fd(segment, false)).size
  }

  /** Removes segments nothing refers to any more (after the transaction that said so is durable). */
  remove(segments: readonly number[]): void {
    for (const s of segments) {
      const fd = this.fds.get(s)
      if (fd !== undefined) closeSync(fd)
      this.fds.delete(s)
      try {
        unlinkSync(join(this.dir, segmentName(s)))
      } catch (err) {
        // already gone is what we wanted; anything else leaves an orphan the next writer removes
        if (Reflect.get(Object(err), 'code') !== 'ENOENT') process.emitWarning(`journal blobs: cannot remove ${segmentName(s)}: ${message(err)}`)
      }
    }
  }

  get currentSegment(): number {
    return this.current
  }

  close(): void {
    for (const fd of this.fds.values()) closeSync(fd)
    this.fds.clear()
  }

  private startSegment(): void {
    const segment = this.current + 1
    const fd = openSync(join(this.dir, segmentName(segment)), 'wx+', FILE_MODE)
    this.fds.set(segment, fd)
    writeSync(fd, SEGMENT_MAGIC, 0, SEGMENT_MAGIC.length, 0)
    this.newFiles.add(segment)
    this.dirty.add(segment)
    this.current = segment
    this.tail = SEGMENT_MAGIC.length
  }

  /** An open descriptor for a segment (opened on first use, kept until close). */
  private fd(segment: number, write: boolean): number {
    let fd = this.fds.get(segment)
    if (fd === undefined) {
      try {
        fd = openSync(join(this.dir, segmentName(segment)), write && !this.opts.readOnly ? 'r+' : 'r')
      } catch (err) {
        throw new JournalError('CORRUPT', `segment ${segmentName(segment)} cannot be opened (${message(err)})`, {}, { cause: err })
      }
      const head = Buffer.alloc(SEGMENT_MAGIC.length)
      const n = readSync(fd, head, 0, head.length, 0)
      if (n !== head.length || !head.equals(SEGMENT_MAGIC)) {
        closeSync(fd)
        throw new JournalError('CORRUPT', `segment ${segmentName(segment)} does not start with the segment header`)
      }
      this.fds.set(segment, fd)
    }
    return fd
  }
}
