/** `Bearer <token>`: the scheme is case-insensitive (RFC 9110 §11.1), one or more spaces follow it. */
const BEARER = /^bearer +(\S+)$/i;

/** The token of an Authorization header, or undefined when the header is not a bearer credential. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}
