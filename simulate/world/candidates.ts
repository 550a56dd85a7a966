/** Well-known operators the network table is built from (verified against the databases by build-networks.ts). */
import type { CandidateNetwork } from './types.ts';

export const CANDIDATE_NETWORKS: ReadonlyArray<CandidateNetwork> = [
  { country: 'FR', asn: 3215, name: 'Orange', kind: 'fixed' },
  { country: 'FR', asn: 12322, name: 'Free', kind: 'fixed' },
  { country: 'FR', asn: 51207, name: 'Free Mobile', kind: 'mobile' },
  { country: 'FR', asn: 15557, name: 'SFR', kind: 'mobile' },
  { country: 'DE', asn: 3320, name: 'Deutsche Telekom', kind: 'fixed' },
  { country: 'DE', asn: 3209, name: 'Vodafone DE', kind: 'fixed' },
  { country: 'DE', asn: 6805, name: 'Telefonica DE', kind: 'mobile' },
  { country: 'GB', asn: 2856, name: 'BT', kind: 'fixed' },
  { country: 'GB', asn: 5089, name: 'Virgin Media', kind: 'fixed' },
  { country: 'GB', asn: 12576, name: 'EE', kind: 'mobile' },
  { country: 'GB', asn: 25135, name: 'Vodafone UK', kind: 'mobile' },
  { country: 'ES', asn: 3352, name: 'Telefonica ES', kind: 'fixed' },
  { country: 'ES', asn: 12479, name: 'Orange ES', kind: 'fixed' },
  { country: 'ES', asn: 12430, name: 'Vodafone ES', kind: 'mobile' },
  { country: 'IT', asn: 3269, name: 'Telecom Italia', kind: 'fixed' },
  { country: 'IT', asn: 12874, name: 'Fastweb', kind: 'fixed' },
  { country: 'IT', asn: 1267, name: 'Wind Tre', kind: 'mobile' },
  { country: 'NL', asn: 1136, name: 'KPN', kind: 'fixed' },
  { country: 'NL', asn: 33915, name: 'Ziggo', kind: 'fixed' },
  { country: 'NL', asn: 31615, name: 'Odido', kind: 'mobile' },
  { country: 'BE', asn: 5432, name: 'Proximus', kind: 'fixed' },
  { country: 'BE', asn: 6848, name: 'Telenet', kind: 'fixed' },
  { country: 'BE', asn: 47377, name: 'Orange Belgium', kind: 'mobile' },
  { country: 'LU', asn: 6661, name: 'POST Luxembourg', kind: 'fixed' },
  { country: 'LU', asn: 56665, name: 'Tango', kind: 'mobile' },
  { country: 'SE', asn: 3301, name: 'Telia', kind: 'fixed' },
  { country: 'SE', asn: 1257, name: 'Tele2', kind: 'mobile' },
  { country: 'PL', asn: 5617, name: 'Orange Polska', kind: 'fixed' },
  { country: 'PL', asn: 39603, name: 'P4 Play', kind: 'mobile' },
  { country: 'US', asn: 7922, name: 'Comcast', kind: 'fixed' },
  { country: 'US', asn: 7018, name: 'AT&T', kind: 'fixed' },
  { country: 'US', asn: 22394, name: 'Verizon Wireless', kind: 'mobile' },
  { country: 'US', asn: 21928, name: 'T-Mobile US', kind: 'mobile' },
  { country: 'BR', asn: 28573, name: 'Claro BR', kind: 'fixed' },
  { country: 'BR', asn: 26599, name: 'Vivo', kind: 'mobile' },
  { country: 'IN', asn: 55836, name: 'Reliance Jio', kind: 'mobile' },
  { country: 'IN', asn: 24560, name: 'Airtel', kind: 'fixed' },
  { country: 'TR', asn: 9121, name: 'Turk Telekom', kind: 'fixed' },
  { country: 'MX', asn: 8151, name: 'Telmex', kind: 'fixed' },
  { country: 'ID', asn: 7713, name: 'Telkom Indonesia', kind: 'fixed' },
  { country: 'VN', asn: 7552, name: 'Viettel', kind: 'mobile' },
  { country: 'PH', asn: 9299, name: 'PLDT', kind: 'fixed' },
  { country: 'EG', asn: 8452, name: 'TE Data', kind: 'fixed' },
  { country: 'AR', asn: 7303, name: 'Telecom Argentina', kind: 'fixed' },
  { country: 'ZA', asn: 36994, name: 'Vodacom', kind: 'mobile' },
  { country: 'US', asn: 16509, name: 'Amazon AWS', kind: 'datacenter' },
  { country: 'US', asn: 14061, name: 'DigitalOcean', kind: 'datacenter' },
  { country: 'FR', asn: 16276, name: 'OVH', kind: 'datacenter' },
  { country: 'DE', asn: 24940, name: 'Hetzner', kind: 'datacenter' },
  { country: 'NL', asn: 20473, name: 'Vultr', kind: 'datacenter' },
  { country: 'GB', asn: 9009, name: 'M247', kind: 'datacenter' },
  { country: 'NL', asn: 60068, name: 'Datacamp', kind: 'datacenter' },
];

/**
 * Networks of the legitimate classes that model geolocation error (docs/simulate.md, "Legitimate
 * population: classes and sources"): the neighbours of border households (CH, AT, DK, CA), Starlink
 * (its addresses geolocate to the country of the PoP / geofeed entry, not of the dish) and in-flight
 * connectivity providers (the aircraft's traffic leaves through the provider's ground network,
 * geolocated to the provider's country). Built into EXTRA_NETWORKS, apart from NETWORKS, so the
 * draws of the classes built on NETWORKS (pirates' residential networks, ...) do not move.
 * `scattered`: the operator's space is spread over many countries, so runs of /24s shorter than a
 * block are taken, each /24 checked.
 */
export const EXTRA_CANDIDATE_NETWORKS: ReadonlyArray<CandidateNetwork & { scattered?: boolean }> = [
  { country: 'CH', asn: 3303, name: 'Swisscom', kind: 'fixed' },
  { country: 'CH', asn: 6730, name: 'Sunrise', kind: 'mobile' },
  { country: 'AT', asn: 8447, name: 'A1 Telekom Austria', kind: 'fixed' },
  { country: 'AT', asn: 8412, name: 'Magenta Telekom AT', kind: 'mobile' },
  { country: 'DK', asn: 3292, name: 'TDC', kind: 'fixed' },
  { country: 'DK', asn: 9158, name: 'Telenor DK', kind: 'mobile' },
  { country: 'CA', asn: 577, name: 'Bell Canada', kind: 'fixed' },
  { country: 'CA', asn: 812, name: 'Rogers', kind: 'mobile' },
  { country: 'FR', asn: 14593, name: 'Starlink', kind: 'satellite', scattered: true },
  { country: 'DE', asn: 14593, name: 'Starlink', kind: 'satellite', scattered: true },
  { country: 'GB', asn: 14593, name: 'Starlink', kind: 'satellite', scattered: true },
  { country: 'IT', asn: 14593, name: 'Starlink', kind: 'satellite', scattered: true },
  { country: 'ES', asn: 14593, name: 'Starlink', kind: 'satellite', scattered: true },
  { country: 'US', asn: 7155, name: 'Viasat', kind: 'inflight', scattered: true },
  { country: 'US', asn: 64294, name: 'Panasonic Avionics', kind: 'inflight', scattered: true },
  { country: 'GB', asn: 22351, name: 'Intelsat', kind: 'inflight', scattered: true },
];
