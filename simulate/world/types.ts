/**
 * Kind of network: residential fixed line, mobile carrier, hosting / VPN datacenter, satellite
 * home internet (Starlink), or in-flight connectivity.
 */
export type NetworkKind = 'fixed' | 'mobile' | 'datacenter' | 'satellite' | 'inflight';

/** A real operator's IPv4 space the simulator draws client addresses from. */
export interface NetworkSpec {
  /** ISO 3166-1 alpha-2 country the geo database places these blocks in. */
  country: string;
  asn: number;
  name: string;
  kind: NetworkKind;
  /** [first address as uint32, number of /24s]. */
  blocks: ReadonlyArray<readonly [number, number]>;
  /** IPv6 space of fixed-line operators: [first /48 as its top 48 bits, number of /48s]. */
  blocks6?: ReadonlyArray<readonly [number, number]>;
}

export interface CandidateNetwork {
  country: string;
  asn: number;
  name: string;
  kind: NetworkKind;
}

export interface City {
  name: string;
  country: string;
  /** Degrees. */
  lat: number;
  lon: number;
}
