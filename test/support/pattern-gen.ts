// Random administrators' patterns for the engines' property tests: alternatives of literal, class and
// group atoms with quantifiers, nested up to three deep. One generator for every such test.
import { pick, type Rng } from "../../src/core/random.ts";

export interface PatternAlphabet {
  literals: readonly string[];
  atoms: readonly string[];
  quantifiers: readonly string[];
}

/** A random pattern over `alphabet`; the same `rng` gives the same pattern. */
export function genPattern(rng: Rng, depth: number, alphabet: PatternAlphabet): string {
  const branches = 1 + (rng.int(4) === 0 ? rng.int(3) : 0);
  const out: string[] = [];
  for (let b = 0; b < branches; b++) {
    let seq = "";
    for (let i = rng.int(5); i > 0; i--) {
      const kind = rng.int(10);
      let atom: string;
      if (kind < 4) atom = pick(rng, alphabet.literals);
      else if (kind < 7 || depth >= 3) atom = pick(rng, alphabet.atoms);
      else if (kind < 9) atom = `(${genPattern(rng, depth + 1, alphabet)})`;
      else atom = `(?:${genPattern(rng, depth + 1, alphabet)})`;
      seq += atom + pick(rng, alphabet.quantifiers);
    }
    out.push(seq);
  }
  return out.join("|");
}
