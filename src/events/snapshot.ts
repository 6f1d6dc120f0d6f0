// R(0): the one-shot state of the guest when monitoring begins.
import * as t from 'io-ts'
import { AbsPath, Inode, Nat, nullable } from './codecs.js'
import { Deleted, mappingProps } from './view.js'


export const FdSnap = t.intersection([t.type({ fd: Nat, path: t.string, flags: Nat, pos: Nat, cloexec: t.boolean, inode: Inode }), Deleted])
export type FdSnap = t.TypeOf<typeof FdSnap>

export const MapSnap = t.intersection([t.type(mappingProps), Deleted])
export type MapSnap = t.TypeOf<typeof MapSnap>

export const ProcSnap = t.type({
  pid: Nat,
  ppid: Nat,
  exe: t.string,
  cwd: t.string,
  threads: t.array(Nat),
  fds: t.array(FdSnap),
  maps: t.array(MapSnap),
})
export type ProcSnap = t.TypeOf<typeof ProcSnap>

/** A file known to exist at R(0); its bytes arrive as file.observe events if they were read.
 *  `mode` (07777), `uid`, `gid`: what a stat of it said then, where the source took one. */
export const FileSnap = t.intersection([
  t.type({
    path: AbsPath,
    type: t.keyof({ file: null, dir: null, symlink: null }),
    size: nullable(Nat),
    inode: Inode,
    target: nullable(t.string),
  }),
  t.partial({ mode: Nat, uid: Nat, gid: Nat }),
])
export type FileSnap = t.TypeOf<typeof FileSnap>

/** Which open file descriptions' positions the events that follow keep exact: absent, all of them
 *  (every read, write and seek is journaled); 'writable', only those that can write (reads of
 *  read-only ones are not seen); 'none', no position at all (writes are read back, not journaled one
 *  by one, so reads, writes and seeks move positions unseen). An unknown position is reported unknown. */
export const Positions = t.keyof({ writable: null, none: null })
export type Positions = t.TypeOf<typeof Positions>

export const Snapshot = t.intersection([
  t.type({ kind: t.literal('snapshot'), procs: t.array(ProcSnap), files: t.array(FileSnap) }),
  t.partial({ positions: Positions }),
])
export type Snapshot = t.TypeOf<typeof Snapshot>

export const snapshotCodecs = { snapshot: Snapshot } as const
