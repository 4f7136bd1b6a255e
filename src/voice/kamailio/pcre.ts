/**
 * Administrators' patterns and translations in the dialect of Kamailio 5.6's `dialplan` module:
 * PCRE1 (libpcre.so.3, `pcre_compile` with options 0: no UTF-8, no DOLLAR_ENDONLY, default match
 * limit) for `match_exp`/`subst_exp`, and `\1`-form `repl_exp` (core `parse_repl`).
 *
 * The PCRE is generated from pattern.ts's syntax tree, never copied from the source text, so each
 * construct is spelled in a form whose meaning is the same in both engines:
 * - `$` → `\z` (PCRE's `$` also matches before a final "\n");
 * - every character set is written out from its code-unit ranges: `.` → `[^\n\r]`, `\s` → an
 *   explicit class, `\v` → `\x0b` (PCRE's `\v` is "vertical space"), `\uHHHH` → the ASCII byte;
 *   `\d \D \w \W` are kept (ASCII in both with PCRE's default "C" tables); an empty set → `[^\x00-\xff]`,
 *   a full set → `[\x00-\xff]`;
 * - a literal `$` is `\x24`, never a `$`, so `dialplan` can never mistake it for a pseudo-variable
 *   (with `match_dynamic=1` any `$` makes it one);
 * - groups, alternation, greedy and lazy quantifiers and `^` are written as parsed.
 *
 * The domain on which the two are equal is ASCII strings: Kamailio sees bytes, the script admits
 * only `^\+?[0-9*#]{1,64}$` as dialled numbers, and translations may only add the ASCII characters
 * of a SIP URI's user part (see `toDialplanReplacement`), so every string a rule or route is
 * matched against there is ASCII. Code units above U+007F therefore only matter for how a set is
 * read: a set that holds all of them (a negated class, `\D`, `.`) also takes bytes 0x80–0xFF, one
 * that holds none takes none, and `\s`'s few non-ASCII spaces are dropped. A pattern that names
 * other non-ASCII characters is refused: it was written to match them, and PCRE without UTF-8 would
 * see their UTF-8 bytes one at a time.
 *
 * Refused as well, because PCRE would answer differently or not at all:
 * - shapes that can backtrack past PCRE's match limit (10,000,000 calls), which `dialplan` treats as
 *   "no match": a repetition of a part that can match in several ways (`(\d+)+`, `(\d{1,3})*`,
 *   `(1|12)+`: pattern.ts runs them in linear time, a backtracker in exponential time), and patterns
 *   whose estimated ways to try an input of the longest length pass 4,000,000 (several open-ended
 *   repetitions in a row, e.g. `\d*\d*\d*` unanchored);
 * - patterns PCRE cannot compile: groups nested deeper than 200 (PCRE's limit is 250), or a
 *   compiled size that may pass its 64 KB limit.
 */
import { AppError } from "../../core/errors.ts";
import { compilePattern, compileTranslation, nullable, type PatternNode, parsePatternTree } from "../pattern.ts";

/** Longest dialled number: the script admits `^\+?[0-9*#]{1,64}$`, `voice test-route` at most 64 characters. */
export const MAX_DIALLED_LENGTH = 64;
/** Longest output of a `dialplan` translation: `MAX_PHONE_NB_DIGITS` is 127, and a result must stay below it. */
export const MAX_DIALPLAN_OUTPUT = 126;
/** `dialplan` keeps 10 replacement tokens (`MAX_REPLACE_WITH`); the 5.6 parser writes past them, so stay one below. */
export const MAX_REPLACE_ESCAPES = 9;
/** `dialplan` refuses to load a `subst_exp` with more capturing groups than `MAX_REPLACE_WITH` (10). */
export const MAX_SUBST_GROUPS = 10;

/**
 * Most (start positions × ways to match) a pattern may have. PCRE's match limit is 10,000,000
 * calls of its matcher. The estimate counts leaves of the search tree; measured with PCRE 8.39
 * on worst-case inputs of 126 characters, products of repetitions needed 8 to 250 times fewer
 * calls than the estimate (auto-possessification and its minimum-length and required-character
 * checks prune most leaves), and a repeated alternation about one call per branch per turn, so
 * 4,000,000 keeps well below the limit.
 */
const MAX_BACKTRACK_WAYS = 4_000_000;
/** PCRE1's default PARENS_NEST_LIMIT is 250. */
const MAX_GROUP_DEPTH = 200;
/** PCRE1 with LINK_SIZE 2 compiles patterns up to 64 KB; keep a margin. */
const MAX_COMPILED_BYTES = 60_000;

export type PcreResult = { ok: true; pcre: string } | { ok: false; reason: string };

export interface PcreOptions {
  /**
   * The longest string the pattern is matched against (default 126, a normalized number); it
   * bounds the backtracking estimate. Normalization rules see dialled numbers: 64.
   */
  maxInput?: number;
}

type Pairs = [number, number][];

function pairsOf(ranges: readonly number[]): Pairs {
  const out: Pairs = [];
  for (let i = 0; i + 1 < ranges.length; i += 2) out.push([ranges[i] ?? 0, ranges[i + 1] ?? 0]);
  return out;
}

/** The part of a set within [lo, hi], as sorted pairs. */
function clip(pairs: Pairs, lo: number, hi: number): Pairs {
  const out: Pairs = [];
  for (const [a, b] of pairs) {
    const x = Math.max(a, lo);
    const y = Math.min(b, hi);
    if (x <= y) out.push([x, y]);
  }
  return out;
}

/** The complement of a set within [lo, hi]. */
function complement(pairs: Pairs, lo: number, hi: number): Pairs {
  const out: Pairs = [];
  let next = lo;
  for (const [a, b] of clip(pairs, lo, hi)) {
    if (a > next) out.push([next, a - 1]);
    next = b + 1;
  }
  if (next <= hi) out.push([next, hi]);
  return out;
}

function samePairs(a: Pairs, b: Pairs): boolean {
  return a.length === b.length && a.every(([x, y], i) => x === b[i]?.[0] && y === b[i]?.[1]);
}

function intersects(a: Pairs, b: Pairs): boolean {
  for (const [x, y] of a) for (const [u, v] of b) if (x <= v && u <= y) return true;
  return false;
}

function union(a: Pairs, b: Pairs): Pairs {
  const sorted = [...a, ...b].sort((p, q) => p[0] - q[0]);
  const out: Pairs = [];
  for (const [x, y] of sorted) {
    const last = out[out.length - 1];
    if (last && x <= last[1] + 1) last[1] = Math.max(last[1], y);
    else out.push([x, y]);
  }
  return out;
}

function setOf(source: string): Pairs {
  const { tree } = parsePatternTree(source);
  if (tree.kind !== "chars") throw new Error(`"${source}" is not a character set`);
  return pairsOf(tree.ranges);
}

const HIGH_LO = 0x80;
const HIGH_HI = 0xffff;
// The non-ASCII parts a set can get from shorthands alone, taken from pattern.ts itself.
const SPACE_HIGH = clip(setOf("\\s"), HIGH_LO, HIGH_HI);
const HIGH_PARTS_WITHOUT_BYTES: readonly Pairs[] = [[], SPACE_HIGH];
const HIGH_PARTS_WITH_BYTES: readonly Pairs[] = [
  [[HIGH_LO, HIGH_HI]],
  complement(SPACE_HIGH, HIGH_LO, HIGH_HI),
  clip(setOf("."), HIGH_LO, HIGH_HI),
];
const DIGITS: Pairs = [[0x30, 0x39]];
const WORD: Pairs = setOf("\\w");
const ALL_BYTES: Pairs = [[0, 0xff]];

const hex2 = (c: number): string => c.toString(16).padStart(2, "0");
const isAlnum = (c: number): boolean => (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);

/**
 * One byte, literal in and out of a class: letters and digits as themselves, other printable
 * ASCII behind a backslash (always a literal in PCRE and JavaScript), the rest, space and `$` as `\xHH`.
 */
function byte(c: number): string {
  if (isAlnum(c)) return String.fromCharCode(c);
  if (c > 0x20 && c < 0x7f && c !== 0x24) return `\\${String.fromCharCode(c)}`;
  return `\\x${hex2(c)}`;
}

function classItems(pairs: Pairs): string {
  return pairs.map(([a, b]) => (a === b ? byte(a) : b === a + 1 ? byte(a) + byte(b) : `${byte(a)}-${byte(b)}`)).join("");
}

class Refusal extends Error {}

function shown(text: string): string {
  return `"${text.length > 60 ? `${text.slice(0, 57)}...` : text}"`;
}

/** A set as a PCRE atom over bytes, or a Refusal for non-ASCII characters named explicitly. */
function emitSet(source: string, ranges: readonly number[]): string {
  const pairs = pairsOf(ranges);
  const ascii = clip(pairs, 0, 0x7f);
  const high = clip(pairs, HIGH_LO, HIGH_HI);
  let withHigh: boolean;
  if (HIGH_PARTS_WITHOUT_BYTES.some((h) => samePairs(h, high))) withHigh = false;
  else if (HIGH_PARTS_WITH_BYTES.some((h) => samePairs(h, high))) withHigh = true;
  else {
    // Name a character the author wrote: one left out of a mostly full set, else one taken in.
    const size = high.reduce((n, [a, b]) => n + b - a + 1, 0);
    const mostlyFull = size > (HIGH_HI - HIGH_LO + 1) / 2;
    const first = (mostlyFull ? complement(high, HIGH_LO, HIGH_HI) : high)[0]?.[0] ?? HIGH_LO;
    throw new Refusal(
      `The pattern ${shown(source)} ${mostlyFull ? "leaves out" : "names"} the non-ASCII character U+${first.toString(16).toUpperCase().padStart(4, "0")} ("${String.fromCharCode(first)}"): ` +
        "dialled numbers are ASCII, and Kamailio's PCRE (without UTF-8) would match its UTF-8 bytes one at a time. Remove it",
    );
  }
  const bytes = withHigh ? union(ascii, [[0x80, 0xff]]) : ascii;
  if (bytes.length === 0) return "[^\\x00-\\xff]"; // `(?!)` would do, but PCRE treats a quantified assertion as {0,1}
  if (samePairs(bytes, ALL_BYTES)) return "[\\x00-\\xff]";
  if (samePairs(bytes, DIGITS)) return "\\d";
  if (samePairs(bytes, complement(DIGITS, 0, 0xff))) return "\\D";
  if (samePairs(bytes, WORD)) return "\\w";
  if (samePairs(bytes, complement(WORD, 0, 0xff))) return "\\W";
  const only = bytes[0];
  if (bytes.length === 1 && only && only[0] === only[1]) return byte(only[0]);
  return withHigh ? `[^${classItems(complement(ascii, 0, 0x7f))}]` : `[${classItems(ascii)}]`;
}

function quantifier(min: number, max: number, greedy: boolean): string {
  let q: string;
  if (min === 0 && max === Number.POSITIVE_INFINITY) q = "*";
  else if (min === 1 && max === Number.POSITIVE_INFINITY) q = "+";
  else if (min === 0 && max === 1) q = "?";
  else if (min === max) q = `{${min}}`;
  else if (max === Number.POSITIVE_INFINITY) q = `{${min},}`;
  else q = `{${min},${max}}`;
  return greedy ? q : `${q}?`;
}

function emit(source: string, node: PatternNode): string {
  switch (node.kind) {
    case "empty":
      return "";
    case "chars":
      return emitSet(source, node.ranges);
    case "begin":
      return "^";
    case "end":
      return "\\z";
    case "group":
      return `${node.capture > 0 ? "(" : "(?:"}${emit(source, node.body)})`;
    case "concat":
      return node.items.map((item) => (item.kind === "alt" ? `(?:${emit(source, item)})` : emit(source, item))).join("");
    case "alt":
      return node.branches.map((b) => emit(source, b)).join("|");
    case "repeat": {
      const body = emit(source, node.body);
      const atom = node.body.kind === "chars" || node.body.kind === "group" ? body : `(?:${body})`;
      return atom + quantifier(node.min, node.max, node.greedy);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Facts about the tree.

/** The characters a non-empty match can start with. */
function firstSet(node: PatternNode): Pairs {
  switch (node.kind) {
    case "empty":
    case "begin":
    case "end":
      return [];
    case "chars":
      return pairsOf(node.ranges);
    case "group":
      return firstSet(node.body);
    case "concat": {
      let out: Pairs = [];
      for (const item of node.items) {
        out = union(out, firstSet(item));
        if (!nullable(item)) break;
      }
      return out;
    }
    case "alt":
      return node.branches.reduce<Pairs>((acc, b) => union(acc, firstSet(b)), []);
    case "repeat":
      return node.max === 0 ? [] : firstSet(node.body);
  }
}

/**
 * Whether each turn of a repetition over `node` can be matched one way only (no variable
 * repetition inside, and alternations whose branches each need a character and cannot start with
 * the same one): then a backtracking engine tries one way per turn and a failed branch dies at
 * its first character.
 */
function deterministic(node: PatternNode): boolean {
  switch (node.kind) {
    case "repeat":
      return node.max === node.min && deterministic(node.body);
    case "alt": {
      const firsts = node.branches.map((b) => (nullable(b) ? null : firstSet(b)));
      const disjoint = firsts.every((f, i) => f !== null && firsts.slice(0, i).every((g) => g !== null && !intersects(f, g)));
      return disjoint && node.branches.every(deterministic);
    }
    case "group":
      return deterministic(node.body);
    case "concat":
      return node.items.every(deterministic);
    default:
      return true;
  }
}

const WAYS_CAP = 1e15;

/**
 * An upper bound on the ways the pattern can match at one start position of an input of `n`
 * characters, each way a leaf of PCRE's search tree (capped to stay finite): alternatives add,
 * sequences multiply, and a repetition multiplies its body's ways once per turn, summed over the
 * possible numbers of turns. Throws a Refusal naming a repetition of a repetition that alone
 * passes the limit, the classic catastrophic-backtracking shape.
 */
function ways(source: string, node: PatternNode, n: number, limit: number): number {
  const cap = (x: number): number => Math.min(x, WAYS_CAP);
  switch (node.kind) {
    case "empty":
    case "chars":
    case "begin":
    case "end":
      return 1;
    case "group":
      return ways(source, node.body, n, limit);
    case "concat":
      return cap(node.items.reduce((p, item) => p * ways(source, item, n, limit), 1));
    case "alt":
      return cap(node.branches.reduce((s, b) => s + ways(source, b, n, limit), 0));
    case "repeat": {
      const det = node.max > 1 && deterministic(node.body);
      const body = det ? 1 : ways(source, node.body, n, limit);
      let total: number;
      if (node.min === node.max) {
        total = cap(body ** node.min);
      } else {
        // The body of a variable repetition always takes a character (pattern.ts refuses the
        // others), so there are at most n turns.
        const most = Math.min(node.max, n);
        total = 0;
        let term = cap(body ** node.min);
        for (let k = node.min; k <= most && total < WAYS_CAP; k++) {
          total = cap(total + term);
          term = cap(term * body);
        }
        total = Math.max(total, 1);
      }
      if (node.max > 1 && !det && body > 1 && total > limit) {
        throw new Refusal(
          `The pattern ${shown(source)}: ${shown(source.slice(node.start, node.end))} repeats a part that can itself match in several ways (a repetition of variable length, or branches that can start alike): a backtracking engine such as Kamailio's PCRE can take exponential time on it, and past its match limit it answers "no match". Repeat a fixed-length part with one way to match, e.g. "(?:\\d{3})+", or write the counts out`,
        );
      }
      return total;
    }
  }
}

function groupDepth(node: PatternNode): number {
  switch (node.kind) {
    case "group":
      return 1 + groupDepth(node.body);
    case "repeat":
      return groupDepth(node.body) + (node.body.kind === "group" ? 0 : 1);
    case "concat":
      return node.items.reduce((m, i) => Math.max(m, groupDepth(i)), 0);
    case "alt":
      return node.branches.reduce((m, b) => Math.max(m, groupDepth(b)), 0) + 1;
    default:
      return 0;
  }
}

/**
 * A generous estimate of PCRE1's compiled size in bytes: a class 33, a character or shorthand 2,
 * brackets 6–8, and repetitions of groups copied out (PCRE 8.39 here: `(?:[0-8][0-7]){500}` is
 * 36,071 bytes, estimated 37,000; `{1000}` is "regular expression is too large").
 */
function compiledBytes(source: string, node: PatternNode): number {
  switch (node.kind) {
    case "empty":
      return 0;
    case "chars":
      return emitSet(source, node.ranges).startsWith("[") ? 35 : 2;
    case "begin":
    case "end":
      return 1;
    case "group":
      return compiledBytes(source, node.body) + 8;
    case "concat":
      return node.items.reduce((s, i) => s + compiledBytes(source, i), 0);
    case "alt":
      return node.branches.reduce((s, b) => s + compiledBytes(source, b) + 4, 0) + 8;
    case "repeat": {
      const body = compiledBytes(source, node.body);
      if (node.body.kind === "chars") return body + 8;
      // PCRE copies a group min times, then once per optional turn (or once more when unbounded).
      const optional = node.max === Number.POSITIVE_INFINITY ? 1 : node.max - node.min;
      return (body + 8) * (Math.max(node.min, 1) + optional);
    }
  }
}

/**
 * The PCRE1 text for an administrator's pattern, generated from pattern.ts's syntax tree, with the
 * same matches and groups as pattern.ts on ASCII input; or the reason it cannot be written, naming
 * the construct and the fix. Patterns that pattern.ts rejects are refused with its message.
 */
export function toPcre(source: string, options: PcreOptions = {}): PcreResult {
  const n = options.maxInput ?? MAX_DIALPLAN_OUTPUT;
  let tree: PatternNode;
  let anchored: boolean;
  try {
    tree = parsePatternTree(source).tree;
    anchored = compilePattern(source).program.anchoredStart;
  } catch (err) {
    if (err instanceof AppError) return { ok: false, reason: err.message };
    throw err;
  }
  try {
    const pcre = emit(source, tree);
    const starts = anchored ? 1 : n + 1;
    const w = ways(source, tree, n, MAX_BACKTRACK_WAYS / starts);
    if (starts * w > MAX_BACKTRACK_WAYS) {
      return {
        ok: false,
        reason: `The pattern ${shown(source)} has too many ways to match a ${n}-character number (about ${(starts * w).toExponential(1)} with its variable repetitions in a row${anchored ? "" : " and no ^"}): Kamailio's PCRE could pass its match limit and answer "no match". Anchor it with ^ and use fewer open-ended repetitions (e.g. one "\\d+" or "\\d{7,15}")`,
      };
    }
    if (groupDepth(tree) > MAX_GROUP_DEPTH) {
      return {
        ok: false,
        reason: `The pattern ${shown(source)} nests groups more than ${MAX_GROUP_DEPTH} deep, which PCRE refuses to compile`,
      };
    }
    if (compiledBytes(source, tree) > MAX_COMPILED_BYTES) {
      return {
        ok: false,
        reason: `The pattern ${shown(source)} may compile to more than PCRE's 64 KB once its counted repetitions of groups are copied out: use smaller counts, or repeat a class rather than a group`,
      };
    }
    return { ok: true, pcre };
  } catch (err) {
    if (err instanceof Refusal) return { ok: false, reason: err.message };
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Group lengths, for bounding a translation's output.

/** The shortest and longest text each group can capture (index 0: the whole match), capped at `maxInput`. */
export interface GroupLengths {
  readonly min: readonly number[];
  readonly max: readonly number[];
}

function minLength(node: PatternNode): number {
  switch (node.kind) {
    case "chars":
      return 1;
    case "group":
      return minLength(node.body);
    case "concat":
      return node.items.reduce((s, i) => s + minLength(i), 0);
    case "alt":
      return node.branches.reduce((m, b) => Math.min(m, minLength(b)), Number.POSITIVE_INFINITY);
    case "repeat":
      return node.min * minLength(node.body);
    default:
      return 0;
  }
}

function maxLength(node: PatternNode): number {
  switch (node.kind) {
    case "chars":
      return 1;
    case "group":
      return maxLength(node.body);
    case "concat":
      return node.items.reduce((s, i) => s + maxLength(i), 0);
    case "alt":
      return node.branches.reduce((m, b) => Math.max(m, maxLength(b)), 0);
    case "repeat": {
      const body = maxLength(node.body);
      return body === 0 ? 0 : node.max * body;
    }
    default:
      return 0;
  }
}

/**
 * How long each group's capture can be, for a pattern pattern.ts accepts (throws its AppError
 * otherwise). A group that may take no part (in an alternation or an optional repetition) has
 * minimum 0, as it then gives "" in both engines.
 */
export function groupLengths(source: string, maxInput: number = MAX_DIALLED_LENGTH): GroupLengths {
  const { tree, groupCount } = parsePatternTree(source);
  const min: number[] = new Array<number>(groupCount + 1).fill(0);
  const max: number[] = new Array<number>(groupCount + 1).fill(0);
  min[0] = Math.min(minLength(tree), maxInput);
  max[0] = Math.min(maxLength(tree), maxInput);
  const walk = (node: PatternNode, optional: boolean): void => {
    switch (node.kind) {
      case "group":
        if (node.capture > 0) {
          min[node.capture] = optional ? 0 : Math.min(minLength(node.body), maxInput);
          max[node.capture] = Math.min(maxLength(node.body), maxInput);
        }
        walk(node.body, optional);
        return;
      case "concat":
        for (const i of node.items) walk(i, optional);
        return;
      case "alt":
        for (const b of node.branches) walk(b, true);
        return;
      case "repeat":
        walk(node.body, optional || node.min === 0);
        return;
      default:
        return;
    }
  };
  walk(tree, false);
  return { min, max };
}

// ---------------------------------------------------------------------------------------------
// Translations.

export type ReplacementResult =
  | {
      ok: true;
      /** The `repl_exp`: literal text, `\0`–`\9` for groups, `\$` for a dollar sign. */
      repl: string;
      /** Escapes in it, as `dialplan` counts them. */
      escapes: number;
      /** The longest output it can give. */
      maxLength: number;
      /** The shortest output it can give (0: it can be empty). */
      minLength: number;
    }
  | { ok: false; reason: string };

/**
 * What a translation may add to a number: the characters of a SIP URI's user part (RFC 3261
 * unreserved and user-unreserved) and "#", since the number becomes the Request-URI's user part.
 */
const URI_USER_CHAR = /^[0-9A-Za-z\-_.!~*'()&=+$,;?/#]$/;

/**
 * A normalization rule's translation as a `dialplan` `repl_exp`, with exactly the meaning
 * `compileTranslation` gives it (`$n`/`${n}`/`$&`/`$0` → `\n`, `$$` → `\$`, and "$" followed by
 * digits taking the longest run that names one of `groupCount` groups). Refused: translations
 * compileTranslation rejects; a group 10 or above (`dialplan` reads `\10` as group 1 then "0");
 * more than 9 escapes; an empty translation (a NULL `repl_exp` in db_text); characters that cannot
 * stand in a SIP URI's user part; and outputs that could pass 126 characters (`dialplan` then answers
 * "No translation" and the call would go on the digits as dialled). `lengths` bounds each group's
 * capture (default: each may be the whole 64-character number).
 */
export function toDialplanReplacement(translation: string, groupCount: number, lengths?: GroupLengths): ReplacementResult {
  let parts: readonly (string | number)[];
  try {
    parts = compileTranslation(translation, groupCount).parts;
  } catch (err) {
    if (err instanceof AppError) return { ok: false, reason: err.message };
    throw err;
  }
  const at = `The translation "${translation}"`;
  if (parts.length === 0) {
    return { ok: false, reason: `${at} is empty: Kamailio cannot store an empty replacement. Give the number to produce, e.g. "+1$1"` };
  }
  let repl = "";
  let escapes = 0;
  let longest = 0;
  let shortest = 0;
  for (const part of parts) {
    if (typeof part === "number") {
      if (part >= 10) {
        return {
          ok: false,
          reason: `${at} uses group ${part}: Kamailio's dialplan reads only one digit after "\\" ("\\${part}" would be group ${Math.floor(part / 10)} then "${part % 10}"). Use at most 9 groups, making the others non-capturing with "(?:"`,
        };
      }
      repl += `\\${part}`;
      escapes++;
      longest += lengths?.max[part] ?? MAX_DIALLED_LENGTH;
      shortest += lengths?.min[part] ?? 0;
      continue;
    }
    for (const c of part) {
      if (!URI_USER_CHAR.test(c)) {
        const code = c.codePointAt(0) ?? 0;
        return {
          ok: false,
          reason: `${at} adds ${c.trim() ? `"${c}"` : `U+${code.toString(16).toUpperCase().padStart(4, "0")}`}, which cannot stand in the user part of the Request-URI Kamailio sends: use digits, "+", "*", "#" and the like`,
        };
      }
      if (c === "$") {
        repl += "\\$"; // a bare "$" would start a pseudo-variable
        escapes++;
      } else {
        repl += c;
      }
      longest++;
      shortest++;
    }
  }
  if (escapes > MAX_REPLACE_ESCAPES) {
    return {
      ok: false,
      reason: `${at} needs ${escapes} escapes (group references and "$$"), more than the ${MAX_REPLACE_ESCAPES} Kamailio's dialplan can hold: use fewer groups, e.g. capture consecutive digits in one group`,
    };
  }
  if (longest > MAX_DIALPLAN_OUTPUT) {
    return {
      ok: false,
      reason: `${at} can produce ${longest} characters, over the ${MAX_DIALPLAN_OUTPUT} Kamailio's dialplan can return (it would then route on the digits as dialled): shorten it, or bound the groups it copies (e.g. "\\d{1,15}" rather than "\\d+")`,
    };
  }
  return { ok: true, repl, escapes, maxLength: longest, minLength: shortest };
}
