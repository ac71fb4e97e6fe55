// Writes charts/reservex/files/access.json from the contracts' invocation table and topology:
//   node tests/e2e/chart/access-document.ts
// The chart policy test fails when the file and the contracts disagree.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { accessDocument } from '@reservex/contracts';

export const accessDocumentFile = join(import.meta.dirname, '../../../charts/reservex/files/access.json');

export function renderAccessDocument(): string {
  return `${JSON.stringify(accessDocument(), null, 2)}\n`;
}

if (import.meta.main) writeFileSync(accessDocumentFile, renderAccessDocument());
