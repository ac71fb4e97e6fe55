import { fileURLToPath } from 'node:url';

/** This service's drizzle-kit migrations. */
export const migrationsFolder = fileURLToPath(new URL('../drizzle', import.meta.url));
