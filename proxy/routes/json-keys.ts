/**
 * KeyConflict is a name an object of a JSON text carries twice: exactly (`kind: 'duplicate'`) or
 * differing only in letter case (`kind: 'case'`). `path` names the object (`''` for the top level,
 * `stream_options`, `messages[].content`), `key` the later of the two names.
 */
export interface KeyConflict {
  readonly path: string;
  readonly key: string;
  readonly kind: 'duplicate' | 'case';
}

/** FoldCase says for which objects (by path) keys differing only in case count as a conflict. */
export type FoldCase = (path: string) => boolean;

interface ObjectFrame {
  readonly kind: 'object';
  readonly path: string;
  readonly exact: Set<string>;
  readonly folded: Set<string> | undefined;
  /** expectKey is true right after `{` or `,`, where the next string is a name. */
  expectKey: boolean;
  /** lastKey is the name of the member whose value comes next. */
  lastKey: string;
}

interface ArrayFrame {
  readonly kind: 'array';
  readonly path: string;
}

type Frame = ObjectFrame | ArrayFrame;

/** Escapes remembers where the next backslash is, so that finding string ends stays linear overall. */
interface Escapes {
  next: number;
}

/** stringEnd returns the index of the quote closing the string that opens at `start`. */
function stringEnd(text: string, start: number, escapes: Escapes): number {
  let at = start + 1;
  for (;;) {
    const quote = text.indexOf('"', at);
    if (quote === -1) throw new SyntaxError('unterminated string');
    if (escapes.next < at) {
      const found = text.indexOf('\\', at);
      escapes.next = found === -1 ? Infinity : found;
    }
    if (escapes.next > quote) return quote;
    at = escapes.next + 2;
  }
}

/** decodeName reads a name as every conforming parser does: escapes (`\u0065`) resolved. */
function decodeName(literal: string): string {
  return literal.includes('\\') ? (JSON.parse(literal) as string) : literal.slice(1, -1);
}

function childPath(parent: Frame): string {
  const name = parent.kind === 'array' ? '[]' : parent.lastKey;
  if (parent.path === '') return name;
  return parent.kind === 'array' ? `${parent.path}[]` : `${parent.path}.${name}`;
}

function addName(frame: ObjectFrame, name: string): KeyConflict | undefined {
  if (frame.exact.has(name)) return { path: frame.path, key: name, kind: 'duplicate' };
  frame.exact.add(name);
  if (frame.folded === undefined) return undefined;
  const folded = name.toLowerCase();
  if (frame.folded.has(folded)) return { path: frame.path, key: name, kind: 'case' };
  frame.folded.add(folded);
  return undefined;
}

const WHITESPACE = new Set([' ', '\t', '\n', '\r', ':']);
const VALUE_END = new Set([',', '}', ']', ' ', '\t', '\n', '\r']);

/** Scan is the scanner's state: the open objects and arrays, innermost last. */
interface Scan {
  readonly text: string;
  readonly foldCase: FoldCase;
  readonly stack: Frame[];
  readonly escapes: Escapes;
}

function openContainer(scan: Scan, c: string): void {
  const top = scan.stack.at(-1);
  const path = top === undefined ? '' : childPath(top);
  scan.stack.push(c === '{'
    ? { kind: 'object', path, exact: new Set(), folded: scan.foldCase(path) ? new Set() : undefined, expectKey: true, lastKey: '' }
    : { kind: 'array', path });
}

/** string handles the string opening at `i`: a name is checked against its object's others. */
function readString(scan: Scan, i: number): { next: number; conflict?: KeyConflict } {
  const end = stringEnd(scan.text, i, scan.escapes);
  const top = scan.stack.at(-1);
  if (top?.kind !== 'object' || !top.expectKey) return { next: end + 1 };
  const name = decodeName(scan.text.slice(i, end + 1));
  top.expectKey = false;
  top.lastKey = name;
  return { next: end + 1, conflict: addName(top, name) };
}

/** skipScalar returns the index after the number, true, false or null starting at `i`. */
function skipScalar(text: string, i: number): number {
  let at = i;
  while (at < text.length && !VALUE_END.has(text.charAt(at))) at++;
  return at;
}

/**
 * findKeyConflict scans a JSON text that JSON.parse has already accepted for an object naming a
 * member twice. JSON.parse keeps the last of duplicate names while other parsers keep the first
 * or fail, and some (Go's encoding/json) match names case-insensitively, so a body with such
 * names can mean one thing to the proxy and another to the upstream. RFC 8259 §4 says names
 * SHOULD be unique; I-JSON (RFC 7493 §2.3) makes it a MUST. Exact duplicates count in every
 * object; case-only ones where `foldCase(path)` says so. The scan is iterative, so deep nesting
 * cannot overflow the stack, and linear in the text's length.
 */
export function findKeyConflict(text: string, foldCase: FoldCase): KeyConflict | undefined {
  const scan: Scan = { text, foldCase, stack: [], escapes: { next: -1 } };
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (c === '"') {
      const { next, conflict } = readString(scan, i);
      if (conflict !== undefined) return conflict;
      i = next;
      continue;
    }
    if (c === '{' || c === '[') openContainer(scan, c);
    else if (c === '}' || c === ']') scan.stack.pop();
    else if (c === ',') markNextKey(scan);
    else if (!WHITESPACE.has(c)) {
      i = skipScalar(text, i);
      continue;
    }
    i++;
  }
  return undefined;
}

function markNextKey(scan: Scan): void {
  const top = scan.stack.at(-1);
  if (top?.kind === 'object') top.expectKey = true;
}
