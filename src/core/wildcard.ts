import { AppError } from "./errors.ts";

/** Characters with a meaning in a regular expression outside a character class. */
const REGEX_SPECIAL = /[\\^$.*+?()[\]{}|/]/g;
/** Characters with a meaning inside a character class. */
const CLASS_SPECIAL = /[\\\]^[-]/g;

function invalidFilter(pattern: string, reason: string): AppError {
  return new AppError("invalid_input", `The filter "${pattern}" is not valid: ${reason}.`);
}

/** Reads one pattern character at `i`, taking a backtick as PowerShell's escape for the next one. */
function charAt(chars: string[], i: number): { char: string; next: number; escaped: boolean } {
  const c = chars[i] ?? "";
  if (c === "`" && i + 1 < chars.length) return { char: chars[i + 1] ?? "", next: i + 2, escaped: true };
  return { char: c, next: i + 1, escaped: false };
}

/** Translates the set starting after "[" at `start`; returns the regex class and the index after "]". */
function readSet(pattern: string, chars: string[], start: number): { source: string; next: number } {
  const parts: string[] = [];
  let i = start;
  for (;;) {
    if (i >= chars.length) {
      throw invalidFilter(pattern, 'a "[" starts a set of characters that must end with "]"; write `[ to match a "[" itself');
    }
    const first = charAt(chars, i);
    if (first.char === "]" && !first.escaped) break;
    i = first.next;
    const dash = chars[i] === "-" && i + 1 < chars.length && chars[i + 1] !== "]";
    if (!dash) {
      parts.push(first.char.replace(CLASS_SPECIAL, "\\$&"));
      continue;
    }
    const last = charAt(chars, i + 1);
    i = last.next;
    if ((first.char.codePointAt(0) ?? 0) > (last.char.codePointAt(0) ?? 0)) {
      throw invalidFilter(pattern, `the range [${first.char}-${last.char}] runs backwards; write it as [${last.char}-${first.char}]`);
    }
    parts.push(`${first.char.replace(CLASS_SPECIAL, "\\$&")}-${last.char.replace(CLASS_SPECIAL, "\\$&")}`);
  }
  if (parts.length === 0) throw invalidFilter(pattern, '"[]" is an empty set of characters; write `[ to match a "[" itself');
  return { source: `[${parts.join("")}]`, next: i + 1 };
}

/**
 * Compiles a PowerShell-style wildcard (`*`, `?`, `[abc]`, `[a-c]`, backtick escapes) into an
 * anchored, case-insensitive RegExp; throws invalid_input for an unclosed or empty set.
 */
export function wildcardToRegExp(pattern: string): RegExp {
  // Iterating code points keeps "?" matching one character even outside the BMP (emoji).
  const chars = Array.from(pattern);
  let source = "";
  let i = 0;
  while (i < chars.length) {
    const { char, next, escaped } = charAt(chars, i);
    if (escaped) {
      source += char.replace(REGEX_SPECIAL, "\\$&");
      i = next;
    } else if (char === "*") {
      source += "[\\s\\S]*";
      i = next;
    } else if (char === "?") {
      source += "[\\s\\S]";
      i = next;
    } else if (char === "[") {
      const set = readSet(pattern, chars, next);
      source += set.source;
      i = set.next;
    } else {
      source += char.replace(REGEX_SPECIAL, "\\$&");
      i = next;
    }
  }
  return new RegExp(`^${source}$`, "iu");
}

const cache = new Map<string, RegExp>();
const CACHE_LIMIT = 256;

/** Whether `value` matches the wildcard `pattern` as a whole, ignoring case. */
export function matchesWildcard(pattern: string, value: string): boolean {
  // Filters are applied to every row of a listing, so compile each pattern once.
  let re = cache.get(pattern);
  if (re === undefined) {
    re = wildcardToRegExp(pattern);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(pattern, re);
  }
  return re.test(value);
}
