// A small seeded generator (mulberry32): every input the suite builds is a function of its parameters,
// so two machines (or two runs) benchmark the same bytes.

export type Random = () => number

/** uint32 values from `seed`; the same seed always gives the same sequence. */
export const seeded = (seed: number): Random => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return (t ^ (t >>> 14)) >>> 0
  }
}

/** An integer in [0, n). */
export const below = (r: Random, n: number): number => Math.floor((r() / 0x1_0000_0000) * n)

/** A float in [0, 1). */
export const unit = (r: Random): number => r() / 0x1_0000_0000

/** Lower-case pseudo-words from syllables: text that compresses like prose, not like noise. */
export const vocabulary = (r: Random, n: number): string[] => {
  const syllables = ['ka', 'lo', 'mi', 'ter', 'an', 'os', 'vel', 'dra', 'qui', 'sen', 'ur', 'pol', 'et', 'xi', 'bor', 'nu', 'fa', 'gen', 'ist', 'ry']
  const words = new Set<string>()
  while (words.size < n) {
    let w = ''
    for (let k = 1 + below(r, 4); k > 0; k--) w += syllables[below(r, syllables.length)]
    words.add(w)
  }
  return [...words]
}
