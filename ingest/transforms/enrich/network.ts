/**
 * Network prefix of a client address: IPv4 /24 and IPv6 /48 by default (configurable), in CIDR
 * form. Households and CGNAT pools rotate addresses inside such a prefix, so rules count networks.
 */
import { isIPv4, isIPv6 } from 'node:net';

/** 16-bit groups of an IPv6 address (with an embedded IPv4 tail), or null. */
export function ipv6Groups(ip: string): number[] | null {
  if (!isIPv6(ip)) return null;
  let addr = ip;
  const zone = addr.indexOf('%');
  if (zone !== -1) addr = addr.slice(0, zone);
  let tail: number[] = [];
  const lastColon = addr.lastIndexOf(':');
  const last = addr.slice(lastColon + 1);
  if (last.includes('.')) {
    const p = last.split('.').map(Number);
    tail = [((p[0] ?? 0) << 8) | (p[1] ?? 0), ((p[2] ?? 0) << 8) | (p[3] ?? 0)];
    addr = `${addr.slice(0, lastColon + 1)}0`;
  }
  const [head, rest] = addr.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  if (tail.length) r.pop();
  const fill = 8 - tail.length - h.length - r.length;
  const groups = [
    ...h.map((g) => Number.parseInt(g, 16)),
    ...new Array(rest !== undefined ? fill : 0).fill(0),
    ...r.map((g) => Number.parseInt(g, 16)),
    ...tail,
  ];
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : null;
}

/** IPv4 address as an unsigned 32-bit number, or null. */
export function ipv4Number(ip: string): number | null {
  if (!isIPv4(ip)) return null;
  const p = ip.split('.');
  return ((Number(p[0]) << 24) >>> 0) + (Number(p[1]) << 16) + (Number(p[2]) << 8) + Number(p[3]);
}

/** IPv4-mapped IPv6 (::ffff:a.b.c.d) as its IPv4 address. */
function unmapped(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

/** CIDR of the client's network, e.g. 192.0.2.0/24 or 2001:db8:1::/48; null when not an IP. */
export function networkPrefix(ipRaw: string | null, v4Bits = 24, v6Bits = 48): string | null {
  if (!ipRaw) return null;
  const ip = unmapped(ipRaw.trim());
  const n = ipv4Number(ip);
  if (n !== null) {
    const mask = v4Bits === 0 ? 0 : (0xffffffff << (32 - v4Bits)) >>> 0;
    const net = (n & mask) >>> 0;
    return `${net >>> 24}.${(net >>> 16) & 255}.${(net >>> 8) & 255}.${net & 255}/${v4Bits}`;
  }
  const g = ipv6Groups(ip);
  if (!g) return null;
  const out = g.map((group, i) => {
    const bitsLeft = v6Bits - i * 16;
    if (bitsLeft >= 16) return group;
    if (bitsLeft <= 0) return 0;
    return group & ((0xffff << (16 - bitsLeft)) & 0xffff);
  });
  // Compress the trailing zero groups only (the prefix is what matters, and it stays unique).
  let end = 8;
  while (end > 0 && out[end - 1] === 0) end--;
  const head = out.slice(0, end).map((x) => x.toString(16));
  return `${head.join(':')}${end < 8 ? '::' : ''}/${v6Bits}`;
}
