// Reading a log file as lines, without holding it in memory.
import { createReadStream } from 'node:fs'
import { createInterface } from 'node:readline'

/** The lines of a text file, one at a time (no line ends). */
export const readLogLines = (file: string): AsyncIterable<string> =>
  createInterface({ input: createReadStream(file, { encoding: 'utf8' }), crlfDelay: Infinity })
