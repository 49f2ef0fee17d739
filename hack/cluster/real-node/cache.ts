/**
 * Where the real node's built artefacts live: the same cache root as the control-plane programs
 * (hack/cluster/build.sh), outside git, so a fresh clone reuses what an earlier one built.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$ELASTICWEB_CACHE_DIR`, else `${XDG_CACHE_HOME:-~/.cache}/elasticweb` (as build.sh computes it). */
export function cacheRoot(): string {
  return (
    process.env.ELASTICWEB_CACHE_DIR ||
    join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'elasticweb')
  );
}
