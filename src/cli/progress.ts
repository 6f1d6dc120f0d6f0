// Progress for long operations: one line on stderr, redrawn at most every 100 ms, and only when
// stderr is a terminal (a pipe or a log file gets nothing, so output stays clean for scripts).
export interface Progress {
  update(text: string): void
  done(): void
}

const quiet: Progress = { update: () => {}, done: () => {} }

export const progress = (label: string, stream: NodeJS.WriteStream = process.stderr): Progress => {
  if (stream.isTTY !== true) return quiet
  let last = 0
  let shown = false
  return {
    update(text) {
      const now = Date.now()
      if (now - last < 100) return
      last = now
      shown = true
      stream.write(`\r\x1b[K${label}: ${text}`)
    },
    done() {
      if (shown) stream.write('\r\x1b[K')
      shown = false
    },
  }
}

export const mib = (bytes: number): string => `${(bytes / (1 << 20)).toFixed(1)} MiB`
