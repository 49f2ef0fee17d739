/**
 * Loads the malloc_trim addon (malloc-trim.c says why it exists), built by hack/build/native.ts into
 * dist/native/ of the application: two folders up from this file whether it runs from src/native/,
 * from dist/native/ or bundled into dist/cmd/.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Where the build puts the addon inside dist/ (hack/build/native.ts writes it there). */
export const mallocTrimAddonInDist = 'native/malloc-trim.node';

/** The addon of this application: its dist/, two folders up. */
export const mallocTrimAddonPath = fileURLToPath(
  new URL(`../../dist/${mallocTrimAddonInDist}`, import.meta.url),
);

export type LoadedTrim = { trim: () => boolean } | { unavailable: string };

/** The addon's trim(), or why there is none (not built, or it would not load). Never throws. */
export function loadMallocTrim(path = mallocTrimAddonPath): LoadedTrim {
  if (!existsSync(path)) return { unavailable: `${path} was not built (no C compiler at build time?)` };
  try {
    const module = { exports: {} as { trim?: unknown } };
    process.dlopen(module, path);
    const trim = module.exports.trim;
    if (typeof trim !== 'function') return { unavailable: `${path} exports no trim()` };
    return { trim: () => trim() === true };
  } catch (err) {
    return { unavailable: `${path} would not load: ${err instanceof Error ? err.message : String(err)}` };
  }
}
