// Peer addresses reported the same way on every runtime.

const IPV4_MAPPED = "::ffff:";

/** An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, from a dual-stack socket) as plain IPv4. */
export function _plainHostname(hostname: string | undefined): string {
  if (hostname === undefined) return "";
  return hostname.startsWith(IPV4_MAPPED) && hostname.includes(".")
    ? hostname.slice(IPV4_MAPPED.length)
    : hostname;
}
