// Memory-mapped views of files (mmap and friends). Anonymous memory is not tracked.
import * as t from 'io-ts'
import { AbsPath, Inode, Nat } from './codecs.js'

/** A file mapping's fields (a snapshot's maps have them too): prot is PROT_* bits, shared is MAP_SHARED. */
export const mappingProps = { addr: Nat, len: Nat, prot: Nat, shared: t.boolean, path: AbsPath, inode: Inode, offset: Nat }

/** deleted: the name it shows (`path`, without the kernel's " (deleted)") was unlinked or replaced
 *  before; the file may have another name, or none. Absent: it was not. */
export const Deleted = t.partial({ deleted: t.boolean })

/** mmap of a file. */
export const ViewMap = t.intersection([t.type({ kind: t.literal('view.map'), ...mappingProps }), Deleted])
export type ViewMap = t.TypeOf<typeof ViewMap>

export const ViewUnmap = t.type({ kind: t.literal('view.unmap'), addr: Nat, len: Nat })
export type ViewUnmap = t.TypeOf<typeof ViewUnmap>

export const ViewRemap = t.type({ kind: t.literal('view.remap'), addr: Nat, len: Nat, newAddr: Nat, newLen: Nat })
export type ViewRemap = t.TypeOf<typeof ViewRemap>

export const ViewProtect = t.type({ kind: t.literal('view.protect'), addr: Nat, len: Nat, prot: Nat })
export type ViewProtect = t.TypeOf<typeof ViewProtect>

/** madvise(MADV_REMOVE): the file ranges behind the shared views in [addr, addr+len) are holes now
 *  (they read as zeros; the files keep their sizes), as fallocate's PUNCH_HOLE makes. */
export const ViewRemove = t.type({ kind: t.literal('view.remove'), addr: Nat, len: Nat })
export type ViewRemove = t.TypeOf<typeof ViewRemove>

/** Bytes read out of a shared writable view: they are the file's content at offset. */
export const ViewSync = t.type({
  kind: t.literal('view.sync'),
  path: AbsPath,
  inode: Inode,
  offset: Nat,
  len: Nat,
  known: Nat,
})
export type ViewSync = t.TypeOf<typeof ViewSync>

export const viewCodecs = {
  'view.map': ViewMap,
  'view.unmap': ViewUnmap,
  'view.remap': ViewRemap,
  'view.protect': ViewProtect,
  'view.sync': ViewSync,
  'view.remove': ViewRemove,
} as const
