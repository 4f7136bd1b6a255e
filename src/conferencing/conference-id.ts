import { AppError } from "../core/errors.ts";
import type { Rng } from "../core/random.ts";

/** Bridges use 7-digit conference IDs unless configured otherwise. */
export const CONFERENCE_ID_LENGTH_DEFAULT = 7;
/** 15 digits keep every ID a safe integer, so held IDs can be stored as numbers. */
export const CONFERENCE_ID_LENGTH_MAX = 15;

/** At most 9 in 10 of the IDs may be held, so random probing stays fast. */
const MAX_USED_TENTHS = 9;
/** Random probes before falling back to a scan; at 90% use, 64 misses in a row has odds of about 1 in 850. */
const RANDOM_PROBES = 64;
/** Draws stay below 10^9 per call, well inside any Rng's range. */
const CHUNK_DIGITS = 9;

function assertLength(length: number): void {
  if (!Number.isInteger(length) || length < 1 || length > CONFERENCE_ID_LENGTH_MAX) {
    throw new RangeError(`Conference ID length must be a whole number from 1 to ${CONFERENCE_ID_LENGTH_MAX}, got ${String(length)}.`);
  }
}

function example(length: number): string {
  return "3659305183659305".slice(0, length);
}

/**
 * Returns the canonical digit string of a conference ID of exactly `length` digits, or throws
 * conference_id_invalid. Numbers lose leading zeros, so 0012345 given as a number is too short.
 */
export function validateConferenceId(value: string | number, length: number): string {
  assertLength(length);
  // Negative, fractional and huge numbers stringify with "-", "." or "e" and fail the digit test.
  const text = typeof value === "number" ? String(value) : typeof value === "string" ? value.trim() : "";
  if (!/^[0-9]+$/.test(text) || text.length !== length) {
    const shown = String(value);
    throw new AppError(
      "conference_id_invalid",
      `Conference ID "${shown}" is not valid: it must be exactly ${length} digits (0-9), like ${example(length)}.`,
    );
  }
  return text;
}

/**
 * Hands out random, unused conference IDs of one bridge. IDs it allocates never start with 0
 * (they would be lost when typed into numeric fields); held IDs may.
 */
export class ConferenceIdAllocator {
  private readonly length: number;
  private readonly rng: Rng;
  /** Fixed-length digit strings map one-to-one onto numbers, which hash faster than strings. */
  private readonly held = new Set<number>();
  private readonly low: number;
  private readonly space: number;
  /** Held IDs with a leading 0 are valid but outside the space allocate() draws from. */
  private heldInSpace = 0;

  constructor(length: number, held: Iterable<string>, rng: Rng) {
    assertLength(length);
    this.length = length;
    this.rng = rng;
    this.low = 10 ** (length - 1);
    this.space = 9 * this.low;
    for (const id of held) {
      // IDs of another length (left over from before the bridge's length changed) cannot
      // collide with any ID of this length, so they are ignored rather than rejected.
      const key = this.keyOf(id);
      if (key !== undefined) this.add(key);
    }
  }

  /** Number of IDs of this length currently held. */
  get size(): number {
    return this.held.size;
  }

  /** Whether `id` is held; malformed IDs are never held. */
  isHeld(id: string): boolean {
    const key = this.keyOf(id);
    return key !== undefined && this.held.has(key);
  }

  /** Marks a chosen ID as held; throws conference_id_invalid or conference_id_taken. */
  hold(id: string): void {
    const canonical = validateConferenceId(id, this.length);
    const key = Number(canonical);
    if (this.held.has(key)) {
      throw new AppError(
        "conference_id_taken",
        `Conference ID ${canonical} is already held by another user on this bridge: choose another, or omit it to have one generated.`,
      );
    }
    this.add(key);
  }

  /** Frees an ID for reuse; releasing an ID that is not held does nothing. */
  release(id: string): void {
    const key = this.keyOf(id);
    if (key === undefined || !this.held.delete(key)) return;
    if (key >= this.low) this.heldInSpace--;
  }

  /** Draws a random free ID, holds it and returns it; throws conference_id_taken when the bridge is nearly full. */
  allocate(): string {
    if ((this.heldInSpace + 1) * 10 > this.space * MAX_USED_TENTHS) {
      throw new AppError(
        "conference_id_taken",
        `No free conference IDs: ${this.heldInSpace.toLocaleString("en-US")} of the ${this.space.toLocaleString("en-US")} ${this.length}-digit IDs on this bridge are held, and at most 90% may be used. Release IDs that are no longer needed, or use a longer conference ID length.`,
      );
    }
    for (let i = 0; i < RANDOM_PROBES; i++) {
      const key = this.low + this.draw();
      if (!this.held.has(key)) return this.take(key);
    }
    // Only reached on a run of bad luck; a scan from a random point always finds the free
    // IDs the guard above promises, so the loop ends.
    const start = this.draw();
    for (let step = 0; step < this.space; step++) {
      const key = this.low + ((start + step) % this.space);
      if (!this.held.has(key)) return this.take(key);
    }
    throw new AppError("internal", "Conference ID allocation found no free ID although the bridge is not full.");
  }

  /** Uniform in [0, space); long lengths are drawn in chunks so no Rng range limit applies. */
  private draw(): number {
    if (this.length <= CHUNK_DIGITS) return this.rng.int(this.space);
    const tail = 10 ** CHUNK_DIGITS;
    return this.rng.int(this.space / tail) * tail + this.rng.int(tail);
  }

  private take(key: number): string {
    this.add(key);
    return String(key);
  }

  private add(key: number): void {
    if (this.held.has(key)) return;
    this.held.add(key);
    if (key >= this.low) this.heldInSpace++;
  }

  private keyOf(id: string): number | undefined {
    if (typeof id !== "string") return undefined;
    const text = id.trim();
    if (text.length !== this.length || !/^[0-9]+$/.test(text)) return undefined;
    return Number(text);
  }
}
