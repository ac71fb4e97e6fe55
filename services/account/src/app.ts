// Account routes: sign-up, login, refresh, logout and the JWKS. Thin: validate, apply the domain's
// rules, map the outcome to a response. Reached only through the gateway (public paths
// `/api/v1/auth/...` and `/.well-known/jwks.json`).

import { createRoute, z } from '@hono/zod-openapi';
import { hash, verify } from '@node-rs/argon2';
import { createApp, problem, problemResponses, type ReadinessCheck } from '@reservex/platform/http';
import type { BlankEnv } from 'hono/types';
import {
  type AccountDb,
  createUser,
  findRefreshToken,
  findUserByEmail,
  findUserById,
  revokeFamily,
  rotateRefreshToken,
  storeRefreshToken,
} from './db/accounts.ts';
import { Email, Password, passwordProblem, textOfLength } from './domain/credentials.ts';
import { decideRefresh, REFRESH_TOKEN_PATTERN } from './domain/refresh-token.ts';
import { type Role, RoleSchema, rolesFor } from './domain/roles.ts';
import { type AccessTokenSettings, issueAccessToken } from './keys/access-token.ts';
import type { KeySource } from './keys/signing-keys.ts';
import type { LoginThrottle } from './login-throttle-store.ts';
import { registerStaffRoutes } from './staff.ts';

export interface AccountDeps {
  db: AccountDb;
  keys: KeySource;
  throttle: LoginThrottle;
  accessToken: AccessTokenSettings;
  refreshTokenTtlSeconds: number;
  adminEmails: ReadonlySet<string>;
  bodyLimitBytes?: number;
  readiness?: Record<string, ReadinessCheck>;
}

const Credentials = z.strictObject({ email: Email, password: Password }).openapi('Credentials');

const LoginCredentials = z
  .strictObject({
    email: Email,
    // Login checks only the bounds: a password from before a policy change must still work.
    password: textOfLength(1, 512),
  })
  .openapi('LoginCredentials');

const RefreshRequest = z
  .strictObject({
    refreshToken: z.string().regex(REFRESH_TOKEN_PATTERN, 'a refresh token as issued by login'),
  })
  .openapi('RefreshRequest');

const Session = z
  .object({
    userId: z.uuid(),
    roles: z.array(RoleSchema),
    accessToken: z.string().openapi({ description: 'JWT (EdDSA/ES256); send as `Authorization: Bearer …`.' }),
    tokenType: z.literal('Bearer'),
    expiresIn: z.number().int().openapi({ description: 'Seconds until the access token expires.' }),
    refreshToken: z.string().openapi({ description: 'Single use: each refresh returns a new one.' }),
    refreshExpiresIn: z.number().int(),
  })
  .openapi('Session');

const Jwks = z
  .object({
    keys: z.array(z.object({ kid: z.string(), kty: z.string(), alg: z.string() }).catchall(z.unknown())),
  })
  .openapi('JWKS');

const json = <S extends z.ZodType>(schema: S) => ({ content: { 'application/json': { schema } } });

const SignupAccepted = z
  .object({ email: z.string().openapi({ example: 'ada@example.com' }) })
  .openapi('SignupAccepted');

const signupRoute = createRoute({
  method: 'post',
  path: '/v1/auth/signup',
  tags: ['auth'],
  summary: 'Create an account',
  description:
    'The answer is the same whether or not the email already has an account, so sign-up cannot be used to find out who has one: log in with the email and password to use the account.',
  request: { body: { ...json(Credentials), required: true } },
  responses: {
    202: { description: 'Accepted', ...json(SignupAccepted) },
    ...problemResponses(400, 413, 415, 422),
  },
});

const loginRoute = createRoute({
  method: 'post',
  path: '/v1/auth/login',
  tags: ['auth'],
  summary: 'Exchange email and password for an access token and a refresh token',
  request: { body: { ...json(LoginCredentials), required: true } },
  responses: {
    200: { description: 'Signed in', ...json(Session) },
    ...problemResponses(400, 401, 413, 415, 422, 429),
  },
});

const refreshRoute = createRoute({
  method: 'post',
  path: '/v1/auth/refresh',
  tags: ['auth'],
  summary: 'Rotate a refresh token: returns a new session; the presented token is spent',
  description:
    'Presenting a token that was already rotated revokes every token descended from the same login.',
  request: { body: { ...json(RefreshRequest), required: true } },
  responses: { 200: { description: 'Rotated', ...json(Session) }, ...problemResponses(400, 401, 415, 422) },
});

const logoutRoute = createRoute({
  method: 'post',
  path: '/v1/auth/logout',
  tags: ['auth'],
  summary: 'End the session the refresh token belongs to',
  request: { body: { ...json(RefreshRequest), required: true } },
  responses: { 204: { description: 'Signed out' }, ...problemResponses(400, 415, 422) },
});

const jwksRoute = createRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  tags: ['auth'],
  summary: 'Public keys that verify access tokens',
  responses: { 200: { description: 'JWKS', ...json(Jwks) } },
});

// A hash of a random password: verifying an unknown email against it costs the same as a real
// check, so response time does not reveal which addresses have accounts.
let decoyHash: Promise<string> | undefined;

/** The caller's address as the gateway recorded it (the first X-Forwarded-For entry). */
function clientAddress(header: string | undefined): string {
  return header?.split(',')[0]?.trim() || 'unknown';
}

export function createAccountApp(deps: AccountDeps) {
  const app = createApp<BlankEnv>({
    serviceName: 'account',
    description: 'Sign-up, login, refresh-token rotation and the JWKS.',
    ...(deps.bodyLimitBytes ? { bodyLimitBytes: deps.bodyLimitBytes } : {}),
    ...(deps.readiness ? { readiness: deps.readiness } : {}),
  });
  decoyHash ??= hash(crypto.randomUUID());

  async function session(userId: string, userRoles: Role[], familyId: string) {
    const now = new Date();
    const refreshToken = await storeRefreshToken(deps.db, {
      userId,
      familyId,
      expiresAt: new Date(now.getTime() + deps.refreshTokenTtlSeconds * 1000),
    });
    return sessionBody(userId, userRoles, refreshToken, now);
  }

  async function sessionBody(userId: string, userRoles: Role[], refreshToken: string, now: Date) {
    const accessToken = await issueAccessToken(
      { userId, roles: userRoles },
      await deps.keys.signingKey(),
      deps.accessToken,
      now,
    );
    return {
      userId,
      roles: userRoles,
      accessToken,
      tokenType: 'Bearer' as const,
      expiresIn: deps.accessToken.ttlSeconds,
      refreshToken,
      refreshExpiresIn: deps.refreshTokenTtlSeconds,
    };
  }

  // Chained, so the app's type carries its routes (typed clients in the tests).
  const auth = app
    .openapi(signupRoute, async (c) => {
      const { email, password } = c.req.valid('json');
      const weakness = passwordProblem(email, password);
      if (weakness) {
        problem(422, 'validation-failed', `invalid body: password`, {
          in: 'body',
          errors: [{ path: 'password', message: weakness }],
        });
      }
      // A taken email costs the same (the hash is made either way) and answers the same: the existing
      // account is left as it was, and only its owner's password logs into it.
      const userRoles = rolesFor(email, [], deps.adminEmails);
      await createUser(deps.db, { email, passwordHash: await hash(password), roles: userRoles });
      return c.json({ email }, 202);
    })
    .openapi(loginRoute, async (c) => {
      const { email, password } = c.req.valid('json');
      const from = clientAddress(c.req.header('x-forwarded-for'));
      const tooMany = (retryAfterSeconds: number): never =>
        problem(
          429,
          'too-many-login-attempts',
          `too many failed logins; try again in ${retryAfterSeconds} s`,
          { retryAfterSeconds },
          {
            headers: { 'retry-after': String(retryAfterSeconds) },
          },
        );

      const gate = await deps.throttle.check(email, from);
      if (!gate.allowed) tooMany(gate.retryAfterSeconds);

      const user = await findUserByEmail(deps.db, email);
      const normalised = password.normalize('NFKC');
      let valid = false;
      if (user) valid = await verify(user.passwordHash, normalised);
      else await verify(await decoyHash!, normalised);
      if (!user || !valid) {
        const after = await deps.throttle.failed(email, from);
        if (!after.allowed) tooMany(after.retryAfterSeconds);
        problem(
          401,
          'invalid-credentials',
          'wrong email or password',
          {},
          { headers: { 'www-authenticate': 'Bearer' } },
        );
      }
      await deps.throttle.succeeded(email, from);
      return c.json(
        await session(user.id, rolesFor(user.email, user.roles, deps.adminEmails), crypto.randomUUID()),
        200,
      );
    })
    .openapi(refreshRoute, async (c) => {
      const { refreshToken } = c.req.valid('json');
      const now = new Date();
      const stored = await findRefreshToken(deps.db, refreshToken);
      const decision = decideRefresh(stored, now);
      const refused = (detail: string): never =>
        problem(401, 'invalid-refresh-token', detail, {}, { headers: { 'www-authenticate': 'Bearer' } });
      switch (decision.kind) {
        case 'reject':
          return refused(`the refresh token is ${decision.reason}`);
        case 'revoke-family': {
          const revoked = await revokeFamily(deps.db, decision.familyId);
          c.get('log').warn(
            { family_id: decision.familyId, revoked },
            'rotated refresh token reused; family revoked',
          );
          return refused('the refresh token was already used; every session of that login is revoked');
        }
        case 'rotate': {
          const expiresAt = new Date(now.getTime() + deps.refreshTokenTtlSeconds * 1000);
          const next = await rotateRefreshToken(deps.db, decision.token, expiresAt);
          if (!next) {
            // A concurrent refresh spent it first: the same reuse as above.
            await revokeFamily(deps.db, decision.token.familyId);
            return refused('the refresh token was already used; every session of that login is revoked');
          }
          const user = await findUserById(deps.db, decision.token.userId);
          if (!user) return refused('the account no longer exists');
          return c.json(
            await sessionBody(user.id, rolesFor(user.email, user.roles, deps.adminEmails), next, now),
            200,
          );
        }
        default: {
          const unreachable: never = decision;
          throw new Error(`unknown refresh decision ${JSON.stringify(unreachable)}`);
        }
      }
    })
    .openapi(logoutRoute, async (c) => {
      const { refreshToken } = c.req.valid('json');
      const stored = await findRefreshToken(deps.db, refreshToken);
      // Logging out is idempotent and says nothing about whether the token existed.
      if (stored) await revokeFamily(deps.db, stored.familyId);
      return c.body(null, 204);
    });

  registerStaffRoutes(app, deps.db);

  return auth.openapi(jwksRoute, async (c) => {
    c.header('cache-control', 'public, max-age=60');
    return c.json((await deps.keys.jwks()) as z.infer<typeof Jwks>, 200);
  });
}
