import { describe, expect, it } from 'vitest';
import { testCluster } from '../cluster.ts';

describe('pinned tools', () => {
  const cluster = testCluster();

  it('kubectl and the API server report the pinned release', async () => {
    const result = await cluster.kubectl(['version', '--output=json']);
    expect(result.code).toBe(0);
    const versions = JSON.parse(result.stdout) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string; minor: string } };
    expect(versions.serverVersion.gitVersion).toBe('v1.37.2');
    expect(versions.clientVersion.gitVersion).toBe('v1.37.2');
    expect(result.stderr).not.toContain('WARNING');
  });

  it('helm reaches the API server', async () => {
    const version = await cluster.helm(['version', '--short']);
    expect(version.code).toBe(0);
    expect(version.stdout).toMatch(/^v4\./);
    const list = await cluster.helm(['list', '--all-namespaces', '--output', 'json']);
    expect(list.stderr).toBe('');
    expect(JSON.parse(list.stdout)).toEqual([]);
  });
});
