// Run the real eyrie command (bin/eyrie.js) as a user would.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const BIN = fileURLToPath(new URL('../../bin/eyrie.js', import.meta.url))

export interface Run { readonly status: number | null; readonly stdout: string; readonly stderr: string; readonly raw: Buffer }

export const eyrie = (args: readonly string[], opts: { journal: string; cwd?: string; input?: string } ): Run => {
  const r = spawnSync(process.execPath, [BIN, '--journal', opts.journal, ...args], { cwd: opts.cwd, input: opts.input, maxBuffer: 1 << 28 })
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString(), raw: r.stdout }
}
