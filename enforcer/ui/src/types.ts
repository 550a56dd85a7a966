/** Shapes the console reads from the API (the flag and revocation types are the schemas' own). */
import type { Anomaly, PolicyChange, Revocation } from '../../../core/schemas/generated.ts';

export type { Anomaly, PolicyChange, Revocation };

export type FlagOutcome = 'allow-listed' | 'would-have' | 'review' | 'revoke';
export type Flag = Anomaly & { outcome: FlagOutcome; mode: string; receivedAtMs: number };
export type RevocationView = Revocation & { status: 'active' | 'lifted' | 'expired' };

export interface ReviewView {
  anomalyId: string;
  anomalyVersion: number;
  rule: string;
  tenant: string;
  accountId: string | null;
  subjectKind: string;
  subjectKey: string;
  severity: string;
  status: 'pending' | 'approved' | 'rejected';
  createdAtMs: number;
  updatedAtMs: number;
  decidedBy: string | null;
  decidedAtMs: number | null;
  comment: string | null;
  revocationId: string | null;
  assignee: string | null;
  notes: Array<{ by: string; atMs: number; text: string }>;
  anomaly: Anomaly;
}

export interface RulePolicy {
  mode: 'monitor' | 'moderate' | 'automate';
  rolloutPercent: number;
  action: string;
  durationMs: number;
  slate?: string;
  throttleKbps?: number;
}

export interface Precision {
  approved: number;
  rejected: number;
  precision: number | null;
  low: number | null;
  high: number | null;
}

export interface RuleRow {
  rule: string;
  policy: RulePolicy;
  ownPolicy: boolean;
  flagsPerDay: number[];
  wouldHavePerDay: number[];
  reviews: { pending: number };
  precision: Precision;
}
