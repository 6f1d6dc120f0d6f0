// What an error verdict means (clamd down, timed out, content too large): `--on-scanner-failure`.
// Defaults follow the issue: an exec fails closed (running an unscanned program is the risk this
// whole thing exists to stop), an open fails open (denying every read while clamd restarts would
// break the workload for little gain). A close after write cannot be denied, only journaled.
import * as E from 'fp-ts/lib/Either.js'

export type FailureAction = 'deny' | 'allow'

export interface FailurePolicy {
  readonly exec: FailureAction
  readonly open: FailureAction
}

export const DEFAULT_FAILURE_POLICY: FailurePolicy = { exec: 'deny', open: 'allow' }

const isAction = (s: string): s is FailureAction => s === 'deny' || s === 'allow'

/** `deny` | `allow` (sets opens; exec stays fail-closed), or `exec=ACTION,open=ACTION` (either or both). */
export const parseFailurePolicy = (s: string): E.Either<string, FailurePolicy> => {
  const usage = `--on-scanner-failure ${JSON.stringify(s)}: use deny, allow, or exec=deny|allow,open=deny|allow`
  if (isAction(s)) return E.right({ ...DEFAULT_FAILURE_POLICY, open: s })
  let policy: FailurePolicy = DEFAULT_FAILURE_POLICY
  for (const part of s.split(',')) {
    const [key, value, ...rest] = part.trim().split('=')
    if (rest.length > 0 || value === undefined || !isAction(value)) return E.left(usage)
    if (key === 'exec') policy = { ...policy, exec: value }
    else if (key === 'open') policy = { ...policy, open: value }
    else return E.left(usage)
  }
  return E.right(policy)
}
