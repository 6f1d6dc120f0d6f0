// The fold's state for one guest: R(t). Plain data (maps of records) so that a checkpoint is a
// straightforward serialisation. The fold owns its state and mutates it in place for speed; a caller
// that needs to keep an R(t) while folding on works from a checkpoint copy (see checkpoint.ts).
import type { Content } from './extents.js'
import type { Compaction } from './compact.js'

export type NodeId = number
export type OfdId = number
export type TableId = number

/** A file system object (the inode). Paths are names for it; content belongs here. */
export interface FsNode {
  id: NodeId
  /** fifo, socket, char, block: nodes with no content here (mknod, bind) */
  type: 'file' | 'dir' | 'symlink' | 'fifo' | 'socket' | 'char' | 'block'
  /** "dev:ino" where a source knew it */
  inode: string | null
  content: Content
  target: string | null // symlink target
  /** a directory created during the recording: every name in it is one eyrie saw bound */
  complete: boolean
  links: number // names pointing here
  opens: number // open file descriptions
  views: number // live mapped views
  /** bytes written since the last flush (the paper's write buffer), as a count */
  unflushed: number
  lastWrite: { seq: number; pid: number } | null
  /** permission bits (07777) as last seen (an open, chmod, mkdir); absent: not known */
  mode?: number
  /** owner and group as last seen (an open, chown, mkdir); absent: not known */
  uid?: number
  gid?: number
  lastVerdict: { seq: number; verdict: string; signature: string | null } | null
}

/** An open file description: shared by dup'd fds and across fork. */
export interface Ofd {
  id: OfdId
  node: NodeId
  path: string // the name it was opened by, moved by renames of that name
  /** that name was unlinked or replaced since: the kernel's " (deleted)" (absent: it was not; a
   *  checkpoint made before 2026-12-07 never says) */
  nameGone?: boolean
  flags: number
  /** null: unknown (the recording does not see the calls that move it: World.positions) */
  pos: number | null
  refs: number
}

export interface FdEntry {
  ofd: OfdId
  cloexec: boolean
}

/** A per-process fd table, shared by threads and CLONE_FILES children. */
export interface FdTable {
  id: TableId
  refs: number
  fds: Map<number, FdEntry>
}

export interface View {
  addr: number
  len: number
  prot: number
  shared: boolean
  node: NodeId
  path: string
  /** as Ofd.nameGone */
  nameGone?: boolean
  offset: number
}

export interface Proc {
  pid: number
  ppid: number
  exe: string | null
  argv: string[]
  cwd: string | null
  live: boolean
  status: number | null
  table: TableId
  views: View[]
  startSeq: number
  endSeq: number | null
  /** seq of its first proc.ioUring: from there on, file changes it submitted through an io_uring
   *  are not in the journal (absent when it never used one) */
  ioUring?: number
}

export interface World {
  seq: number
  nextId: number
  procs: Map<number, Proc>
  /** tid -> tgid, for threads */
  threads: Map<number, number>
  tables: Map<TableId, FdTable>
  ofds: Map<OfdId, Ofd>
  names: Map<string, NodeId>
  nodes: Map<NodeId, FsNode>
  byInode: Map<string, NodeId>
  /** whose positions the events keep exact (the snapshot says; 'all' before one) */
  positions: 'all' | 'writable' | 'none'
  /** events that referred to state eyrie never saw (an fd opened before tracing, say) */
  anomalies: number
  /** set in a world read from a checkpoint that compacted some files' content (compact.ts); the fold
   *  never sets it */
  compaction: Compaction | null
}

export const emptyWorld = (): World => ({
  seq: 0,
  nextId: 1,
  procs: new Map(),
  threads: new Map(),
  tables: new Map(),
  ofds: new Map(),
  names: new Map(),
  nodes: new Map(),
  byInode: new Map(),
  positions: 'all',
  anomalies: 0,
  compaction: null,
})

export const newId = (w: World): number => w.nextId++
