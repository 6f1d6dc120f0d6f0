// The content projection against a plain reference model: one byte array per file identity.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import fc from 'fast-check'
import { O_APPEND, O_CREAT, O_EXCL, O_RDWR, O_TRUNC, O_WRONLY } from '../../src/events/index.js'
import { Script, open, write } from '../support/events.js'
import { runs } from '../support/runs.js'

const PATHS = ['/w/a', '/w/b', '/w/c']

type Op =
  | { op: 'open'; path: number; append: boolean; trunc: boolean }
  | { op: 'write'; fd: number; data: Uint8Array }
  | { op: 'pwrite'; fd: number; data: Uint8Array; offset: number }
  | { op: 'seek'; fd: number; pos: number }
  | { op: 'ftruncate'; fd: number; size: number }
  | { op: 'truncate'; path: number; size: number }
  | { op: 'rename'; from: number; to: number }
  | { op: 'unlink'; path: number }
  | { op: 'link'; from: number; to: number }
  | { op: 'close'; fd: number }
  | { op: 'fallocate'; fd: number; mode: number; offset: number; len: number }
  | { op: 'clone'; fd: number; src: number; srcOffset: number; len: number; destOffset: number }
  | { op: 'setfl'; fd: number; append: boolean }
  | { op: 'pwriteAppend'; fd: number; data: Uint8Array; offset: number | null }

const bytes = fc.uint8Array({ minLength: 1, maxLength: 40 })
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('open' as const), path: fc.nat(2), append: fc.boolean(), trunc: fc.boolean() }),
  fc.record({ op: fc.constant('write' as const), fd: fc.nat(3), data: bytes }),
  fc.record({ op: fc.constant('pwrite' as const), fd: fc.nat(3), data: bytes, offset: fc.nat(120) }),
  fc.record({ op: fc.constant('seek' as const), fd: fc.nat(3), pos: fc.nat(120) }),
  fc.record({ op: fc.constant('ftruncate' as const), fd: fc.nat(3), size: fc.nat(120) }),
  fc.record({ op: fc.constant('truncate' as const), path: fc.nat(2), size: fc.nat(120) }),
  fc.record({ op: fc.constant('rename' as const), from: fc.nat(2), to: fc.nat(2) }),
  fc.record({ op: fc.constant('unlink' as const), path: fc.nat(2) }),
  fc.record({ op: fc.constant('link' as const), from: fc.nat(2), to: fc.nat(2) }),
  fc.record({ op: fc.constant('close' as const), fd: fc.nat(3) }),
  // plain, KEEP_SIZE, PUNCH_HOLE|KEEP_SIZE, ZERO_RANGE, ZERO_RANGE|KEEP_SIZE, COLLAPSE_RANGE, INSERT_RANGE
  fc.record({ op: fc.constant('fallocate' as const), fd: fc.nat(3), mode: fc.constantFrom(0, 1, 3, 0x10, 0x11, 0x08, 0x20), offset: fc.nat(120), len: fc.integer({ min: 1, max: 60 }) }),
  // a reflink (FICLONERANGE; len 0: to the end of the source, as FICLONE)
  fc.record({ op: fc.constant('clone' as const), fd: fc.nat(3), src: fc.nat(3), srcOffset: fc.nat(60), len: fc.nat(60), destOffset: fc.nat(120) }),
  // fcntl(F_SETFL) turning O_APPEND on or off; pwritev2 with RWF_APPEND (offset null: -1, at the position)
  fc.record({ op: fc.constant('setfl' as const), fd: fc.nat(3), append: fc.boolean() }),
  fc.record({ op: fc.constant('pwriteAppend' as const), fd: fc.nat(3), data: bytes, offset: fc.option(fc.nat(120), { nil: null }) }),
)

/** Reference: inodes are byte arrays; names and fds point at them; mirrors Linux semantics. */
class Model {
  inodes: Uint8Array[] = []
  names = new Map<string, number>()
  fds = new Map<number, { ino: number; pos: number; append: boolean }>()
  private grow(ino: number, size: number): void {
    const old = this.inodes[ino]
    if (size <= old.length) return
    const n = new Uint8Array(size)
    n.set(old)
    this.inodes[ino] = n
  }
  writeAt(ino: number, offset: number, data: Uint8Array): void {
    this.grow(ino, offset + data.length)
    this.inodes[ino].set(data, offset)
  }
  /** fallocate(2) as Linux does it; false where it fails (EINVAL), changing nothing */
  allocate(ino: number, mode: number, offset: number, len: number): boolean {
    const old = this.inodes[ino]
    const size = old.length
    if (mode === 0x08 || mode === 0x20) {
      // COLLAPSE_RANGE must end before the end of file; INSERT_RANGE must start before it
      if (mode === 0x08 ? offset + len >= size : offset >= size) return false
      const n = new Uint8Array(mode === 0x08 ? size - len : size + len)
      n.set(old.subarray(0, offset))
      if (mode === 0x08) n.set(old.subarray(offset + len), offset)
      else n.set(old.subarray(offset), offset + len)
      this.inodes[ino] = n
      return true
    }
    if ((mode & 0x12) !== 0) {
      // PUNCH_HOLE and ZERO_RANGE: zeros over the range (within the file when KEEP_SIZE)
      this.grow(ino, (mode & 1) !== 0 ? size : offset + len)
      this.inodes[ino].fill(0, offset, Math.min(offset + len, this.inodes[ino].length))
      return true
    }
    if ((mode & 1) === 0) this.grow(ino, offset + len)
    return true
  }
  truncate(ino: number, size: number): void {
    const n = new Uint8Array(size)
    n.set(this.inodes[ino].subarray(0, size))
    this.inodes[ino] = n
  }
}

const run = (ops: Op[]) => {
  const m = new Model()
  const s = new Script()
  const pid = 100
  const check = () => {
    const w = s.fold()
    for (const [path, ino] of m.names) assert.deepEqual(s.bytes(w, path), m.inodes[ino], `content of ${path} after #${s.events.length}`)
    for (const p of PATHS) if (!m.names.has(p)) assert.equal(w.names.get(p), undefined, `${p} should not exist`)
  }
  for (const o of ops) {
    switch (o.op) {
      case 'open': {
        const path = PATHS[o.path]
        const fd = [0, 1, 2, 3].find((f) => !m.fds.has(f))
        if (fd === undefined) break
        let ino = m.names.get(path)
        const created = ino === undefined
        if (ino === undefined) {
          ino = m.inodes.push(new Uint8Array(0)) - 1
          m.names.set(path, ino)
        }
        if (o.trunc) m.truncate(ino, 0)
        m.fds.set(fd, { ino, pos: 0, append: o.append })
        // a source that knows creation says so; the model starts from an empty directory
        const flags = O_RDWR | O_CREAT | (created ? O_EXCL : 0) | (o.trunc ? O_TRUNC : 0) | (o.append ? O_APPEND : 0)
        s.add(pid, open(fd, path, flags, created ? true : null))
        break
      }
      case 'write': {
        const f = m.fds.get(o.fd)
        if (f === undefined) break
        const at = f.append ? m.inodes[f.ino].length : f.pos
        m.writeAt(f.ino, at, o.data)
        f.pos = at + o.data.length
        s.add(pid, write(o.fd, o.data), o.data)
        break
      }
      case 'pwrite': {
        const f = m.fds.get(o.fd)
        if (f === undefined) break
        // Linux: pwrite on an O_APPEND fd appends whatever the offset (pwrite(2), BUGS)
        m.writeAt(f.ino, f.append ? m.inodes[f.ino].length : o.offset, o.data)
        s.add(pid, write(o.fd, o.data, o.offset), o.data)
        break
      }
      case 'seek': {
        const f = m.fds.get(o.fd)
        if (f === undefined) break
        f.pos = o.pos
        s.add(pid, { kind: 'fd.seek', fd: o.fd, pos: o.pos })
        break
      }
      case 'ftruncate': {
        const f = m.fds.get(o.fd)
        if (f === undefined) break
        m.truncate(f.ino, o.size)
        s.add(pid, { kind: 'file.truncate', fd: o.fd, path: null, size: o.size })
        break
      }
      case 'truncate': {
        const ino = m.names.get(PATHS[o.path])
        if (ino === undefined) break
        m.truncate(ino, o.size)
        s.add(pid, { kind: 'file.truncate', fd: null, path: PATHS[o.path], size: o.size })
        break
      }
      case 'rename': {
        const ino = m.names.get(PATHS[o.from])
        if (ino === undefined) break
        // rename(2): two names of one file stay as they are
        if (o.from !== o.to && m.names.get(PATHS[o.to]) !== ino) {
          m.names.delete(PATHS[o.from])
          m.names.set(PATHS[o.to], ino)
        }
        s.add(pid, { kind: 'file.rename', from: PATHS[o.from], to: PATHS[o.to], flags: 0 })
        break
      }
      case 'unlink': {
        if (!m.names.delete(PATHS[o.path])) break
        s.add(pid, { kind: 'file.unlink', path: PATHS[o.path] })
        break
      }
      case 'link': {
        const ino = m.names.get(PATHS[o.from])
        if (ino === undefined || m.names.has(PATHS[o.to])) break
        m.names.set(PATHS[o.to], ino)
        s.add(pid, { kind: 'file.link', from: PATHS[o.from], to: PATHS[o.to] })
        break
      }
      case 'fallocate': {
        const f = m.fds.get(o.fd)
        if (f === undefined || !m.allocate(f.ino, o.mode, o.offset, o.len)) break
        s.add(pid, { kind: 'file.allocate', fd: o.fd, mode: o.mode, offset: o.offset, len: o.len })
        break
      }
      case 'setfl': {
        const f = m.fds.get(o.fd)
        if (f === undefined) break
        f.append = o.append
        s.add(pid, { kind: 'fd.setfl', fd: o.fd, flags: o.append ? O_APPEND : 0 })
        break
      }
      case 'pwriteAppend': {
        const f = m.fds.get(o.fd)
        if (f === undefined) break
        // at the end whatever the offset; the position moves only for offset -1
        const at = m.inodes[f.ino].length
        m.writeAt(f.ino, at, o.data)
        if (o.offset === null) f.pos = at + o.data.length
        s.add(pid, { kind: 'file.write', fd: o.fd, offset: o.offset, len: o.data.length, known: o.data.length, append: true }, o.data)
        break
      }
      case 'clone': {
        const [f, src] = [m.fds.get(o.fd), m.fds.get(o.src)]
        if (f === undefined || src === undefined) break
        const from = m.inodes[src.ino]
        const len = o.len > 0 ? o.len : from.length - o.srcOffset
        // the kernel refuses a range past the source's end and overlapping ranges of one file
        if (len < 0 || o.srcOffset + len > from.length) break
        if (f.ino === src.ino && o.srcOffset < o.destOffset + len && o.destOffset < o.srcOffset + len) break
        if (len > 0) m.writeAt(f.ino, o.destOffset, from.slice(o.srcOffset, o.srcOffset + len)) // nothing to clone: no change
        s.add(pid, { kind: 'file.clone', fd: o.fd, srcFd: o.src, srcOffset: o.srcOffset, len: o.len, destOffset: o.destOffset })
        break
      }
      case 'close': {
        if (!m.fds.delete(o.fd)) break
        s.add(pid, { kind: 'fd.close', fd: o.fd })
        break
      }
    }
    check()
  }
  // the open fds still reach content whose last name is gone
  const w = s.fold()
  for (const [fd, f] of m.fds) {
    const row = [...(w.tables.get(w.procs.get(pid)!.table)?.fds ?? [])].find(([n]) => n === fd)
    assert.ok(row, `fd ${fd} open`)
    const node = w.nodes.get(w.ofds.get(row[1].ofd)!.node)!
    assert.equal(node.content.size, m.inodes[f.ino].length, `size through fd ${fd}`)
  }
}

test('given random writes, pwrites, truncates, fallocates (every mode), clones, O_APPEND set and cleared, RWF_APPEND writes, renames, links and unlinks, content equals a byte-array model after every event', () => {
  fc.assert(fc.property(fc.array(opArb, { maxLength: 60 }), (ops) => run(ops)), { numRuns: runs(400) })
})

test('given a write past the end, the hole reads as zeros, not unknown', () => {
  const s = new Script()
  s.add(1, open(3, '/f', O_WRONLY | O_CREAT | O_EXCL, true))
  s.add(1, write(3, new Uint8Array([7]), 4), new Uint8Array([7]))
  assert.deepEqual(s.bytes(s.fold(), '/f'), new Uint8Array([0, 0, 0, 0, 7]))
})

test('given a file eyrie never saw created, when a process overwrites its start, the rest is unknown', () => {
  const s = new Script()
  s.add(1, open(3, '/old', O_WRONLY, null))
  s.add(1, write(3, new Uint8Array([1, 2])), new Uint8Array([1, 2]))
  const w = s.fold()
  assert.throws(() => s.bytes(w, '/old'), /unknown size/)
})
