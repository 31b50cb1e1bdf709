import { RE2JS, RE2JSException } from 're2js';

/**
 * FHIRPath's regular expression functions (`matches`, `matchesFull`, `replaceMatches`) on RE2JS, a linear-time
 * engine: no pattern, however nested its repetitions, can backtrack catastrophically on a record. RE2 has no
 * backreferences or lookarounds; patterns using them are refused with MAP_REGEX_UNSUPPORTED.
 * Semantics follow fhirpath.js: single-line mode (`.` matches a line break), flags `i` and `m` only.
 */

const maxCached = 512;
const cache = new Map<string, RE2JS>();

/** The compiled pattern; throws an Error saying what RE2 refuses. */
export function compileRegex(pattern: string, flags = ''): RE2JS {
  const cacheKey = `${flags}/${pattern}`;
  let compiled = cache.get(cacheKey);
  if (compiled === undefined) {
    compiled = RE2JS.compile(pattern, flagBits(flags));
    if (cache.size >= maxCached) {
      cache.delete(cache.keys().next().value!);
    }
    cache.set(cacheKey, compiled);
  }
  return compiled;
}

function flagBits(flags: string): number {
  let bits = RE2JS.DOTALL;
  for (const flag of flags) {
    if (flag === 'i') {
      bits |= RE2JS.CASE_INSENSITIVE;
    } else if (flag === 'm') {
      bits |= RE2JS.MULTILINE;
    } else {
      throw new RegexRefused(`flags may only contain i and m, not '${flag}'`);
    }
  }
  return bits;
}

/** A pattern or flags the linear-time engine cannot run. */
export class RegexRefused extends Error {}

/** Why `pattern` (with `flags`) cannot run, or undefined when it can. */
export function regexProblem(pattern: string, flags?: string): string | undefined {
  try {
    compileRegex(pattern, flags);
    return undefined;
  } catch (error) {
    return refusalText(error);
  }
}

function refusalText(error: unknown): string {
  if (error instanceof RegexRefused) {
    return error.message;
  }
  if (error instanceof RE2JSException) {
    return error.message.replace(/^error parsing regexp: /, '');
  }
  return error instanceof Error ? error.message : String(error);
}

/** Compiles for evaluation: a refused pattern becomes an Error naming the pattern (reported as MAP_EVAL_ERROR). */
function runnable(pattern: string, flags?: string): RE2JS {
  try {
    return compileRegex(pattern, flags);
  } catch (error) {
    throw new Error(`the regular expression ${JSON.stringify(pattern.length > 60 ? `${pattern.slice(0, 60)}…` : pattern)} cannot run on cadmap's linear-time engine: ${refusalText(error)}`);
  }
}

/** `matches(regex[, flags])`: whether the pattern matches anywhere in `text`. */
export function regexMatches(text: string, pattern: string, flags?: string): boolean {
  return runnable(pattern, flags).test(text);
}

/** `matchesFull(regex[, flags])`: whether the pattern matches the whole of `text`. */
export function regexMatchesFull(text: string, pattern: string, flags?: string): boolean {
  return runnable(`^(?:${pattern})$`, flags).test(text);
}

/** `replaceMatches(regex, substitution)`: every match replaced; `$1`… `$&` and `$$` read as in JavaScript. */
export function regexReplace(text: string, pattern: string, substitution: string): string {
  return runnable(pattern).matcher(text).replaceAll(substitution);
}
