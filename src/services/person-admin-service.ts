import { identifierHash } from '../core/identity/person-id.js';
import { err, ok, type Result } from '../core/result.js';
import type { QuarantinedMessage, StoredEvent } from '../core/spec/message.js';
import type { DeletionCounts, IdentityOpRow, PersonReadModel, Suppression } from './identity-ports.js';
import type { IdentityService } from './identity-service.js';
import type { PersonRef, PersonService, Profile } from './person-service.js';
import type { Clock } from './ports.js';

export interface DeletionReceipt {
  id: string;
  person: string;
  at: string;
  deleted: DeletionCounts;
  /** Identifiers whose future messages are now dropped at ingestion. */
  suppressed: number;
}

export interface PersonExport {
  exportedAt: string;
  profile: Profile;
  identity: ReturnType<PersonService['explain']>;
  events: StoredEvent[];
  quarantine: QuarantinedMessage[];
}

/**
 * An operation as its workspace sees it. Ids are numbered within the workspace (1, 2, …) and
 * identifiers are shown by type and value: the store's own ids are shared by every workspace,
 * and would let one tenant count another's activity.
 */
export interface OperationView {
  id: number;
  kind: IdentityOpRow['kind'];
  identifiers: { type: string; value: string }[];
  /** For a removal: the identifiers it was taken apart from. */
  others: { type: string; value: string }[];
  /** For an undo: the operation it reverses. */
  undoes: number | null;
  reason: string | null;
  at: string;
}

/** Changing people: splits, untrusting, manual merges and their undo; deletion; export. */
export class PersonAdminService {
  constructor(
    private readonly identity: IdentityService,
    private readonly persons: PersonService,
    private readonly model: PersonReadModel,
    private readonly clock: Clock,
    private readonly newId: () => string,
  ) {}

  /** Marks an identifier shared/untrusted (a family tablet): its links stop merging people. */
  async setTrusted(
    workspaceId: string,
    ref: string,
    trusted: boolean,
    reason: string | null,
  ): Promise<Result<OperationView, string>> {
    const id = this.persons.identifierId(workspaceId, ref);
    if (!id.ok) return id;
    if (this.identity.isUntrusted(id.value) === !trusted) {
      return err(`${ref} is already ${trusted ? 'trusted' : 'untrusted'}`);
    }
    const kind = trusted ? 'trust' : 'untrust';
    return ok(await this.op(workspaceId, kind, [id.value], [], null, reason));
  }

  /** Takes an identifier out of its person; it stays apart from that person's other identifiers. */
  async removeIdentifier(
    workspaceId: string,
    person: PersonRef,
    ref: string,
    reason: string | null,
  ): Promise<Result<OperationView, string>> {
    const id = this.persons.identifierId(workspaceId, ref);
    if (!id.ok) return id;
    if (!person.members.includes(id.value)) return err(`${ref} does not belong to person ${person.personId}`);
    if (person.members.length < 2)
      return err(`${ref} is this person's only identifier; delete the person instead`);
    const others = person.members.filter((m) => m !== id.value);
    return ok(await this.op(workspaceId, 'remove', [id.value], others, null, reason));
  }

  /** Joins two persons past any limit; the merge is recorded as a link with its own evidence. */
  async merge(
    workspaceId: string,
    a: PersonRef,
    b: PersonRef,
    reason: string | null,
  ): Promise<Result<OperationView, string>> {
    if (a.anchor === b.anchor) return err('both refer to the same person');
    return ok(await this.op(workspaceId, 'merge', [a.anchor, b.anchor], [], null, reason));
  }

  /** Reverses an operation, named by its number within the workspace. */
  async undo(
    workspaceId: string,
    number: number,
    reason: string | null,
  ): Promise<Result<OperationView, string>> {
    const mine = this.opsOf(workspaceId);
    const target = mine[number - 1];
    if (!target) return err(`no operation ${number} in this workspace`);
    if (target.kind === 'undo')
      return err(`operation ${number} is an undo; apply the original operation again`);
    if (mine.some((o) => o.kind === 'undo' && o.undoes === target.id)) {
      return err(`operation ${number} is already undone`);
    }
    return ok(await this.op(workspaceId, 'undo', target.identifiers, [], target.id, reason));
  }

  operations(workspaceId: string): OperationView[] {
    const mine = this.opsOf(workspaceId);
    return mine.map((o) => this.view(o, mine));
  }

  /** The workspace's operations, oldest first: an operation's number is its place here. */
  private opsOf(workspaceId: string): IdentityOpRow[] {
    return this.identity.operationsOf(workspaceId);
  }

  private view(o: IdentityOpRow, mine: IdentityOpRow[]): OperationView {
    const number = (id: number) => mine.findIndex((m) => m.id === id) + 1;
    const shown = (ids: number[]) =>
      ids.filter((i) => this.identity.exists(i)).map((i) => this.persons.view(i));
    return {
      id: number(o.id),
      kind: o.kind,
      identifiers: shown(o.identifiers),
      others: shown(o.others),
      undoes: o.undoes === null ? null : number(o.undoes),
      reason: o.reason,
      at: new Date(o.at).toISOString(),
    };
  }

  /**
   * Deletes everything held about a person: events, identifiers, their links, the quarantined
   * payloads that mention them. With `suppress`, their future messages are dropped at ingestion.
   */
  async delete(workspaceId: string, person: PersonRef, suppress: boolean): Promise<DeletionReceipt> {
    const views = person.members.map((m) => this.identity.identifier(m));
    const suppressions: Suppression[] = suppress
      ? views.map((v) => ({ workspaceId, type: v.type, valueHash: identifierHash(v.type, v.value) }))
      : [];
    // Drop new messages first, then wait until everything acknowledged before is in the
    // database: a logged event loaded after the delete would bring the person back.
    this.identity.suppress(suppressions);
    await this.identity.readBarrier({ strict: true });
    const receiptId = `del_${this.newId()}`;
    const at = this.clock.now();
    // Between two writes of the pipeline: none can write rows of these identifiers back while
    // the graph still holds them.
    const deleted = await this.identity.exclusive(async () => {
      const counts = await this.model.deletePerson({
        workspaceId,
        personId: person.personId,
        receiptId,
        at,
        identifierIds: person.members,
        values: views.map((v) => v.value),
        suppress: suppressions,
      });
      this.identity.forget(workspaceId, person.personId, person.members, suppressions);
      return counts;
    });
    // What the deletion did to the persons around it (they may come apart) goes to the model now.
    await this.identity.flush();
    return {
      id: receiptId,
      person: person.personId,
      at: new Date(at).toISOString(),
      deleted,
      suppressed: suppressions.length,
    };
  }

  /** Everything held about a person (data-subject access request). */
  async export(workspaceId: string, person: PersonRef): Promise<PersonExport> {
    const profile = await this.persons.profile(workspaceId, person);
    const values = person.members.map((m) => this.identity.identifier(m).value);
    const [events, quarantine] = await Promise.all([
      this.model.exportEvents(person.members),
      this.model.quarantineMentioning(workspaceId, values),
    ]);
    return {
      exportedAt: new Date(this.clock.now()).toISOString(),
      profile,
      identity: this.persons.explain(person),
      events,
      quarantine,
    };
  }

  private async op(
    workspaceId: string,
    kind: IdentityOpRow['kind'],
    identifiers: number[],
    others: number[],
    undoes: number | null,
    reason: string | null,
  ): Promise<OperationView> {
    const done = await this.identity.operate({ workspaceId, kind, identifiers, others, undoes, reason });
    return this.view(done, this.opsOf(workspaceId));
  }
}
