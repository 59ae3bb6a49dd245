import type { Command } from 'commander';
import type { AccountListItem } from '../services/person-service.js';
import type { LocalAccess } from './local-or-remote.js';
import { fail, printJson, printTable } from './output.js';
import { type ListFlags, printPageFooter, runList, withListFlags } from './persons.command.js';

const day = (iso: string | null) => (iso === null ? '–' : iso.replace('T', ' ').slice(0, 19));

/** `throughline accounts`: every account (group), or those matching filters, a page at a time. */
export function registerAccounts(program: Command, deps: LocalAccess): void {
  withListFlags(
    program
      .command('accounts')
      .description(
        "list accounts (groups): all, or by id or trait text, trait values, last activity, current stage, members' channels",
      )
      .addHelpText(
        'after',
        `
Examples:
  ./throughline accounts                                 # newest activity first
  ./throughline accounts --trait plan=enterprise --sort firstSeen
  ./throughline accounts --query acme --json
  ./throughline accounts --stage customer --channel "Paid Search"   # a member touched it`,
      ),
    100,
    'text in the account id (groupId) or a current trait',
    'account',
  ).action(async (flags: ListFlags) => {
    const page = await runList<AccountListItem>(deps, flags, '/api/accounts', async (persons, ws, o) => {
      const r = await persons.accounts(ws, o);
      if (!r.ok) throw new Error(r.error);
      return r.value;
    });
    if (!page.ok) return fail(page.error);
    const { items, total, nextCursor } = page.value;
    if (flags.json) {
      printJson({ accounts: items, total, nextCursor });
      return;
    }
    printTable(
      items.map((a) => ({
        id: a.id,
        name: typeof a.traits.name === 'string' ? a.traits.name : '',
        members: a.members,
        lastSeen: day(a.lastSeen),
        firstSeen: day(a.firstSeen),
        events: a.eventCount,
        stage: a.stage?.id ?? '–',
      })),
      ['id', 'name', 'members', 'lastSeen', 'firstSeen', 'events', 'stage'],
    );
    printPageFooter(items.length, total, nextCursor, 'accounts');
  });
}
