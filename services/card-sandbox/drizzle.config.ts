import { defineConfig } from 'drizzle-kit';

// Generates SQL migrations from the schema; `migrate` applies them (and the service does at start-up).
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
});
