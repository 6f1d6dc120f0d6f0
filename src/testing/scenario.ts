// Given/when/then for projections: build the situation, the action, and check the state after it.
// The result is a [name, run] pair for any runner: `test(...story.given(..).when(..).then(..))`.
import type { Event } from '../events/index.js'
import { readPlan, type World } from '../projections/index.js'
import { StreamBuilder } from './builder.js'

export interface Projection<S> {
  readonly init: () => S
  readonly evolve: (state: S, event: Event) => S
}

export interface Outcome<S> {
  /** the state after `given` alone (from a fold of its own: `after` is another object) */
  readonly before: S
  /** the events of given and when, in order; `when`'s start at index `whenFrom` */
  readonly events: readonly Event[]
  readonly whenFrom: number
  readonly payloads: ReadonlyMap<number, Uint8Array>
  /** For the core world: the bytes a path holds; throws on unknown bytes or a missing file. */
  bytes(world: World, path: string): Uint8Array
}

export type Steps = (b: StreamBuilder) => unknown

const fold = <S>(p: Projection<S>, events: readonly Event[]): S => events.reduce((s, e) => p.evolve(s, e), p.init())

const bytesOf = (payloads: ReadonlyMap<number, Uint8Array>) => (w: World, path: string): Uint8Array => {
  const id = w.names.get(path)
  const node = id === undefined ? undefined : w.nodes.get(id)
  if (node === undefined) throw new Error(`no file ${path}`)
  if (node.content.size === null) throw new Error(`${path}: size unknown`)
  const plan = readPlan(node.content)
  const out = new Uint8Array(node.content.size)
  for (const piece of plan) {
    if ('unknown' in piece) throw new Error(`${path}: bytes [${piece.start}, ${piece.end}) unknown`)
    if (piece.seq === 0) continue
    const data = payloads.get(piece.seq)
    if (data === undefined) throw new Error(`${path}: no payload for #${piece.seq}`)
    out.set(data.subarray(piece.off, piece.off + (piece.end - piece.start)), piece.start)
  }
  return out
}

/** A story about one projection: `scenario(p).given(...).when(...).then(...)`. */
export const scenario = <S>(projection: Projection<S>, guest = 'test') => ({
  given: (situation: string, given: Steps) => ({
    when: (action: string, when: Steps) => ({
      then: (expectation: string, check: (after: S, outcome: Outcome<S>) => void | Promise<void>): [string, () => Promise<void>] => [
        `given ${situation}, when ${action}, then ${expectation}`,
        async () => {
          const b = new StreamBuilder(guest)
          given(b)
          const whenFrom = b.events.length
          when(b)
          const before = fold(projection, b.events.slice(0, whenFrom))
          const after = fold(projection, b.events)
          await check(after, { before, events: b.events, whenFrom, payloads: b.payloads, bytes: bytesOf(b.payloads) })
        },
      ],
    }),
  }),
})
