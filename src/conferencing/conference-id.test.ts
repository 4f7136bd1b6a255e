import { describe, expect, it } from "vitest";
import { errorOf } from "../../test/support/errors.ts";
import { AppError } from "../core/errors.ts";
import { type Rng, seededRng } from "../core/random.ts";
import { ConferenceIdAllocator, validateConferenceId } from "./conference-id.ts";

/** An Rng that replays fixed answers, to steer the allocator into collisions. */
function scripted(values: number[]): Rng {
  let i = 0;
  return {
    int(max: number): number {
      const v = values[i++ % values.length] ?? 0;
      return v % max;
    },
  };
}

describe("validateConferenceId", () => {
  it.each<[string | number, number, string]>([
    ["3659305", 7, "3659305"],
    [" 3659305 ", 7, "3659305"],
    ["0012345", 7, "0012345"],
    [3659305, 7, "3659305"],
    [1234, 4, "1234"],
    ["0", 1, "0"],
    ["123456789012", 12, "123456789012"],
    [123456789012345, 15, "123456789012345"],
  ])("accepts %j with length %d as %s", (value, length, expected) => {
    expect(validateConferenceId(value, length)).toBe(expected);
  });

  it.each<[string | number, number]>([
    ["123", 7],
    ["", 7],
    ["   ", 7],
    ["36593051", 7],
    ["365-9305", 7],
    ["365 9305", 7],
    ["365930a", 7],
    ["+3659305", 7],
    ["３６５９３０５", 7],
    // Leading zeros do not survive as a number: 0012345 arrives as 12345.
    [12345, 7],
    [0, 7],
    [-365930, 7],
    [365930.5, 7],
    [1e21, 7],
    [Number.NaN, 7],
  ])("rejects %j for length %d", (value, length) => {
    const err = errorOf(() => validateConferenceId(value, length));
    expect(err.code).toBe("conference_id_invalid");
    expect(err.message).toContain(`exactly ${length} digits`);
  });

  it("explains the rule in the message", () => {
    expect(() => validateConferenceId("123", 7)).toThrow(
      'Conference ID "123" is not valid: it must be exactly 7 digits (0-9), like 3659305.',
    );
    expect(() => validateConferenceId(12345, 7)).toThrow('Conference ID "12345" is not valid');
  });

  it.each([0, -1, 16, 7.5, Number.NaN])("refuses a bridge length of %d", (length) => {
    expect(() => validateConferenceId("1", length)).toThrow(RangeError);
  });
});

describe("ConferenceIdAllocator", () => {
  it.each([1, 4, 7, 9, 10, 12, 15])("allocates %d-digit IDs with a non-zero first digit", (length) => {
    const alloc = new ConferenceIdAllocator(length, [], seededRng(`len-${length}`));
    const count = length === 1 ? 8 : 200;
    const ids = Array.from({ length: count }, () => alloc.allocate());
    for (const id of ids) {
      expect(id).toMatch(new RegExp(`^[1-9][0-9]{${length - 1}}$`));
      expect(validateConferenceId(id, length)).toBe(id);
    }
    expect(new Set(ids).size).toBe(count);
    expect(alloc.size).toBe(count);
  });

  it("never returns a held ID, including ones it allocated earlier", () => {
    // The rng offers 1000000 (key 0 in the space) again and again before anything else.
    const alloc = new ConferenceIdAllocator(7, ["1000000"], scripted([0, 0, 0, 5]));
    expect(alloc.allocate()).toBe("1000005");
    expect(alloc.isHeld("1000005")).toBe(true);
    // Now both 1000000 and 1000005 are held; the scripted rng keeps offering them.
    // Every random probe now hits a held ID, so the scan from 1000000 picks the next free one.
    expect(alloc.allocate()).toBe("1000001");
    expect(alloc.size).toBe(3);
  });

  it("falls back to a scan when random probes keep hitting held IDs", () => {
    const held = Array.from({ length: 80 }, (_, i) => String(10 + i));
    // Always offers key 0 ("10"); the scan from key 0 walks up to the first free ID, 90.
    const alloc = new ConferenceIdAllocator(2, held, scripted([0]));
    expect(alloc.allocate()).toBe("90");
  });

  it("keeps at most 90% of the space in use", () => {
    // Two digits: 90 allocatable IDs (10-99), so 81 may be held.
    const alloc = new ConferenceIdAllocator(2, [], seededRng("fill"));
    const ids = Array.from({ length: 81 }, () => alloc.allocate());
    expect(new Set(ids).size).toBe(81);
    const err = errorOf(() => alloc.allocate());
    expect(err.code).toBe("conference_id_taken");
    expect(err.message).toBe(
      "No free conference IDs: 81 of the 90 2-digit IDs on this bridge are held, and at most 90% may be used. Release IDs that are no longer needed, or use a longer conference ID length.",
    );
    alloc.release(ids[0] ?? "");
    expect(alloc.allocate()).toBe(ids[0]);
  });

  it("does not count held IDs with a leading zero against the allocatable space", () => {
    const leadingZero = Array.from({ length: 10 }, (_, i) => `0${i}`);
    const alloc = new ConferenceIdAllocator(2, leadingZero, seededRng("zeros"));
    expect(alloc.size).toBe(10);
    for (let i = 0; i < 81; i++) expect(alloc.allocate()).toMatch(/^[1-9][0-9]$/);
    expect(() => alloc.allocate()).toThrow(AppError);
  });

  it("throws at once for a one-digit bridge that is 8/9 full", () => {
    const alloc = new ConferenceIdAllocator(1, ["1", "2", "3", "4", "5", "6", "7", "8"], seededRng(1));
    expect(errorOf(() => alloc.allocate()).code).toBe("conference_id_taken");
  });

  it.each([
    { held: ["1234567", "1234567", " 1234567 "], size: 1 },
    { held: ["123", "12345678", "abcdefg", ""], size: 0 },
    { held: ["0000000", "9999999"], size: 2 },
  ])("loads held IDs $held as $size", ({ held, size }) => {
    expect(new ConferenceIdAllocator(7, held, seededRng(1)).size).toBe(size);
  });

  it.each([
    { id: "1234567", held: true },
    { id: " 1234567", held: true },
    { id: "7654321", held: false },
    { id: "123456", held: false },
    { id: "x", held: false },
  ])("isHeld($id) is $held", ({ id, held }) => {
    const alloc = new ConferenceIdAllocator(7, ["1234567"], seededRng(1));
    expect(alloc.isHeld(id)).toBe(held);
  });

  it("holds a chosen ID once and rejects it the second time", () => {
    const alloc = new ConferenceIdAllocator(7, [], seededRng(1));
    alloc.hold("0012345");
    expect(alloc.isHeld("0012345")).toBe(true);
    expect(alloc.size).toBe(1);
    const err = errorOf(() => alloc.hold("0012345"));
    expect(err.code).toBe("conference_id_taken");
    expect(err.message).toContain("0012345");
    expect(errorOf(() => alloc.hold("123")).code).toBe("conference_id_invalid");
    expect(alloc.size).toBe(1);
  });

  it("releases IDs and ignores releases of IDs it does not hold", () => {
    const alloc = new ConferenceIdAllocator(7, ["1234567"], seededRng(1));
    alloc.release("7654321");
    alloc.release("bogus");
    alloc.release("123");
    expect(alloc.size).toBe(1);
    alloc.release("1234567");
    expect(alloc.size).toBe(0);
    expect(alloc.isHeld("1234567")).toBe(false);
    alloc.release("1234567");
    expect(alloc.size).toBe(0);
  });

  it("is deterministic for a seeded rng", () => {
    const a = new ConferenceIdAllocator(7, [], seededRng("same"));
    const b = new ConferenceIdAllocator(7, [], seededRng("same"));
    const xs = Array.from({ length: 50 }, () => a.allocate());
    expect(Array.from({ length: 50 }, () => b.allocate())).toEqual(xs);
  });

  it("draws evenly over the first digit", () => {
    const alloc = new ConferenceIdAllocator(7, [], seededRng("spread"));
    const counts = new Map<string, number>();
    for (let i = 0; i < 45_000; i++) {
      const first = alloc.allocate().charAt(0);
      counts.set(first, (counts.get(first) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(["1", "2", "3", "4", "5", "6", "7", "8", "9"]);
    for (const c of counts.values()) {
      expect(c).toBeGreaterThan(4_500);
      expect(c).toBeLessThan(5_500);
    }
  });

  it.each([0, 16, 2.5])("refuses length %d", (length) => {
    expect(() => new ConferenceIdAllocator(length, [], seededRng(1))).toThrow(RangeError);
  });

  // Its speed is measured in bench:acp, not here.
  it("allocates 100,000 distinct IDs next to 100,000 held ones", () => {
    const rng = seededRng("perf");
    const held = Array.from({ length: 100_000 }, () => String(1_000_000 + rng.int(9_000_000)));
    const alloc = new ConferenceIdAllocator(7, held, rng);
    const heldBefore = alloc.size;
    const ids = new Set<string>();
    for (let i = 0; i < 100_000; i++) ids.add(alloc.allocate());
    expect(ids.size).toBe(100_000);
    expect(held.filter((id) => ids.has(id))).toEqual([]);
    expect(alloc.size).toBe(heldBefore + 100_000);
  });
});
