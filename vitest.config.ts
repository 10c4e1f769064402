import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests run against each package's source, so `pnpm test` needs no build first.
// The build itself is checked separately (tsup + publint + attw in CI).
const root = fileURLToPath(new URL('.', import.meta.url));
const alias: { find: string; replacement: string }[] = [
  // Subpath exports first: '@tiercache/metrics' would otherwise swallow them.
  {
    find: '@tiercache/metrics/prometheus',
    replacement: `${root}packages/metrics/src/prometheus.ts`,
  },
];
for (const dir of ['packages', 'tooling']) {
  for (const name of readdirSync(`${root}${dir}`)) {
    alias.push({ find: `@tiercache/${name}`, replacement: `${root}${dir}/${name}/src/index.ts` });
  }
}

export default defineConfig({
  resolve: { alias },
  test: {
    // In CI a JSON report is written too, so .ci/run can print one plain summary line.
    reporters: process.env.CI ? ['default', 'json'] : ['default'],
    outputFile: { json: '.ci/results/vitest.json' },
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['{packages,tooling,apps}/*/src/**/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['{packages,tooling,apps}/*/src/**/*.int.test.ts'],
          exclude: ['**/node_modules/**'],
          testTimeout: 60_000,
          hookTimeout: 60_000,
          // Each file starts its own servers; two cores, so keep concurrency modest.
          maxWorkers: 2,
          // Vitest requires projects with different worker settings to run in separate groups.
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
