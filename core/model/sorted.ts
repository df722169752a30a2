/**
 * Binary search over sorted arrays: the ring's token lookup, the engines' key ranges, a
 * table's blocks. One implementation, so the off-by-one rules live in one place.
 *
 * Numbers are searched in ascending order as they are; anything else with a comparator, which
 * takes the element type and the target type separately, so an array can be searched by a field
 * or a derived key (`(range, token) => range.end - token`). On hot paths, pass a comparator
 * created once (a module constant or a field), not a new closure per call: the search itself
 * allocates nothing.
 *
 * @module
 */

/**
 * Orders an element of a sorted array against a search target: negative if the element sorts
 * before the target, zero if equal, positive if after. The array must be sorted consistently
 * with it (every element before the target comes before every element that is not).
 */
export type Comparator<T, K = T> = (element: T, target: K) => number;

/**
 * The first index whose element is not before `target` (`compare(element, target) >= 0`), or
 * `sorted.length` if every element is: where `target` would be inserted ahead of its equals.
 * Without `compare`, numbers in ascending order. O(log n) comparisons.
 *
 * The comparator-free form is the ring's token lookup: calling a comparator at each step
 * costs a ring lookup 15-20% of its rate (`npm run bench -- partitioners`), comparing numbers
 * directly costs nothing over a hand-written search.
 *
 * @example
 * ```ts
 * const tokens = Uint32Array.of(10, 20, 20, 30);
 * lowerBound(tokens, 20); // 1
 * lowerBound(tokens, 25); // 3
 * lowerBound(tokens, 40); // 4 (past the end: a ring wraps to 0)
 * const ranges = [{ end: 100 }, { end: 200 }];
 * lowerBound(ranges, 150, (range, token) => range.end - token); // 1
 * ```
 */
export function lowerBound(sorted: ArrayLike<number>, target: number): number;
export function lowerBound<T, K>(sorted: ArrayLike<T>, target: K, compare: Comparator<T, K>): number;
export function lowerBound<T, K>(sorted: ArrayLike<T>, target: K, compare?: Comparator<T, K>): number {
  let lo = 0;
  let hi = sorted.length;
  if (compare === undefined) {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] as number) < (target as number)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(sorted[mid]!, target) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The first index whose element is after `target` (`compare(element, target) > 0`), or
 * `sorted.length` if none is: where `target` would be inserted behind its equals. Without
 * `compare`, numbers in ascending order. With {@link lowerBound}, `[lowerBound, upperBound)` is
 * the run of elements equal to `target`.
 *
 * @example
 * ```ts
 * upperBound([10, 20, 20, 30], 20); // 3
 * upperBound([10, 20, 20, 30], 5); // 0
 * upperBound(["a", "b", "b"], "b", (a, b) => (a < b ? -1 : a > b ? 1 : 0)); // 3
 * ```
 */
export function upperBound(sorted: ArrayLike<number>, target: number): number;
export function upperBound<T, K>(sorted: ArrayLike<T>, target: K, compare: Comparator<T, K>): number;
export function upperBound<T, K>(sorted: ArrayLike<T>, target: K, compare?: Comparator<T, K>): number {
  let lo = 0;
  let hi = sorted.length;
  if (compare === undefined) {
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((sorted[mid] as number) <= (target as number)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compare(sorted[mid]!, target) <= 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
