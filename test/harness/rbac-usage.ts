import type { AuditEvent } from './audit.ts';

/** RbacObject is a rendered ClusterRole, Role, ClusterRoleBinding or RoleBinding (or any other object, ignored). */
export interface RbacObject {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly rules?: readonly { readonly apiGroups?: readonly string[]; readonly resources?: readonly string[]; readonly verbs: readonly string[]; readonly resourceNames?: readonly string[] }[];
  readonly roleRef?: { readonly kind: string; readonly name: string };
  readonly subjects?: readonly { readonly kind: string; readonly name: string; readonly namespace?: string }[];
}

/** Grant is one verb on one resource (and subresource) that one role's rule gives, in the scopes its bindings cover. */
export interface Grant {
  /** role is `ClusterRole/name` or `Role/namespace/name`. */
  readonly role: string;
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string;
  readonly verb: string;
  readonly resourceNames: readonly string[];
  /** scopes are the namespaces the bindings cover; `*` is every namespace and the cluster scope. */
  readonly scopes: readonly string[];
}

/** Use is one request the audit log recorded: what the RBAC authorizer decided on. */
export interface Use {
  readonly apiGroup: string;
  readonly resource: string;
  readonly subresource: string;
  readonly verb: string;
  /** namespace is absent for cluster-scoped objects and all-namespaces lists and watches. */
  readonly namespace?: string;
  readonly name?: string;
  readonly code: number;
}

/** AllowedExtra is a granted verb no request shows, kept for a reason given in one line. */
export interface AllowedExtra {
  readonly apiGroup: string;
  /** resource is `plural` or `plural/subresource`. */
  readonly resource: string;
  readonly verb: string;
  readonly why: string;
}

/** UsageReport is the comparison: what was used, granted but unused, refused, and allow-list entries that name no grant. */
export interface UsageReport {
  readonly used: readonly string[];
  readonly unused: readonly string[];
  readonly forbidden: readonly string[];
  readonly staleAllowances: readonly string[];
}

const resourceLabel = (resource: string, subresource: string): string => (subresource === '' ? resource : `${resource}/${subresource}`);
const groupLabel = (group: string): string => (group === '' ? 'core' : group);

function bound(objects: readonly RbacObject[], subject: { namespace: string; name: string }): { roleKind: string; roleName: string; roleNamespace?: string; scope: string }[] {
  const names = (b: RbacObject): boolean => (b.subjects ?? []).some((s) => s.kind === 'ServiceAccount' && s.name === subject.name && s.namespace === subject.namespace);
  return objects.filter((o) => (o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding') && o.roleRef !== undefined && names(o)).map((b) => {
    const ref = b.roleRef!;
    const scope = b.kind === 'ClusterRoleBinding' ? '*' : (b.metadata.namespace ?? '');
    return ref.kind === 'Role' ? { roleKind: 'Role', roleName: ref.name, roleNamespace: b.metadata.namespace ?? '', scope } : { roleKind: 'ClusterRole', roleName: ref.name, scope };
  });
}

/** grantsFor expands the rules of every role bound to the ServiceAccount into one Grant per (rule, group, resource, verb). */
export function grantsFor(objects: readonly RbacObject[], subject: { namespace: string; name: string }): Grant[] {
  const grants = new Map<string, Grant>();
  for (const binding of bound(objects, subject)) {
    const role = objects.find((o) => o.kind === binding.roleKind && o.metadata.name === binding.roleName && (binding.roleNamespace === undefined || o.metadata.namespace === binding.roleNamespace));
    if (role === undefined) throw new Error(`a binding refers to ${binding.roleKind} ${binding.roleName}, which is not rendered`);
    const roleId = binding.roleNamespace === undefined ? `ClusterRole/${role.metadata.name}` : `Role/${binding.roleNamespace}/${role.metadata.name}`;
    (role.rules ?? []).forEach((rule, index) => {
      for (const apiGroup of rule.apiGroups ?? ['']) for (const full of rule.resources ?? []) for (const verb of rule.verbs) {
        const [resource = '', subresource = ''] = full.split('/');
        const key = `${roleId}#${String(index)}/${apiGroup}/${full}/${verb}`;
        const previous = grants.get(key);
        grants.set(key, { role: roleId, apiGroup, resource, subresource, verb, resourceNames: rule.resourceNames ?? [], scopes: [...(previous?.scopes ?? []), binding.scope] });
      }
    });
  }
  return [...grants.values()];
}

/** usesBy reduces the audit log to the resource requests `username` made, one Use per request. */
export function usesBy(events: readonly AuditEvent[], username: string): { uses: Use[]; refusedNonResource: string[] } {
  const complete = new Map<string, AuditEvent>();
  // A watch logs ResponseStarted and, when it ends, ResponseComplete: either says it was allowed.
  for (const e of events) if (e.user.username === username && (e.stage === 'ResponseComplete' || !complete.has(e.auditID))) complete.set(e.auditID, e);
  const uses: Use[] = [];
  const refusedNonResource: string[] = [];
  for (const e of complete.values()) {
    const code = e.responseStatus?.code ?? 0;
    const ref = e.objectRef;
    if (ref?.resource === undefined) {
      if (code === 403) refusedNonResource.push(`${e.verb} ${e.requestURI}`);
      continue;
    }
    uses.push({ apiGroup: ref.apiGroup ?? '', resource: ref.resource, subresource: ref.subresource ?? '', verb: e.verb, ...(ref.namespace ? { namespace: ref.namespace } : {}), ...(ref.name ? { name: ref.name } : {}), code });
  }
  return { uses, refusedNonResource };
}

const wild = (granted: string, wanted: string): boolean => granted === '*' || granted === wanted;

/** covers tells whether a grant authorises a use (RBAC's matching: group, resource, subresource, verb, name, namespace). */
export function covers(grant: Grant, use: Use): boolean {
  const scoped = grant.scopes.includes('*') || (use.namespace !== undefined && grant.scopes.includes(use.namespace));
  const named = grant.resourceNames.length === 0 || (use.name !== undefined && grant.resourceNames.includes(use.name));
  return wild(grant.apiGroup, use.apiGroup) && wild(grant.resource, use.resource) && grant.subresource === use.subresource && wild(grant.verb, use.verb) && scoped && named;
}

/** useLabel is the reduced form of a use: (group, resource/subresource, verb, namespaced or cluster). */
export function useLabel(use: Use): string {
  // A Namespace's audit objectRef names it as its own namespace; it is cluster-scoped all the same.
  const cluster = use.namespace === undefined || (use.apiGroup === '' && use.resource === 'namespaces');
  return `${use.verb} ${groupLabel(use.apiGroup)} ${resourceLabel(use.resource, use.subresource)} (${cluster ? 'cluster' : 'namespaced'})`;
}

function grantLabel(grant: Grant): string {
  const names = grant.resourceNames.length > 0 ? ` [${grant.resourceNames.join(', ')}]` : '';
  return `${grant.role}: ${grant.verb} ${groupLabel(grant.apiGroup)} ${resourceLabel(grant.resource, grant.subresource)}${names}`;
}

const allowedBy = (extra: AllowedExtra, grant: Grant): boolean => extra.apiGroup === grant.apiGroup && extra.resource === resourceLabel(grant.resource, grant.subresource) && extra.verb === grant.verb;

/**
 * compareUsage puts the rights given beside the rights used: every grant no successful request
 * needed is unused (unless allowed as an extra), every refused request is forbidden, and an
 * allowance that matches no grant is stale.
 */
export function compareUsage(grants: readonly Grant[], uses: readonly Use[], allowed: readonly AllowedExtra[]): UsageReport {
  const succeeded = uses.filter((u) => u.code !== 403);
  const unused = grants.filter((g) => !succeeded.some((u) => covers(g, u)) && !allowed.some((a) => allowedBy(a, g)));
  return {
    used: [...new Set(succeeded.map(useLabel))].sort(),
    unused: [...new Set(unused.map(grantLabel))].sort(),
    forbidden: [...new Set(uses.filter((u) => u.code === 403).map((u) => `${useLabel(u)}${u.namespace ? ` in ${u.namespace}` : ''}${u.name ? ` name ${u.name}` : ''}`))].sort(),
    staleAllowances: allowed.filter((a) => !grants.some((g) => allowedBy(a, g))).map((a) => `${a.verb} ${groupLabel(a.apiGroup)} ${a.resource}`),
  };
}

/** formatReport prints the comparison for a test failure message. */
export function formatReport(title: string, report: UsageReport, refusedNonResource: readonly string[] = []): string {
  const section = (name: string, lines: readonly string[]): string => `${name} (${String(lines.length)}):\n${lines.map((l) => `  ${l}`).join('\n') || '  (none)'}`;
  return [
    `== ${title}`,
    section('used (verb group resource scope)', report.used),
    section('granted but never used', report.unused),
    section('refused (403)', [...report.forbidden, ...refusedNonResource]),
    section('allowed extras that match no grant', report.staleAllowances),
  ].join('\n');
}
