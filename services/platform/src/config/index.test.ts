import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  baseConfigShape,
  booleanFromString,
  databaseConfigShape,
  durationFromString,
  intFromString,
  misnamedDurations,
  parseConfig,
} from './index.ts';

const shape = { ...baseConfigShape, ...databaseConfigShape };
const minimal = { SERVICE_NAME: 'inventory', DATABASE_URL: 'postgres://u@127.0.0.1:5432/inventory' };

describe('parseConfig', () => {
  it('applies the documented defaults', () => {
    const result = parseConfig(shape, minimal);
    expect(result).toEqual({
      ok: true,
      config: {
        ...minimal,
        PORT: 3000,
        HOST: '0.0.0.0',
        DAPR_HOST: '127.0.0.1',
        DAPR_HTTP_PORT: 3500,
        DAPR_GRPC_PORT: 50001,
        DAPR_TIMEOUT_MS: 5000,
        PUBSUB_NAME: 'pubsub',
        STATESTORE_NAME: 'statestore',
        LOCKSTORE_NAME: 'lockstore',
        LOG_LEVEL: 'info',
        BODY_LIMIT_BYTES: 65536,
        SHUTDOWN_TIMEOUT_MS: 10000,
        DATABASE_WAIT_MS: 90000,
      },
    });
  });

  it('names a missing variable and what it should hold, on one line', () => {
    const result = parseConfig(shape, { SERVICE_NAME: 'inventory' });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.variables).toEqual(['DATABASE_URL']);
    expect(result.message).toBe(
      'invalid configuration: DATABASE_URL is missing (expected a URL starting with postgres:// or postgresql://)',
    );
    expect(result.message).not.toContain('\n');
  });

  it('treats an empty value as missing', () => {
    const result = parseConfig(shape, { ...minimal, SERVICE_NAME: '' });
    expect(result.ok ? [] : result.variables).toEqual(['SERVICE_NAME']);
  });

  it('names every malformed variable without echoing its value (it may be a secret)', () => {
    const result = parseConfig(shape, {
      ...minimal,
      PORT: '99999',
      DATABASE_URL: 'mysql://root:hunter2@db/x',
      LOG_LEVEL: 'loud',
    });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.variables.sort()).toEqual(['DATABASE_URL', 'LOG_LEVEL', 'PORT']);
    expect(result.message).toContain('PORT is malformed (expected an integer from 0 to 65535)');
    expect(result.message).toContain('LOG_LEVEL is malformed (expected one of fatal, error');
    expect(result.message).not.toContain('hunter2');
    expect(result.message).not.toContain('99999');
  });

  it('accepts a service’s own keys next to the base ones', () => {
    const result = parseConfig(
      {
        ...shape,
        HOLD_TTL_MS: durationFromString().default(600_000),
        SEED: booleanFromString().default(false),
      },
      { ...minimal, HOLD_TTL_MS: '15m', SEED: 'yes' },
    );
    expect(result.ok && [result.config.HOLD_TTL_MS, result.config.SEED]).toEqual([900_000, true]);
  });
});

describe('value readers', () => {
  it('durations take ms, s, m, h or a bare number of ms', () => {
    const duration = durationFromString();
    expect(['250', '250ms', '3s', '2m', '1h'].map((text) => duration.parse(text))).toEqual([
      250, 250, 3000, 120_000, 3_600_000,
    ]);
    for (const bad of ['', 'soon', '1.5s', '-1s', '10 minutes'])
      expect(duration.safeParse(bad).success).toBe(false);
  });

  it('a duration in seconds counts a bare number in seconds and refuses a part of one', () => {
    const seconds = durationFromString({ unit: 's', min: 10, max: 3600 });
    expect(['90', '90s', '2m', '1h', '30000ms'].map((text) => seconds.parse(text))).toEqual([
      90, 90, 120, 3600, 30,
    ]);
    for (const bad of ['1500ms', '5', '2h', '1.5m']) expect(seconds.safeParse(bad).success).toBe(false);
  });

  it('the naming rule: a duration names its unit, and only a duration does', () => {
    expect(misnamedDurations(shape)).toEqual([]);
    expect(
      misnamedDurations({
        HOLD_TTL_SECONDS: durationFromString({ unit: 's' }).default(600),
        POLL_MS: durationFromString().optional(),
        POLL_INTERVAL: durationFromString().default(1000),
        TTL_SECONDS: intFromString(),
        GRACE_MS: durationFromString({ unit: 's' }),
      }),
    ).toEqual(['POLL_INTERVAL', 'TTL_SECONDS', 'GRACE_MS']);
  });

  it('names its unit and bounds when it refuses', () => {
    const result = parseConfig(
      { PASS_TTL_SECONDS: durationFromString({ unit: 's', min: 10, max: 3600 }) },
      { PASS_TTL_SECONDS: '2h' },
    );
    expect(result.ok || result.message).toBe(
      'invalid configuration: PASS_TTL_SECONDS is malformed (expected a duration in whole seconds from 10 to 3600, such as 90, 30s, 5m or 1h)',
    );
  });

  it('integers round-trip within bounds and are refused outside them', () => {
    const reader = intFromString({ min: -50, max: 50 });
    fc.assert(
      fc.property(fc.integer({ min: -200, max: 200 }), (n) => {
        const result = reader.safeParse(String(n));
        expect(result.success).toBe(n >= -50 && n <= 50);
        if (result.success) expect(result.data).toBe(n);
      }),
    );
    expect(reader.safeParse('12abc').success).toBe(false);
  });

  it('booleans read the usual spellings and nothing else', () => {
    const reader = booleanFromString();
    expect(['true', 'TRUE', '1', 'yes', 'on'].every((t) => reader.parse(t) === true)).toBe(true);
    expect(['false', '0', 'No', 'off'].map((t) => reader.parse(t))).toEqual([false, false, false, false]);
    expect(reader.safeParse('maybe').success).toBe(false);
  });

  it('optional keys stay undefined when unset', () => {
    const result = parseConfig({ EXTRA: z.string().optional() }, {});
    expect(result).toEqual({ ok: true, config: {} });
  });
});
