import { describe, expect, it } from "vitest";
import { errorOf } from "../../test/support/errors.ts";
import { normalizeServiceNumber, toTelUri, tryNormalizeServiceNumber } from "./tel-uri.ts";

const valid: [string, string][] = [
  ["14255551234", "+14255551234"],
  ["+14255551234", "+14255551234"],
  ["tel:+14255551234", "+14255551234"],
  ["TEL:+1 (425) 555-1234", "+14255551234"],
  ["Tel:14255551234", "+14255551234"],
  ["+1 425.555.1234", "+14255551234"],
  ["  +14255551234\t", "+14255551234"],
  ["+44 20 7946 0000", "+442079460000"],
  // The common "+44 (0)20" slip: the trunk zero is dropped, as dialling would.
  ["+44 (0)20 7946 0000", "+442079460000"],
  ["+61 2 9123 4567", "+61291234567"],
  ["+33 1 23 45 67 89", "+33123456789"],
  ["+1 800 555 0100", "+18005550100"],
  ["8613800138000", "+8613800138000"],
];

describe("normalizeServiceNumber", () => {
  it.each(valid)("normalizes %j to %s", (input, expected) => {
    expect(normalizeServiceNumber(input)).toBe(expected);
  });

  it.each(valid)("is idempotent for %j", (input) => {
    const once = normalizeServiceNumber(input);
    expect(normalizeServiceNumber(once)).toBe(once);
  });

  it.each([
    { input: "", reason: "required" },
    { input: "   ", reason: "required" },
    { input: "1-800-FLOWERS", reason: "contains letters" },
    { input: "+1 425 555 CALL", reason: "contains letters" },
    { input: "abc", reason: "contains letters" },
    { input: "+1 425 555 1234 ext. 5", reason: "contains letters" },
    { input: "tel:+14255551234;ext=12", reason: "tel URI parameters" },
    { input: "tel:+14255551234;phone-context=example.com", reason: "tel URI parameters" },
    { input: "++14255551234", reason: "only digits" },
    { input: "1425+5551234", reason: "only digits" },
    { input: "+", reason: "only digits" },
    { input: "tel:", reason: "only digits" },
    { input: "#14255551234", reason: "only digits" },
    { input: "+12", reason: "not a possible phone number" },
    { input: "1425555123", reason: "not a possible phone number" },
    { input: "+1425555123456", reason: "not a possible phone number" },
    { input: "0014255551234", reason: "not a possible phone number" },
    { input: "+999 123456", reason: "not a possible phone number" },
    { input: "1234567890123456", reason: "more than the 15" },
  ])("rejects $input ($reason)", ({ input, reason }) => {
    const err = errorOf(() => normalizeServiceNumber(input));
    expect(err.code).toBe("service_number_invalid");
    expect(err.message).toContain(reason);
    expect(err.message).toContain("+14255551234");
    expect(err.message).toContain("tel:+14255551234");
    if (input.trim() !== "") expect(err.message).toContain(`"${input.trim()}"`);
  });

  it("names the input and the accepted forms in the message", () => {
    expect(() => normalizeServiceNumber("12")).toThrow(
      'Service number "12" is not valid: it is not a possible phone number for its country code (too short, too long or unknown code); use international form, e.g. +14255551234, 14255551234 or tel:+14255551234.',
    );
  });
});

describe("tryNormalizeServiceNumber", () => {
  it.each([
    ["tel:+1 (425) 555-1234", "+14255551234"],
    ["", undefined],
    ["hello", undefined],
    ["+12", undefined],
  ])("%j gives %s", (input, expected) => {
    expect(tryNormalizeServiceNumber(input)).toBe(expected);
  });
});

describe("toTelUri", () => {
  it.each([
    ["+14255551234", "tel:+14255551234"],
    ["14255551234", "tel:+14255551234"],
    ["tel:+442079460000", "tel:+442079460000"],
  ])("%s becomes %s", (input, expected) => {
    expect(toTelUri(input)).toBe(expected);
  });

  it("rejects what cannot be a phone number", () => {
    expect(errorOf(() => toTelUri("not a number")).code).toBe("service_number_invalid");
  });
});
