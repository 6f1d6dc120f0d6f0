// What every query needs: the journal, the guest, the resolved time.
import * as E from 'fp-ts/lib/Either.js'
import { defaultJournalDir, openLmdbJournal } from '../journal/lmdb.js'
import { isKafkaUrl, parseKafkaUrl } from '../journal/kafka/url.js'
import type { Journal } from '../journal/journal.js'
import { parseTimeRef, resolveTimeRef } from '../engine/timeref.js'
import { UsageError, CliError } from './errors.js'

export interface GlobalOpts { journal?: string; guest?: string; json?: boolean }

export const openJournal = async (o: GlobalOpts, readOnly = true): Promise<Journal> => {
  const dir = o.journal ?? defaultJournalDir()
  if (isKafkaUrl(dir)) {
    const target = parseKafkaUrl(dir)
    if (E.isLeft(target)) throw new UsageError(target.left)
    // kafkajs (~40 ms to load) only for a Kafka journal: `record` starts sooner without it
    const { openKafkaJournal } = await import('../journal/kafka/kafkaJournal.js')
    return openKafkaJournal(target.right, { readOnly })
  }
  return openLmdbJournal(dir, { readOnly })
}

/** --guest, or the guest with the most recent event. */
export const pickGuest = async (j: Journal, o: GlobalOpts): Promise<string> => {
  const all = await j.guests()
  if (o.guest !== undefined) {
    if (!all.some((g) => g.guest === o.guest)) throw new CliError(`no guest ${JSON.stringify(o.guest)} in the journal (have: ${all.map((g) => g.guest).join(', ') || 'none'})`)
    return o.guest
  }
  if (all.length === 0) throw new CliError('the journal has no guests yet: record or import something first')
  return [...all].sort((a, b) => (a.lastTs ?? 0n) < (b.lastTs ?? 0n) ? -1 : 1)[all.length - 1].guest
}

export const seqOf = async (j: Journal, guest: string, t: string): Promise<number> => {
  const ref = parseTimeRef(t)
  if (E.isLeft(ref)) throw new UsageError(ref.left)
  try {
    return await resolveTimeRef(j, guest, ref.right)
  } catch (err) {
    if (err instanceof RangeError) throw new CliError(err.message)
    throw err
  }
}
