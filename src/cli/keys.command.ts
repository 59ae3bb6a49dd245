import type { Command } from 'commander';
import type { KeyKind } from '../services/ports.js';
import type { IssuedKey, KeyInfo } from '../services/workspace-service.js';
import { apiRequest } from './api-client.js';
import { type AccessFlags, type LocalAccess, openAccess } from './local-or-remote.js';
import { fail, printJson, printTable } from './output.js';

interface KeyFlags extends AccessFlags {
  workspace?: string;
  json?: boolean;
}

const withAccessOptions = (c: Command) =>
  c
    .option('-d, --data <dir>', 'data directory (env THROUGHLINE_DATA_DIR, default ./data)')
    .option('--url <url>', 'server URL, used when a running server holds the database (env THROUGHLINE_URL)')
    .option('--admin-key <key>', "admin key for the server's API (env THROUGHLINE_ADMIN_KEY)")
    .option('--json', 'machine-readable output');

export function registerKeys(program: Command, deps: LocalAccess): void {
  const keys = program.command('keys').description('manage write keys (ingestion) and admin keys (/api)');

  withAccessOptions(keys.command('list').description('list keys (write keys in full, admin keys by hint)'))
    .option('-w, --workspace <name>', 'only this workspace')
    .action(async (flags: KeyFlags) => {
      const access = await openAccess(deps, flags, true);
      if (!access.ok) return fail(access.error);
      let list: KeyInfo[];
      if (access.value.kind === 'remote') {
        list = (await apiRequest<{ keys: KeyInfo[] }>(access.value.target, 'GET', '/api/keys')).keys;
      } else {
        const { workspaces, close } = access.value;
        try {
          const wsId = flags.workspace ? await workspaceIdOf(workspaces, flags.workspace) : undefined;
          list = await workspaces.listKeys(wsId);
        } finally {
          await close();
        }
      }
      if (flags.json) printJson(list);
      else
        printTable(list as unknown as Array<Record<string, string | null>>, [
          'id',
          'workspaceId',
          'kind',
          'key',
          'label',
          'createdAt',
          'revokedAt',
        ]);
    });

  withAccessOptions(keys.command('create').description('create a key; its secret is printed once'))
    .requiredOption('-k, --kind <kind>', 'write | admin')
    .option('-w, --workspace <name>', 'workspace name (default "default"; ignored over the API)', 'default')
    .option('-l, --label <label>', 'a note to recognise the key by')
    .action(async (flags: KeyFlags & { kind: string; label?: string }) => {
      if (flags.kind !== 'write' && flags.kind !== 'admin')
        return fail(`--kind must be write or admin, not "${flags.kind}"`);
      const kind = flags.kind as KeyKind;
      const access = await openAccess(deps, flags, true);
      if (!access.ok) return fail(access.error);
      let key: IssuedKey;
      if (access.value.kind === 'remote') {
        key = await apiRequest<IssuedKey>(access.value.target, 'POST', '/api/keys', {
          kind,
          ...(flags.label ? { label: flags.label } : {}),
        });
      } else {
        const { workspaces, close } = access.value;
        try {
          const wsId = await workspaceIdOf(workspaces, flags.workspace ?? 'default');
          key = await workspaces.createKey(wsId, kind, flags.label);
        } finally {
          await close();
        }
      }
      if (flags.json) printJson(key);
      else
        process.stdout.write(`created ${key.kind} key ${key.id} in ${key.workspaceId}:\n  ${key.secret}\n`);
    });

  withAccessOptions(keys.command('revoke').description('revoke a key by id (it stops working at once)'))
    .argument('<id>', 'key id, as shown by `keys list`')
    .action(async (id: string, flags: KeyFlags) => {
      const access = await openAccess(deps, flags, true);
      if (!access.ok) return fail(access.error);
      if (access.value.kind === 'remote') {
        await apiRequest(access.value.target, 'DELETE', `/api/keys/${encodeURIComponent(id)}`);
      } else {
        const { workspaces, close } = access.value;
        try {
          if (!(await workspaces.revokeKey(undefined, id))) return fail(`no active key with id ${id}`);
        } finally {
          await close();
        }
      }
      if (flags.json) printJson({ revoked: id });
      else process.stdout.write(`revoked ${id}\n`);
    });
}

export async function workspaceIdOf(
  workspaces: { listWorkspaces(): Promise<Array<{ id: string; name: string }>> },
  name: string,
): Promise<string> {
  const ws = (await workspaces.listWorkspaces()).find((w) => w.name === name || w.id === name);
  if (!ws) throw new Error(`no workspace named "${name}"`);
  return ws.id;
}
