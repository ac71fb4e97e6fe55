// services/Dockerfile, the image of every service, read the way the chart, Tilt and image checks need
// it: its stages by name and each stage's instructions (continuation lines joined, comments dropped).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from './tools.ts';

/** Path from the repository root, as Tilt and the README name it. */
export const DOCKERFILE = 'services/Dockerfile';

export interface Instruction {
  keyword: string;
  args: string;
}

export interface Stage {
  name: string;
  base: string;
  instructions: Instruction[];
}

export interface Dockerfile {
  text: string;
  /** ARGs before the first FROM. */
  globalArgs: Instruction[];
  stages: Stage[];
}

export function readDockerfile(): Dockerfile {
  const text = readFileSync(join(repoRoot, DOCKERFILE), 'utf8');
  const lines = text
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const line of lines) {
    const [, keyword = '', args = ''] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const instruction = { keyword: keyword.toUpperCase(), args };
    if (instruction.keyword === 'FROM') {
      const from = /^(\S+) AS (\S+)$/i.exec(args);
      if (!from?.[1] || !from[2]) throw new Error(`${DOCKERFILE}: unnamed stage "FROM ${args}"`);
      stages.push({ base: from[1], name: from[2], instructions: [] });
    } else if (stages.length === 0) {
      globalArgs.push(instruction);
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return { text, globalArgs, stages };
}

export function stageOf(dockerfile: Dockerfile, name: string): Stage {
  const stage = dockerfile.stages.find((s) => s.name === name);
  if (!stage) throw new Error(`${DOCKERFILE} has no stage ${name}`);
  return stage;
}

/** The arguments of a stage's instructions of one kind, in order. */
export function argsOf(stage: Stage, keyword: string): string[] {
  return stage.instructions.filter((i) => i.keyword === keyword).map((i) => i.args);
}

/** ENV instructions as a map (`ENV A=1 B=2`; values with no spaces). */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const args of argsOf(stage, 'ENV'))
    for (const pair of args.split(/\s+/)) {
      const [name, ...value] = pair.split('=');
      if (name) env[name] = value.join('=');
    }
  return env;
}

/** The exec-form CMD of a stage. */
export function cmdOf(stage: Stage): string[] {
  const [cmd] = argsOf(stage, 'CMD').slice(-1);
  if (!cmd?.startsWith('[')) throw new Error(`${DOCKERFILE}: stage ${stage.name} has no exec-form CMD`);
  return JSON.parse(cmd) as string[];
}
