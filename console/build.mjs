// Builds console/dist: one bundled, minified app.js plus the static files. Reproducible:
// the same lockfile and sources give the same bytes (no timestamps, no hashes of paths).
import { build } from "esbuild";
import { cpSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
rmSync(dist, { recursive: true, force: true });
mkdirSync(dist);
await build({
  entryPoints: [join(here, "src/main.ts")],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2022",
  platform: "browser",
  outfile: join(dist, "app.js"),
  legalComments: "eof",
  logLevel: "warning",
});
for (const f of ["index.html", "style.css"]) cpSync(join(here, "static", f), join(dist, f));
console.log("built", dist);
