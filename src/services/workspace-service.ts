import { hashSecret, hintOf } from '../core/keys.js';
import { err, ok, type Result } from '../core/result.js';
import type { ApiKeyRecord, Clock, KeyKind, Workspace, WorkspaceStore } from './ports.js';

export interface Random {
  /** A URL-safe random string carrying at least `bytes` bytes of entropy. */
  token(bytes: number): string;
}

/** A key as shown once, at creation: the only time an admin key's secret is visible. */
export interface IssuedKey {
  id: string;
  workspaceId: string;
  kind: KeyKind;
  secret: string;
}

/** A key as listed: write keys in full (they are public), admin keys by hint. */
export interface KeyInfo {
  id: string;
  workspaceId: string;
  kind: KeyKind;
  key: string;
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export interface BootstrapKeys {
  writeKey?: string;
  adminKey?: string;
}

const PREFIX: Record<KeyKind, string> = { write: 'wk_', admin: 'ak_' };

/**
 * Which first-run keys have not been shown to anyone yet (ids only, never secrets): written before
 * the keys are committed and cleared once they are shown, so a start that stops in between shows
 * keys again on the next start instead of losing the admin key (stored as a hash only).
 */
export interface UnshownKeys {
  read(): Promise<{ workspaceId: string; writeKeyId: string; adminKeyId: string } | null>;
  write(ids: { workspaceId: string; writeKeyId: string; adminKeyId: string }): Promise<void>;
  clear(): Promise<void>;
}

/** Keys to show the user now: on a first start, or again after one that never showed them. */
export interface FirstRunKeys {
  keys: IssuedKey[];
  /** The admin key replaces one an earlier start created and never showed (now revoked). */
  reissued: boolean;
}

/** Looks keys up in memory on the hot path; rebuilt from the store after every change. */
export class KeyRing {
  private write = new Map<string, string>();
  private admin = new Map<string, string>();

  /** Write keys are public and stored in plain text: looked up without hashing, per request. */
  private writePlain = new Map<string, string>();

  load(keys: ApiKeyRecord[]): void {
    const write = new Map<string, string>();
    const writePlain = new Map<string, string>();
    const admin = new Map<string, string>();
    for (const k of keys) {
      if (k.revokedAt !== null) continue;
      (k.kind === 'write' ? write : admin).set(k.secretHash, k.workspaceId);
      if (k.kind === 'write' && k.secret !== null) writePlain.set(k.secret, k.workspaceId);
    }
    this.write = write;
    this.writePlain = writePlain;
    this.admin = admin;
  }

  workspaceForWriteKey(secret: string): string | undefined {
    return this.writePlain.get(secret) ?? this.write.get(hashSecret(secret));
  }

  workspaceForAdminKey(secret: string): string | undefined {
    return this.admin.get(hashSecret(secret));
  }
}

export class WorkspaceService {
  readonly keyRing = new KeyRing();

  constructor(
    private readonly store: WorkspaceStore,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {}

  /**
   * Loads the keys; `empty` on a database without workspaces. The server starts with this and
   * creates the first workspace (`firstRunKeys`) only once it listens: a start that fails (a busy
   * port) creates no keys it could not show.
   */
  async load(): Promise<{ empty: boolean }> {
    const existing = await this.store.listWorkspaces();
    await this.reloadKeys();
    return { empty: existing.length === 0 };
  }

  /**
   * On an empty database: creates workspace `default` with one key of each kind (those given, else
   * new ones). After a start that created keys and stopped before showing them (`unshown` says
   * which): the same write key (stored in full) and a new admin key in place of the unseen one,
   * which is revoked. Otherwise null. `unshown` is cleared by whoever shows the keys.
   */
  async firstRunKeys(given: BootstrapKeys, unshown: UnshownKeys): Promise<FirstRunKeys | null> {
    const existing = await this.store.listWorkspaces();
    if (existing.length === 0) {
      // A key the user chose is known to them; only a generated admin key can be lost.
      const made = await this.createWorkspace('default', given, async (keys) => {
        if (given.adminKey === undefined) await unshown.write(idsOf(keys));
      });
      if (!made.ok) throw new Error(made.error);
      return { keys: made.value.keys, reissued: false };
    }
    const marked = await unshown.read();
    if (!marked) return null;
    if (!existing.some((w) => w.id === marked.workspaceId)) {
      await unshown.clear();
      return null;
    }
    const keys = await this.store.listKeys(marked.workspaceId);
    const write = keys.find((k) => k.id === marked.writeKeyId && k.revokedAt === null && k.secret !== null);
    // Revoke first: a stop before the new key is committed leaves no unseen key behind.
    await this.store.revokeKey(marked.workspaceId, marked.adminKeyId, this.clock.now());
    const admin = this.newKey(marked.workspaceId, 'admin');
    await unshown.write({ ...marked, adminKeyId: admin.issued.id });
    await this.store.insertKey(admin.record);
    await this.reloadKeys();
    const shown: IssuedKey[] = write
      ? [{ id: write.id, workspaceId: write.workspaceId, kind: 'write', secret: write.secret as string }]
      : [];
    return { keys: [...shown, admin.issued], reissued: true };
  }

  /** Loads keys; on an empty database creates workspace `default` with one key of each kind. */
  async start(
    bootstrap: BootstrapKeys,
  ): Promise<{ created: false } | { created: true; workspace: Workspace; keys: IssuedKey[] }> {
    const existing = await this.store.listWorkspaces();
    if (existing.length > 0) {
      await this.reloadKeys();
      return { created: false };
    }
    const made = await this.createWorkspace('default', bootstrap);
    if (!made.ok) throw new Error(made.error);
    return { created: true, ...made.value };
  }

  async listWorkspaces(): Promise<Workspace[]> {
    return this.store.listWorkspaces();
  }

  async createWorkspace(
    name: string,
    given: BootstrapKeys = {},
    beforeCommit?: (keys: IssuedKey[]) => Promise<void>,
  ): Promise<Result<{ workspace: Workspace; keys: IssuedKey[] }, string>> {
    if (!/^[a-z0-9][a-z0-9_-]{0,62}$/i.test(name)) {
      return err(
        `workspace name "${name}" must be 1–63 letters, digits, "-" or "_", starting with a letter or digit`,
      );
    }
    const all = await this.store.listWorkspaces();
    if (all.some((w) => w.name === name)) return err(`workspace "${name}" already exists`);
    const workspace: Workspace = { id: `ws_${this.random.token(9)}`, name, createdAt: this.clock.now() };
    const write = this.newKey(workspace.id, 'write', given.writeKey);
    const admin = this.newKey(workspace.id, 'admin', given.adminKey);
    await beforeCommit?.([write.issued, admin.issued]);
    await this.store.createWorkspace(workspace, [write.record, admin.record]);
    await this.reloadKeys();
    return ok({ workspace, keys: [write.issued, admin.issued] });
  }

  async createKey(workspaceId: string, kind: KeyKind, label?: string): Promise<IssuedKey> {
    const k = this.newKey(workspaceId, kind, undefined, label);
    await this.store.insertKey(k.record);
    await this.reloadKeys();
    return k.issued;
  }

  async listKeys(workspaceId?: string): Promise<KeyInfo[]> {
    const keys = await this.store.listKeys(workspaceId);
    return keys.map((k) => ({
      id: k.id,
      workspaceId: k.workspaceId,
      kind: k.kind,
      key: k.secret ?? k.hint,
      label: k.label,
      createdAt: new Date(k.createdAt).toISOString(),
      revokedAt: k.revokedAt === null ? null : new Date(k.revokedAt).toISOString(),
    }));
  }

  /** `workspaceId` scopes the revocation (API callers); the CLI may revoke any key by id. */
  async revokeKey(workspaceId: string | undefined, keyId: string): Promise<boolean> {
    const done = await this.store.revokeKey(workspaceId, keyId, this.clock.now());
    if (done) await this.reloadKeys();
    return done;
  }

  private async reloadKeys(): Promise<void> {
    this.keyRing.load(await this.store.listKeys());
  }

  private newKey(
    workspaceId: string,
    kind: KeyKind,
    given?: string,
    label?: string,
  ): { record: ApiKeyRecord; issued: IssuedKey } {
    const secret = given ?? `${PREFIX[kind]}${this.random.token(kind === 'admin' ? 32 : 18)}`;
    const id = `key_${this.random.token(6)}`;
    return {
      record: {
        id,
        workspaceId,
        kind,
        secret: kind === 'write' ? secret : null,
        secretHash: hashSecret(secret),
        hint: hintOf(secret),
        label: label ?? null,
        createdAt: this.clock.now(),
        revokedAt: null,
      },
      issued: { id, workspaceId, kind, secret },
    };
  }
}

function idsOf(keys: IssuedKey[]): { workspaceId: string; writeKeyId: string; adminKeyId: string } {
  const write = keys.find((k) => k.kind === 'write') as IssuedKey;
  const admin = keys.find((k) => k.kind === 'admin') as IssuedKey;
  return { workspaceId: admin.workspaceId, writeKeyId: write.id, adminKeyId: admin.id };
}
