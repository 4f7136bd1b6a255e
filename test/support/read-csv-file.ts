// Reads a CSV of identities as the CLI would and prints the outcome as JSON: the permission test runs
// this as an unprivileged user when the suite runs as root (root may read any file).
import { readIdentityCsvFile } from "../../src/core/identity-list.ts";

try {
  const r = await readIdentityCsvFile(process.argv[2] ?? "");
  process.stdout.write(JSON.stringify({ ok: true, identities: r.identities }));
} catch (err) {
  const e = err as { code?: string; message?: string };
  process.stdout.write(JSON.stringify({ code: e.code, message: e.message }));
}
