/**
 * A compiled pattern's program (a Thompson NFA as instructions) and the two engines that run it
 * with groups, both linear in the input: bounded backtracking for small program × input, the
 * Pike VM otherwise. Internal to the voice module: pattern.ts builds programs, pattern-set.ts
 * joins them into a lazy DFA.
 */

export const EMPTY_CAPS = new Int32Array(0);

/** Sorted, disjoint, inclusive ranges of UTF-16 code units: [lo0, hi0, lo1, hi1, …]. */
export type Ranges = readonly number[];

// ---------------------------------------------------------------------------------------------
// Program (Thompson NFA as instructions).

export const OP_CHAR = 0;
export const OP_MATCH = 1;
/** Split: try x first (higher priority), then y. */
export const OP_SPLIT = 2;
export const OP_JMP = 3;
export const OP_SAVE = 4;
export const OP_BEGIN = 5;
export const OP_END = 6;

/** A compiled pattern's instructions. Internal to the voice module (pattern-set.ts reads it). */
export interface Program {
  readonly size: number;
  readonly op: Uint8Array;
  /** CHAR: set index; SPLIT/JMP: target; SAVE: slot. */
  readonly x: Int32Array;
  /** SPLIT: the lower-priority target. */
  readonly y: Int32Array;
  readonly sets: readonly Ranges[];
  /** Membership of code units 0..127, set by set: `ascii[set * 128 + code]`. */
  readonly ascii: Uint8Array;
  readonly groupCount: number;
  /** Every path starts with `^`, so a search only needs to start at position 0. */
  readonly anchoredStart: boolean;
}

/** Whether code unit `c` is in set `s` of program `p`. */
export function inSet(p: Program, s: number, c: number): boolean {
  if (c < 128) return p.ascii[s * 128 + c] === 1;
  const r = p.sets[s] ?? [];
  let lo = 0;
  let hi = (r.length >> 1) - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (c < (r[2 * mid] ?? 0)) hi = mid - 1;
    else if (c > (r[2 * mid + 1] ?? 0)) lo = mid + 1;
    else return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Pike VM: threads in priority order, one visit per instruction per position. Groups live in one
// working array while empty transitions are followed and are copied into the thread list only
// when a thread is added.

/** A list of threads: instruction, and capture slots at `caps[i * slots .. (i + 1) * slots]`. */
interface ThreadList {
  pcs: Int32Array;
  caps: Int32Array;
  n: number;
  /** Visited marks: `mark[pc] === stamp` when pc was visited at this position. */
  mark: Int32Array;
  stamp: number;
}

function threadList(size: number, slots: number): ThreadList {
  return { pcs: new Int32Array(size), caps: new Int32Array(size * slots), n: 0, mark: new Int32Array(size), stamp: 1 };
}

/**
 * Leftmost-first search: the capture slots of the match a backtracking engine would find, or null.
 * With `wantCaps` false only whether a match exists is computed (stopping at the first match).
 */
export function pike(p: Program, input: string, wantCaps: boolean): Int32Array | null {
  const len = input.length;
  const slots = wantCaps ? 2 * (p.groupCount + 1) : 0;
  const { op, x, y } = p;
  let clist = threadList(p.size, slots);
  let nlist = threadList(p.size, slots);
  let stack = new Int32Array(64);
  const work = new Int32Array(slots);

  /**
   * Follows empty transitions from `pc0` in priority order, adding the threads that wait on a
   * character (or have matched) to `list` with the groups in `work`, left as it was found: a SAVE
   * is undone on the way back.
   */
  const add = (list: ThreadList, pc0: number, pos: number): void => {
    const { mark, stamp } = list;
    let sp = 0;
    stack[sp++] = pc0;
    stack[sp++] = 0;
    while (sp > 0) {
      const b = stack[--sp] ?? 0;
      const a = stack[--sp] ?? 0;
      if (a < 0) {
        work[-a - 1] = b;
        continue;
      }
      let pc = a;
      for (;;) {
        if (mark[pc] === stamp) break;
        mark[pc] = stamp;
        const o = op[pc];
        if (o === OP_JMP) {
          pc = x[pc] ?? 0;
          continue;
        }
        if (o === OP_CHAR || o === OP_MATCH) {
          const at = list.n * slots;
          list.pcs[list.n++] = pc;
          for (let s = 0; s < slots; s++) list.caps[at + s] = work[s] ?? -1;
          break;
        }
        if (o === OP_BEGIN) {
          if (pos !== 0) break;
          pc++;
          continue;
        }
        if (o === OP_END) {
          if (pos !== len) break;
          pc++;
          continue;
        }
        if (sp + 2 > stack.length) {
          const grown = new Int32Array(stack.length * 2);
          grown.set(stack);
          stack = grown;
        }
        if (o === OP_SPLIT) {
          stack[sp++] = y[pc] ?? 0;
          stack[sp++] = 0;
          pc = x[pc] ?? 0;
        } else {
          // SAVE
          const slot = x[pc] ?? 0;
          if (slot < slots) {
            stack[sp++] = -slot - 1;
            stack[sp++] = work[slot] ?? -1;
            work[slot] = pos;
          }
          pc++;
        }
      }
    }
  };

  let matched: Int32Array | null = null;
  for (let pos = 0; pos <= len; pos++) {
    if (matched === null && (pos === 0 || !p.anchoredStart)) {
      work.fill(-1);
      if (wantCaps) work[0] = pos;
      // The new start has the lowest priority: it goes after the threads already running.
      add(clist, 0, pos);
    }
    if (clist.n === 0) {
      if (matched !== null || p.anchoredStart) break;
      clist.stamp++;
      continue;
    }
    nlist.n = 0;
    nlist.stamp++;
    const c = pos < len ? input.charCodeAt(pos) : -1;
    const { pcs, caps, n } = clist;
    for (let i = 0; i < n; i++) {
      const pc = pcs[i] ?? 0;
      if (op[pc] === OP_MATCH) {
        if (!wantCaps) return EMPTY_CAPS;
        matched = caps.slice(i * slots, (i + 1) * slots);
        matched[1] = pos;
        break; // lower-priority threads can no longer win
      }
      if (c >= 0 && inSet(p, x[pc] ?? 0, c)) {
        for (let s = 0; s < slots; s++) work[s] = caps[i * slots + s] ?? -1;
        add(nlist, pc + 1, pos + 1);
      }
    }
    const t = clist;
    clist = nlist;
    nlist = t;
  }
  return matched;
}

// ---------------------------------------------------------------------------------------------
// Bounded backtracking (RE2's "BitState"): depth-first in priority order, so the first match
// found is the leftmost-first one, but each (instruction, position) pair is explored at most
// once, which keeps it linear: a pair that failed once fails again, whatever the groups. It beats
// the Pike VM on short inputs (phone numbers) and is used while its bitmap stays small.

/** Largest instructions × (input length + 1) run by backtracking; beyond it, the Pike VM. */
export const BACKTRACK_MAX_CELLS = 256 * 1024;

/** Buffers reused from one search to the next (a search never calls out, so never overlaps another). */
export class BacktrackScratch {
  visited = new Uint32Array(64);
  stack = new Int32Array(256);
  readonly caps: Int32Array;

  constructor(groupCount: number) {
    this.caps = new Int32Array(2 * (groupCount + 1));
  }
}

export function backtrack(p: Program, scratch: BacktrackScratch, input: string, caps: Int32Array | null): boolean {
  const len = input.length;
  const width = len + 1;
  const words = (p.size * width + 31) >>> 5;
  if (scratch.visited.length < words) scratch.visited = new Uint32Array(Math.max(words, scratch.visited.length * 2));
  else scratch.visited.fill(0, 0, words);
  const visited = scratch.visited;
  const { op, x, y } = p;
  let stack = scratch.stack;
  const lastStart = p.anchoredStart ? 0 : len;
  for (let start = 0; start <= lastStart; start++) {
    if (caps) caps[0] = start;
    let sp = 0;
    stack[sp++] = 0;
    stack[sp++] = start;
    while (sp > 0) {
      let pos = stack[--sp] ?? 0;
      let pc = stack[--sp] ?? 0;
      if (pc < 0) {
        // Undo a SAVE on the way back.
        if (caps) caps[-pc - 1] = pos;
        continue;
      }
      for (;;) {
        const cell = pc * width + pos;
        const word = cell >>> 5;
        const bit = 1 << (cell & 31);
        const seen = visited[word] ?? 0;
        if ((seen & bit) !== 0) break;
        visited[word] = seen | bit;
        const o = op[pc];
        if (o === OP_CHAR) {
          if (pos < len && inSet(p, x[pc] ?? 0, input.charCodeAt(pos))) {
            pc++;
            pos++;
            continue;
          }
          break;
        }
        if (o === OP_MATCH) {
          if (caps) caps[1] = pos;
          scratch.stack = stack;
          return true;
        }
        if (sp + 2 > stack.length) {
          const grown = new Int32Array(stack.length * 2);
          grown.set(stack);
          stack = grown;
        }
        if (o === OP_JMP) {
          pc = x[pc] ?? 0;
        } else if (o === OP_SPLIT) {
          stack[sp++] = y[pc] ?? 0;
          stack[sp++] = pos;
          pc = x[pc] ?? 0;
        } else if (o === OP_SAVE) {
          if (caps) {
            const slot = x[pc] ?? 0;
            stack[sp++] = -slot - 1;
            stack[sp++] = caps[slot] ?? -1;
            caps[slot] = pos;
          }
          pc++;
        } else if (o === OP_BEGIN) {
          if (pos !== 0) break;
          pc++;
        } else {
          if (pos !== len) break;
          pc++;
        }
      }
    }
  }
  scratch.stack = stack;
  return false;
}
