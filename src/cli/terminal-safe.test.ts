import { describe, expect, it } from "vitest";
import { terminalSafe, terminalSafeValue } from "./terminal-safe.ts";

describe("terminalSafe", () => {
  it.each<[string, string, string]>([
    ["plain text", "Alice Smith <alice@contoso.com>", "Alice Smith <alice@contoso.com>"],
    ["non-ASCII letters", "Zoë 山田 Łukasz", "Zoë 山田 Łukasz"],
    ["an OSC window title", "\u001b]0;pwned\u0007", "\\x1b]0;pwned\\x07"],
    ["a clear-screen CSI", "Bob\u001b[2J", "Bob\\x1b[2J"],
    ["a colour that would leak", "\u001b[31mred\u001b[0m", "\\x1b[31mred\\x1b[0m"],
    ["NUL and backspace", "a\u0000b\bc", "a\\x00b\\x08c"],
    ["vertical tab and form feed", "a\u000bb\u000cc", "a\\x0bb\\x0cc"],
    ["DEL", "a\u007fb", "a\\x7fb"],
    ["C1 controls (8-bit CSI, OSC, NEL)", "\u009b2J\u009d0;x\u0085\u0080", "\\x9b2J\\x9d0;x\\x85\\x80"],
    ["the last C1 control and the first printable Latin-1", "\u009f\u00a0é", "\\x9f\u00a0é"],
    ["bidi embeddings and overrides", "\u202aa\u202bb\u202cc\u202dd\u202ee", "\\u202aa\\u202bb\\u202cc\\u202dd\\u202ee"],
    ["bidi isolates", "\u2066a\u2067b\u2068c\u2069", "\\u2066a\\u2067b\\u2068c\\u2069"],
    ["line feeds and tabs of the layout", "Name\tValue\nalice\t1\n", "Name\tValue\nalice\t1\n"],
    ["CR LF line ends", "a,b\r\nc,d\r\n", "a,b\r\nc,d\r\n"],
    ["a lone CR that would overwrite the line", "safe\rspoofed", "safe\\rspoofed"],
    ["a CR at the very end", "a\r", "a\\r"],
    ["backslashes as they are", "C:\\Users\\x1b", "C:\\Users\\x1b"],
  ])("%s", (_name, text, expected) => {
    expect(terminalSafe(text)).toBe(expected);
  });

  it("leaves nothing a terminal would act on, for every code point below U+00A0 and the bidi controls", () => {
    const controls = Array.from({ length: 0xa0 }, (_, i) => String.fromCharCode(i)).join("");
    const all = `${controls}\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069`;
    const out = terminalSafe(all);
    // biome-ignore lint/suspicious/noControlCharactersInRegex: checking no control character is left.
    expect(out.replace(/[\n\t]/g, "")).not.toMatch(/[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]/);
  });
});

describe("terminalSafeValue", () => {
  it.each<[string, string, string]>([
    ["plain text", "alice@contoso.com", "alice@contoso.com"],
    ["a line feed that would fake a table row", "Alice\nbob@contoso.com  changed", "Alice\\nbob@contoso.com  changed"],
    ["a tab and CR LF", "a\tb\r\n", "a\\tb\\r\\n"],
    ["ESC and C1", "\u001b]0;pwned\u0007\u009b", "\\x1b]0;pwned\\x07\\x9b"],
    ["a bidi override", "gpj.\u202eexe", "gpj.\\u202eexe"],
  ])("%s", (_name, text, expected) => {
    expect(terminalSafeValue(text)).toBe(expected);
  });
});
