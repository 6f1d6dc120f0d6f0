// Process lifecycle: the envelope's pid/tid is the acting task.
import * as t from 'io-ts'
import { AbsPath, Int, Nat } from './codecs.js'

/** fork/vfork/clone: `child` is the new task. A thread shares the process (pid stays the parent's). */
export const ProcSpawn = t.type({
  kind: t.literal('proc.spawn'),
  child: Nat,
  thread: t.boolean,
  /** CLONE_FILES: the child shares the parent's fd table instead of copying it. */
  shareFiles: t.boolean,
})
export type ProcSpawn = t.TypeOf<typeof ProcSpawn>

export const ProcExec = t.type({ kind: t.literal('proc.exec'), path: AbsPath, argv: t.array(t.string) })
export type ProcExec = t.TypeOf<typeof ProcExec>

/** exit (thread: true) or exit_group / death by signal (thread: false). */
export const ProcExit = t.type({ kind: t.literal('proc.exit'), status: Int, thread: t.boolean })
export type ProcExit = t.TypeOf<typeof ProcExit>

export const ProcChdir = t.type({ kind: t.literal('proc.chdir'), path: AbsPath })
export type ProcChdir = t.TypeOf<typeof ProcChdir>

export const procCodecs = {
  'proc.spawn': ProcSpawn,
  'proc.exec': ProcExec,
  'proc.exit': ProcExit,
  'proc.chdir': ProcChdir,
} as const
