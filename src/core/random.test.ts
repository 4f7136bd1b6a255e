import { describe, expect, it } from "vitest";
import { cryptoRng, pick, type Rng, seededRng, uuidFromRng } from "./random.ts";

const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function draws(rng: Rng, max: number, n: number): number[] {
  return Array.from({ length: n }, () => rng.int(max));
}

describe("seededRng", () => {
  it.each([
    { a: 1, b: 1, same: true },
    { a: "demo", b: "demo", same: true },
    { a: 7, b: "7", same: true },
    { a: 1, b: 2, same: false },
    { a: "demo-1", b: "demo-2", same: false },
    { a: "", b: " ", same: false },
  ])("seeds $a and $b give the same stream: $same", ({ a, b, same }) => {
    const x = draws(seededRng(a), 1_000_000, 20);
    const y = draws(seededRng(b), 1_000_000, 20);
    expect(x.join() === y.join()).toBe(same);
  });

  it.each([1, 2, 3, 10, 255, 2 ** 32, 2 ** 32 + 1, 10 ** 12, Number.MAX_SAFE_INTEGER])(
    "int(%d) stays in range and returns whole numbers",
    (max) => {
      const rng = seededRng(`range-${max}`);
      for (const x of draws(rng, max, 2000)) {
        expect(Number.isInteger(x)).toBe(true);
        expect(x).toBeGreaterThanOrEqual(0);
        expect(x).toBeLessThan(max);
      }
    },
  );

  it("int(1) is always 0", () => {
    expect(new Set(draws(seededRng(3), 1, 100))).toEqual(new Set([0]));
  });

  it.each([10, 7, 100])("spreads int(%d) evenly (chi-square)", (buckets) => {
    const rng = seededRng(`chi-${buckets}`);
    const n = 100_000;
    const counts = new Array<number>(buckets).fill(0);
    for (let i = 0; i < n; i++) {
      const k = rng.int(buckets);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    const expected = n / buckets;
    const chi2 = counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
    // Generous bound: about 3x the degrees of freedom; a broken generator is far off.
    expect(chi2).toBeLessThan(3 * buckets + 30);
  });

  it("covers the whole of a 10^12 range, high and low halves alike", () => {
    const rng = seededRng("big");
    const xs = draws(rng, 10 ** 12, 10_000);
    const high = xs.filter((x) => x >= 5 * 10 ** 11).length;
    expect(high).toBeGreaterThan(4_700);
    expect(high).toBeLessThan(5_300);
    // Values above 2^32 must occur, proving the two-draw path is used.
    expect(xs.some((x) => x > 2 ** 32)).toBe(true);
    expect(new Set(xs).size).toBe(xs.length);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53])("rejects int(%d)", (max) => {
    expect(() => seededRng(1).int(max)).toThrow(RangeError);
  });
});

describe("cryptoRng", () => {
  it.each([1, 2, 10, 10 ** 12, 2 ** 48 - 1])("int(%d) stays in range", (max) => {
    for (const x of draws(cryptoRng, max, 200)) {
      expect(Number.isInteger(x)).toBe(true);
      expect(x).toBeGreaterThanOrEqual(0);
      expect(x).toBeLessThan(max);
    }
  });

  it.each([0, -5, 0.5, 2 ** 48])("rejects int(%d)", (max) => {
    expect(() => cryptoRng.int(max)).toThrow(RangeError);
  });

  it("is not constant", () => {
    expect(new Set(draws(cryptoRng, 10 ** 9, 50)).size).toBeGreaterThan(45);
  });
});

describe("pick", () => {
  it.each<{ items: readonly (string | number | undefined)[]; allowed: (string | number | undefined)[] }>([
    { items: ["only"], allowed: ["only"] },
    { items: ["a", "b", "c"], allowed: ["a", "b", "c"] },
    { items: [undefined, 1], allowed: [undefined, 1] },
  ])("picks from $items", ({ items, allowed }) => {
    const rng = seededRng("pick");
    for (let i = 0; i < 50; i++) expect(allowed).toContain(pick(rng, items));
  });

  it("reaches every item", () => {
    const rng = seededRng("pick-all");
    const seen = new Set(Array.from({ length: 200 }, () => pick(rng, ["a", "b", "c", "d"])));
    expect(seen).toEqual(new Set(["a", "b", "c", "d"]));
  });

  it("rejects an empty list", () => {
    expect(() => pick(seededRng(1), [])).toThrow(RangeError);
  });
});

describe("uuidFromRng", () => {
  it.each([seededRng("uuid"), cryptoRng])("produces v4-shaped uuids", (rng) => {
    for (let i = 0; i < 200; i++) expect(uuidFromRng(rng)).toMatch(UUID_V4);
  });

  it("is deterministic for a seed and unique across draws", () => {
    const a = Array.from(
      { length: 1000 },
      (
        (rng) => () =>
          uuidFromRng(rng)
      )(seededRng("u")),
    );
    const b = Array.from(
      { length: 1000 },
      (
        (rng) => () =>
          uuidFromRng(rng)
      )(seededRng("u")),
    );
    expect(a).toEqual(b);
    expect(new Set(a).size).toBe(1000);
  });

  it("keeps the fixed bits even when the rng returns extremes", () => {
    const zeros: Rng = { int: () => 0 };
    const ones: Rng = { int: (max) => max - 1 };
    expect(uuidFromRng(zeros)).toBe("00000000-0000-4000-8000-000000000000");
    expect(uuidFromRng(ones)).toBe("ffffffff-ffff-4fff-bfff-ffffffffffff");
  });
});
