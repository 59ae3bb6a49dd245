import { RE2JS, RE2JSSyntaxException } from 're2js';
import { err, ok, type Result } from './result.js';

/**
 * Regular expressions written by workspace admins (channel and stage rules), run in time linear
 * in the value: RE2 semantics through `re2js`, a pure-JavaScript port of RE2. A backtracking
 * engine (RegExp) lets one tenant's `^(a+)+$` hold the event loop for seconds, stalling every
 * tenant. RE2 is also what DuckDB's `regexp_matches` runs, so rules compiled to SQL later keep
 * their meaning.
 *
 * Semantics: unanchored search (anchor with ^…$ for a full match), case-insensitive (as the rest
 * of the condition language), `.` not matching a newline, `$` only at the very end.
 */
export interface LinearRegex {
  readonly source: string;
  /** True when the pattern matches anywhere in the value. */
  test(value: string): boolean;
}

/**
 * Largest compiled program accepted. Matching costs up to (program size × value length) when the
 * DFA gives up; real channel rules compile to well under 200 instructions. At this size the worst
 * pattern on a 32 KiB value (the largest a message holds) measured 1–1.5 s, on a value of a few
 * hundred characters about a millisecond.
 */
export const MAX_PROGRAM_SIZE = 1000;

/** Compiled patterns by source; settings are recompiled per workspace, the patterns repeat. */
const cache = new Map<string, Result<LinearRegex, string>>();
const CACHE_LIMIT = 1000;

/** Compiles a pattern once; an error says why it cannot run (malformed, or not RE2). */
export function compileLinearRegex(source: string): Result<LinearRegex, string> {
  let compiled = cache.get(source);
  if (compiled === undefined) {
    compiled = compile(source);
    // Oldest first out: enough to keep every live workspace's rules without growing forever.
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(source, compiled);
  }
  return compiled;
}

function compile(source: string): Result<LinearRegex, string> {
  let re: RE2JS;
  try {
    re = RE2JS.compile(source, RE2JS.CASE_INSENSITIVE);
  } catch (e) {
    // Only the parser's verdict is about the pattern; anything else is a bug to surface.
    if (!(e instanceof RE2JSSyntaxException)) throw e;
    return err(explain(e.message));
  }
  if (re.programSize() > MAX_PROGRAM_SIZE) {
    return err(
      `too large: compiles to ${re.programSize()} instructions, at most ${MAX_PROGRAM_SIZE} (shorten or split it)`,
    );
  }
  return ok({ source, test: (value) => re.test(value) });
}

const RE2_NOTE = 'rule regexes use RE2 syntax, which runs in linear time: no backreferences or lookaround';

/** The parser's message, led by the construct a JavaScript or PCRE author most likely meant. */
function explain(message: string): string {
  // re2js spells the case-insensitive flag as a `(?i)` prefix, which the author never wrote.
  const reason = message.replace(/^error parsing regexp: /, '').replace('`(?i)', '`');
  const construct = /invalid escape sequence: `\\[1-9]/.test(reason)
    ? 'backreferences are not supported'
    : /`\(\?[=!]/.test(reason)
      ? 'lookahead is not supported'
      : /`\(\?<[=!]/.test(reason)
        ? 'lookbehind is not supported'
        : /nested repetition/.test(reason)
          ? 'possessive or nested quantifiers are not supported'
          : null;
  return `${construct ? `${construct} (${reason})` : reason}; ${RE2_NOTE}`;
}
