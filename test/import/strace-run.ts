// Test support: run a real program under real strace (the importer's own command line).
import { spawn } from 'node:child_process'
import { constants } from 'node:os'
import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { straceArgv } from '../../src/import/strace/command.js'

/** Runs `cmd` in `opts.cwd` under strace. `log` is the path of the log file (in the temp dir; the
 *  caller removes it), `status` the command's exit status (128 + signal number if it was killed). */
export const runUnderStrace = (cmd: string[], opts: { cwd: string }): Promise<{ log: string; status: number }> => {
  const log = join(tmpdir(), `eyrie-strace-${randomUUID()}.log`)
  const [bin, ...args] = straceArgv(log, cmd)
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: opts.cwd, stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      if (stderr.length < 4096) stderr += s
    })
    child.on('error', reject)
    child.on('close', (code, signal) => {
      // strace reports its own failures on stderr and exits 1 without a log.
      if (code !== 0 && /^strace: /m.test(stderr) && !/^strace: Process \d+ (attached|detached)/m.test(stderr)) {
        reject(new Error(`strace failed: ${stderr.trim()}`))
        return
      }
      resolve({ log, status: code ?? 128 + signalNumberOf(signal) })
    })
  })
}

const signalNumberOf = (signal: NodeJS.Signals | null): number => (signal === null ? 0 : constants.signals[signal])
