// Queries of the account database. Rotation and reuse detection rely on conditional updates: only
// one refresh can move a token from active to rotated, however many arrive at once.
import { createHash, randomBytes } from 'node:crypto';
import type { Database } from '@reservex/platform/db';
import { and, eq, ne, sql } from 'drizzle-orm';
import type { StoredRefreshToken } from '../domain/refresh-token.ts';
import * as schema from './schema.ts';

const { refreshTokens, users } = schema;

export type AccountDb = Database<typeof schema>;
export type User = typeof users.$inferSelect;

export function hashRefreshToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function newRefreshToken(): string {
  return randomBytes(32).toString('base64url');
}

/** Inserts a user; undefined when the email is taken. */
export async function createUser(
  db: AccountDb,
  values: { email: string; passwordHash: string; roles: string[] },
): Promise<User | undefined> {
  const [created] = await db
    .insert(users)
    .values(values)
    .onConflictDoNothing({ target: users.email })
    .returning();
  return created;
}

export async function findUserByEmail(db: AccountDb, email: string): Promise<User | undefined> {
  const [user] = await db.select().from(users).where(eq(users.email, email)).limit(1);
  return user;
}

export async function findUserById(db: AccountDb, id: string): Promise<User | undefined> {
  const [user] = await db.select().from(users).where(eq(users.id, id)).limit(1);
  return user;
}

/** Stores a new refresh token (the start of a family, or its next member) and returns the token. */
export async function storeRefreshToken(
  db: Pick<AccountDb, 'insert'>,
  values: { userId: string; familyId: string; expiresAt: Date },
): Promise<string> {
  const token = newRefreshToken();
  await db.insert(refreshTokens).values({ ...values, tokenHash: hashRefreshToken(token) });
  return token;
}

export async function findRefreshToken(
  db: AccountDb,
  token: string,
): Promise<StoredRefreshToken | undefined> {
  const [row] = await db
    .select({
      id: refreshTokens.id,
      familyId: refreshTokens.familyId,
      userId: refreshTokens.userId,
      status: refreshTokens.status,
      expiresAt: refreshTokens.expiresAt,
    })
    .from(refreshTokens)
    .where(eq(refreshTokens.tokenHash, hashRefreshToken(token)))
    .limit(1);
  return row;
}

/**
 * Retires an active token and stores its successor, atomically. Undefined when the token was no
 * longer active (a concurrent refresh won): the caller treats that as reuse.
 */
export async function rotateRefreshToken(
  db: AccountDb,
  current: StoredRefreshToken,
  expiresAt: Date,
): Promise<string | undefined> {
  return db.transaction(async (tx) => {
    const retired = await tx
      .update(refreshTokens)
      .set({ status: 'rotated', endedAt: new Date() })
      .where(and(eq(refreshTokens.id, current.id), eq(refreshTokens.status, 'active')))
      .returning({ id: refreshTokens.id });
    if (retired.length === 0) return undefined;
    return storeRefreshToken(tx, { userId: current.userId, familyId: current.familyId, expiresAt });
  });
}

/** Revokes every token of a family; returns how many were still usable or rotated. */
export async function revokeFamily(db: AccountDb, familyId: string): Promise<number> {
  const revoked = await db
    .update(refreshTokens)
    .set({ status: 'revoked', endedAt: new Date() })
    .where(and(eq(refreshTokens.familyId, familyId), ne(refreshTokens.status, 'revoked')))
    .returning({ id: refreshTokens.id });
  return revoked.length;
}

/**
 * Adds a stored role, once, in one conditional update. A user already holding `maxStaffRoles` staff
 * roles gets no more.
 */
export async function grantRole(
  db: AccountDb,
  userId: string,
  role: string,
  limits: { maxStaffRoles: number },
): Promise<'granted' | 'no-user' | 'too-many'> {
  const [updated] = await db
    .update(users)
    .set({
      roles: sql`case when ${role} = any(${users.roles}) then ${users.roles} else array_append(${users.roles}, ${role}) end`,
    })
    .where(
      and(
        eq(users.id, userId),
        sql`(${role} = any(${users.roles}) or (select count(*) from unnest(${users.roles}) r where r like 'STAFF:%') < ${limits.maxStaffRoles})`,
      ),
    )
    .returning({ id: users.id });
  if (updated) return 'granted';
  return (await findUserById(db, userId)) ? 'too-many' : 'no-user';
}

/** Removes a stored role; false when there is no such user. */
export async function revokeRole(db: AccountDb, userId: string, role: string): Promise<boolean> {
  const [updated] = await db
    .update(users)
    .set({ roles: sql`array_remove(${users.roles}, ${role})` })
    .where(eq(users.id, userId))
    .returning({ id: users.id });
  return updated !== undefined;
}
