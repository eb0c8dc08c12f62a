// One encoder for the shims whose sockets take only bytes (Deno, Bun).

/** Encodes the strings a connection writes. */
export const _utf8: { encode(input: string): Uint8Array } = new TextEncoder();
