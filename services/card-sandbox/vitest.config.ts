// Unit tests of this package only; the repository root's config holds the infrastructure-backed
// `stack` project, which runs from the root.
import { defineConfig } from 'vitest/config';

export default defineConfig({ test: { include: ['src/**/*.test.ts'], exclude: ['src/**/*.int.test.ts'] } });
