/**
 * Many patterns matched at once: which of them match an input (each with .NET `IsMatch`
 * semantics) in one left-to-right pass, whatever their number.
 *
 * The patterns' programs are joined into one NFA and run as a lazy DFA, as RE2 and Rust's regex
 * do: a DFA state is the set of NFA instructions alive after the input read so far, plus the
 * patterns that have already matched; states and transitions are built the first time an input
 * needs them and cached. An unanchored pattern may start anywhere, so its first instructions are
 * added to every state. `$` waits in the state until the input ends; `^` passes only in the start
 * state. Each input character costs one table lookup once the cache is warm, and at most one
 * state construction (linear in the program size) when it is not, so matching stays linear in the
 * input. The cache is bounded: when it is full it is emptied and rebuilt on demand.
 */
import { OP_BEGIN, OP_CHAR, OP_END, OP_JMP, OP_MATCH, OP_SAVE, OP_SPLIT, type Program } from "./program.ts";

export interface PatternSetOptions {
  /** Cached DFA states before the cache is emptied (default 200,000). */
  maxStates?: number;
  /** NFA instructions held by cached states before the cache is emptied (default 16 million). */
  maxStoredInstructions?: number;
  /** Distinct match sets remembered before their ids are reissued (default 1 million). */
  maxMatchSets?: number;
}

const EMPTY = new Int32Array(0);

/** A 32-bit integer mixer (murmur3's finalizer). */
function mix(v: number): number {
  let h = v ^ (v >>> 16);
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

export class PatternSet {
  /** Number of patterns. */
  readonly size: number;

  // The joined program. SAVE becomes a jump; MATCH carries its pattern in x.
  private readonly op: Uint8Array;
  private readonly x: Int32Array;
  private readonly y: Int32Array;
  private readonly patternOf: Int32Array;
  private readonly starts: Int32Array;

  // The alphabet: code units grouped into classes no pattern tells apart.
  private readonly classCount: number;
  private readonly asciiClass: Int32Array;
  private readonly wideStarts: Int32Array;
  private readonly wideClass: Int32Array;
  /** `setHasClass[set * classCount + cls]`. */
  private readonly setHasClass: Uint8Array;

  /**
   * What the DFA needs of each instruction, side by side so that one cache line holds it:
   * `charInfo[3 pc]` is the character set of a CHAR (-1 for anything else), and the instructions
   * (and matches, as -(pattern + 1)) reached from pc + 1 after that CHAR, not at the start, are
   * `succPool[charInfo[3 pc + 1] ..]`, `charInfo[3 pc + 2]` of them (offset -1: not computed yet).
   */
  private readonly charInfo: Int32Array;
  private succPool = new Int32Array(1024);
  private succUsed = 0;
  /** What an END at pc reaches once the input has ended there (not at the start), computed on first use. */
  private readonly endClosures = new Map<number, Int32Array>();
  /** The first instructions of the unanchored patterns, added to every state after the start. */
  private readonly injection: Int32Array;

  // Scratch marks for building sets.
  private readonly seen: Int32Array;
  private readonly taken: Int32Array;
  private readonly matchedMark: Int32Array;
  private stamp = 0;
  /** The set being built. */
  private readonly bufPcs: Int32Array;
  private nPcs = 0;
  private readonly bufMatched: Int32Array;
  private nMatched = 0;
  /** Distinct character sets of a state's instructions, marked in `setSeen`. */
  private readonly bufSets: Int32Array;
  private readonly setSeen: Int32Array;

  // DFA states.
  /** State ids by hash of their set. */
  private keys = new Map<number, number[]>();
  private pcsOf: Int32Array[] = [];
  private matchedOf: Int32Array[] = [];
  private isStart: boolean[] = [];
  private finalOf: number[] = [];
  private trans = new Int32Array(0);
  private storedInstructions = 0;
  private start = 0;

  // Interned match sets.
  private matchSetKeys = new Map<string, number>();
  private matchSets: Int32Array[] = [];
  private generationCount = 0;

  private readonly maxStates: number;
  private readonly maxStoredInstructions: number;
  private readonly maxMatchSets: number;

  /**
   * `patterns` are compiled patterns (CompiledPattern), or anything holding a program. Their
   * programs are laid out in the order of their sources, so that patterns sharing a prefix (and
   * so alive in the same DFA states) sit side by side in memory; a pattern keeps its index.
   */
  constructor(patterns: readonly { readonly program: Program; readonly source?: string }[], options: PatternSetOptions = {}) {
    this.maxStates = options.maxStates ?? 200_000;
    this.maxStoredInstructions = options.maxStoredInstructions ?? 16_000_000;
    this.maxMatchSets = options.maxMatchSets ?? 1_000_000;
    this.size = patterns.length;

    // Join the programs, sharing identical character sets.
    const total = patterns.reduce((sum, p) => sum + p.program.size, 0);
    this.op = new Uint8Array(total);
    this.x = new Int32Array(total);
    this.y = new Int32Array(total);
    this.patternOf = new Int32Array(total);
    this.starts = new Int32Array(patterns.length);
    const sets: (readonly number[])[] = [];
    const setIds = new Map<string, number>();
    let base = 0;
    const layout = patterns.map((_, k) => k);
    layout.sort((a, b) => {
      const x = patterns[a]?.source ?? "";
      const y = patterns[b]?.source ?? "";
      return x < y ? -1 : x > y ? 1 : a - b;
    });
    const anchoredOf = patterns.map((pattern) => pattern.program.anchoredStart);
    for (const k of layout) {
      const p: Program = (patterns[k] as { readonly program: Program }).program;
      this.starts[k] = base;
      const localToGlobal = p.sets.map((ranges) => {
        const key = ranges.join(",");
        let id = setIds.get(key);
        if (id === undefined) {
          id = sets.length;
          sets.push(ranges);
          setIds.set(key, id);
        }
        return id;
      });
      for (let pc = 0; pc < p.size; pc++) {
        const g = base + pc;
        const op = p.op[pc] ?? OP_MATCH;
        const x = p.x[pc] ?? 0;
        this.patternOf[g] = k;
        if (op === OP_SAVE) {
          this.op[g] = OP_JMP;
          this.x[g] = g + 1;
        } else {
          this.op[g] = op;
          if (op === OP_CHAR) this.x[g] = localToGlobal[x] ?? 0;
          else if (op === OP_MATCH) this.x[g] = k;
          else if (op === OP_JMP || op === OP_SPLIT) this.x[g] = base + x;
          if (op === OP_SPLIT) this.y[g] = base + (p.y[pc] ?? 0);
        }
      }
      base += p.size;
    }

    // The alphabet: split the code units at every set boundary, then merge the pieces that
    // belong to exactly the same sets.
    const cuts = new Set<number>([0, 0x10000]);
    for (const r of sets) {
      for (let i = 0; i + 1 < r.length; i += 2) {
        cuts.add(r[i] ?? 0);
        cuts.add((r[i + 1] ?? 0) + 1);
      }
    }
    const points = [...cuts].sort((a, b) => a - b);
    const contains = (r: readonly number[], c: number): boolean => {
      for (let i = 0; i + 1 < r.length; i += 2) if (c >= (r[i] ?? 0) && c <= (r[i + 1] ?? 0)) return true;
      return false;
    };
    const classBySignature = new Map<string, number>();
    const segmentClass: number[] = [];
    const classMembers: boolean[][] = [];
    for (let i = 0; i + 1 < points.length; i++) {
      const c = points[i] ?? 0;
      const members = sets.map((r) => contains(r, c));
      const signature = members.map((m) => (m ? "1" : "0")).join("");
      let cls = classBySignature.get(signature);
      if (cls === undefined) {
        cls = classMembers.length;
        classBySignature.set(signature, cls);
        classMembers.push(members);
      }
      segmentClass.push(cls);
    }
    this.classCount = Math.max(1, classMembers.length);
    this.setHasClass = new Uint8Array(sets.length * this.classCount);
    classMembers.forEach((members, cls) => {
      members.forEach((m, s) => {
        if (m) this.setHasClass[s * this.classCount + cls] = 1;
      });
    });
    const segmentOf = (c: number): number => {
      let lo = 0;
      let hi = points.length - 2;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if ((points[mid] ?? 0) <= c) lo = mid;
        else hi = mid - 1;
      }
      return lo;
    };
    this.asciiClass = new Int32Array(128);
    for (let c = 0; c < 128; c++) this.asciiClass[c] = segmentClass[segmentOf(c)] ?? 0;
    // Code units from 128 up: the segment holding 128, then every segment that starts above it.
    const wideStarts = [128];
    const wideClass = [segmentClass[segmentOf(128)] ?? 0];
    for (let i = 0; i + 1 < points.length; i++) {
      const p = points[i] ?? 0;
      if (p > 128) {
        wideStarts.push(p);
        wideClass.push(segmentClass[i] ?? 0);
      }
    }
    this.wideStarts = Int32Array.from(wideStarts);
    this.wideClass = Int32Array.from(wideClass);

    this.charInfo = new Int32Array(3 * total);
    for (let pc = 0; pc < total; pc++) {
      this.charInfo[3 * pc] = this.op[pc] === OP_CHAR ? (this.x[pc] ?? 0) : -1;
      this.charInfo[3 * pc + 1] = -1;
    }
    this.seen = new Int32Array(total);
    this.taken = new Int32Array(total);
    this.matchedMark = new Int32Array(patterns.length);
    this.bufPcs = new Int32Array(total);
    this.bufMatched = new Int32Array(patterns.length);
    this.bufSets = new Int32Array(sets.length);
    this.setSeen = new Int32Array(sets.length);

    const injected: number[] = [];
    patterns.forEach((_, k) => {
      if (!anchoredOf[k]) injected.push(...this.closure(this.starts[k] ?? 0, false, false));
    });
    this.injection = Int32Array.from(injected);
    this.reset();
  }

  /** Bumped whenever match-set ids are reissued; ids from an older generation mean nothing. */
  get generation(): number {
    return this.generationCount;
  }

  /** DFA states currently cached. */
  get stateCount(): number {
    return this.pcsOf.length;
  }

  /** The sorted indices of the patterns in match set `id`. */
  matchSet(id: number): Int32Array {
    return this.matchSets[id] ?? EMPTY;
  }

  /** The sorted indices of the patterns that match `input`. */
  matches(input: string): Int32Array {
    return this.matchSet(this.matchSetId(input));
  }

  /** The id of the set of patterns that match `input`; equal sets get equal ids within a generation. */
  matchSetId(input: string): number {
    let s = this.start;
    const nc = this.classCount;
    let trans = this.trans;
    for (let i = 0; i < input.length; i++) {
      const c = input.charCodeAt(i);
      const cls = c < 128 ? (this.asciiClass[c] ?? 0) : this.wideClassOf(c);
      let t = trans[s * nc + cls] ?? -1;
      if (t < 0) {
        t = this.transition(s, cls);
        trans = this.trans;
      }
      s = t;
    }
    const f = this.finalOf[s] ?? -1;
    return f >= 0 ? f : this.finish(s);
  }

  private wideClassOf(c: number): number {
    const starts = this.wideStarts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((starts[mid] ?? 0) <= c) lo = mid;
      else hi = mid - 1;
    }
    return this.wideClass[lo] ?? 0;
  }

  /** Instructions and matches (as -(pattern + 1)) reached from `pc` by empty transitions. */
  private closure(pc0: number, atStart: boolean, atEnd: boolean): Int32Array {
    const stamp = ++this.stamp;
    const out: number[] = [];
    const stack = [pc0];
    while (stack.length > 0) {
      const pc = stack.pop() ?? 0;
      if (this.seen[pc] === stamp) continue;
      this.seen[pc] = stamp;
      switch (this.op[pc]) {
        case OP_JMP:
          stack.push(this.x[pc] ?? 0);
          break;
        case OP_SPLIT:
          stack.push(this.y[pc] ?? 0, this.x[pc] ?? 0);
          break;
        case OP_BEGIN:
          if (atStart) stack.push(pc + 1);
          break;
        case OP_END:
          if (atEnd) stack.push(pc + 1);
          else out.push(pc);
          break;
        case OP_MATCH:
          out.push(-((this.x[pc] ?? 0) + 1));
          break;
        default:
          out.push(pc);
      }
    }
    return Int32Array.from(out);
  }

  /** Computes, once, the successors of the CHAR at `pc` into the pool; returns their offset. */
  private successorsOf(pc: number): number {
    const off = this.charInfo[3 * pc + 1] ?? -1;
    if (off >= 0) return off;
    const items = this.closure(pc + 1, false, false);
    const at = this.succUsed;
    if (at + items.length > this.succPool.length) {
      const grown = new Int32Array(Math.max(at + items.length, this.succPool.length * 2));
      grown.set(this.succPool);
      this.succPool = grown;
    }
    this.succPool.set(items, at);
    this.charInfo[3 * pc + 1] = at;
    this.charInfo[3 * pc + 2] = items.length;
    this.succUsed = at + items.length;
    return at;
  }

  /** Adds a closure to the set being built: instructions to `bufPcs`, matches to `bufMatched`. */
  private take(items: Int32Array, stamp: number): void {
    for (let i = 0; i < items.length; i++) {
      const v = items[i] ?? 0;
      if (v < 0) {
        const k = -v - 1;
        if (this.matchedMark[k] !== stamp) {
          this.matchedMark[k] = stamp;
          this.bufMatched[this.nMatched++] = k;
        }
      } else if (this.taken[v] !== stamp) {
        this.taken[v] = stamp;
        this.bufPcs[this.nPcs++] = v;
      }
    }
  }

  /** Starts building a set: empty, or the matches of state `s`. */
  private begin(s: number): number {
    const stamp = ++this.stamp;
    this.nPcs = 0;
    this.nMatched = 0;
    if (s >= 0) {
      for (const k of this.matchedOf[s] ?? EMPTY) {
        this.matchedMark[k] = stamp;
        this.bufMatched[this.nMatched++] = k;
      }
    }
    return stamp;
  }

  /** Drops the instructions of patterns that have matched: they need no more work. */
  private dropMatched(stamp: number): void {
    if (this.nMatched === 0) return;
    let n = 0;
    for (let i = 0; i < this.nPcs; i++) {
      const pc = this.bufPcs[i] ?? 0;
      if (this.matchedMark[this.patternOf[pc] ?? 0] !== stamp) this.bufPcs[n++] = pc;
    }
    this.nPcs = n;
  }

  /**
   * A hash of the set being built that ignores order (so nothing needs sorting), and the state
   * with that set if there is one: equal sizes, and every member of the candidate marked.
   */
  private lookup(stamp: number): { hash: number; id: number } {
    let h = Math.imul(this.nPcs, 0x9e3779b1) ^ this.nMatched;
    let sum = 0;
    for (let i = 0; i < this.nPcs; i++) sum = (sum + mix(this.bufPcs[i] ?? 0)) | 0;
    let sumM = 0;
    for (let i = 0; i < this.nMatched; i++) sumM = (sumM + mix((this.bufMatched[i] ?? 0) ^ 0x5bd1e995)) | 0;
    h = mix(h ^ sum ^ Math.imul(sumM, 0x27d4eb2d));
    const candidates = this.keys.get(h);
    if (candidates !== undefined) {
      for (const id of candidates) if (this.sameAsBuilt(id, stamp)) return { hash: h, id };
    }
    return { hash: h, id: -1 };
  }

  private sameAsBuilt(id: number, stamp: number): boolean {
    const pcs = this.pcsOf[id] ?? EMPTY;
    const matched = this.matchedOf[id] ?? EMPTY;
    if (pcs.length !== this.nPcs || matched.length !== this.nMatched || this.isStart[id]) return false;
    for (let i = 0; i < matched.length; i++) if (this.matchedMark[matched[i] ?? 0] !== stamp) return false;
    // Members of the built set are marked taken and belong to unmatched patterns.
    for (let i = 0; i < pcs.length; i++) {
      const pc = pcs[i] ?? 0;
      if (this.taken[pc] !== stamp || this.matchedMark[this.patternOf[pc] ?? 0] === stamp) return false;
    }
    return true;
  }

  private reset(): void {
    this.keys = new Map();
    this.pcsOf = [];
    this.matchedOf = [];
    this.isStart = [];
    this.finalOf = [];
    this.trans = new Int32Array(1024 * this.classCount).fill(-1);
    this.storedInstructions = 0;
    const stamp = this.begin(-1);
    for (let k = 0; k < this.size; k++) this.take(this.closure(this.starts[k] ?? 0, true, false), stamp);
    this.dropMatched(stamp);
    this.start = this.addBuilt(true, null);
  }

  /** Stores the set being built as a new state. */
  private addBuilt(isStart: boolean, hash: number | null): number {
    const pcs = this.bufPcs.slice(0, this.nPcs);
    const matched = this.bufMatched.slice(0, this.nMatched).sort();
    const id = this.pcsOf.length;
    if (hash !== null) {
      const bucket = this.keys.get(hash);
      if (bucket) bucket.push(id);
      else this.keys.set(hash, [id]);
    }
    this.pcsOf.push(pcs);
    this.matchedOf.push(matched);
    this.isStart.push(isStart);
    this.finalOf.push(-1);
    this.storedInstructions += pcs.length + matched.length;
    const need = (id + 1) * this.classCount;
    if (need > this.trans.length) {
      const grown = new Int32Array(Math.max(need, this.trans.length * 2)).fill(-1);
      grown.set(this.trans);
      this.trans = grown;
    }
    return id;
  }

  private transition(s: number, cls: number): number {
    const stamp = this.begin(s);
    const from = this.pcsOf[s] ?? EMPTY;
    const nc = this.classCount;
    const info = this.charInfo;
    for (let i = 0; i < from.length; i++) {
      const pc = from[i] ?? 0;
      const set = info[3 * pc] ?? -1;
      if (set < 0 || this.setHasClass[set * nc + cls] !== 1) continue;
      const off = this.successorsOf(pc);
      const pool = this.succPool;
      const end = off + (info[3 * pc + 2] ?? 0);
      for (let j = off; j < end; j++) {
        const v = pool[j] ?? 0;
        if (v < 0) {
          const k = -v - 1;
          if (this.matchedMark[k] !== stamp) {
            this.matchedMark[k] = stamp;
            this.bufMatched[this.nMatched++] = k;
          }
        } else if (this.taken[v] !== stamp) {
          this.taken[v] = stamp;
          this.bufPcs[this.nPcs++] = v;
        }
      }
    }
    this.take(this.injection, stamp);
    this.dropMatched(stamp);
    const { hash, id: known } = this.lookup(stamp);
    if (known >= 0) {
      this.fillEquivalent(s, cls, known);
      return known;
    }
    if (this.pcsOf.length >= this.maxStates || this.storedInstructions + this.nPcs > this.maxStoredInstructions) {
      // Full: empty the cache and add the state being built to it. reset() builds the start
      // state with the same buffers, so keep the built set aside first.
      const pcs = this.bufPcs.slice(0, this.nPcs);
      const matched = this.bufMatched.slice(0, this.nMatched);
      this.reset();
      const again = this.begin(-1);
      this.take(pcs, again);
      for (const k of matched) this.take(Int32Array.of(-k - 1), again);
      return this.addBuilt(false, this.lookup(again).hash);
    }
    const id = this.addBuilt(false, hash);
    this.fillEquivalent(s, cls, id);
    return id;
  }

  /**
   * Records `next` as the transition of state `s` on `cls` and on every other class that no
   * instruction of `s` tells apart from `cls` (in a state where every pattern just counts digits,
   * all ten digits), so those transitions are never computed separately.
   */
  private fillEquivalent(s: number, cls: number, next: number): void {
    const nc = this.classCount;
    const base = s * nc;
    this.trans[base + cls] = next;
    const stamp = ++this.stamp;
    let nSets = 0;
    for (const pc of this.pcsOf[s] ?? EMPTY) {
      const set = this.charInfo[3 * pc] ?? -1;
      if (set < 0) continue;
      if (this.setSeen[set] === stamp) continue;
      this.setSeen[set] = stamp;
      this.bufSets[nSets++] = set;
    }
    for (let c = 0; c < nc; c++) {
      if (c === cls || (this.trans[base + c] ?? -1) >= 0) continue;
      let same = true;
      for (let i = 0; i < nSets && same; i++) {
        const row = (this.bufSets[i] ?? 0) * nc;
        same = this.setHasClass[row + c] === this.setHasClass[row + cls];
      }
      if (same) this.trans[base + c] = next;
    }
  }

  /** The match set of state `s` once the input ends there: `$` now passes. */
  private finish(s: number): number {
    const stamp = this.begin(s);
    const atStart = this.isStart[s] ?? false;
    for (const pc of this.pcsOf[s] ?? EMPTY) {
      if (this.op[pc] !== OP_END) continue;
      if (atStart) {
        this.take(this.closure(pc + 1, true, true), stamp);
      } else {
        let items = this.endClosures.get(pc);
        if (!items) {
          items = this.closure(pc + 1, false, true);
          this.endClosures.set(pc, items);
        }
        this.take(items, stamp);
      }
    }
    const set = this.bufMatched.slice(0, this.nMatched).sort();
    const key = set.join(",");
    let id = this.matchSetKeys.get(key);
    if (id === undefined) {
      if (this.matchSets.length >= this.maxMatchSets) {
        // Reissue ids: states remember ids of the old generation, so they go too.
        this.matchSetKeys = new Map();
        this.matchSets = [];
        this.generationCount++;
        this.reset();
        id = 0;
        this.matchSetKeys.set(key, id);
        this.matchSets.push(set);
        return id;
      }
      id = this.matchSets.length;
      this.matchSetKeys.set(key, id);
      this.matchSets.push(set);
    }
    this.finalOf[s] = id;
    return id;
  }
}
