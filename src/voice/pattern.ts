/**
 * Number patterns and normalization rules: the .NET regular-expression subset administrators
 * write in Skype for Business / Teams voice routes and dial plans, run on engines whose time is
 * linear in the input whatever the pattern: the pattern compiles to a Thompson NFA, run by a Pike
 * VM, by a bounded backtracker that visits each (instruction, position) pair at most once, or as
 * a lazy DFA (pattern-set.ts). Never by unbounded backtracking.
 *
 * Supported: literals, `.`, `\d \D \w \W \s \S`, escaped punctuation (`\+ \. \( \;` …),
 * `\t \n \r \f \v \xHH \uHHHH`, classes `[0-9]` `[^…]` `[\d#*]`, anchors `^ $`, groups `( )`
 * and `(?: )`, alternation `|`, quantifiers `? * + {n} {n,} {n,m}`, greedy or lazy (`*?`).
 *
 * Rejected, with the reason and a fix: backreferences, lookaround, named groups, atomic and
 * possessive constructs, inline options and comments, `\b \A \z \G`, `\p{…}`, class subtraction,
 * empty patterns, patterns over 1,000 characters, programs over 10,000 instructions once counted
 * repetition is expanded, and two shapes on which regex engines give different answers:
 * - a repetition of something that can match nothing, e.g. `(\d*)*` or `(a|)+` (also the classic
 *   catastrophic-backtracking shape);
 * - a capturing group inside a repetition that it does not take part in every time, e.g.
 *   `(?:(1)|2)+` (.NET keeps the group's value from an earlier repetition, JavaScript clears it).
 * Without those two shapes, the leftmost-first Pike VM gives exactly the match and groups a
 * backtracking engine gives.
 *
 * Semantics are ECMAScript's (JavaScript `RegExp` without flags), which for ASCII phone-number
 * input without line breaks are .NET's. The differences, all outside dialled numbers: `\d` and
 * `\w` are ASCII only (.NET accepts any Unicode digit or letter), `\s` is JavaScript's set, `.`
 * matches neither `\r` nor U+2028/U+2029, and `$` matches only at the very end (.NET also before
 * a final `\n`). Matching works on UTF-16 code units, like JavaScript.
 */
import { AppError } from "../core/errors.ts";
import { PatternSet } from "./pattern-set.ts";
import {
  BACKTRACK_MAX_CELLS,
  BacktrackScratch,
  backtrack,
  OP_BEGIN,
  OP_CHAR,
  OP_END,
  OP_JMP,
  OP_MATCH,
  OP_SAVE,
  OP_SPLIT,
  type Program,
  pike,
  type Ranges,
} from "./program.ts";

export const MAX_PATTERN_LENGTH = 1000;
export const MAX_PROGRAM_SIZE = 10_000;
export const MAX_TRANSLATION_LENGTH = 1000;

// ---------------------------------------------------------------------------------------------
// Character sets (see Ranges).

const MAX_CODE_UNIT = 0xffff;

function normalizeRanges(pairs: readonly (readonly [number, number])[]): number[] {
  const sorted = [...pairs].sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  for (const [lo, hi] of sorted) {
    const last = out.length - 1;
    if (last > 0 && lo <= (out[last] ?? -2) + 1) {
      out[last] = Math.max(out[last] ?? 0, hi);
    } else {
      out.push(lo, hi);
    }
  }
  return out;
}

function pairsOf(ranges: Ranges): [number, number][] {
  const pairs: [number, number][] = [];
  for (let i = 0; i + 1 < ranges.length; i += 2) pairs.push([ranges[i] ?? 0, ranges[i + 1] ?? 0]);
  return pairs;
}

function negateRanges(ranges: Ranges): number[] {
  const out: number[] = [];
  let next = 0;
  for (const [lo, hi] of pairsOf(ranges)) {
    if (lo > next) out.push(next, lo - 1);
    next = hi + 1;
  }
  if (next <= MAX_CODE_UNIT) out.push(next, MAX_CODE_UNIT);
  return out;
}

const DIGIT: Ranges = [0x30, 0x39];
const WORD: Ranges = normalizeRanges([
  [0x30, 0x39],
  [0x41, 0x5a],
  [0x5f, 0x5f],
  [0x61, 0x7a],
]);
/** JavaScript's `\s`: WhiteSpace and LineTerminator. */
const SPACE: Ranges = normalizeRanges([
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
]);
const DOT: Ranges = negateRanges(
  normalizeRanges([
    [0x0a, 0x0a],
    [0x0d, 0x0d],
    [0x2028, 0x2029],
  ]),
);

const SHORTHANDS: Record<string, Ranges> = {
  d: DIGIT,
  D: negateRanges(DIGIT),
  w: WORD,
  W: negateRanges(WORD),
  s: SPACE,
  S: negateRanges(SPACE),
};

const CONTROL_ESCAPES: Record<string, number> = { t: 0x09, n: 0x0a, v: 0x0b, f: 0x0c, r: 0x0d };

// ---------------------------------------------------------------------------------------------
// Syntax tree.

type Node =
  | { kind: "empty" }
  | { kind: "chars"; ranges: Ranges }
  | { kind: "begin" }
  | { kind: "end" }
  /** `capture` is the group number, 0 for `(?: )`. */
  | { kind: "group"; capture: number; body: Node; start: number; end: number }
  | { kind: "concat"; items: Node[] }
  | { kind: "alt"; branches: Node[] }
  | { kind: "repeat"; body: Node; min: number; max: number; greedy: boolean; start: number; bodyEnd: number; end: number };

function quote(text: string): string {
  return `"${text.length > 60 ? `${text.slice(0, 57)}...` : text}"`;
}

function invalidPattern(source: string, reason: string, fix: string): AppError {
  const shown = source.length > 120 ? `${source.slice(0, 117)}...` : source;
  return new AppError("invalid_input", `The pattern "${shown}" is not valid: ${reason}. ${fix}.`, [{ path: "pattern", message: reason }]);
}

const isDigit = (c: string | undefined): boolean => c !== undefined && c >= "0" && c <= "9";
const isHex = (c: string | undefined): boolean => c !== undefined && /^[0-9a-fA-F]$/.test(c);
/** ASCII punctuation and space: what may be escaped to stand for itself. */
const isEscapablePunctuation = (c: string): boolean => /^[ -/:-@[-`{-~]$/.test(c);

const BRACE_QUANTIFIER = /^\{(\d+)(,(\d*))?\}/;

class Parser {
  private pos = 0;
  groupCount = 0;

  constructor(private readonly src: string) {}

  private fail(reason: string, fix: string): never {
    throw invalidPattern(this.src, reason, fix);
  }

  private at(i = this.pos): string {
    return `at character ${i + 1}`;
  }

  parse(): Node {
    const node = this.alternation();
    if (this.pos < this.src.length) {
      // alternation() only stops early at a ")" that closes no group.
      this.fail(`the ")" ${this.at()} closes no group`, 'Remove it, or write "\\)" to match a parenthesis');
    }
    return node;
  }

  private alternation(): Node {
    const branches = [this.sequence()];
    while (this.src[this.pos] === "|") {
      this.pos++;
      branches.push(this.sequence());
    }
    return branches.length === 1 ? (branches[0] ?? { kind: "empty" }) : { kind: "alt", branches };
  }

  private sequence(): Node {
    const items: Node[] = [];
    while (this.pos < this.src.length) {
      const c = this.src[this.pos];
      if (c === "|" || c === ")") break;
      const start = this.pos;
      items.push(this.quantified(this.atom(), start));
    }
    if (items.length === 0) return { kind: "empty" };
    return items.length === 1 ? (items[0] ?? { kind: "empty" }) : { kind: "concat", items };
  }

  /** Reads a quantifier at the current position, or returns null (and reads nothing). */
  private quantifier(): { min: number; max: number } | null {
    const c = this.src[this.pos];
    if (c === "*") {
      this.pos++;
      return { min: 0, max: Number.POSITIVE_INFINITY };
    }
    if (c === "+") {
      this.pos++;
      return { min: 1, max: Number.POSITIVE_INFINITY };
    }
    if (c === "?") {
      this.pos++;
      return { min: 0, max: 1 };
    }
    if (c !== "{") return null;
    const m = BRACE_QUANTIFIER.exec(this.src.slice(this.pos));
    if (!m) return null; // a "{" that starts no quantifier is a literal, in .NET and JavaScript alike
    const text = m[0];
    const digits = [m[1] ?? "", m[3] ?? ""];
    if (digits.some((d) => d.length > 5)) {
      this.fail(`the count in "${text}" ${this.at()} is too large`, "Phone numbers need counts of at most a few dozen, e.g. \\d{1,15}");
    }
    const min = Number(m[1]);
    const max = m[2] === undefined ? min : m[3] === "" ? Number.POSITIVE_INFINITY : Number(m[3]);
    if (max < min) this.fail(`"${text}" ${this.at()} has its counts in the wrong order`, `Write "{${max},${min}}"`);
    this.pos += text.length;
    return { min, max };
  }

  private startsQuantifier(): boolean {
    const c = this.src[this.pos];
    return c === "*" || c === "+" || c === "?" || (c === "{" && BRACE_QUANTIFIER.test(this.src.slice(this.pos)));
  }

  private quantified(atom: Node, start: number): Node {
    const bodyEnd = this.pos;
    const q = this.quantifier();
    if (!q) return atom;
    if (atom.kind === "begin" || atom.kind === "end") {
      this.fail(
        `the quantifier after "${this.src.slice(start, bodyEnd)}" ${this.at(bodyEnd)} repeats an anchor, which matches no character`,
        "Remove the quantifier",
      );
    }
    let greedy = true;
    if (this.src[this.pos] === "?") {
      this.pos++;
      greedy = false;
    }
    if (this.startsQuantifier()) {
      this.fail(
        `"${this.src.slice(bodyEnd, this.pos + 1)}" ${this.at(bodyEnd)} puts a quantifier right after another one (possessive quantifiers such as "*+" are not supported)`,
        'Keep one quantifier, or wrap the repeated part in a group first, e.g. "(?:\\d{3})*"',
      );
    }
    return { kind: "repeat", body: atom, min: q.min, max: q.max, greedy, start, bodyEnd, end: this.pos };
  }

  private atom(): Node {
    const c = this.src[this.pos] ?? "";
    switch (c) {
      case "(":
        return this.group();
      case "[":
        return this.charClass();
      case ".":
        this.pos++;
        return { kind: "chars", ranges: DOT };
      case "^":
        this.pos++;
        return { kind: "begin" };
      case "$":
        this.pos++;
        return { kind: "end" };
      case "\\":
        return this.escape();
      case "*":
      case "+":
      case "?":
        return this.fail(`the quantifier "${c}" ${this.at()} has nothing before it to repeat`, `Write "\\${c}" to match a "${c}" itself`);
      case "{":
        if (this.startsQuantifier()) {
          this.fail(`the quantifier ${this.at()} has nothing before it to repeat`, 'Write "\\{" to match a brace itself');
        }
        break;
    }
    this.pos++;
    const code = c.charCodeAt(0);
    return { kind: "chars", ranges: [code, code] };
  }

  private group(): Node {
    const start = this.pos;
    this.pos++;
    let capture = 0;
    if (this.src[this.pos] === "?") {
      const next = this.src[this.pos + 1] ?? "";
      const after = this.src[this.pos + 2] ?? "";
      if (next === ":") {
        this.pos += 2;
      } else if (next === "=" || next === "!") {
        this.fail(`"(?${next}" ${this.at(start)} is a lookahead, which is not supported`, "Write the pattern without lookahead");
      } else if (next === "<" && (after === "=" || after === "!")) {
        this.fail(`"(?<${after}" ${this.at(start)} is a lookbehind, which is not supported`, "Write the pattern without lookbehind");
      } else if (next === "<" || next === "'" || next === "P") {
        this.fail(`${this.at(start)} is a named group, which is not supported`, 'Use a numbered group "( )" and refer to it as $1, $2…');
      } else if (next === ">") {
        this.fail(`"(?>" ${this.at(start)} is an atomic group, which is not supported`, 'Use "(?:" instead');
      } else if (next === "#") {
        this.fail(`"(?#" ${this.at(start)} is a comment, which is not supported`, "Remove the comment");
      } else if (next === "(") {
        this.fail(`"(?(" ${this.at(start)} is a conditional, which is not supported`, "Use alternation with | instead");
      } else if (/^[imnsx-]$/.test(next)) {
        this.fail(
          `"(?${next}" ${this.at(start)} sets inline options, which are not supported`,
          "Remove the option; patterns are matched case-sensitively",
        );
      } else {
        this.fail(`"(?${next}" ${this.at(start)} is not a supported group`, 'Use "( )" or "(?: )", or write "\\(" to match a parenthesis');
      }
    } else {
      capture = ++this.groupCount;
    }
    const body = this.alternation();
    if (this.src[this.pos] !== ")") {
      this.fail(`the "(" ${this.at(start)} is never closed`, 'Add the missing ")", or write "\\(" to match a parenthesis');
    }
    this.pos++;
    return { kind: "group", capture, body, start, end: this.pos };
  }

  /** Reads an escape after "\": a shorthand class or one code unit. */
  private escapeValue(inClass: boolean): { code: number } | { ranges: Ranges } {
    const start = this.pos;
    const c = this.src[this.pos + 1];
    if (c === undefined) this.fail('the pattern ends with a lone "\\"', 'Write "\\\\" to match a backslash');
    this.pos += 2;
    const shorthand = SHORTHANDS[c];
    if (shorthand) return { ranges: shorthand };
    const control = CONTROL_ESCAPES[c];
    if (control !== undefined) return { code: control };
    if (c === "x" || c === "u") {
      const n = c === "x" ? 2 : 4;
      const hex = this.src.slice(this.pos, this.pos + n);
      if (hex.length !== n || ![...hex].every(isHex)) {
        this.fail(
          `"\\${c}" ${this.at(start)} must be followed by ${n} hexadecimal digits`,
          `Write e.g. "\\${c}${"0".repeat(n - 2)}2B" for "+"`,
        );
      }
      this.pos += n;
      return { code: Number.parseInt(hex, 16) };
    }
    if (isDigit(c)) {
      if (c === "0") this.fail(`"\\0" ${this.at(start)} (an octal or NUL escape) is not supported`, "Remove it");
      this.fail(
        `"\\${c}" ${this.at(start)} is a backreference, which is not supported because it can make matching take exponential time`,
        "Repeat the group's pattern instead of referring back to it",
      );
    }
    if (c === "b" || c === "B") {
      this.fail(
        inClass
          ? `"\\b" ${this.at(start)} inside a class is not supported`
          : `"\\${c}" ${this.at(start)} is a word-boundary assertion, which is not supported`,
        inClass ? "Remove it" : "Use ^ or $, or match the neighbouring characters",
      );
    }
    if ("AzZG".includes(c))
      this.fail(`"\\${c}" ${this.at(start)} is an anchor that is not supported`, 'Use "^" for the start and "$" for the end');
    if (c === "k")
      this.fail(`"\\k" ${this.at(start)} is a named backreference, which is not supported`, "Repeat the group's pattern instead");
    if (c === "p" || c === "P")
      this.fail(`"\\${c}" ${this.at(start)} is a Unicode category, which is not supported`, 'Use a class such as "[0-9]"');
    if (isEscapablePunctuation(c)) return { code: c.charCodeAt(0) };
    return this.fail(
      `"\\${c}" ${this.at(start)} is not a supported escape`,
      'Supported escapes are \\d \\D \\w \\W \\s \\S \\t \\n \\r \\f \\v \\xHH \\uHHHH and "\\" before punctuation',
    );
  }

  private escape(): Node {
    const v = this.escapeValue(false);
    return "ranges" in v ? { kind: "chars", ranges: v.ranges } : { kind: "chars", ranges: [v.code, v.code] };
  }

  private classAtom(): { code: number } | { ranges: Ranges } {
    const c = this.src[this.pos] ?? "";
    if (c === "\\") return this.escapeValue(true);
    if (c === "[") {
      this.fail(
        `the "[" ${this.at()} inside a class is ambiguous (.NET reads "-[" as class subtraction)`,
        'Write "\\[" to match a bracket',
      );
    }
    this.pos++;
    return { code: c.charCodeAt(0) };
  }

  private charClass(): Node {
    const start = this.pos;
    this.pos++;
    let negate = false;
    if (this.src[this.pos] === "^") {
      negate = true;
      this.pos++;
    }
    if (this.src[this.pos] === "]") {
      this.fail(
        `the class ${this.at(start)} is empty or starts with "]", which .NET and JavaScript read differently`,
        'Write "\\]" to match a bracket inside a class',
      );
    }
    const pairs: [number, number][] = [];
    for (;;) {
      if (this.pos >= this.src.length)
        this.fail(`the "[" ${this.at(start)} is never closed`, 'Add the missing "]", or write "\\[" to match a bracket');
      if (this.src[this.pos] === "]") {
        this.pos++;
        break;
      }
      const itemStart = this.pos;
      const first = this.classAtom();
      const isRange = this.src[this.pos] === "-" && this.pos + 1 < this.src.length && this.src[this.pos + 1] !== "]";
      if (!isRange) {
        if ("ranges" in first) pairs.push(...pairsOf(first.ranges));
        else pairs.push([first.code, first.code]);
        continue;
      }
      this.pos++;
      const last = this.classAtom();
      const text = this.src.slice(itemStart, this.pos);
      if ("ranges" in first || "ranges" in last) {
        this.fail(`the range "${text}" ${this.at(itemStart)} has a class shorthand as an end`, 'Write "\\-" for a hyphen, e.g. "[\\d\\-]"');
      }
      if (last.code < first.code) {
        this.fail(`the range "${text}" ${this.at(itemStart)} runs backwards`, 'Write the lower end first, e.g. "[2-9]"');
      }
      pairs.push([first.code, last.code]);
      if (this.src[this.pos] === "-" && this.src[this.pos + 1] !== "]" && this.pos + 1 < this.src.length) {
        this.fail(`the "-" ${this.at()} right after the range "${text}" is ambiguous`, 'Write "\\-" to match a hyphen');
      }
    }
    const ranges = normalizeRanges(pairs);
    return { kind: "chars", ranges: negate ? negateRanges(ranges) : ranges };
  }
}

// ---------------------------------------------------------------------------------------------
// Checks on the tree: program size, and the two shapes engines disagree on.

/** Whether the node can match the empty string. */
export function nullable(node: Node): boolean {
  switch (node.kind) {
    case "empty":
    case "begin":
    case "end":
      return true;
    case "chars":
      return false;
    case "group":
      return nullable(node.body);
    case "concat":
      return node.items.every(nullable);
    case "alt":
      return node.branches.some(nullable);
    case "repeat":
      return node.min === 0 || nullable(node.body);
  }
}

/** Instructions the compiler emits for a node (MATCH not included). */
function programSize(node: Node): number {
  switch (node.kind) {
    case "empty":
      return 0;
    case "chars":
    case "begin":
    case "end":
      return 1;
    case "group":
      return programSize(node.body) + (node.capture > 0 ? 2 : 0);
    case "concat":
      return node.items.reduce((sum, item) => sum + programSize(item), 0);
    case "alt":
      return node.branches.reduce((sum, b) => sum + programSize(b), 0) + 2 * (node.branches.length - 1);
    case "repeat": {
      const s = programSize(node.body);
      if (node.max === Number.POSITIVE_INFINITY) return node.min === 0 ? s + 2 : node.min * s + 1;
      return node.min * s + (node.max - node.min) * (s + 1);
    }
  }
}

function check(source: string, node: Node, inRepeat: boolean, optional: boolean): void {
  switch (node.kind) {
    case "group":
      if (node.capture > 0 && inRepeat && optional) {
        throw invalidPattern(
          source,
          `group ${node.capture} ${quote(source.slice(node.start, node.end))} is inside a repetition but does not take part in every repetition, so its value is engine-dependent (.NET keeps the value of an earlier repetition, JavaScript clears it)`,
          'Make it non-capturing with "(?:", or capture the whole repetition instead',
        );
      }
      check(source, node.body, inRepeat, optional);
      return;
    case "concat":
      for (const item of node.items) check(source, item, inRepeat, optional);
      return;
    case "alt":
      for (const b of node.branches) check(source, b, inRepeat, optional || inRepeat);
      return;
    case "repeat": {
      if (node.max > node.min && nullable(node.body)) {
        const body = source.slice(node.start, node.bodyEnd);
        throw invalidPattern(
          source,
          `${quote(source.slice(node.start, node.end))} repeats ${quote(body)}, which can match an empty string; such a repetition is ambiguous between regex engines and is the classic catastrophic-backtracking shape`,
          `Make the repeated part match at least one character (e.g. "(\\d+)*" rather than "(\\d*)*"), or drop the outer quantifier`,
        );
      }
      check(source, node.body, inRepeat || node.max > 1, optional || (inRepeat && node.min === 0));
      return;
    }
    default:
      return;
  }
}

// ---------------------------------------------------------------------------------------------
// Compiling the tree to a program.

class Emitter {
  op: number[] = [];
  x: number[] = [];
  y: number[] = [];
  sets: Ranges[] = [];
  private setIndex = new Map<string, number>();

  emit(op: number, x = 0, y = 0): number {
    this.op.push(op);
    this.x.push(x);
    this.y.push(y);
    return this.op.length - 1;
  }

  get pc(): number {
    return this.op.length;
  }

  setOf(ranges: Ranges): number {
    const key = ranges.join(",");
    let i = this.setIndex.get(key);
    if (i === undefined) {
      i = this.sets.length;
      this.sets.push(ranges);
      this.setIndex.set(key, i);
    }
    return i;
  }

  node(n: Node): void {
    switch (n.kind) {
      case "empty":
        return;
      case "chars":
        this.emit(OP_CHAR, this.setOf(n.ranges));
        return;
      case "begin":
        this.emit(OP_BEGIN);
        return;
      case "end":
        this.emit(OP_END);
        return;
      case "group":
        if (n.capture > 0) this.emit(OP_SAVE, 2 * n.capture);
        this.node(n.body);
        if (n.capture > 0) this.emit(OP_SAVE, 2 * n.capture + 1);
        return;
      case "concat":
        for (const item of n.items) this.node(item);
        return;
      case "alt": {
        const jumps: number[] = [];
        n.branches.forEach((branch, i) => {
          if (i < n.branches.length - 1) {
            const split = this.emit(OP_SPLIT, 0, 0);
            this.x[split] = this.pc;
            this.node(branch);
            jumps.push(this.emit(OP_JMP));
            this.y[split] = this.pc;
          } else {
            this.node(branch);
          }
        });
        for (const j of jumps) this.x[j] = this.pc;
        return;
      }
      case "repeat":
        this.repeat(n.body, n.min, n.max, n.greedy);
        return;
    }
  }

  /** A split whose preferred branch is `body` when greedy, the way out when lazy. */
  private split(greedy: boolean, body: number, out: number, at: number): void {
    this.x[at] = greedy ? body : out;
    this.y[at] = greedy ? out : body;
  }

  private repeat(body: Node, min: number, max: number, greedy: boolean): void {
    if (max === Number.POSITIVE_INFINITY && min > 0) {
      for (let i = 0; i < min - 1; i++) this.node(body);
      const top = this.pc;
      this.node(body);
      const split = this.emit(OP_SPLIT);
      this.split(greedy, top, this.pc, split);
      return;
    }
    for (let i = 0; i < min; i++) this.node(body);
    if (max === Number.POSITIVE_INFINITY) {
      const split = this.emit(OP_SPLIT);
      this.node(body);
      this.emit(OP_JMP, split);
      this.split(greedy, split + 1, this.pc, split);
      return;
    }
    // x{n,m}: the optional copies nest, x(x(x)?)?, so once one is skipped the rest are too.
    const splits: number[] = [];
    for (let i = min; i < max; i++) {
      splits.push(this.emit(OP_SPLIT));
      this.node(body);
    }
    for (const s of splits) this.split(greedy, s + 1, this.pc, s);
  }
}

function buildProgram(node: Node, groupCount: number): Program {
  const e = new Emitter();
  e.node(node);
  e.emit(OP_MATCH);
  const size = e.op.length;
  const ascii = new Uint8Array(e.sets.length * 128);
  e.sets.forEach((ranges, s) => {
    for (const [lo, hi] of pairsOf(ranges)) {
      for (let c = lo; c <= Math.min(hi, 127); c++) ascii[s * 128 + c] = 1;
    }
  });
  const program: Program = {
    size,
    op: Uint8Array.from(e.op),
    x: Int32Array.from(e.x),
    y: Int32Array.from(e.y),
    sets: e.sets,
    ascii,
    groupCount,
    anchoredStart: false,
  };
  return { ...program, anchoredStart: isAnchoredStart(program) };
}

/** True when no character, end assertion or match can be reached from the start without passing `^`. */
function isAnchoredStart(p: Program): boolean {
  const seen = new Uint8Array(p.size);
  const stack = [0];
  while (stack.length > 0) {
    const pc = stack.pop() ?? 0;
    if (seen[pc]) continue;
    seen[pc] = 1;
    switch (p.op[pc]) {
      case OP_BEGIN:
        break;
      case OP_JMP:
        stack.push(p.x[pc] ?? 0);
        break;
      case OP_SPLIT:
        stack.push(p.x[pc] ?? 0, p.y[pc] ?? 0);
        break;
      case OP_SAVE:
        stack.push(pc + 1);
        break;
      default:
        return false;
    }
  }
  return true;
}

// ---------------------------------------------------------------------------------------------
// Public API.

/**
 * Which engine runs a search; all are linear in the input. "auto": bounded backtracking while
 * program size × (input length + 1) stays under 256K, otherwise the lazy DFA to test and the Pike
 * VM for groups (after the DFA has said there is a match). The others are for tests.
 */
export type Engine = "auto" | "backtrack" | "pike" | "dfa";

/** A validated number pattern, ready to match in time linear in the input. */
export class CompiledPattern {
  readonly source: string;
  /** Number of capturing groups. */
  readonly groupCount: number;
  /** The instructions; internal to the voice module. */
  readonly program: Program;
  private readonly scratch: BacktrackScratch;
  private dfa: PatternSet | undefined;

  constructor(source: string, program: Program) {
    this.source = source;
    this.groupCount = program.groupCount;
    this.program = program;
    this.scratch = new BacktrackScratch(program.groupCount);
  }

  /** .NET `Regex.IsMatch`: whether the pattern matches anywhere in the input (unless it anchors). */
  test(input: string, engine: Engine = "auto"): boolean {
    const e = engine === "auto" ? (this.small(input) ? "backtrack" : "dfa") : engine;
    if (e === "dfa") return this.dfaTest(input);
    if (e === "pike") return pike(this.program, input, false) !== null;
    return backtrack(this.program, this.scratch, input, null);
  }

  /**
   * The leftmost-first match like JavaScript's `exec`: the whole match then groups 1..n, with
   * groups that took no part as "" — or null when there is no match.
   */
  exec(input: string, engine: Engine = "auto"): string[] | null {
    const caps = this.execSlots(input, engine);
    if (!caps) return null;
    const out: string[] = [];
    for (let g = 0; g <= this.groupCount; g++) {
      const start = caps[2 * g] ?? -1;
      const end = caps[2 * g + 1] ?? -1;
      out.push(start >= 0 && end >= 0 ? input.slice(start, end) : "");
    }
    return out;
  }

  /**
   * The match as capture slots (group g spans `slots[2g]` to `slots[2g + 1]`, -1 when it took no
   * part), or null. The array may be reused by the next call on this pattern: read it before then.
   */
  execSlots(input: string, engine: Engine = "auto"): Int32Array | null {
    if (engine === "backtrack" || (engine === "auto" && this.small(input))) {
      const caps = this.scratch.caps.fill(-1);
      return backtrack(this.program, this.scratch, input, caps) ? caps : null;
    }
    if (engine !== "pike" && !this.dfaTest(input)) return null;
    return pike(this.program, input, true);
  }

  private small(input: string): boolean {
    return this.program.size * (input.length + 1) <= BACKTRACK_MAX_CELLS;
  }

  private dfaTest(input: string): boolean {
    if (!this.dfa) this.dfa = new PatternSet([this], { maxStates: 10_000, maxStoredInstructions: 2_000_000 });
    return this.dfa.matches(input).length > 0;
  }
}

/**
 * Validates and compiles an administrator's pattern; throws AppError `invalid_input` naming the
 * pattern, the reason and the fix.
 */
export function compilePattern(source: string): CompiledPattern {
  const { tree, groupCount } = parseChecked(source);
  return new CompiledPattern(source, buildProgram(tree, groupCount));
}

/**
 * The syntax tree of a pattern, for code that translates administrators' patterns to another
 * engine's dialect (e.g. PCRE for Kamailio). Read only. `chars` holds its set as sorted inclusive
 * UTF-16 code-unit ranges `[lo, hi, lo, hi, …]`; `repeat.max` is `Infinity` when unbounded;
 * `group.capture` is the group number, 0 for `(?: )`; `start`/`end` index the source text.
 */
export type PatternNode = Node;

/** A validated pattern's syntax tree and number of capturing groups. */
export interface ParsedPattern {
  readonly source: string;
  readonly tree: PatternNode;
  readonly groupCount: number;
}

/**
 * Parses and validates a pattern exactly as `compilePattern` does (same errors: AppError
 * `invalid_input` naming the reason and the fix) and returns its syntax tree.
 */
export function parsePatternTree(source: string): ParsedPattern {
  const { tree, groupCount } = parseChecked(source);
  return { source, tree, groupCount };
}

/** The checks of `compilePattern`, once: the tree of a valid pattern, or an AppError. */
function parseChecked(source: string): { tree: Node; groupCount: number } {
  if (source.length === 0) {
    throw invalidPattern(
      source,
      "it is empty, and an empty pattern matches every number",
      'Write the pattern to match, e.g. "^\\+1\\d{10}$"',
    );
  }
  if (source.length > MAX_PATTERN_LENGTH) {
    throw invalidPattern(
      source,
      `it is ${source.length.toLocaleString("en-US")} characters long, over the limit of ${MAX_PATTERN_LENGTH.toLocaleString("en-US")}`,
      "Split it into several routes or rules",
    );
  }
  const parser = new Parser(source);
  const tree = parser.parse();
  const size = programSize(tree) + 1;
  if (size > MAX_PROGRAM_SIZE) {
    throw invalidPattern(
      source,
      `it expands to ${size > 1e9 ? "over a billion" : size.toLocaleString("en-US")} instructions once counted repetition is expanded, over the limit of ${MAX_PROGRAM_SIZE.toLocaleString("en-US")}`,
      'Use smaller counts; phone numbers need at most about 15 digits, e.g. "\\d{1,15}"',
    );
  }
  check(source, tree, false, false);
  return { tree, groupCount: parser.groupCount };
}

// ---------------------------------------------------------------------------------------------
// Translations.

/** A parsed translation: literal text and group numbers, in order. */
export interface Translation {
  readonly source: string;
  readonly parts: readonly (string | number)[];
}

function invalidTranslation(translation: string, reason: string, fix: string): AppError {
  return new AppError("invalid_input", `The translation "${translation}" is not valid: ${reason}. ${fix}.`, [
    { path: "translation", message: reason },
  ]);
}

/**
 * Parses a normalization rule's translation for a pattern with `groupCount` groups: `$n` and
 * `${n}` (group n, `$0` the whole match), `$&` (the whole match) and `$$` (a dollar sign).
 * Like .NET, `$` followed by digits takes the longest run of digits that names a group, so with
 * one group `$10` is group 1 then "0". A reference to a group the pattern lacks, and any other
 * use of `$`, are rejected rather than copied literally as .NET would: a "$" in a phone number is
 * always a mistake.
 */
export function compileTranslation(translation: string, groupCount: number): Translation {
  if (translation.length > MAX_TRANSLATION_LENGTH) {
    throw invalidTranslation(translation.slice(0, 60), `it is over ${MAX_TRANSLATION_LENGTH} characters long`, "Shorten it");
  }
  const parts: (string | number)[] = [];
  let text = "";
  const flush = (): void => {
    if (text) parts.push(text);
    text = "";
  };
  let i = 0;
  while (i < translation.length) {
    const c = translation[i] ?? "";
    if (c !== "$") {
      text += c;
      i++;
      continue;
    }
    const next = translation[i + 1];
    const at = `at character ${i + 1}`;
    if (next === "$") {
      text += "$";
      i += 2;
    } else if (next === "&") {
      flush();
      parts.push(0);
      i += 2;
    } else if (next === "{") {
      const m = /^\{(\d{1,9})\}/.exec(translation.slice(i + 1));
      if (!m) throw invalidTranslation(translation, `"\${" ${at} must hold a group number, e.g. "\${1}"`, "Named groups are not supported");
      const g = Number(m[1]);
      if (g > groupCount) {
        throw invalidTranslation(
          translation,
          `"\${${g}}" ${at} refers to group ${g}, but the pattern has ${groupCount}`,
          "Refer to an existing group",
        );
      }
      flush();
      parts.push(g);
      i += 1 + m[0].length;
    } else if (isDigit(next)) {
      let j = i + 1;
      let n = 0;
      let group = -1;
      let groupEnd = j;
      while (j < translation.length && isDigit(translation[j]) && j - i <= 9) {
        n = n * 10 + Number(translation[j]);
        j++;
        if (n <= groupCount) {
          group = n;
          groupEnd = j;
        }
      }
      if (group < 0) {
        throw invalidTranslation(
          translation,
          `"$${translation[i + 1]}" ${at} refers to group ${translation[i + 1]}, but the pattern has ${groupCount}`,
          "Refer to an existing group, or add the group to the pattern",
        );
      }
      flush();
      parts.push(group);
      i = groupEnd;
    } else {
      const shown = next === undefined ? "$" : `$${next}`;
      throw invalidTranslation(
        translation,
        `"${shown}" ${at} is not a supported substitution`,
        'Use $1…$9 for groups, or "$$" for a dollar sign',
      );
    }
  }
  flush();
  return { source: translation, parts };
}

/** The translation with the match's groups put in. */
export function expandTranslation(t: Translation, groups: readonly string[]): string {
  let out = "";
  for (const part of t.parts) out += typeof part === "string" ? part : (groups[part] ?? "");
  return out;
}

/** The translation with the groups of a match put in, given as capture slots over `input` (see `execSlots`). */
export function expandTranslationSlots(t: Translation, input: string, slots: Int32Array): string {
  let out = "";
  for (const part of t.parts) {
    if (typeof part === "string") {
      out += part;
    } else {
      const start = slots[2 * part] ?? -1;
      const end = slots[2 * part + 1] ?? -1;
      if (start >= 0 && end >= 0) out += input.slice(start, end);
    }
  }
  return out;
}

/**
 * Applies a normalization rule the way Lync's Test-CsVoiceNormalizationRule does: when the
 * pattern matches, the result is the translation with the groups of the (leftmost) match put in;
 * otherwise null. This is not .NET `Regex.Replace`, which would also keep the input around an
 * unanchored match ("x1234" with `(\d{4})` → `+1$1` gives "+11234" here, "x+11234" with Replace).
 * Throws invalid_input for a bad pattern or translation.
 */
export function translate(pattern: CompiledPattern | string, translation: Translation | string, input: string): string | null {
  const p = typeof pattern === "string" ? compilePattern(pattern) : pattern;
  const t = typeof translation === "string" ? compileTranslation(translation, p.groupCount) : translation;
  const groups = p.exec(input);
  return groups ? expandTranslation(t, groups) : null;
}
