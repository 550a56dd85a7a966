/**
 * IP address text as numbers: what ingest's network / geo enrichment and the detector's network
 * binding checks share. Pure; IPv4-mapped IPv6 (::ffff:a.b.c.d) counts as its IPv4 address.
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
export function unmapped(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip;
}

/** An address as its 4 (IPv4) or 16 (IPv6) bytes; null when the text is not an address. */
export function ipBytes(text: string): Buffer | null {
  const ip = unmapped(text.trim());
  const n = ipv4Number(ip);
  if (n !== null) {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  }
  const g = ipv6Groups(ip);
  if (!g) return null;
  const b = Buffer.alloc(16);
  for (let i = 0; i < 8; i++) b.writeUInt16BE(g[i]!, i * 2);
  return b;
}

/** Whether `address` lies in the prefix `network`/`bits` (both from ipBytes; families must match). */
export function inPrefix(address: Buffer, network: Buffer, bits: number): boolean {
  if (address.length !== network.length || bits < 0 || bits > address.length * 8) return false;
  const whole = bits >>> 3;
  for (let i = 0; i < whole; i++) if (address[i] !== network[i]) return false;
  const rest = bits & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (address[whole]! & mask) === (network[whole]! & mask);
}
