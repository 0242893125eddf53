import { describe, expect, it } from 'vitest';
import { ConditionType, REASONS, reasonsFor } from './conditions.ts';
import { CONDITION_REASON_PATTERN } from './patterns.ts';

describe('the condition catalogue', () => {
  it('spells every reason as metav1.Condition requires, with one sentence', () => {
    for (const [reason, entry] of Object.entries(REASONS)) {
      expect(reason).toMatch(new RegExp(CONDITION_REASON_PATTERN, 'u'));
      expect(entry.sentence, reason).toMatch(/^[A-Za-z].*\.$/);
      expect(entry.sentence, reason).not.toContain('\n');
    }
  });

  it('lets every condition be both true and false', () => {
    for (const type of Object.values(ConditionType)) {
      const statuses = new Set(reasonsFor(type).map((r) => REASONS[r].status));
      expect([...statuses].sort(), type).toEqual(expect.arrayContaining(['False', 'True']));
    }
  });

  it('has the attestation outcomes the operator reports', () => {
    expect(reasonsFor('Attested')).toEqual(
      expect.arrayContaining(['Verified', 'DevelopmentTrust', 'Unattested', 'AttestationFailed', 'PinnedDigestMismatch', 'Pending']),
    );
    expect(reasonsFor('Degraded')).toEqual(expect.arrayContaining(['SecretNotFound', 'SecretKeyMissing', 'InvalidSpec', 'ReconcileError']));
  });
});
