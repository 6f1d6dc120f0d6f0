// /proc/PID/stat read once for the few fields eyrie needs from it.
import { readFileSync } from 'node:fs'

/** The fields of /proc/PID/stat after the command name, from the state (field 3) on: index i holds
 *  field i + 3 (ppid at 1, start time at 19); null: no such process (or gone meanwhile). The name is
 *  skipped up to the last ')', since it may hold spaces and parentheses. */
export const procStat = (pid: number): string[] | null => {
  let line: string
  try {
    line = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return null // gone (or never was)
  }
  return line.slice(line.lastIndexOf(')') + 2).split(' ')
}

/** Field 4 of /proc/PID/stat. */
export const ppidIn = (fields: readonly string[]): number => Number(fields[1])

/** Field 22 (start time, clock ticks since boot): with the pid, names one process across pid reuse. */
export const startTimeIn = (fields: readonly string[]): string | null => fields[19] ?? null
