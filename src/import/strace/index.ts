// The strace importer: strace -f -ttt -xx -y logs (see command.ts) -> eyrie drafts.
import { StraceParser, type ParsedLine, type StraceOptions } from './parser.js'

export { STRACE_CALLS, STRACE_STRING_LIMIT, straceArgv } from './command.js'
export { StraceParser, type ParsedLine, type StraceOptions } from './parser.js'
export { isContentPath } from './paths.js'
export { readLogLines } from './lines.js'

/**
 * Parse a log line by line. Every line yields at most one ParsedLine: `{line, drafts}` (drafts may be
 * empty) or `{line, error}` for a line that cannot be read, after which parsing goes on. Outcomes
 * come in input order, except that lines of a task born while its parent's clone had not yet
 * returned are held back and come right after the line that completes that clone.
 *
 * Timestamps are strace's, taken at the start of each call (for an <unfinished ...> call, its first
 * half), in nanoseconds; drafts of concurrent tasks may therefore step back in time slightly.
 */
export async function* parseStrace(lines: AsyncIterable<string> | Iterable<string>, opts: StraceOptions): AsyncGenerator<ParsedLine> {
  const parser = new StraceParser(opts)
  let n = 0
  for await (const text of lines) {
    n++
    yield* parser.feed(n, text)
  }
  yield* parser.end()
}
