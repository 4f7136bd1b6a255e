import { parsePhoneNumberFromString } from "libphonenumber-js";
import { AppError } from "../core/errors.ts";

const FORM = "give it in E.164 form, e.g. tel:+14255550200 or tel:+14255551297;ext=51297";

function invalid(input: string, reason: string): AppError {
  return new AppError("invalid_input", `Line URI "${input}" is not valid: ${reason}; ${FORM}.`);
}

/**
 * Normalizes a line URI to `tel:+E164[;ext=N]` (Set-CsUser -LineURI). Accepts the number with or
 * without `tel:` and with common punctuation; an extension may be given as `;ext=N`. Numbers are
 * international: there is no default country, as the reference requires E.164.
 */
export function normalizeLineUri(input: string): string {
  if (typeof input !== "string" || input.trim() === "") throw invalid(String(input ?? ""), "it is empty");
  const shown = input.trim();
  const body = shown.replace(/^tel:/i, "");
  const [numberPart = "", ...params] = body.split(";");
  let ext: string | undefined;
  for (const p of params) {
    const m = /^ext=([0-9]+)$/i.exec(p.trim());
    if (!m?.[1]) throw invalid(shown, `the parameter ";${p}" is not an extension (only ;ext=digits is allowed)`);
    if (ext !== undefined) throw invalid(shown, "it has two extensions");
    ext = m[1];
  }
  const compact = numberPart.replace(/[\s\-.()]/g, "");
  if (/[a-z]/i.test(compact)) throw invalid(shown, "it contains letters");
  if (!/^\+?[0-9]+$/.test(compact)) throw invalid(shown, "the number may contain only digits and a leading +");
  if (!compact.startsWith("+")) throw invalid(shown, "the number has no leading + (line URIs must be E.164)");
  const digits = compact.slice(1);
  if (digits.length > 15) throw invalid(shown, `it has ${digits.length} digits, more than the 15 of E.164`);
  const parsed = parsePhoneNumberFromString(`+${digits}`);
  if (!parsed?.isPossible()) throw invalid(shown, "it is not a possible phone number for its country code");
  return `tel:${parsed.number}${ext !== undefined ? `;ext=${ext}` : ""}`;
}
