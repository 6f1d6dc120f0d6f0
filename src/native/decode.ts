// The native batch format (src/native/encode.h) -> Drafts, decoded once at the boundary. Payloads
// are views into the batch Buffer, not copies; strings are bytes, made names by src/events/names.ts.
import * as E from 'fp-ts/lib/Either.js'
import { KINDS, decodeBody, nameFromBytes, type Body, type Draft } from '../events/index.js'

const TWO_32 = 2 ** 32

/** proc.ioUring's `via` by its code (UringVia in encode.h). */
const IO_URING_VIA = ['setup', 'enter', 'register', 'held'] as const
const SPECIALS = ['fifo', 'socket', 'char', 'block'] as const
const TYPES = ['file', 'dir', 'symlink', ...SPECIALS] as const
const typeOf = (s: string): (typeof TYPES)[number] => {
  const found = TYPES.find((t) => t === s)
  if (found === undefined) throw new Error(`bug: native file.rename record with type ${JSON.stringify(s)}`)
  return found
}
const specialOf = (s: string): (typeof SPECIALS)[number] => {
  const found = SPECIALS.find((x) => x === s)
  if (found === undefined) throw new Error(`bug: native fd.open record with special type ${JSON.stringify(s)}`)
  return found
}

class Reader {
  private at = 0
  private readonly view: DataView
  constructor(private readonly buf: Buffer) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
  }
  get offset(): number {
    return this.at
  }
  get done(): boolean {
    return this.at >= this.buf.length
  }
  u8(): number {
    return this.view.getUint8(this.at++)
  }
  u32(): number {
    const v = this.view.getUint32(this.at, true)
    this.at += 4
    return v
  }
  num(): number {
    const lo = this.view.getUint32(this.at, true)
    const hi = this.view.getUint32(this.at + 4, true)
    this.at += 8
    const v = hi * TWO_32 + lo
    if (!Number.isSafeInteger(v)) throw new Error(`native batch: a number at byte ${this.at - 8} exceeds 2^53`)
    return v
  }
  sint(): number {
    const v = this.view.getBigInt64(this.at, true)
    this.at += 8
    return Number(v)
  }
  ts(): bigint {
    const v = this.view.getBigUint64(this.at, true)
    this.at += 8
    return v
  }
  flag(): boolean {
    return this.u8() !== 0
  }
  /** Every string the tracer sends is kernel bytes (a name, an argument, a link target): as a name. */
  str(): string {
    const n = this.u32()
    const s = nameFromBytes(this.buf.subarray(this.at, this.at + n))
    this.at += n
    return s
  }
  nullableNum(): number | null {
    return this.flag() ? this.num() : null
  }
  nullableStr(): string | null {
    return this.flag() ? this.str() : null
  }
  nullableFlag(): boolean | null {
    return this.flag() ? this.flag() : null
  }
  bytes(): Uint8Array {
    const n = this.u32()
    const b = this.buf.subarray(this.at, this.at + n)
    this.at += n
    return b
  }
}

/** An open's or mkdir's stat of its node: permission bits, owner, group (each or none). */
const attributesOf = (r: Reader): { mode?: number; uid?: number; gid?: number } => {
  const mode = r.nullableNum(), uid = r.nullableNum(), gid = r.nullableNum()
  return { ...(mode === null ? {} : { mode }), ...(uid === null ? {} : { uid }), ...(gid === null ? {} : { gid }) }
}

interface Decoded {
  readonly body: Body
  readonly data?: Uint8Array
}

/** One record's fields, in the order encode.h's emitters write them (see calls.cc and files.cc). */
const readBody = (kind: string, r: Reader): Decoded => {
  switch (kind) {
    case 'proc.spawn': return { body: { kind, child: r.num(), thread: r.flag(), shareFiles: r.flag() } }
    case 'proc.exec': {
      const path = r.str()
      const argv: string[] = []
      for (let n = r.num(); n > 0; n--) argv.push(r.str())
      const exe = r.nullableStr()
      return { body: exe === null ? { kind, path, argv } : { kind, path, argv, exe } }
    }
    case 'proc.exit': return { body: { kind, status: r.sint(), thread: r.flag() } }
    case 'proc.reparent': return { body: { kind, ppid: r.num() } }
    case 'proc.chdir': return { body: { kind, path: r.str() } }
    case 'proc.ioUring': {
      const code = r.u8()
      const via = IO_URING_VIA[code]
      if (via === undefined) throw new Error(`bug: native proc.ioUring record with via code ${code}`)
      return { body: { kind, via, fd: r.nullableNum() } }
    }
    case 'fd.open': {
      const body = { kind, fd: r.num(), path: r.str(), flags: r.num(), inode: r.nullableStr(), created: r.nullableFlag() }
      const deleted = r.flag(), special = r.str(), seen = attributesOf(r)
      // Object.assign, not spreads, for the commonest kind (see withEnvelope)
      return { body: Object.assign(body, special === '' ? {} : { special: specialOf(special) }, seen, deleted ? { deleted: true as const } : {}) }
    }
    case 'fd.dup': return { body: { kind, fd: r.num(), newFd: r.num(), cloexec: r.flag() } }
    case 'fd.close': return { body: { kind, fd: r.num() } }
    case 'fd.closeRange': return { body: { kind, first: r.num(), last: r.num(), cloexecOnly: r.flag() } }
    case 'fd.cloexec': return { body: { kind, fd: r.num(), on: r.flag() } }
    case 'fd.seek': return { body: { kind, fd: r.num(), pos: r.num() } }
    case 'fd.read': return { body: { kind, fd: r.num(), len: r.num() } }
    case 'file.write': {
      const fd = r.num(), offset = r.nullableNum(), len = r.num(), data = r.bytes()
      const body = { kind, fd, offset, len, known: data.length }
      return { body: r.flag() ? { ...body, append: true } : body, data }
    }
    case 'fd.setfl': return { body: { kind, fd: r.num(), flags: r.num() } }
    case 'file.truncate': return { body: { kind, path: r.nullableStr(), fd: r.nullableNum(), size: r.num() } }
    case 'file.allocate': return { body: { kind, fd: r.num(), mode: r.num(), offset: r.num(), len: r.num() } }
    case 'file.rename': {
      const body = { kind, from: r.str(), to: r.str(), flags: r.num() }
      const type = r.str()
      return { body: type === '' ? body : { ...body, type: typeOf(type) } }
    }
    case 'file.unlink': return { body: { kind, path: r.str() } }
    case 'file.link': {
      const body = { kind, from: r.str(), to: r.str() }
      const inode = r.nullableStr()
      return { body: inode === null ? body : { ...body, inode } }
    }
    case 'file.symlink': return { body: { kind, target: r.str(), path: r.str() } }
    case 'file.mkdir': {
      const path = r.str()
      return { body: { kind, path, ...attributesOf(r) } }
    }
    case 'file.chown': {
      const path = r.str(), uid = r.num(), gid = r.num(), inode = r.nullableStr(), nofollow = r.flag()
      return { body: { kind, path, uid, gid, ...(inode === null ? {} : { inode }), ...(nofollow ? { nofollow } : {}) } }
    }
    case 'file.chmod': {
      const path = r.str(), mode = r.num(), inode = r.nullableStr()
      return { body: inode === null ? { kind, path, mode } : { kind, path, mode, inode } }
    }
    case 'file.mknod': return { body: { kind, path: r.str(), mode: r.num(), rdev: r.num() } }
    case 'file.rmdir': return { body: { kind, path: r.str() } }
    case 'file.flush': return { body: { kind, fd: r.num() } }
    case 'file.observe': {
      const path = r.str(), inode = r.nullableStr(), offset = r.num(), size = r.nullableNum(), len = r.num(), data = r.bytes()
      return { body: { kind, path, inode, offset, size, len, known: data.length }, data }
    }
    case 'view.map': {
      const body = { kind, addr: r.num(), len: r.num(), prot: r.num(), shared: r.flag(), path: r.str(), inode: r.nullableStr(), offset: r.num() }
      return { body: r.flag() ? { ...body, deleted: true } : body }
    }
    case 'view.unmap': return { body: { kind, addr: r.num(), len: r.num() } }
    case 'view.remap': return { body: { kind, addr: r.num(), len: r.num(), newAddr: r.num(), newLen: r.num() } }
    case 'view.protect': return { body: { kind, addr: r.num(), len: r.num(), prot: r.num() } }
    case 'view.remove': return { body: { kind, addr: r.num(), len: r.num() } }
    case 'view.sync': {
      const path = r.str(), inode = r.nullableStr(), offset = r.num(), len = r.num(), data = r.bytes()
      return { body: { kind, path, inode, offset, len, known: data.length }, data }
    }
    case 'file.sync': {
      const path = r.str(), inode = r.nullableStr(), size = r.num(), offset = r.num(), len = r.num(), data = r.bytes()
      return { body: { kind, path, inode, size, offset, len, known: data.length }, data }
    }
    // the tracer journals only the clean verdicts it was lent (admissions.cc)
    case 'scan.verdict': return { body: { kind, path: r.str(), sha256: r.str(), verdict: 'clean', signature: null, trigger: lentTrigger(r.str()) } }
    case 'access.denied': return { body: { kind, path: r.str(), call: r.str(), errno: r.sint() } }
    default: throw new Error(`bug: the native interceptor does not emit ${kind}`)
  }
}

const lentTrigger = (s: string): 'exec' | 'open' => {
  if (s === 'exec' || s === 'open') return s
  throw new Error(`bug: the native interceptor lent a verdict for trigger ${JSON.stringify(s)}`)
}

/** Decodes a batch. validate: also check every body with its io-ts codec (tests, debugging). */
export const decodeBatch = (buf: Buffer, validate: boolean): Draft[] => {
  const r = new Reader(buf)
  const out: Draft[] = []
  while (!r.done) {
    const start = r.offset
    const size = r.u32()
    const code = r.u8()
    const pid = r.u32()
    const tid = r.u32()
    const ts = r.ts()
    const kind = KINDS[code]
    if (kind === undefined) throw new Error(`bug: native record at byte ${start} has unknown kind code ${code}`)
    const { body, data } = readBody(kind, r)
    if (r.offset !== start + size) throw new Error(`bug: native ${kind} record at byte ${start} is ${size} bytes, decoding read ${r.offset - start}`)
    if (validate) {
      const checked = decodeBody(body)
      if (E.isLeft(checked)) throw new Error(`bug: native ${kind} record at byte ${start}: ${checked.left}`)
    }
    out.push(data === undefined ? { ts, pid, tid, body } : { ts, pid, tid, body, data })
  }
  return out
}
