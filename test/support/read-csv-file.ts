// Reads a CSV of identities as the CLI would and prints the outcome as JSON. The permission test runs
// it when the suite runs as root (root may read any file): started as root, so it can load its modules
// from wherever the clone is (a private 0700 folder included), it then becomes the unprivileged user
// given as the second argument and only then reads the file.
import { readIdentityCsvFile } from "../../src/core/identity-list.ts";

const [filePath = "", asUser] = process.argv.slice(2);
if (asUser !== undefined) {
  // Every module this read needs is loaded by now (static imports), so nothing more is read from the clone.
  const id = Number(asUser);
  process.setgroups?.([id]);
  process.setgid?.(id);
  process.setuid?.(id);
}
const uid = process.getuid?.();
try {
  const r = await readIdentityCsvFile(filePath);
  process.stdout.write(JSON.stringify({ uid, ok: true, identities: r.identities }));
} catch (err) {
  const e = err as { code?: string; message?: string };
  process.stdout.write(JSON.stringify({ uid, code: e.code, message: e.message }));
}
