/**
 * Reason codes of review decisions: an analyst picks one per decision (single or bulk); it is
 * written at the head of the decision's comment (`[code] text`) so it travels with the decision
 * record on leechguard.reviews.v1 and doubles as a label for measuring and tuning the rules.
 * Shared by the API (validation) and the console (its pickers).
 */
export const APPROVE_REASONS = {
  'confirmed-sharing': 'Confirmed sharing (token or account used by others)',
  'confirmed-resale': 'Confirmed resale / restreaming',
  'credential-stuffing': 'Account taken over',
  'policy-abuse': 'Plan limits abused',
} as const;

export const REJECT_REASONS = {
  'household-travel': 'Legitimate travel or household',
  'network-change': 'Network change (mobile, VPN of an employer)',
  'shared-ip': 'Shared address (campus, carrier NAT, hotel)',
  'detector-fault': 'Detector fault (bad data, threshold too low)',
  'insufficient-evidence': 'Not enough evidence',
} as const;

export type ReasonCode = keyof typeof APPROVE_REASONS | keyof typeof REJECT_REASONS;
export const REASON_CODES = [...Object.keys(APPROVE_REASONS), ...Object.keys(REJECT_REASONS)] as ReasonCode[];

/** The decision comment carrying a reason code. */
export function withReason(code: ReasonCode, comment: string | null): string {
  return comment ? `[${code}] ${comment}` : `[${code}]`;
}

/** The reason code at the head of a decision comment, if any. */
export function reasonOf(comment: string | null): ReasonCode | undefined {
  const m = comment?.match(/^\[([a-z-]+)\]/);
  return m && (REASON_CODES as string[]).includes(m[1]!) ? (m[1] as ReasonCode) : undefined;
}
