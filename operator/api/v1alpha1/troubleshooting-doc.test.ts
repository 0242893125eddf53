import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REASONS, type Reason } from './conditions.ts';

/** DocumentedReason is one row of the condition reasons table in docs/troubleshooting.md. */
interface DocumentedReason {
  readonly type: string;
  readonly status: string;
  readonly meaning: string;
  readonly action: string;
}

const DOC = new URL('../../../docs/troubleshooting.md', import.meta.url);

/** section is the text of the `## Condition reasons` section, up to the next `## ` heading. */
const section = (text: string): string => {
  const start = text.indexOf('\n## Condition reasons\n');
  expect(start, 'docs/troubleshooting.md has a "## Condition reasons" section').toBeGreaterThan(-1);
  const rest = text.slice(start + 1);
  const end = rest.indexOf('\n## ', 1);
  return end === -1 ? rest : rest.slice(0, end);
};

/** documented reads the rows `| Type | `Reason` | Status | meaning | what to do |`; a reason listed twice is kept twice. */
const documented = (): { rows: Map<string, DocumentedReason>; names: string[] } => {
  const rows = new Map<string, DocumentedReason>();
  const names: string[] = [];
  for (const match of section(readFileSync(DOC, 'utf8')).matchAll(/^\| (\w+) \| `(\w+)` \| (\w+) \| ([^|]*) \| ([^|]*) \|$/gm)) {
    const [, type = '', reason = '', status = '', meaning = '', action = ''] = match;
    names.push(reason);
    rows.set(reason, { type, status, meaning: meaning.trim(), action: action.trim() });
  }
  return { rows, names };
};

describe('docs/troubleshooting.md', () => {
  it('has one row for every reason of the catalogue and none for a reason it lacks', () => {
    const { names } = documented();
    expect(names.length, 'a reason is listed twice').toBe(new Set(names).size);
    expect([...names].sort()).toEqual(Object.keys(REASONS).sort());
  });

  it('gives each reason the condition and status the catalogue does, a meaning and what to do', () => {
    const { rows } = documented();
    for (const reason of Object.keys(REASONS) as Reason[]) {
      const row = rows.get(reason);
      expect(row, reason).toBeDefined();
      expect({ type: row?.type, status: row?.status }, reason).toEqual({ type: REASONS[reason].type, status: REASONS[reason].status });
      expect(row?.meaning, `${reason}: what it means`).not.toBe('');
      expect(row?.action, `${reason}: what to do`).not.toBe('');
    }
  });
});
