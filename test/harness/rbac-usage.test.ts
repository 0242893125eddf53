import { describe, expect, it } from 'vitest';
import type { AuditEvent } from './audit.ts';
import { compareUsage, covers, grantsFor, usesBy, type RbacObject } from './rbac-usage.ts';

const SA = { namespace: 'system', name: 'operator' };
const USER = 'system:serviceaccount:system:operator';
const subjects = [{ kind: 'ServiceAccount', name: 'operator', namespace: 'system' }];

const objects: RbacObject[] = [
  { kind: 'ClusterRole', metadata: { name: 'main' }, rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['list', 'patch', 'delete'] }, { apiGroups: [''], resources: ['events'], verbs: ['create'] }] },
  { kind: 'RoleBinding', metadata: { name: 'main', namespace: 'a' }, roleRef: { kind: 'ClusterRole', name: 'main' }, subjects },
  { kind: 'RoleBinding', metadata: { name: 'main', namespace: 'b' }, roleRef: { kind: 'ClusterRole', name: 'main' }, subjects },
  { kind: 'Role', metadata: { name: 'tls', namespace: 'system' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'update'], resourceNames: ['tls'] }] },
  { kind: 'RoleBinding', metadata: { name: 'tls', namespace: 'system' }, roleRef: { kind: 'Role', name: 'tls' }, subjects },
  { kind: 'ClusterRole', metadata: { name: 'unbound' }, rules: [{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }] },
  { kind: 'ClusterRoleBinding', metadata: { name: 'someone-else' }, roleRef: { kind: 'ClusterRole', name: 'unbound' }, subjects: [{ kind: 'ServiceAccount', name: 'other', namespace: 'system' }] },
];

function event(id: string, verb: string, ref: AuditEvent['objectRef'], answer: { code?: number; username?: string } = {}): AuditEvent {
  const { code = 200, username = USER } = answer;
  return { auditID: id, stage: 'ResponseComplete', verb, requestURI: '/x', user: { username }, ...(ref ? { objectRef: ref } : {}), responseStatus: { code } };
}

describe('grantsFor', () => {
  it("expands only the ServiceAccount's roles, with the namespaces its bindings cover", () => {
    const grants = grantsFor(objects, SA);
    expect(grants.map((g) => `${g.role} ${g.verb} ${g.resource} ${g.scopes.join(',')}`).sort()).toEqual([
      'ClusterRole/main create events a,b',
      'ClusterRole/main delete deployments a,b',
      'ClusterRole/main list deployments a,b',
      'ClusterRole/main patch deployments a,b',
      'Role/system/tls get secrets system',
      'Role/system/tls update secrets system',
    ]);
  });

  it('fails on a binding to a role that is not rendered', () => {
    expect(() => grantsFor([{ kind: 'ClusterRoleBinding', metadata: { name: 'x' }, roleRef: { kind: 'ClusterRole', name: 'missing' }, subjects }], SA)).toThrow(/ClusterRole missing/);
  });
});

describe('covers', () => {
  const [tls] = grantsFor(objects, SA).filter((g) => g.resource === 'secrets' && g.verb === 'get');
  it('matches resourceNames and namespaces', () => {
    expect(covers(tls!, { apiGroup: '', resource: 'secrets', subresource: '', verb: 'get', namespace: 'system', name: 'tls', code: 200 })).toBe(true);
    expect(covers(tls!, { apiGroup: '', resource: 'secrets', subresource: '', verb: 'get', namespace: 'system', name: 'other', code: 200 })).toBe(false);
    expect(covers(tls!, { apiGroup: '', resource: 'secrets', subresource: '', verb: 'get', namespace: 'a', name: 'tls', code: 200 })).toBe(false);
    expect(covers(tls!, { apiGroup: '', resource: 'secrets', subresource: 'status', verb: 'get', namespace: 'system', name: 'tls', code: 200 })).toBe(false);
  });
});

describe('compareUsage', () => {
  const events = [
    event('1', 'list', { apiGroup: 'apps', resource: 'deployments', namespace: 'a' }),
    event('2', 'patch', { apiGroup: 'apps', resource: 'deployments', namespace: 'b', name: 'x' }),
    event('3', 'get', { resource: 'secrets', namespace: 'system', name: 'tls' }),
    event('4', 'update', { resource: 'secrets', namespace: 'system', name: 'tls' }),
    event('5', 'create', { apiGroup: 'coordination.k8s.io', resource: 'leases', namespace: 'system' }, { code: 403 }),
    event('6', 'get', undefined, { code: 403 }),
    event('7', 'delete', { apiGroup: 'apps', resource: 'deployments', namespace: 'a', name: 'x' }, { username: 'someone-else' }),
  ];
  const { uses, refusedNonResource } = usesBy(events, USER);

  it('reports grants no request used, refusals, and allowances for nothing', () => {
    const report = compareUsage(grantsFor(objects, SA), uses, [
      { apiGroup: '', resource: 'events', verb: 'create', why: 'only on errors' },
      { apiGroup: '', resource: 'pods', verb: 'get', why: 'granted nowhere' },
    ]);
    expect(report.unused).toEqual(['ClusterRole/main: delete apps deployments']);
    expect(report.forbidden).toEqual(['create coordination.k8s.io leases (namespaced) in system']);
    expect(report.staleAllowances).toEqual(['get core pods']);
    expect(report.used).toContain('patch apps deployments (namespaced)');
    expect(refusedNonResource).toEqual(['get /x']);
  });

  it('keeps one entry per request, preferring its ResponseComplete stage', () => {
    const started: AuditEvent = { ...event('9', 'watch', { apiGroup: 'apps', resource: 'deployments' }), stage: 'ResponseStarted' };
    expect(usesBy([started, event('9', 'watch', { apiGroup: 'apps', resource: 'deployments' })], USER).uses).toHaveLength(1);
  });
});
