import type { Command } from 'commander';
import { type LocalAccess, openAccess } from './local-or-remote.js';
import { fail, printJson, printTable } from './output.js';

export function registerWorkspaces(program: Command, deps: LocalAccess): void {
  const ws = program.command('workspaces').description('manage workspaces (each has its own keys and data)');

  ws.command('create')
    .description('create a workspace with a new write key and admin key (printed once)')
    .argument('<name>', 'letters, digits, "-" or "_"')
    .option('-d, --data <dir>', 'data directory (env THROUGHLINE_DATA_DIR, default ./data)')
    .option('--json', 'machine-readable output')
    .action(async (name: string, flags: { data?: string; json?: boolean }) => {
      const access = await openAccess(deps, flags, false);
      if (!access.ok) return fail(access.error);
      if (access.value.kind !== 'local') return fail('workspaces are created on the database file');
      const { workspaces, close } = access.value;
      try {
        const made = await workspaces.createWorkspace(name);
        if (!made.ok) return fail(made.error);
        if (flags.json) return printJson(made.value);
        const [write, admin] = made.value.keys;
        process.stdout.write(
          `created workspace "${name}" (${made.value.workspace.id}). Keys, shown once:\n` +
            `  write key: ${write?.secret}\n  admin key: ${admin?.secret}\n`,
        );
      } finally {
        close();
      }
    });

  ws.command('list')
    .description('list workspaces')
    .option('-d, --data <dir>', 'data directory (env THROUGHLINE_DATA_DIR, default ./data)')
    .option('--json', 'machine-readable output')
    .action(async (flags: { data?: string; json?: boolean }) => {
      const access = await openAccess(deps, flags, false);
      if (!access.ok) return fail(access.error);
      if (access.value.kind !== 'local') return fail('workspaces are listed from the database file');
      const { workspaces, close } = access.value;
      try {
        const list = (await workspaces.listWorkspaces()).map((w) => ({
          id: w.id,
          name: w.name,
          createdAt: new Date(w.createdAt).toISOString(),
        }));
        if (flags.json) printJson(list);
        else printTable(list, ['id', 'name', 'createdAt']);
      } finally {
        close();
      }
    });
}
