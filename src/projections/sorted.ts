// Ranges kept sorted and disjoint (a file's extents, a process's views): where a position falls.

/** The index of the first of `xs` (sorted, disjoint) whose end is past `at`; xs.length if none
 *  (binary search). */
export const firstEndingAfter = <T>(xs: readonly T[], at: number, end: (x: T) => number): number => {
  let lo = 0
  let hi = xs.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (end(xs[mid]) <= at) lo = mid + 1
    else hi = mid
  }
  return lo
}
