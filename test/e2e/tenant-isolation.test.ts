import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminApi, basic, type Json, post } from '../support/http.js';
import {
  ADMIN_KEY,
  type ExtraWorkspace,
  removeDir,
  startTestServer,
  type TestServer,
  twoWorkspaces,
  WRITE_KEY,
} from '../support/servers.js';

/**
 * Ids a tenant sees must not count another tenant's activity: identity operations are numbered
 * within their workspace, and no store-wide identifier id appears in the answers.
 */
let s: TestServer;
let other: ExtraWorkspace;

beforeAll(async () => {
  const made = await twoWorkspaces('other');
  other = made.other;
  s = await startTestServer(made.dir);
});
afterAll(async () => {
  await s.close();
  removeDir(s.dataDir);
});

const ref = (r: string) => encodeURIComponent(r);

async function shareTablet(writeKey: string, prefix: string): Promise<void> {
  const res = await post(
    s.url,
    '/v1/batch',
    {
      batch: [
        {
          type: 'identify',
          userId: `${prefix}-a`,
          anonymousId: `${prefix}-tablet`,
          messageId: `${prefix}-1`,
        },
        {
          type: 'identify',
          userId: `${prefix}-b`,
          anonymousId: `${prefix}-tablet`,
          messageId: `${prefix}-2`,
        },
      ],
    },
    { authorization: basic(writeKey) },
  );
  expect(res.status).toBe(200);
}

/** Untrusts the workspace's tablet and undoes it: two operations. */
async function untrustAndUndo(adminKey: string, prefix: string): Promise<Json> {
  const untrust = await adminApi(
    s.url,
    'POST',
    `/api/identifiers/${ref(`anonymous_id:${prefix}-tablet`)}/untrust`,
    { reason: 'shared' },
    adminKey,
  );
  expect(untrust.status).toBe(200);
  const undo = await adminApi(
    s.url,
    'POST',
    `/api/identity/operations/${untrust.json.operation.id}/undo`,
    {},
    adminKey,
  );
  expect(undo.status).toBe(200);
  return { untrust: untrust.json.operation, undo: undo.json.operation };
}

describe('tenant isolation of ids', () => {
  it('numbers identity operations within each workspace, whatever the other tenant did', async () => {
    await shareTablet(other.write, 'o');
    // The other tenant is busy first: three rounds, six operations.
    for (let i = 0; i < 3; i++) await untrustAndUndo(other.admin, 'o');
    await shareTablet(WRITE_KEY, 'd');
    const mine = await untrustAndUndo(ADMIN_KEY, 'd');
    expect(mine.untrust.id).toBe(1);
    expect(mine.undo.id).toBe(2);
    expect(mine.undo.undoes).toBe(1);
    const list = (await adminApi(s.url, 'GET', '/api/identity/operations')).json.operations;
    expect(list.map((o: Json) => o.id)).toEqual([1, 2]);
    expect(list[0].identifiers).toEqual([{ type: 'anonymous_id', value: 'd-tablet' }]);
    const theirs = (await adminApi(s.url, 'GET', '/api/identity/operations', undefined, other.admin)).json
      .operations;
    expect(theirs.map((o: Json) => o.id)).toEqual([1, 2, 3, 4, 5, 6]);
    // An operation of one workspace cannot be reached from the other by its number.
    const cross = await adminApi(s.url, 'POST', '/api/identity/operations/5/undo', {});
    expect(cross.status).toBe(404);
  });

  it('shows no store-wide numeric ids in operations or explanations', async () => {
    const list = (await adminApi(s.url, 'GET', '/api/identity/operations')).json.operations;
    for (const o of list) {
      expect(Object.keys(o).sort()).toEqual([
        'at',
        'id',
        'identifiers',
        'kind',
        'others',
        'reason',
        'undoes',
      ]);
      for (const i of [...o.identifiers, ...o.others])
        expect(Object.keys(i).sort()).toEqual(['type', 'value']);
    }
    const x = (await adminApi(s.url, 'GET', `/api/persons/${ref('user_id:d-a')}/identity`)).json;
    const linkIds = x.links.map((l: Json) => l.id);
    // Links are numbered within the explanation (1…n), and `because` points into that list.
    expect(linkIds).toEqual(linkIds.map((_: unknown, i: number) => i + 1));
    for (const i of x.identifiers) if (i.because) expect(linkIds).toContain(i.because.link);
    expect(x.operations.map((o: Json) => o.id)).toEqual([1, 2]);
  });
});
