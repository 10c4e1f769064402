import { defineConfig } from 'tsup';

export default defineConfig({
  // Two entries: prom-client (an optional peer) is imported only by ./prometheus.
  entry: ['src/index.ts', 'src/prometheus.ts'],
  format: ['esm', 'cjs'],
  // Shared code (errors) in one chunk for CJS too, so instanceof works across both entries.
  splitting: true,
  dts: true,
  clean: true,
  sourcemap: true,
  target: 'node20',
});
