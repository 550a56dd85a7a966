/**
 * Network prefix of a client address: IPv4 /24 and IPv6 /48 by default (configurable), in CIDR
 * form. Households and CGNAT pools rotate addresses inside such a prefix, so rules count networks.
 */
import { ipv4Number, ipv6Groups, unmapped } from '../../../core/ip.ts';

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
