import { describe, expect, it } from "vitest";
import { errorOf } from "../../test/support/errors.ts";
import { matchesWildcard, wildcardToRegExp } from "./wildcard.ts";

describe("matchesWildcard", () => {
  it.each<[string, string, boolean]>([
    // Literal text, matched whole and ignoring case.
    ["alice", "alice", true],
    ["alice", "ALICE", true],
    ["alice", "alice2", false],
    ["alice", "xalice", false],
    ["", "", true],
    ["", "a", false],
    // "*" is any run, including none and including newlines.
    ["*", "", true],
    ["*", "anything at all", true],
    ["a*", "a", true],
    ["a*", "abc", true],
    ["a*", "ba", false],
    ["*@contoso.com", "Alice@Contoso.COM", true],
    ["*@contoso.com", "alice@contoso.com.evil", false],
    ["a*b*c", "a-x-b-y-c", true],
    ["a*b*c", "acb", false],
    ["*", "line1\nline2", true],
    ["a**b", "ab", true],
    // "?" is exactly one character.
    ["?", "a", true],
    ["?", "", false],
    ["?", "ab", false],
    ["a?c", "abc", true],
    ["a?c", "ac", false],
    ["???", "😀ab", true],
    ["?", "\n", true],
    // Character sets and ranges.
    ["[abc]", "b", true],
    ["[abc]", "B", true],
    ["[abc]", "d", false],
    ["[abc]", "ab", false],
    ["[a-c]x", "bx", true],
    ["[a-c]x", "dx", false],
    ["[0-9][0-9]", "42", true],
    ["[0-9][0-9]", "4a", false],
    ["user[1-3]@*", "user2@contoso.com", true],
    ["user[1-3]@*", "user4@contoso.com", false],
    ["[a-cx-z]", "y", true],
    ["[a-cx-z]", "m", false],
    ["[-a]", "-", true],
    ["[a-]", "-", true],
    ["[a-]", "b", false],
    ["[^a]", "^", true],
    ["[^a]", "b", false],
    ["[!a]", "!", true],
    ["[!a]", "b", false],
    ["[\\]", "\\", true],
    ["[.]", ".", true],
    ["[.]", "x", false],
    // Regex metacharacters are literal.
    [".", "x", false],
    [".", ".", true],
    ["a.b", "a.b", true],
    ["a.b", "axb", false],
    ["a+", "aa", false],
    ["a+", "a+", true],
    ["(a|b)", "a", false],
    ["(a|b)", "(a|b)", true],
    ["$5^2", "$5^2", true],
    ["a{2}", "aa", false],
    ["a{2}", "a{2}", true],
    ["c:\\path\\*", "C:\\Path\\file", true],
    ["/x/", "/x/", true],
    ["a]b", "a]b", true],
    ["a-b", "a-b", true],
    ["a-b", "a_b", false],
    // Backtick escapes, as in PowerShell.
    ["`*", "*", true],
    ["`*", "x", false],
    ["`?", "?", true],
    ["`?", "a", false],
    ["`[abc`]", "[abc]", true],
    ["`[abc`]", "a", false],
    ["``", "`", true],
    ["a`", "a`", true],
    ["[`]]", "]", true],
    ["[a`-c]", "-", true],
    ["[a`-c]", "b", false],
    // Unicode text.
    ["zoë*", "ZOË@contoso.com", true],
    ["山田*", "山田@contoso.jp", true],
  ])("%j matches %j: %s", (pattern, value, expected) => {
    expect(matchesWildcard(pattern, value)).toBe(expected);
  });

  it("gives the same answers when the pattern comes from the cache", () => {
    for (let round = 0; round < 3; round++) {
      expect(matchesWildcard("sales-*", "Sales-EMEA")).toBe(true);
      expect(matchesWildcard("sales-*", "marketing")).toBe(false);
    }
  });

  it("keeps working after many distinct patterns", () => {
    for (let i = 0; i < 1000; i++) expect(matchesWildcard(`user${i}*`, `user${i}@contoso.com`)).toBe(true);
    expect(matchesWildcard("user0*", "user1")).toBe(false);
  });
});

describe("wildcardToRegExp", () => {
  it.each<[string, string]>([
    ["abc", "^abc$"],
    ["a*", "^a[\\s\\S]*$"],
    ["a?", "^a[\\s\\S]$"],
    ["[a-c]", "^[a-c]$"],
    ["a.b", "^a\\.b$"],
    ["[^]]", "^[\\^]\\]$"],
  ])("compiles %j to %s", (pattern, source) => {
    const re = wildcardToRegExp(pattern);
    expect(re.source).toBe(source);
    expect(re.flags).toContain("i");
  });

  it("returns a regexp without the global flag, so repeated tests agree", () => {
    const re = wildcardToRegExp("a*");
    expect(re.global).toBe(false);
    expect([re.test("ab"), re.test("ab"), re.test("ab")]).toEqual([true, true, true]);
  });

  it.each<[string, string]>([
    ["[abc", 'The filter "[abc" is not valid: a "[" starts a set of characters that must end with "]"; write `[ to match a "[" itself.'],
    ["user[", 'must end with "]"'],
    ["[`]", 'must end with "]"'],
    ["[]", 'The filter "[]" is not valid: "[]" is an empty set of characters'],
    ["[z-a]", "the range [z-a] runs backwards; write it as [a-z]"],
  ])("rejects %j", (pattern, message) => {
    const err = errorOf(() => wildcardToRegExp(pattern));
    expect(err.code).toBe("invalid_input");
    expect(err.message).toContain(message);
    expect(errorOf(() => matchesWildcard(pattern, "x")).code).toBe("invalid_input");
  });
});
