import { defineConfig } from 'drizzle-kit';

// Generates SQL migrations from the schema (`npm run db:generate`); `migrate` applies them, and so
// does the service at start-up.
export default defineConfig({
  dialect: 'postgresql',
  schema: './src/db/schema.ts',
  out: './drizzle',
});
