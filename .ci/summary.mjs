// Prints the one plain summary line CI reads ("Tests: N passed, N failed"), from
// vitest's JSON report. Fails when the report is missing or no test ran.
import { readFileSync } from 'node:fs';

const file = process.argv[2];
let report;
try {
  report = JSON.parse(readFileSync(file, 'utf8'));
} catch (error) {
  console.error(`no test report at ${file}: ${error.message}`);
  process.exit(1);
}
const passed = report.numPassedTests ?? 0;
// numFailedTestSuites counts every describe block and file above a failed test too; count
// instead the files that failed with no failed test in them (an import error, a failing hook).
const brokenFiles = (report.testResults ?? []).filter(
  (file) =>
    file.status === 'failed' &&
    !(file.assertionResults ?? []).some((test) => test.status === 'failed'),
).length;
const failed = (report.numFailedTests ?? 0) + brokenFiles;
const skipped = (report.numPendingTests ?? 0) + (report.numTodoTests ?? 0);
console.log(`Tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
// Vitest also fails a run for errors outside any test (an unhandled rejection, say), which
// its JSON report does not count (it still says success): the run's exit status, the second
// argument, tells.
const vitestStatus = Number(process.argv[3] ?? 0);
if (vitestStatus !== 0 && failed === 0) {
  console.log(
    `Errors outside the tests: vitest exited with ${vitestStatus} (an unhandled rejection or exception; see its output above)`,
  );
  process.exit(1);
}
process.exit(failed === 0 && passed > 0 ? 0 : 1);
