// The OpenAPI document is generated from the route schemas and committed, so a change to the API
// shows in review. `npm run openapi` (this script with --write) regenerates openapi.json; without
// --write it only checks, and exits 1 when the committed file differs from what the code describes.
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { buildServer } from "../src/http/server.ts";
import { openRuntime } from "../src/runtime.ts";

/** The committed document, at the repository root. */
export const openApiPath = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../openapi.json");

/** The document as it is committed: two-space JSON with a final newline. */
export function renderOpenApi(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Builds the server on an in-memory store (the document depends on the routes only) and renders its document. */
export async function generateOpenApi(): Promise<string> {
  const runtime = await openRuntime({ memory: true });
  try {
    const app = await buildServer(runtime);
    try {
      return renderOpenApi(app.swagger());
    } finally {
      await app.close();
    }
  } finally {
    await runtime.close();
  }
}

function committed(): string | undefined {
  try {
    return readFileSync(openApiPath, "utf8");
  } catch {
    return undefined;
  }
}

async function main(argv: string[]): Promise<number> {
  const unknown = argv.filter((a) => a !== "--write");
  if (unknown.length > 0) {
    process.stderr.write(`Unknown argument ${unknown[0]}: run with --write to regenerate openapi.json, or without to check it.\n`);
    return 2;
  }
  const generated = await generateOpenApi();
  const relative = path.relative(process.cwd(), openApiPath) || openApiPath;
  if (argv.includes("--write")) {
    writeFileSync(openApiPath, generated);
    const paths = Object.keys((JSON.parse(generated) as { paths: Record<string, unknown> }).paths).length;
    process.stdout.write(`Wrote ${relative} (${paths} paths).\n`);
    return 0;
  }
  const current = committed();
  if (current === generated) {
    process.stdout.write(`${relative} is up to date.\n`);
    return 0;
  }
  process.stderr.write(
    current === undefined
      ? `${relative} is missing: run \`npm run openapi\` and commit it.\n`
      : `${relative} differs from the API the code describes: run \`npm run openapi\` and commit the result.\n`,
  );
  return 1;
}

// Run only as a script, not when a test imports the functions above.
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
