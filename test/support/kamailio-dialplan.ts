// What Kamailio's dialplan does with a translation, for tests that check what Callplane writes for it.

/** What Kamailio's dialplan makes of a repl_exp (core `parse_repl` + `rule_translate`), for the tests. */
export function kamailioExpand(repl: string, groups: readonly string[]): string {
  let out = "";
  for (let i = 0; i < repl.length; i++) {
    const c = repl[i] ?? "";
    if (c !== "\\") {
      out += c;
      continue;
    }
    const next = repl[i + 1] ?? "";
    i++;
    if (next >= "0" && next <= "9") out += groups[Number(next)] ?? "";
    else if (next === "n") out += "\n";
    else if (next === "r") out += "\r";
    else if (next === "t") out += "\t";
    else out += next; // "\\", "\$" and unknown escapes give the character
  }
  return out;
}
