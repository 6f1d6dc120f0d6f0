// Arguments the journal refuses before touching storage. These are the caller's bugs, reported as
// USAGE errors that say which guest/draft/field.
import { hasPayload, type Draft } from '../events/index.js'
import { JournalError } from './errors.js'

const MAX_GUEST_BYTES = 512 // keys are [guest, seq]; LMDB keys stop at 1978 bytes
const U64 = 1n << 64n
const U32 = 0x1_0000_0000

/** Guest ids are key parts: ordered-binary ends a string at 0x00, so control characters are refused. */
export const checkGuest = (guest: string): void => {
  if (typeof guest !== 'string' || guest.length === 0 || /[\x00-\x1f\x7f]/.test(guest) || Buffer.byteLength(guest, 'utf8') > MAX_GUEST_BYTES) {
    throw new JournalError('USAGE', `invalid guest id ${JSON.stringify(guest)}: 1..${MAX_GUEST_BYTES} UTF-8 bytes, no control characters`)
  }
}

export const checkSeq = (seq: number): void => {
  if (!Number.isSafeInteger(seq) || seq < 0) throw new JournalError('USAGE', `invalid seq ${seq}: a non-negative integer`)
}

export const checkRange = (from: number, to: number): void => {
  if (!Number.isSafeInteger(from) || !Number.isSafeInteger(to)) throw new JournalError('USAGE', `invalid seq range ${from}..${to}: integers`)
}

const u32 = (n: number): boolean => Number.isInteger(n) && n >= 0 && n < U32

/** The reason a draft cannot be appended, or undefined. (No closure per call: this runs per event.) */
const draftProblem = (d: Draft): string | undefined => {
  if (typeof d.ts !== 'bigint' || d.ts < 0n || d.ts >= U64) return `ts ${String(d.ts)} is not a u64 of nanoseconds`
  if (!u32(d.pid) || !u32(d.tid)) return `pid ${d.pid}/tid ${d.tid} are not u32`
  const known = d.data === undefined ? 0 : d.data.length
  if (hasPayload(d.body)) {
    if (d.body.known !== known) return `body.known is ${d.body.known} but data holds ${known} bytes`
    if (d.body.known > d.body.len) return `body.known ${d.body.known} exceeds body.len ${d.body.len}`
  } else if (d.data !== undefined) {
    return 'this kind carries no data'
  }
  return undefined
}

export const checkDraft = (guest: string, index: number, d: Draft): void => {
  const problem = draftProblem(d)
  if (problem !== undefined) throw new JournalError('USAGE', `append guest=${guest} draft #${index} (${d.body.kind}): ${problem}`, { guest })
}
