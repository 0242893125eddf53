/**
 * A small multipart/form-data reader (RFC 7578) for the one endpoint that takes a form, audio
 * transcriptions. Bodies are buffered already; parts are sliced out of them, never copied.
 */

/** FormPart is one part: a field value, or an uploaded file when it has a filename. */
export interface FormPart {
  readonly name: string;
  readonly filename?: string;
  readonly data: Buffer;
}

function boundaryOf(contentType: string): string | undefined {
  if (!/^multipart\/form-data\s*;/i.test(contentType)) return undefined;
  const match = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType);
  return match?.[1] ?? match?.[2];
}

function parsePart(part: Buffer): FormPart | undefined {
  const end = part.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const head = part.subarray(0, end).toString('utf8');
  const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(head)?.[1] ?? '';
  const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1];
  if (name === undefined) return undefined;
  const filename = /;\s*filename="([^"]*)"/i.exec(disposition)?.[1];
  return { name, ...(filename === undefined ? {} : { filename }), data: part.subarray(end + 4) };
}

/**
 * parseMultipart splits a form body into its parts; undefined when the content type is not
 * multipart/form-data with a boundary or the closing delimiter is missing.
 */
export function parseMultipart(body: Buffer, contentType: string): FormPart[] | undefined {
  const boundary = boundaryOf(contentType);
  if (boundary === undefined) return undefined;
  // Every delimiter but the first follows a CRLF; prefixing one lets a single needle find them all.
  const text = Buffer.concat([Buffer.from('\r\n'), body]);
  const delimiter = Buffer.from(`\r\n--${boundary}`);
  const parts: FormPart[] = [];
  let start = text.indexOf(delimiter);
  while (start >= 0) {
    const after = start + delimiter.length;
    if (text.subarray(after, after + 2).toString() === '--') return parts;
    const next = text.indexOf(delimiter, after);
    if (next < 0) return undefined;
    // Skip the CRLF that ends the delimiter line.
    const part = parsePart(text.subarray(after + 2, next));
    if (part !== undefined) parts.push(part);
    start = next;
  }
  return undefined;
}
