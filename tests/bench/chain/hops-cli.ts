// The per-hop breakdown of a kept run: `npm run bench:hops -- <file>` reads what
// `npm run bench -- --traces-out <file>` wrote (one saga trace a line, with its system and round) and
// prints, per system, the median of each phase of each hop over the rounds.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import {
  BREAKDOWN_HEADER,
  type Breakdown,
  breakdown,
  breakdownRows,
  type JaegerTrace,
  mergeBreakdowns,
} from './hops.ts';

const [file, ...rest] = process.argv.slice(2);
if (!file || rest.length > 0) {
  console.error('usage: npm run bench:hops -- <file written by npm run bench -- --traces-out <file>>');
  process.exit(2);
}
const traces = new Map<string, Map<number, JaegerTrace[]>>();
try {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  let number = 0;
  for await (const line of lines) {
    number++;
    if (!line.trim()) continue;
    let kept: { system: string; round: number; trace: JaegerTrace };
    try {
      kept = JSON.parse(line);
    } catch {
      console.error(`${file}:${number}: not a kept trace (JSON with system, round and trace)`);
      process.exit(2);
    }
    const rounds = traces.get(kept.system) ?? new Map<number, JaegerTrace[]>();
    traces.set(kept.system, rounds);
    rounds.set(kept.round, [...(rounds.get(kept.round) ?? []), kept.trace]);
  }
} catch (error) {
  console.error(`cannot read ${file}: ${(error as Error).message}`);
  process.exit(2);
}
const rows: string[] = [];
for (const [system, rounds] of traces) {
  const perRound: Breakdown[][] = [...rounds.values()].map((list) => breakdown(list));
  rows.push(...breakdownRows(`${system} (${rounds.size} rounds)`, mergeBreakdowns(perRound)));
}
process.stdout.write(`${[...BREAKDOWN_HEADER, ...rows].join('\n')}\n`);
