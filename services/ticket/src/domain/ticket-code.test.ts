import { describe, expect, it } from 'vitest';
import { createTicketSigner, newTicketCode, TicketCode } from './ticket-code.ts';

describe('newTicketCode', () => {
  it('is at least 128 random bits, url-safe, and never repeats', () => {
    const codes = new Set(Array.from({ length: 1000 }, newTicketCode));
    expect(codes.size).toBe(1000);
    for (const code of codes) {
      expect(Buffer.from(code, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
      expect(TicketCode.safeParse(code).success).toBe(true);
    }
  });
});

describe('ticket signer', () => {
  const signer = createTicketSigner('a-test-secret-of-at-least-32-characters!');
  const pass = {
    ticketId: '5b1e6f0a-1c2d-4e3f-8a9b-0c1d2e3f4a5b',
    showId: '9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d',
    code: newTicketCode(),
  };

  it('signs a payload it can verify, the same way every time', async () => {
    const token = await signer.sign(pass);
    expect(await signer.sign(pass)).toBe(token);
    expect(await signer.verify(token)).toEqual(pass);
  });

  it('rejects a payload signed with another secret or tampered with', async () => {
    const forged = await createTicketSigner('another-secret-of-at-least-32-characters').sign(pass);
    await expect(signer.verify(forged)).rejects.toThrow();
    const [header, , signature] = (await signer.sign(pass)).split('.');
    const body = Buffer.from(
      JSON.stringify({ sub: pass.ticketId, show: pass.showId, code: 'x'.repeat(27), typ: 'ticket' }),
    ).toString('base64url');
    await expect(signer.verify(`${header}.${body}.${signature}`)).rejects.toThrow();
  });
});
