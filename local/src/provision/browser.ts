// A headless browser for the tests that look at a page the way a person does (the trace page):
// Debian's chromium, installed with apt-get on first use. Only those tests ask for it, so `npm start`
// never downloads a browser.
import { join } from 'node:path';
import { cacheDir } from '../paths.ts';
import { elapsed, say } from '../progress.ts';
import { isExecutable, onPath, runCommand } from './command.ts';
import { withFileLock } from './lock.ts';

export function findChromium(): string | undefined {
  return (
    process.env.RESERVEX_CHROMIUM ??
    onPath('chromium') ??
    ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find(isExecutable)
  );
}

export async function provisionChromium(cache = cacheDir()): Promise<string> {
  const found = findChromium();
  if (found) return found;
  return withFileLock(join(cache, 'browser.lock'), 20 * 60_000, async () => {
    const again = findChromium();
    if (again) return again;
    if (process.getuid?.() !== 0) {
      throw new Error('chromium is needed to look at the trace page: sudo apt-get install -y chromium');
    }
    const started = performance.now();
    say('chromium: installing with apt-get');
    const options = {
      logFile: join(cache, 'logs', 'provision-chromium.log'),
      env: { DEBIAN_FRONTEND: 'noninteractive' },
      timeoutMs: 15 * 60_000,
    };
    // Another apt-get (the provisioning of Postgres and Redis) may hold dpkg's lock: wait for it.
    const wait = ['-o', 'DPkg::Lock::Timeout=600'];
    await runCommand('apt-get', [...wait, 'update', '-q'], options);
    await runCommand(
      'apt-get',
      [...wait, 'install', '-y', '-q', '--no-install-recommends', 'chromium'],
      options,
    );
    const installed = findChromium();
    if (!installed) throw new Error('apt-get finished but chromium is still missing');
    say(`chromium: installed in ${elapsed(started)}`);
    return installed;
  });
}

if (import.meta.main) process.stdout.write(`${await provisionChromium()}\n`);
