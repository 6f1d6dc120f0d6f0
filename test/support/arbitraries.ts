// fast-check arbitraries of valid event bodies (every kind in bodyCodecs) and drafts, in Linux-like
// ranges: fds < 1024, pids up to pid_max, absolute paths, 64-bit nanosecond clocks.
import fc from 'fast-check'
import { hasPayload, type Body, type BodyOf, type Draft, type Kind } from '../../src/events/index.js'

export const arbFd = fc.integer({ min: 0, max: 1023 })
export const arbPid = fc.integer({ min: 1, max: 4_194_304 }) // /proc/sys/kernel/pid_max on 64-bit
export const arbTs = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n })
/** Sizes and offsets: mostly small, sometimes anywhere up to 2^53 (float64 territory in msgpack). */
export const arbSize = fc.oneof(fc.nat(4096), fc.nat(0xffff_ffff), fc.maxSafeNat())
export const arbFlags = fc.integer({ min: 0, max: 0o37777777 })
export const arbProt = fc.integer({ min: 0, max: 7 })
export const arbAddr = fc.oneof(fc.integer({ min: 0x1000, max: 0xffff_ffff }), fc.integer({ min: 0x7f00_0000_0000, max: 0x7fff_ffff_f000 }))
export const arbStatus = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 })
export const arbInode = fc.option(
  fc.tuple(fc.nat(0xffff), fc.maxSafeNat()).map(([dev, ino]) => `${dev}:${ino}`),
  { nil: null },
)
/** a user or group id: root and the usual first user more often */
export const arbId = fc.oneof(fc.constantFrom(0, 1000), fc.nat(0xffff_fffe))
export const arbOwner = fc.record({ uid: arbId, gid: arbId }, { noNullPrototype: true })
/** permission bits, usual ones more often */
export const arbMode = fc.oneof(fc.constantFrom(0o644, 0o755, 0o600, 0o4755, 0o1777), fc.nat(0o7777))

/** fast-check records have a null prototype by default; events are plain objects. */
const rec = <T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> => fc.record(model, { noNullPrototype: true })

/** A path component: any text without '/' or NUL, including non-ASCII. */
const arbName = fc
  .string({ unit: fc.oneof(fc.constantFrom('a', 'b', 'x', '.', '-', '_', ' ', '0'), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 })), minLength: 1, maxLength: 12 })
  .filter((s) => !s.includes('/') && !s.includes('\0'))
export const arbPath = fc.array(arbName, { maxLength: 6 }).map((parts) => `/${parts.join('/')}`)
const arbText = fc.string({ unit: 'grapheme', maxLength: 24 })

/** Payload kinds: `known` small (test data is materialised), `len` anything from known upwards. */
const arbBytes = fc.tuple(fc.nat(64), fc.oneof(fc.constant(0), fc.nat(4096), fc.nat(1 << 30))).map(([known, extra]) => ({ known, len: known + extra }))

const arbFdSnap = rec({ fd: arbFd, path: fc.oneof(arbPath, fc.constantFrom('pipe:[1234]', 'socket:[99]', 'anon_inode:[eventfd]')), flags: arbFlags, pos: arbSize, cloexec: fc.boolean(), inode: arbInode })
const arbMapSnap = rec({ addr: arbAddr, len: arbSize, prot: arbProt, shared: fc.boolean(), path: arbPath, inode: arbInode, offset: arbSize })
const arbProcSnap = rec({
  pid: arbPid,
  ppid: fc.nat(4_194_304),
  exe: arbPath,
  cwd: arbPath,
  threads: fc.array(arbPid, { maxLength: 4 }),
  fds: fc.array(arbFdSnap, { maxLength: 4 }),
  maps: fc.array(arbMapSnap, { maxLength: 3 }),
})
const arbFileSnap = fc.tuple(
  rec({
    path: arbPath,
    type: fc.constantFrom('file' as const, 'dir' as const, 'symlink' as const),
    size: fc.option(arbSize, { nil: null }),
    inode: arbInode,
    target: fc.option(arbText, { nil: null }),
  }),
  fc.option(fc.tuple(arbMode, arbOwner), { nil: undefined }),
).map(([f, seen]) => (seen === undefined ? f : { ...f, mode: seen[0], ...seen[1] }))

/** One arbitrary per kind; the mapped type makes a new kind fail to compile until it has one. */
export const bodyArbitraries: { readonly [K in Kind]: fc.Arbitrary<BodyOf<K>> } = {
  snapshot: fc.tuple(
    rec({ kind: fc.constant('snapshot' as const), procs: fc.array(arbProcSnap, { maxLength: 3 }), files: fc.array(arbFileSnap, { maxLength: 4 }) }),
    fc.option(fc.constantFrom('writable' as const, 'none' as const), { nil: undefined }),
  ).map(([s, positions]) => (positions === undefined ? s : { ...s, positions })),
  'proc.spawn': rec({ kind: fc.constant('proc.spawn' as const), child: arbPid, thread: fc.boolean(), shareFiles: fc.boolean() }),
  'proc.exec': rec({ kind: fc.constant('proc.exec' as const), path: arbPath, argv: fc.array(arbText, { maxLength: 5 }) }),
  'proc.exit': rec({ kind: fc.constant('proc.exit' as const), status: arbStatus, thread: fc.boolean() }),
  'proc.chdir': rec({ kind: fc.constant('proc.chdir' as const), path: arbPath }),
  'proc.ioUring': rec({ kind: fc.constant('proc.ioUring' as const), via: fc.constantFrom('setup' as const, 'enter' as const, 'register' as const, 'held' as const), fd: fc.option(arbFd, { nil: null }) }),
  'fd.open': fc.tuple(
    rec({ kind: fc.constant('fd.open' as const), fd: arbFd, path: arbPath, flags: arbFlags, inode: arbInode, created: fc.option(fc.boolean(), { nil: null }) }),
    fc.option(fc.constantFrom('fifo' as const, 'socket' as const, 'char' as const, 'block' as const), { nil: undefined }),
    fc.option(arbMode, { nil: undefined }),
    fc.option(arbOwner, { nil: undefined }),
  ).map(([body, special, mode, owner]) => ({ ...body, ...(special === undefined ? {} : { special }), ...(mode === undefined ? {} : { mode }), ...owner })),
  'fd.dup': rec({ kind: fc.constant('fd.dup' as const), fd: arbFd, newFd: arbFd, cloexec: fc.boolean() }),
  'fd.close': rec({ kind: fc.constant('fd.close' as const), fd: arbFd }),
  'fd.closeRange': rec({ kind: fc.constant('fd.closeRange' as const), first: arbFd, last: fc.oneof(arbFd, fc.constant(0xffff_ffff)), cloexecOnly: fc.boolean() }),
  'fd.setfl': rec({ kind: fc.constant('fd.setfl' as const), fd: arbFd, flags: fc.constantFrom(0, 0o2000, 0o4000, 0o6000) }),
  'fd.cloexec': rec({ kind: fc.constant('fd.cloexec' as const), fd: arbFd, on: fc.boolean() }),
  'fd.seek': rec({ kind: fc.constant('fd.seek' as const), fd: arbFd, pos: arbSize }),
  'fd.read': rec({ kind: fc.constant('fd.read' as const), fd: arbFd, len: arbSize }),
  'file.write': rec({ kind: fc.constant('file.write' as const), fd: arbFd, offset: fc.option(arbSize, { nil: null }), bytes: arbBytes }).map(({ bytes, ...b }) => ({ ...b, ...bytes })),
  'file.truncate': fc.oneof(
    rec({ kind: fc.constant('file.truncate' as const), path: arbPath, fd: fc.constant(null), size: arbSize }),
    rec({ kind: fc.constant('file.truncate' as const), path: fc.constant(null), fd: arbFd, size: arbSize }),
  ),
  'file.clone': rec({ kind: fc.constant('file.clone' as const), fd: arbFd, srcFd: arbFd, srcOffset: arbSize, len: arbSize, destOffset: arbSize }),
  'file.allocate': rec({ kind: fc.constant('file.allocate' as const), fd: arbFd, mode: fc.constantFrom(0, 1, 2, 3, 0x10), offset: arbSize, len: arbSize }),
  'file.rename': fc.tuple(
    rec({ kind: fc.constant('file.rename' as const), from: arbPath, to: arbPath, flags: fc.constantFrom(0, 1, 2) }),
    fc.option(fc.constantFrom('file' as const, 'dir' as const, 'symlink' as const, 'fifo' as const), { nil: undefined }),
  ).map(([body, type]) => (type === undefined ? body : { ...body, type })),
  'file.unlink': rec({ kind: fc.constant('file.unlink' as const), path: arbPath }),
  'file.link': rec({ kind: fc.constant('file.link' as const), from: arbPath, to: arbPath }),
  'file.symlink': rec({ kind: fc.constant('file.symlink' as const), target: fc.oneof(arbPath, arbText), path: arbPath }),
  'file.mkdir': fc.tuple(rec({ kind: fc.constant('file.mkdir' as const), path: arbPath }), fc.option(arbMode, { nil: undefined }), fc.option(arbOwner, { nil: undefined }))
    .map(([body, mode, owner]) => ({ ...body, ...(mode === undefined ? {} : { mode }), ...owner })),
  'file.chown': fc.tuple(
    rec({ kind: fc.constant('file.chown' as const), path: arbPath, uid: fc.option(arbId, { nil: null }), gid: fc.option(arbId, { nil: null }) }),
    arbInode, fc.option(fc.boolean(), { nil: undefined }),
  ).map(([body, inode, nofollow]) => ({ ...body, ...(inode === null ? {} : { inode }), ...(nofollow === undefined ? {} : { nofollow }) })),
  'file.chmod': fc.tuple(rec({ kind: fc.constant('file.chmod' as const), path: arbPath, mode: arbMode }), arbInode).map(([body, inode]) => (inode === null ? body : { ...body, inode })),
  'file.mknod': rec({ kind: fc.constant('file.mknod' as const), path: arbPath, mode: fc.oneof(fc.constantFrom(0o010644, 0o140755, 0o020644, 0o060660, 0o100600, 0o644), fc.nat(0o177777)), rdev: fc.oneof(fc.constant(0), fc.maxSafeNat()) }),
  'file.rmdir': rec({ kind: fc.constant('file.rmdir' as const), path: arbPath }),
  'file.flush': rec({ kind: fc.constant('file.flush' as const), fd: arbFd }),
  'file.observe': fc
    .record({ kind: fc.constant('file.observe' as const), path: arbPath, inode: arbInode, offset: arbSize, size: fc.option(arbSize, { nil: null }), bytes: arbBytes })
    .map(({ bytes, ...b }) => ({ ...b, ...bytes })),
  'file.sync': fc
    .record({ kind: fc.constant('file.sync' as const), path: arbPath, inode: arbInode, size: arbSize, offset: arbSize, bytes: arbBytes })
    .map(({ bytes, ...b }) => ({ ...b, ...bytes })),
  'file.quarantine': rec({ kind: fc.constant('file.quarantine' as const), path: arbPath, id: fc.uuid(), to: arbPath }),
  'view.map': rec({ kind: fc.constant('view.map' as const), addr: arbAddr, len: arbSize, prot: arbProt, shared: fc.boolean(), path: arbPath, inode: arbInode, offset: arbSize }),
  'view.unmap': rec({ kind: fc.constant('view.unmap' as const), addr: arbAddr, len: arbSize }),
  'view.remap': rec({ kind: fc.constant('view.remap' as const), addr: arbAddr, len: arbSize, newAddr: arbAddr, newLen: arbSize }),
  'view.protect': rec({ kind: fc.constant('view.protect' as const), addr: arbAddr, len: arbSize, prot: arbProt }),
  'proc.reparent': rec({ kind: fc.constant('proc.reparent' as const), ppid: fc.nat() }),
  'view.remove': rec({ kind: fc.constant('view.remove' as const), addr: arbAddr, len: arbSize }),
  'view.sync': rec({ kind: fc.constant('view.sync' as const), path: arbPath, inode: arbInode, offset: arbSize, bytes: arbBytes }).map(({ bytes, ...b }) => ({ ...b, ...bytes })),
  'scan.verdict': rec({
    kind: fc.constant('scan.verdict' as const),
    path: arbPath,
    sha256: fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
    verdict: fc.constantFrom('clean' as const, 'infected' as const, 'error' as const),
    signature: fc.option(arbText, { nil: null }),
    trigger: fc.constantFrom('exec' as const, 'open' as const, 'close' as const, 'demand' as const),
  }),
  'access.denied': rec({ kind: fc.constant('access.denied' as const), path: arbPath, call: fc.constantFrom('execve', 'openat', 'open'), errno: fc.constantFrom(1, 13) }),
}

export const arbBody: fc.Arbitrary<Body> = fc.oneof(...Object.values(bodyArbitraries))

/** Bodies whose fields are all numbers, booleans or null: the kinds a tracer emits most. */
export const arbMetadataBody: fc.Arbitrary<Body> = fc.oneof(
  bodyArbitraries['fd.seek'], bodyArbitraries['fd.read'], bodyArbitraries['fd.close'], bodyArbitraries['fd.dup'],
  bodyArbitraries['proc.exit'], bodyArbitraries['proc.spawn'], bodyArbitraries['view.unmap'], bodyArbitraries['file.flush'],
)

/** A draft as a source hands it to the journal: payload kinds carry exactly `known` bytes of data. */
export const draftOf = (body: fc.Arbitrary<Body>): fc.Arbitrary<Draft> =>
  rec({ ts: arbTs, pid: arbPid, tid: arbPid, body }).chain((d) =>
    hasPayload(d.body)
      ? fc.uint8Array({ minLength: d.body.known, maxLength: d.body.known }).map((data): Draft => ({ ...d, data }))
      : fc.constant<Draft>(d),
  )

export const arbDraft: fc.Arbitrary<Draft> = draftOf(arbBody)

/** Drafts with non-decreasing timestamps, as one clock read in call order produces. */
export const arbTimedDrafts = (opts: { minLength?: number; maxLength?: number } = {}): fc.Arbitrary<Draft[]> =>
  fc.array(arbDraft, { minLength: opts.minLength ?? 0, maxLength: opts.maxLength ?? 40 }).map((ds) => {
    const ts = ds.map((d) => d.ts % (1n << 62n)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))
    return ds.map((d, i) => ({ ...d, ts: ts[i] }))
  })
