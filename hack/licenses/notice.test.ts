import { describe, expect, it } from 'vitest';
import { isCopyleft, renderNotice, sourceUrl } from './notice.ts';

describe('the NOTICE file', () => {
  it('names each copyleft component with its source and licence text, then every component by licence', () => {
    const notice = renderNotice([
      { name: 'fastify', version: '5.0.0', license: 'MIT', source: 'https://github.com/fastify/fastify' },
      { name: '@tinfoilsh/verifier', version: '1.1.0', license: 'AGPL-3.0-or-later', source: 'https://github.com/tinfoilsh/tinfoil-js' },
      { name: 'pino', version: '10.0.0', license: 'MIT' },
    ]);
    expect(notice).toContain('Apache License, Version 2.0 (LICENSE)');
    expect(notice).toContain('@tinfoilsh/verifier 1.1.0 (AGPL-3.0-or-later)\n  source: https://github.com/tinfoilsh/tinfoil-js\n  licence text: docs/licenses/AGPL-3.0.txt');
    expect(notice).toContain('MIT (2)\n  fastify 5.0.0\n  pino 10.0.0');
    expect(renderNotice([{ name: 'a', version: '1', license: 'MIT' }])).toContain('Components under copyleft licences\n-----------------------------------\n(none)');
  });

  it('recognises GPL-family licences and normalises repository fields', () => {
    expect(['AGPL-3.0-or-later', 'GPL-2.0', 'LGPL-3.0', 'MIT OR GPL-3.0'].map(isCopyleft)).toEqual([true, true, true, true]);
    expect(['MIT', 'Apache-2.0', 'ISC', 'BSD-3-Clause'].map(isCopyleft)).toEqual([false, false, false, false]);
    expect(sourceUrl({ type: 'git', url: 'git+https://github.com/tinfoilsh/tinfoil-js.git' })).toBe('https://github.com/tinfoilsh/tinfoil-js');
    expect(sourceUrl('fastify/fastify')).toBe('https://github.com/fastify/fastify');
    expect(sourceUrl(undefined)).toBeUndefined();
  });
});
