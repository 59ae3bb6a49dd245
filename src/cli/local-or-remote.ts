import { DEFAULTS } from '../config/config.js';
import type { Result } from '../core/result.js';
import type { FunnelService } from '../services/funnel-service.js';
import type { IdentityService } from '../services/identity-service.js';
import type { ImportService } from '../services/import-service.js';
import type { JourneyService } from '../services/journey-service.js';
import type { JourneyTablesService } from '../services/journey-tables-service.js';
import type { KpiService } from '../services/kpi-service.js';
import type { PathsService } from '../services/paths-service.js';
import type { PersonAdminService } from '../services/person-admin-service.js';
import type { PersonService } from '../services/person-service.js';
import type { RetentionService } from '../services/retention-service.js';
import type { StagesService } from '../services/stages-service.js';
import type { WorkspaceService } from '../services/workspace-service.js';
import type { ApiTarget } from './api-client.js';

/** How CLI commands that change data reach it: the file itself, or the running server's API. */
export interface LocalPeople {
  identity: IdentityService;
  persons: PersonService;
  admin: PersonAdminService;
  journeys: JourneyService;
  journeyTables: JourneyTablesService;
  kpis: KpiService;
  funnels: FunnelService;
  /** Journey maps over the journey tables. */
  paths: PathsService;
  stages: StagesService;
  retention: RetentionService;
}

/** An import into the data directory's log, and the load of the log into the database. */
export interface LocalImporter {
  imports: ImportService;
  /**
   * Runs `work` (the import) while the loader moves the log into the database, then loads the
   * rest, so everything is queryable when it resolves.
   */
  run(work: () => Promise<void>): Promise<void>;
  loadedSeq(): number;
  head(): number;
}

export interface LocalStore {
  workspaces: WorkspaceService;
  importer(): Promise<LocalImporter>;
  /** The identity graph, loaded and caught up on first use. */
  people(): Promise<LocalPeople>;
  close(): void | Promise<void>;
}

export interface LocalAccess {
  openLocal(dataDir: string): Promise<Result<LocalStore, { locked: boolean; message: string }>>;
}

export interface AccessFlags {
  data?: string;
  url?: string;
  adminKey?: string;
}

export type Access =
  | {
      kind: 'local';
      workspaces: WorkspaceService;
      people(): Promise<LocalPeople>;
      close(): void | Promise<void>;
    }
  | { kind: 'remote'; target: ApiTarget };

/**
 * DuckDB lets one process write a database file. When a server holds it, commands go through
 * the server's API if an admin key is at hand, and otherwise say clearly what to do.
 */
export async function openAccess(
  deps: LocalAccess,
  flags: AccessFlags,
  allowRemote: boolean,
): Promise<Result<Access, string>> {
  const dataDir = flags.data ?? process.env.THROUGHLINE_DATA_DIR ?? DEFAULTS.dataDir;
  const local = await deps.openLocal(dataDir);
  if (local.ok) return { ok: true, value: { kind: 'local', ...local.value } };
  if (!local.error.locked) return { ok: false, error: local.error.message };
  const adminKey = flags.adminKey ?? process.env.THROUGHLINE_ADMIN_KEY;
  if (!allowRemote) {
    return {
      ok: false,
      error: `${local.error.message}\nStop the server first: this command needs the database file.`,
    };
  }
  if (!adminKey) {
    return {
      ok: false,
      error: `${local.error.message}\nStop the server, or pass --admin-key (or set THROUGHLINE_ADMIN_KEY) to go through its API.`,
    };
  }
  const url = flags.url ?? process.env.THROUGHLINE_URL ?? `http://localhost:${DEFAULTS.port}`;
  return { ok: true, value: { kind: 'remote', target: { url, adminKey } } };
}
