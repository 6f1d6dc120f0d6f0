// A helper process eyrie starts and owns (the private clamd), kept out of libuv: see daemon.cc for
// why (a child of libuv's makes every traced exit wake the JavaScript thread).
import { addon } from './binding.js'

export interface Daemon {
  readonly pid: number
  /** the exit code, or the name of the signal that ended it, once it has ended and been reaped */
  readonly ended: Promise<number | string>
  readonly running: boolean
  /** Sends `signal` while it runs; nothing after (its pid may be another process's by then). */
  kill(signal: NodeJS.Signals): void
}

/** Starts argv[0] (a path) in a session of its own, stderr into `stderrPath`. Throws the errno's
 *  Error (code ENOENT, EACCES, ...) when it cannot be started. */
export const spawnDaemon = (argv: readonly string[], stderrPath: string): Daemon => {
  let running = true
  let settle: (v: number | string) => void = () => {}
  const ended = new Promise<number | string>((res) => (settle = res))
  const pid = addon().spawnDaemon(argv, stderrPath, (code, signal) => {
    running = false
    settle(code ?? signal ?? -1)
  })
  return {
    pid,
    ended,
    get running() {
      return running
    },
    kill: (signal) => {
      // not reaped yet (onExit reaps it), so the pid is still this process's, even as a zombie
      if (running) process.kill(pid, signal)
    },
  }
}
