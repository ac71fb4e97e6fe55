// Progress lines on stderr, so stdout stays free for what a command is asked to print.
export function say(line: string): void {
  process.stderr.write(`[reservex] ${line}\n`);
}

export function elapsed(since: number): string {
  return `${((performance.now() - since) / 1000).toFixed(1)}s`;
}
