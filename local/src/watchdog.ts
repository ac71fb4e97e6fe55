// Stops a run's processes once its owner is gone: `node watchdog.ts <run dir> <owner pid>`.
// Started detached by run.ts; exits quietly when the owner stops the run itself (SIGTERM).
import { isAlive, reapRun } from './run.ts';

const [dir, ownerArg] = process.argv.slice(2);
const owner = Number(ownerArg);
if (!dir || !Number.isInteger(owner)) process.exit(2);

const timer = setInterval(() => {
  if (isAlive(owner)) return;
  clearInterval(timer);
  reapRun(dir);
  process.exit(0);
}, 1000);
