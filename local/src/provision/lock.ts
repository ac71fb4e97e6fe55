// A cross-process lock on a file (O_EXCL create holding the owner's pid). A lock whose owner died is
// taken over. Waiting is bounded; concurrent provisioners wait for the one doing the work.
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { say } from '../progress.ts';
import { isAlive } from '../run.ts';

export async function withFileLock<T>(file: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  while (!tryAcquire(file)) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for the lock ${file}`);
    if (!announced) {
      say(`waiting for another provisioning run to finish (lock ${file})`);
      announced = true;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  try {
    return await work();
  } finally {
    rmSync(file, { force: true });
  }
}

function tryAcquire(file: string): boolean {
  try {
    const fd = openSync(file, 'wx');
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  const owner = Number(readFileSync(file, 'utf8').trim() || Number.NaN);
  // An empty file is a lock being written this instant: leave it alone.
  if (Number.isInteger(owner) && !isAlive(owner)) rmSync(file, { force: true });
  return false;
}
