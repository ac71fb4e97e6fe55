// `npm start` as a user runs it: it brings the stack up and prints the URLs, a demo administrator
// and a walkthrough that, pasted as printed, books a ticket to CONFIRMED; Ctrl-C (SIGINT to the
// whole foreground process group) stops everything, leaving no process and no listening port.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { canBind, presentServices, provisionChromium, repoRoot } from '@reservex/local';
import { launch } from 'puppeteer-core';
import { describe, expect, it } from 'vitest';

/** Pids of live processes whose environment says they belong to a run under `runDir`. */
function processesOf(runDir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0');
      if (environ.some((v) => v.startsWith(`RESERVEX_RUN=${runDir}`))) pids.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return pids;
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function waitForOutput(
  child: ChildProcess,
  output: () => string,
  marker: string,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "${marker}" after ${timeoutMs} ms:\n${output()}`)),
      timeoutMs,
    );
    const check = () => {
      if (output().includes(marker)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}) before it was up:\n${output()}`));
    });
  });
}

/** How npm ended: a clean exit, or (like any shell job stopped by Ctrl-C) the SIGINT re-raised. */
function exited(child: ChildProcess, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    if (child.exitCode !== null || child.signalCode !== null)
      return resolve(`${child.exitCode ?? child.signalCode}`);
    const timer = setTimeout(
      () => reject(new Error(`still running ${timeoutMs} ms after Ctrl-C`)),
      timeoutMs,
    );
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(`${code ?? signal}`);
    });
  });
}

/** The commands of the printed walkthrough: the indented block after "paste into another terminal:". */
function walkthroughOf(stdout: string): string {
  const lines = stdout.split('\n');
  const start = lines.findIndex((line) => line.endsWith('paste into another terminal:'));
  expect(start).toBeGreaterThan(-1);
  const block: string[] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('  ')) break;
    block.push(line.slice(2));
  }
  return block.join('\n');
}

const runScript = (script: string, timeoutMs: number) =>
  promisify(execFile)('bash', ['-c', script], { encoding: 'utf8', timeout: timeoutMs });

type JaegerTrace = {
  spans: { processID: string; tags: { key: string; value: unknown }[] }[];
  processes: Record<string, { serviceName: string; tags: { key: string; value: unknown }[] }>;
};

async function traceOf(jaegerUrl: string, traceId: string): Promise<JaegerTrace | undefined> {
  const response = await fetch(`${jaegerUrl}/api/traces/${traceId}`);
  if (!response.ok) return undefined;
  return ((await response.json()) as { data: JaegerTrace[] }).data[0];
}

/** Which services a trace has spans of: their own, their sidecar's (daprd), their database statements'. */
function spanKinds(trace: JaegerTrace | undefined) {
  const services = new Set<string>();
  const sidecars = new Set<string>();
  const databases = new Set<string>();
  for (const span of trace?.spans ?? []) {
    const process = trace!.processes[span.processID]!;
    const daprd = span.tags.some((t) => t.key === 'otel.scope.name' && t.value === 'dapr-diagnostics');
    (daprd ? sidecars : services).add(process.serviceName);
    if (span.tags.some((t) => t.key === 'db.system.name' && t.value === 'postgresql'))
      databases.add(process.serviceName);
  }
  return { services: [...services].sort(), sidecars: [...sidecars].sort(), databases: [...databases].sort() };
}

/** The services the trace page lists once it has drawn the trace, in headless chromium; a screenshot is kept. */
async function tracePageServices(url: string, screenshot: string): Promise<string[]> {
  const browser = await launch({
    executablePath: await provisionChromium(),
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1400, height: 1000 });
    await page.goto(url, { timeout: 20_000 });
    await page.waitForSelector('body[data-loaded]', { timeout: 20_000 });
    expect(await page.$eval('body', (body) => body.dataset.loaded)).toBe('true');
    expect((await page.$$('.row')).length).toBeGreaterThan(20);
    await page.screenshot({ path: screenshot as `${string}.png`, fullPage: true });
    return await page.$$eval('#services span', (chips) => chips.map((chip) => chip.textContent ?? ''));
  } finally {
    await browser.close();
  }
}

describe('npm start', () => {
  it('brings the stack up, prints its URLs, and Ctrl-C leaves nothing running', {
    timeout: 400_000,
  }, async () => {
    let stdout = '';
    let stderr = '';
    const child = spawn('npm', ['start'], {
      cwd: repoRoot,
      detached: true, // its own process group, like a shell job, so a "Ctrl-C" reaches all of it
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}` },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    try {
      await waitForOutput(child, () => stdout + stderr, 'Ctrl-C stops everything', 300_000);
    } catch (error) {
      process.kill(-child.pid!, 'SIGKILL');
      throw error;
    }

    const runDir = /Logs: (\S+) /.exec(stdout)?.[1];
    expect(runDir).toBeDefined();
    const urls = [...stdout.matchAll(/http:\/\/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
    const ports = [...urls, ...[...stdout.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]))];
    expect(stdout).toMatch(/Traces\s+http:\/\/127\.0\.0\.1:\d+/);
    for (const service of presentServices()) {
      expect(stdout).toMatch(new RegExp(`${service.appId}\\s+http://127\\.0\\.0\\.1:\\d+`));
    }
    expect(stdout).not.toContain('FAILED TO START');
    expect(processesOf(runDir!).length).toBeGreaterThan(4);

    // The demo administrator it prints signs in through the gateway with the ADMIN role.
    const gateway = /gateway\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    const admin = /Admin\s+(\S+) \/ (.+?) {3}/.exec(stdout);
    expect(admin).not.toBeNull();
    const login = await fetch(`${gateway}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: admin![1], password: admin![2] }),
    });
    expect(login.status).toBe(200);
    expect(((await login.json()) as { roles: string[] }).roles).toContain('ADMIN');

    // The walkthrough, pasted as printed into a shell, books the demo show and ends CONFIRMED.
    const booked = await runScript(walkthroughOf(stdout), 120_000);
    expect(booked.stderr).toBe('');
    expect(booked.stdout).toMatch(/"status": "CONFIRMED"/);

    // Its trace holds the gateway, every saga service, their sidecars and their database work…
    const jaegerUrl = /Traces\s+(http:\/\/127\.0\.0\.1:\d+)/.exec(stdout)?.[1];
    const traceId = /trace: http:\S+\/trace\/([0-9a-f]{32})/.exec(booked.stdout)?.[1];
    expect(traceId, booked.stdout).toBeDefined();
    const saga = ['gateway', 'reservation', 'inventory', 'payment', 'ticket', 'query', 'queue'];
    await expect
      .poll(async () => spanKinds(await traceOf(jaegerUrl!, traceId!)), { timeout: 30_000, interval: 500 })
      .toEqual(
        expect.objectContaining({
          services: expect.arrayContaining(saga),
          sidecars: expect.arrayContaining(saga),
          databases: expect.arrayContaining(['reservation', 'inventory', 'payment', 'ticket', 'query']),
        }),
      );

    // …and the trace page shows it in a real browser.
    const shown = await tracePageServices(`${jaegerUrl}/trace/${traceId}`, join(runDir!, 'trace-page.png'));
    expect(shown).toEqual(expect.arrayContaining(saga));

    // A process dying on its own is announced, loudly, while the rest keeps running.
    const jaeger = processesOf(runDir!).find((pid) => commandOf(pid).includes('jaeger.yaml'));
    process.kill(jaeger!, 'SIGKILL');
    await waitForOutput(child, () => stderr, 'jaeger exited unexpectedly', 10_000);

    process.kill(-child.pid!, 'SIGINT');
    expect(['0', 'SIGINT']).toContain(await exited(child, 90_000));
    expect(stderr).toContain('nothing left running');
    expect(processesOf(runDir!)).toEqual([]);
    for (const port of new Set(ports)) expect(await canBind(port), `port ${port} still in use`).toBe(true);
  });
});
