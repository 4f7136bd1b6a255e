// Kamailio's own regex engine (libpcre.so.3, PCRE 8.39, installed with Debian's kamailio) run from the
// tests through Python's ctypes: what Callplane writes as PCRE is checked against the real thing.
import { spawnSync } from "node:child_process";
import { itNeeding } from "./required.ts";

const PCRE_RUNNER = `
import ctypes, json, sys
lib = ctypes.CDLL("libpcre.so.3")
lib.pcre_compile.restype = ctypes.c_void_p
lib.pcre_compile.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_int), ctypes.c_void_p]
lib.pcre_exec.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
lib.pcre_fullinfo.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
cache = {}
out = []
ov = (ctypes.c_int * 300)()
for case in json.load(sys.stdin):
    p = case["pcre"]
    if p not in cache:
        err = ctypes.c_char_p(); off = ctypes.c_int()
        re = lib.pcre_compile(p.encode("latin-1"), 0, ctypes.byref(err), ctypes.byref(off), None)
        n = ctypes.c_int(0)
        if re: lib.pcre_fullinfo(re, None, 2, ctypes.byref(n))
        cache[p] = (re, n.value, err.value)
    re, n, err = cache[p]
    if not re:
        out.append({"compileError": err.decode("latin-1")})
        continue
    s = case["subject"].encode("latin-1")
    rc = lib.pcre_exec(re, None, s, len(s), 0, 0, ov, 300)
    if rc == -1:
        out.append(None)
    elif rc < 0:
        out.append({"execError": rc})
    else:
        out.append({"groups": [[ov[2 * g], ov[2 * g + 1]] if g < rc else [-1, -1] for g in range(n + 1)]})
print(json.dumps(out))
`;

export type PcreAnswer = null | { compileError: string } | { execError: number } | { groups: [number, number][] };

/** Each case's answer from libpcre: null for no match, the groups' offsets, or the error; null for all when it cannot run. */
export function runPcre(cases: readonly { pcre: string; subject: string }[]): PcreAnswer[] | null {
  const r = spawnSync("python3", ["-c", PCRE_RUNNER], { input: JSON.stringify(cases), maxBuffer: 1 << 28, encoding: "utf8" });
  if (r.status !== 0) return null;
  return JSON.parse(r.stdout) as PcreAnswer[];
}

const missing =
  runPcre([{ pcre: "^1\\z", subject: "1" }]) === null
    ? "python3 with ctypes or libpcre.so.3 (Debian's libpcre3, which kamailio depends on) is missing"
    : null;

/** A test that needs libpcre: under CI=true it runs (and fails without it); elsewhere it is skipped, its name saying why. */
export function itWithLibpcre(name: string, fn: () => void): void {
  itNeeding(missing, name, fn);
}

/**
 * The PCRE Callplane writes, read as a JavaScript RegExp: only `\z` differs in meaning for the shapes
 * pcre.ts emits (ASCII input, no flags), so this stands in for libpcre where the dialects agree.
 */
export function pcreToJs(pcre: string): RegExp {
  let out = "";
  for (let i = 0; i < pcre.length; i++) {
    const c = pcre[i] ?? "";
    if (c !== "\\") {
      out += c;
      continue;
    }
    const next = pcre[i + 1] ?? "";
    out += next === "z" ? "$" : `\\${next}`;
    i++;
  }
  return new RegExp(out);
}
