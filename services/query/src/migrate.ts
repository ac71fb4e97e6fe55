// `npm run migrate -w @reservex/query`: applies the pending migrations and exits.
import { fileURLToPath } from 'node:url';
import { databaseConfigShape, loadConfig } from '@reservex/platform/config';
import { createDatabase, migrate } from '@reservex/platform/db';
import { schema } from './db/schema.ts';

const config = loadConfig(databaseConfigShape);
const database = createDatabase(config.DATABASE_URL, schema, { max: 2 });
try {
  await migrate(database, fileURLToPath(new URL('../drizzle', import.meta.url)));
} finally {
  await database.close();
}
