// `npm run migrate`: applies reservation's pending migrations to DATABASE_URL and exits.
import { databaseConfigShape, loadConfig } from '@reservex/platform/config';
import { createDatabase, migrate } from '@reservex/platform/db';
import * as schema from './db/schema.ts';
import { migrationsFolder } from './migrations.ts';

const config = loadConfig(databaseConfigShape);
const database = createDatabase(config.DATABASE_URL, schema, { max: 1 });
try {
  await migrate(database, migrationsFolder);
} finally {
  await database.close();
}
