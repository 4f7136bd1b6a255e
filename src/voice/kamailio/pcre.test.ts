import { describe, expect, it } from "vitest";
import { kamailioExpand } from "../../../test/support/kamailio-dialplan.ts";
import { itWithLibpcre, type PcreAnswer, pcreToJs, runPcre } from "../../../test/support/libpcre.ts";
import { genPattern } from "../../../test/support/pattern-gen.ts";
import { pick, type Rng, seededRng } from "../../core/random.ts";
import { compilePattern, compileTranslation, expandTranslation } from "../pattern.ts";
import { groupLengths, MAX_DIALPLAN_OUTPUT, toDialplanReplacement, toPcre } from "./pcre.ts";

// ---------------------------------------------------------------------------------------------
// Evaluating the generated PCRE.

function jsExec(re: RegExp, input: string): string[] | null {
  const m = re.exec(input);
  return m ? Array.from(m, (g) => g ?? "") : null;
}

/**
 * Kamailio's own engine, when this machine has it: libpcre.so.3 through Python's ctypes, with
 * `pcre_compile(pattern, 0)` and `pcre_exec` with the default match limit, as dialplan calls them.
 */

function pcreGroups(answer: PcreAnswer, subject: string): string[] | null | string {
  if (answer === null) return null;
  if ("compileError" in answer) return `compile error: ${answer.compileError}`;
  if ("execError" in answer) return `exec error: ${answer.execError}`;
  return answer.groups.map(([s, e]) => (s >= 0 && e >= 0 ? subject.slice(s, e) : ""));
}

// ---------------------------------------------------------------------------------------------

describe("toPcre: the PCRE written for each construct", () => {
  it.each<[string, string]>([
    // $ is \z: PCRE's $ also matches before a final newline.
    ["^(\\d{4})$", "^(\\d{4})\\z"],
    ["^\\+1(425|206)\\d{7}$", "^\\+1(425|206)\\d{7}\\z"],
    ["a$|^b", "a\\z|^b"],
    ["^(1)$|^(2)$", "^(1)\\z|^(2)\\z"],
    ["(?:^|x)1", "(?:^|x)1"],
    // Sets are written out from their ranges.
    [".", "[^\\x0a\\x0d]"],
    ["\\s", "[\\x09-\\x0d\\x20]"],
    ["\\S", "[^\\x09-\\x0d\\x20]"],
    ["[\\s\\d]", "[\\x09-\\x0d\\x200-9]"],
    ["\\v", "\\x0b"],
    ["\\t\\n\\f\\r", "\\x09\\x0a\\x0c\\x0d"],
    ["\\u0041\\x2B", "A\\+"],
    ["[\\s\\S]", "[\\x00-\\xff]"],
    ["[^\\s\\S]", "[^\\x00-\\xff]"],
    ["\\d", "\\d"],
    ["[0-9]{10}", "\\d{10}"],
    ["[^0-9]", "\\D"],
    ["\\W", "\\W"],
    ["[a-zA-Z0-9_]", "\\w"],
    ["[\\w-]", "[\\-0-9A-Z\\_a-z]"],
    ["[ab]", "[ab]"],
    ["[a-c]", "[a-c]"],
    ["[*#]", "[\\#\\*]"],
    ["[^a]", "[^a]"],
    ["[-a\\]^]", "[\\-\\]\\^a]"],
    ["[\\x00-\\x1f]", "[\\x00-\\x1f]"],
    // Literals: punctuation behind a backslash, $ and space as \xHH, so nothing reads as a pseudo-variable.
    ["\\$", "\\x24"],
    ["[$]", "\\x24"],
    ["a b", "a\\x20b"],
    ["\\\\", "\\\\"],
    ["x{,5}", "x\\{\\,5\\}"],
    ["a}]", "a\\}\\]"],
    ["\\+\\.\\(\\)", "\\+\\.\\(\\)"],
    ["(?:a:b)", "(?:a\\:b)"],
    // Groups, alternation and quantifiers as parsed.
    ["(a|)", "(a|)"],
    ["((a))", "((a))"],
    ["^a*?b{1,3}?c??d{2,}?", "^a*?b{1,3}?c??d{2,}?"],
    ["(?:\\d{3}-)+", "(?:\\d{3}\\-)+"],
    ["(?:1|2)+", "(?:1|2)+"],
    ["^(\\+1)?(911|933)$", "^(\\+1)?(911|933)\\z"],
    ["^\\+?(\\d{1,15})$", "^\\+?(\\d{1,15})\\z"],
    ["(\\d)+", "(\\d)+"],
  ])("%s → %s", (source, pcre) => {
    expect(toPcre(source)).toEqual({ ok: true, pcre });
  });
});

describe("toPcre: what it refuses, and why", () => {
  it.each<[string, RegExp]>([
    // What pattern.ts refuses, with its message.
    ["", /is empty/],
    ["(\\d*)*", /can match an empty string/],
    ["\\bx", /word-boundary/],
    ["(?=1)", /lookahead/],
    ["(?:(1)|2)+", /does not take part in every repetition/],
    // Characters outside ASCII: PCRE without UTF-8 sees bytes.
    ["é", /names the non-ASCII character U\+00E9/],
    ["\\u00e9", /names the non-ASCII character U\+00E9/],
    ["[0-9\\u0660-\\u0669]", /names the non-ASCII character U\+0660/],
    ["[^é]", /leaves out the non-ASCII character U\+00E9/],
    // Catastrophic backtracking: past PCRE's match limit, dialplan answers "no match".
    ["(\\d+)+", /"\(\\d\+\)\+" repeats a part that can itself match in several ways/],
    ["^(\\d{1,3})*$", /repeats a part that can itself match in several ways/],
    ["(1|12)+", /repeats a part that can itself match in several ways/],
    ["(?:\\d|1)+x", /repeats a part that can itself match in several ways/],
    ["(?:\\d|\\*\\d?)+x", /repeats a part that can itself match in several ways/],
    ["\\d*\\d*\\d*", /too many ways to match a 126-character number .* and no \^/],
    ["^\\d*\\d*\\d*\\d*$", /too many ways to match/],
    // What PCRE cannot compile.
    [`${"(".repeat(201)}a${")".repeat(201)}`, /nests groups more than 200 deep/],
    ["(?:[0-8][0-7]){1000}", /more than PCRE's 64 KB/],
  ])("%s", (source, reason) => {
    const r = toPcre(source);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it("keeps what only looks alike", () => {
    // Deterministic turns are fine, and so are a couple of open-ended repetitions.
    for (const ok of [
      "(?:\\d{3})+",
      "(?:[0-9]|\\*)+",
      "(?:\\d|\\*)+x",
      "(?:1|2)+x",
      "^\\d*\\d*\\d*$",
      "\\d+\\*\\d+",
      "(?:[0-8][0-7]){500}",
      "(\\d{3}|\\d{4}){2}",
    ]) {
      expect(toPcre(ok).ok, ok).toBe(true);
    }
  });

  it("bounds backtracking by the input it will see", () => {
    expect(toPcre("^\\d*\\d*\\d*\\d*$", { maxInput: 64 }).ok).toBe(false);
    expect(toPcre("^\\d*\\d*\\d*$", { maxInput: 64 }).ok).toBe(true);
  });
});

describe("groupLengths", () => {
  it("gives each group's shortest and longest capture, capped at the input", () => {
    expect(groupLengths("^(\\d{4})(x)?(\\d+)$")).toEqual({ min: [5, 4, 0, 1], max: [64, 4, 1, 64] });
    expect(groupLengths("(a|bc)(d{2,3})|(e)", 64)).toEqual({ min: [1, 0, 0, 0], max: [5, 2, 3, 1] });
    expect(groupLengths("^(\\+?)(1)?(\\d{3})$", 126)).toEqual({ min: [3, 0, 0, 3], max: [5, 1, 1, 3] });
  });
});

describe("toDialplanReplacement", () => {
  it.each<[string, number, string]>([
    ["+1425555$1", 1, "+1425555\\1"],
    ["+$1", 1, "+\\1"],
    ["$&", 0, "\\0"],
    ["$0", 0, "\\0"],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a translation's ${n}, not a template
    ["${1}0", 1, "\\10"],
    // Like .NET: the longest run of digits that names a group, so with one group "$10" is group 1 then "0".
    ["$10", 1, "\\10"],
    ["$$", 0, "\\$"],
    ["1$$2", 0, "1\\$2"],
    ["+1$1;ext=$2", 2, "+1\\1;ext=\\2"],
    ["+14255550100", 0, "+14255550100"],
    ["$1$2$3$4$5$6$7$8$9", 9, "\\1\\2\\3\\4\\5\\6\\7\\8\\9"],
  ])("%j with %d groups → %j", (translation, groups, repl) => {
    const r = toDialplanReplacement(translation, groups, { min: new Array(groups + 1).fill(0), max: new Array(groups + 1).fill(5) });
    expect(r.ok && r.repl).toBe(repl);
  });

  it.each<[string, number, RegExp]>([
    ["$10", 10, /uses group 10: Kamailio's dialplan reads only one digit/],
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a translation's ${n}, not a template
    ["${12}", 12, /uses group 12/],
    ["$1$1$1$1$1$1$1$1$1$1", 1, /needs 10 escapes/],
    ["$$".repeat(10), 0, /needs 10 escapes/],
    ["", 0, /is empty/],
    ["a b", 0, /adds U\+0020/],
    ["\\1", 0, /adds "\\"/],
    ["é", 0, /adds "é"/],
    ["a@b", 0, /adds "@"/],
    ["a:b", 0, /adds ":"/],
    ["$2", 1, /refers to group 2, but the pattern has 1/],
    ["$x", 0, /not a supported substitution/],
    ["+".repeat(MAX_DIALPLAN_OUTPUT + 1), 0, /can produce 127 characters, over the 126/],
    ["$1$1", 1, /can produce 128 characters/],
  ])("refuses %j with %d groups", (translation, groups, reason) => {
    const r = toDialplanReplacement(translation, groups);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it("bounds the output with the groups' lengths", () => {
    expect(toDialplanReplacement("$1$1", 1, groupLengths("^(\\d{1,15})$"))).toMatchObject({ ok: true, maxLength: 30, minLength: 2 });
    expect(toDialplanReplacement("+$1", 1, groupLengths("^(\\d{4})?$"))).toMatchObject({ ok: true, maxLength: 5, minLength: 1 });
    expect(toDialplanReplacement("$1", 1, groupLengths("^(\\d{4})?$"))).toMatchObject({ ok: true, minLength: 0 });
  });

  it("means what compileTranslation means, for generated translations", () => {
    const rng = seededRng("kamailio-translations");
    const pieces = ["$", "$", "$$", "$&", "${", "}", "0", "1", "2", "9", "1", "+", ";ext=", "#", "*", "x"];
    let compared = 0;
    let refusedBoth = 0;
    for (let n = 0; n < 5000; n++) {
      const groupCount = rng.int(13);
      let translation = "";
      for (let k = 1 + rng.int(6); k > 0; k--) translation += pick(rng, pieces);
      let parsed: ReturnType<typeof compileTranslation> | null = null;
      try {
        parsed = compileTranslation(translation, groupCount);
      } catch {
        parsed = null;
      }
      const r = toDialplanReplacement(translation, groupCount);
      if (parsed === null) {
        expect(r.ok, translation).toBe(false);
        refusedBoth++;
        continue;
      }
      if (!r.ok) {
        expect(r.reason, translation).toMatch(/uses group 1\d|escapes|is empty|adds "[{}]"|can produce/);
        continue;
      }
      for (let k = 0; k < 5; k++) {
        const groups = Array.from({ length: groupCount + 1 }, () => (rng.int(3) === 0 ? "" : String(rng.int(1000))));
        expect(kamailioExpand(r.repl, groups), `${translation} (${groupCount} groups)`).toBe(expandTranslation(parsed, groups));
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(5000);
    expect(refusedBoth).toBeGreaterThan(300);
  });
});

// ---------------------------------------------------------------------------------------------
// Differential: pattern.ts on the source against the generated PCRE (as JavaScript, and as libpcre).

const LITERALS = [
  "a",
  "1",
  "2",
  "\\+",
  "x",
  "\\$",
  "\\.",
  "#",
  "\\*",
  "-",
  "\\\\",
  " ",
  "\\{",
  "}",
  ":",
  "]",
  "\\v",
  "\\t",
  "\\n",
  "\\r",
  "\\x0b",
  "\\u0031",
];
const ATOMS = [
  ".",
  "\\d",
  "\\D",
  "\\w",
  "\\W",
  "\\s",
  "\\S",
  "[ab]",
  "[^a]",
  "[0-9]",
  "[a1-2]",
  "[+x]",
  "[\\s\\S]",
  "[^\\s\\S]",
  "[\\s1]",
  "[^\\s1]",
  "^",
  "$",
  "[$]",
  "[\\n\\r]",
  "[^\\n]",
  "[-a]",
  "[*#]",
];
const QUANTIFIERS = ["", "", "", "", "*", "+", "?", "{2}", "{0,2}", "{1,}", "{1,3}", "*?", "+?", "??", "{1,2}?", "{,2}"];
const PCRE_ALPHABET = { literals: LITERALS, atoms: ATOMS, quantifiers: QUANTIFIERS };

function genInput(rng: Rng): string {
  const alphabet = "ab1x2+*#$.- \n\r\v\t{},:]\\";
  let s = "";
  for (let n = rng.int(10); n > 0; n--)
    s += rng.int(12) === 0 ? String.fromCharCode(rng.int(128)) : (alphabet[rng.int(alphabet.length)] ?? "");
  // Numbers with a final newline are where PCRE's $ and \z part.
  return rng.int(8) === 0 ? `${s}\n` : s;
}

describe("differential: the generated PCRE against pattern.ts", () => {
  const rng = seededRng("kamailio-pcre-differential");
  const cases: { source: string; pcre: string; subject: string; want: string[] | null }[] = [];
  let accepted = 0;
  let refused = 0;

  it("matches and captures as pattern.ts does, read as JavaScript", () => {
    for (let n = 0; n < 8000; n++) {
      const source = genPattern(rng, 0, PCRE_ALPHABET);
      let compiled: ReturnType<typeof compilePattern>;
      try {
        compiled = compilePattern(source);
      } catch {
        expect(toPcre(source).ok, source).toBe(false);
        continue;
      }
      const r = toPcre(source);
      if (!r.ok) {
        expect(r.reason, source).toMatch(/several ways|too many ways|non-ASCII/);
        refused++;
        continue;
      }
      accepted++;
      const js = pcreToJs(r.pcre);
      for (let k = 0; k < 15; k++) {
        const subject = genInput(rng);
        const want = compiled.exec(subject);
        expect(jsExec(js, subject), `${source} → ${r.pcre} on ${JSON.stringify(subject)}`).toEqual(want);
        cases.push({ source, pcre: r.pcre, subject, want });
      }
    }
    expect(accepted).toBeGreaterThan(2000);
    expect(refused).toBeGreaterThan(20);
    expect(cases.length).toBeGreaterThan(30_000);
  });

  itWithLibpcre("matches and captures as pattern.ts does in libpcre.so.3 (Kamailio's engine)", () => {
    const answers = runPcre(cases);
    expect(answers).not.toBeNull();
    cases.forEach((c, i) => {
      expect(pcreGroups(answers?.[i] ?? null, c.subject), `${c.source} → ${c.pcre} on ${JSON.stringify(c.subject)}`).toEqual(c.want);
    });
  });

  itWithLibpcre("parts PCRE's $ from \\z as the design note measured", () => {
    expect(runPcre([{ pcre: "^1$", subject: "1\n" }])?.[0]).not.toBeNull();
    expect(runPcre([{ pcre: toPcre("^1$").ok ? "^1\\z" : "", subject: "1\n" }])?.[0]).toBeNull();
    expect(compilePattern("^1$").test("1\n")).toBe(false);
  });
});
