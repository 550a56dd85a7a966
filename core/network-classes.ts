/**
 * Networks whose addresses IP geolocation places badly, by ASN. A position from one of them is
 * not evidence of where the viewer is:
 * - satellite and in-flight links leave the internet at a ground station or gateway that can be
 *   in another country than the dish or the plane (Starlink, Viasat, Hughes, Inmarsat, Intelsat /
 *   Gogo, Panasonic Avionics, SITA OnAir, Eutelsat / OneWeb, Telesat, Marlink, Iridium, Globalstar);
 * - mobile carriers route a roaming phone home (its address stays in the home country while it
 *   is abroad) and geolocation often places a carrier's pools at its head office or in one region.
 * Names checked against the bundled ASN database (@ip-location-db/asn). The mobile list holds
 * operators whose ASN carries their mobile network, mostly or in large part (SFR, Vodafone Spain
 * and Telefonica Brasil serve fixed lines on it too: precision first). Incumbents whose one ASN
 * is mostly fixed line (Deutsche Telekom 3320, Orange France 3215, ...) are left out: their
 * fixed-line positions are good evidence. Operators add their own with the geographic rules'
 * `unreliableAsns`.
 */

/** Satellite, maritime and in-flight connectivity providers. */
export const SATELLITE_ASNS: readonly number[] = [
  14593,
  27277, // Space Exploration Technologies (Starlink)
  7155,
  16491,
  40306, // ViaSat
  6621,
  1358,
  12440, // Hughes Network Systems
  22351,
  26243, // Intelsat (in-flight: Gogo commercial aviation)
  11167, // Gogo Business Aviation
  132011, // Panasonic Avionics
  25222,
  152659, // Inmarsat
  15829,
  204276, // Eutelsat (OneWeb)
  11919,
  16212,
  19036, // Telesat
  14549,
  22218,
  24039,
  209980,
  210314, // Marlink (maritime)
  206433,
  132399, // SITA (OnAir)
  208463, // Airbus DS Airborne Solutions
  16255,
  202952,
  206171,
  22184, // Iridium
  19458, // Globalstar
];

/** Mobile network operators (ASNs carrying mostly mobile traffic). */
export const MOBILE_ASNS: readonly number[] = [
  21928, // T-Mobile US
  22394,
  6167, // Verizon Wireless (Cellco)
  20057, // AT&T Mobility (registered as AT&T Enterprises)
  25135, // Vodafone UK
  35228, // O2 UK (Telefonica UK)
  206067, // Three UK (Hutchison 3G)
  51207, // Free Mobile (FR)
  15557, // SFR (FR)
  6805, // Telefonica Germany (O2)
  12430, // Vodafone Spain
  1267, // Wind Tre (IT)
  31615, // Odido / T-Mobile Netherlands
  47377, // Orange Belgium
  56665, // Tango (LU; registered as Proximus Luxembourg)
  39603,
  31242, // P4 Play (PL)
  12912, // T-Mobile Polska
  8412, // T-Mobile Austria (Magenta)
  26599, // Vivo (BR)
  55836, // Reliance Jio (IN)
  1257, // Tele2 Sverige
  36994, // Vodacom (ZA)
  7552, // Viettel (VN)
  9605, // NTT Docomo (JP)
  9808,
  56040,
  56041,
  56044,
  56046,
  24444,
  24445,
  24400, // China Mobile
];
