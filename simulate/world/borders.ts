/**
 * Border areas where a household's fixed line is in one country and a member's phone is on a
 * mobile network of the neighbouring one: cross-border workers keep the SIM of the country they
 * work in (Eurostat 2022: 2.09 million EU cross-border commuters; 32 % of the employed of Belgium's
 * Luxembourg province, 18 % of Trier, 14 % of Lorraine work in another country), and their mobile
 * data leaves through that operator's network, geolocated in its country. Each pair is a real
 * border crossing of daily commuting (European Commission, "Boosting growth and cohesion in EU
 * border regions", COM(2017) 534; US/CA: Windsor–Detroit; SE/DK: the Øresund region).
 */
import type { City } from './types.ts';

export interface BorderArea {
  /** Where the household lives; its fixed line is in town.country. */
  town: City;
  /** Country of the mobile operator whose addresses the phone uses. */
  mobileCountry: string;
  /** A town across the border, the city the phone's operator geolocates to. */
  across: City;
}

const town = (name: string, country: string, lat: number, lon: number): City => ({ name, country, lat, lon });

const MOUSCRON = town('Mouscron', 'BE', 50.744, 3.206);
const LILLE = town('Lille', 'FR', 50.629, 3.057);
const AACHEN = town('Aachen', 'DE', 50.776, 6.084);
const KERKRADE = town('Kerkrade', 'NL', 50.866, 6.063);
const BASEL = town('Basel', 'CH', 47.56, 7.588);
const SAINT_LOUIS = town('Saint-Louis', 'FR', 47.59, 7.56);
const LORRACH = town('Lörrach', 'DE', 47.615, 7.664);
const GENEVA = town('Geneva', 'CH', 46.204, 6.143);
const ANNEMASSE = town('Annemasse', 'FR', 46.193, 6.234);
const SALZBURG = town('Salzburg', 'AT', 47.809, 13.055);
const FREILASSING = town('Freilassing', 'DE', 47.84, 12.977);
const MALMO = town('Malmö', 'SE', 55.605, 13.0);
const COPENHAGEN = town('Copenhagen', 'DK', 55.676, 12.568);
const WINDSOR = town('Windsor', 'CA', 42.317, -83.037);
const DETROIT = town('Detroit', 'US', 42.331, -83.046);
const THIONVILLE = town('Thionville', 'FR', 49.357, 6.168);
const ESCH = town('Esch-sur-Alzette', 'LU', 49.496, 5.981);
const ARLON = town('Arlon', 'BE', 49.683, 5.816);
const STRASBOURG = town('Strasbourg', 'FR', 48.573, 7.752);
const KEHL = town('Kehl', 'DE', 48.573, 7.815);

/** Both directions of each crossing: a household on either side with a SIM of the other. */
export const BORDER_AREAS: ReadonlyArray<BorderArea> = [
  { town: MOUSCRON, mobileCountry: 'FR', across: LILLE },
  { town: LILLE, mobileCountry: 'BE', across: MOUSCRON },
  { town: AACHEN, mobileCountry: 'NL', across: KERKRADE },
  { town: KERKRADE, mobileCountry: 'DE', across: AACHEN },
  { town: BASEL, mobileCountry: 'FR', across: SAINT_LOUIS },
  { town: SAINT_LOUIS, mobileCountry: 'CH', across: BASEL },
  { town: LORRACH, mobileCountry: 'CH', across: BASEL },
  { town: BASEL, mobileCountry: 'DE', across: LORRACH },
  { town: ANNEMASSE, mobileCountry: 'CH', across: GENEVA },
  { town: GENEVA, mobileCountry: 'FR', across: ANNEMASSE },
  { town: FREILASSING, mobileCountry: 'AT', across: SALZBURG },
  { town: SALZBURG, mobileCountry: 'DE', across: FREILASSING },
  { town: MALMO, mobileCountry: 'DK', across: COPENHAGEN },
  { town: COPENHAGEN, mobileCountry: 'SE', across: MALMO },
  { town: WINDSOR, mobileCountry: 'US', across: DETROIT },
  { town: DETROIT, mobileCountry: 'CA', across: WINDSOR },
  { town: THIONVILLE, mobileCountry: 'LU', across: ESCH },
  { town: ESCH, mobileCountry: 'FR', across: THIONVILLE },
  { town: ARLON, mobileCountry: 'LU', across: ESCH },
  { town: STRASBOURG, mobileCountry: 'DE', across: KEHL },
  { town: KEHL, mobileCountry: 'FR', across: STRASBOURG },
];
