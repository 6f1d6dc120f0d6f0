// How many random cases a property test tries: its own count times EYRIE_SOAK (default 1). A soak
// run (`EYRIE_SOAK=20 npm test`, or one file) looks further for the rare case a normal run misses: a
// compaction bug of 2026-12-06 showed in about one case in 640, once in many suite runs.
const soak = Number(process.env.EYRIE_SOAK ?? 1)
if (!(soak > 0)) throw new Error(`EYRIE_SOAK=${process.env.EYRIE_SOAK}: a positive number, the factor on every property test's count`)

export const runs = (n: number): number => Math.max(1, Math.round(n * soak))
