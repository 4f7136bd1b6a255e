import { describe, expect, it } from "vitest";
import { AppError } from "../core/errors.ts";
import { normalizeLineUri } from "./line-uri.ts";

describe("normalizeLineUri", () => {
  it.each([
    ["tel:+14255550200", "tel:+14255550200"],
    ["+14255550200", "tel:+14255550200"],
    ["TEL:+1 (425) 555-0200", "tel:+14255550200"],
    ["tel:+14255551297;ext=51297", "tel:+14255551297;ext=51297"],
    ["+1 425 555 1297;EXT=51297", "tel:+14255551297;ext=51297"],
    ["tel:+33 1 23 45 67 89", "tel:+33123456789"],
  ])("%s → %s", (input, expected) => {
    expect(normalizeLineUri(input)).toBe(expected);
  });

  it("keeps a number and the same number with an extension apart (they are different line URIs)", () => {
    expect(normalizeLineUri("tel:+14255551297")).not.toBe(normalizeLineUri("tel:+14255551297;ext=51297"));
  });

  it.each([
    ["", "empty"],
    ["tel:4255550200", "no leading +"],
    ["tel:+1425555CALL", "letters"],
    ["tel:+14255550200;foo=1", "not an extension"],
    ["tel:+14255550200;ext=1;ext=2", "two extensions"],
    ["tel:+1234567890123456", "more than the 15"],
    ["tel:+999123", "not a possible"],
    ["tel:+1-425/555", "only digits"],
  ])("refuses %j (%s)", (input, reason) => {
    let err: unknown;
    try {
      normalizeLineUri(input);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe("invalid_input");
    expect((err as AppError).message).toContain(reason);
    expect((err as AppError).message).toContain("E.164");
  });
});
