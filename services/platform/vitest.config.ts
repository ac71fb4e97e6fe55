// Unit tests of this package only; the repository root's config holds the infrastructure-backed
// `stack` project (this package's *.int.test.ts run there).
import { defineConfig } from 'vitest/config';

export default defineConfig({ test: { include: ['src/**/*.test.ts'], exclude: ['src/**/*.int.test.ts'] } });
