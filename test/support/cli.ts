// Run the real eyrie command (bin/eyrie.js) as a user would.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../bin/eyrie.js', import.meta.url))

/** The environment of every eyrie a test runs: no verdicts kept from earlier runs (in ~/.cache),
 *  so a test file run alone sees what `npm test` (which sets the same) sees. */
export const testEnv = (): NodeJS.ProcessEnv => ({ ...process.env, EYRIE_VERDICT_CACHE: process.env.EYRIE_VERDICT_CACHE ?? 'none' })

export interface Run { readonly status: number | null; readonly stdout: string; readonly stderr: string; readonly raw: Buffer }

export const eyrie = (args: readonly string[], opts: { journal: string; cwd?: string; input?: string } ): Run => {
  const r = spawnSync(process.execPath, [BIN, '--journal', opts.journal, ...args], { cwd: opts.cwd, input: opts.input, maxBuffer: 1 << 28, env: testEnv() })
  return { status: r.status, stdout: r.stdout.toString(), stderr: r.stderr.toString(), raw: r.stdout }
}
