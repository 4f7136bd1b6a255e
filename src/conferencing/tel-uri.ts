import { parsePhoneNumberFromString } from "libphonenumber-js";
import { AppError } from "../core/errors.ts";

const ACCEPTED_FORMS = "use international form, e.g. +14255551234, 14255551234 or tel:+14255551234";
/** E.164 allows at most 15 digits after the country code's plus sign. */
const E164_MAX_DIGITS = 15;

function invalid(input: string, reason: string): AppError {
  return new AppError("service_number_invalid", `Service number "${input}" is not valid: ${reason}; ${ACCEPTED_FORMS}.`);
}

/**
 * Normalizes a service number to E.164 (`+14255551234`). Accepts bare digits, `+`, `tel:` and
 * common punctuation; throws service_number_invalid otherwise.
 */
export function normalizeServiceNumber(input: string): string {
  if (typeof input !== "string" || input.trim() === "") {
    throw new AppError("service_number_invalid", `A service number is required: ${ACCEPTED_FORMS}.`);
  }
  const shown = input.trim();
  const compact = shown.replace(/^tel:/i, "").replace(/[\s\-.()]/g, "");
  if (compact.includes(";")) {
    throw invalid(shown, "a service number cannot carry tel URI parameters such as ;ext=");
  }
  if (/[a-z]/i.test(compact)) {
    // libphonenumber would read letters as a vanity keypad (1-800-FLOWERS); service numbers never are.
    throw invalid(shown, "it contains letters");
  }
  if (!/^\+?[0-9]+$/.test(compact)) {
    throw invalid(shown, "it may contain only digits, an optional leading +, spaces, dashes, dots and parentheses");
  }
  // The reference system reads 14255551234 as +14255551234: numbers without a plus are
  // international, never national, so there is no default country to guess.
  const digits = compact.startsWith("+") ? compact.slice(1) : compact;
  if (digits.length > E164_MAX_DIGITS) {
    throw invalid(shown, `it has ${digits.length} digits, more than the ${E164_MAX_DIGITS} a phone number can have`);
  }
  const parsed = parsePhoneNumberFromString(`+${digits}`);
  if (!parsed?.isPossible()) {
    throw invalid(shown, "it is not a possible phone number for its country code (too short, too long or unknown code)");
  }
  return parsed.number;
}

/** Like normalizeServiceNumber, but returns undefined instead of throwing. */
export function tryNormalizeServiceNumber(input: string): string | undefined {
  try {
    return normalizeServiceNumber(input);
  } catch (err) {
    if (err instanceof AppError) return undefined;
    throw err;
  }
}

/** The tel URI of a service number, e.g. `tel:+14255551234`; normalizes first, so any accepted form works. */
export function toTelUri(e164: string): string {
  return `tel:${normalizeServiceNumber(e164)}`;
}
