import { describe, expect, it } from 'vitest';
import { DashboardSessions, MAX_SESSIONS_PER_KEY, SESSION_TTL_MS } from './dashboard-sessions.js';

describe('DashboardSessions', () => {
  it('expires a session a TTL after its last use, and each use extends it', () => {
    let now = 1_000;
    const sessions = new DashboardSessions(() => now);
    const s = sessions.signIn('ak_1');
    now += SESSION_TTL_MS - 1;
    expect(sessions.get(s.id)?.id).toBe(s.id);
    now += SESSION_TTL_MS - 1;
    expect(sessions.get(s.id)?.id).toBe(s.id);
    now += SESSION_TTL_MS;
    expect(sessions.get(s.id)).toBeUndefined();
    expect(sessions.get(undefined)).toBeUndefined();
  });

  it('signing in again makes a new session holding both keys, showing the new one; the old id ends', () => {
    const sessions = new DashboardSessions(() => 0);
    const first = sessions.signIn('ak_1');
    const second = sessions.signIn('ak_2', first);
    expect(second.id).not.toBe(first.id);
    expect(second.csrfToken).not.toBe(first.csrfToken);
    expect(second.keys).toEqual(['ak_1', 'ak_2']);
    expect(second.keys[second.current]).toBe('ak_2');
    expect(sessions.get(first.id)).toBeUndefined();
    const third = sessions.signIn('ak_1', second);
    expect(third.keys).toEqual(['ak_2', 'ak_1']);
    expect(third.keys[third.current]).toBe('ak_1');
  });

  it('gives each session its own unguessable id and CSRF token, and forgets it on sign-out', () => {
    const sessions = new DashboardSessions(() => 0);
    const a = sessions.signIn('ak_1');
    const b = sessions.signIn('ak_1');
    expect(a.id).not.toBe(b.id);
    expect(a.csrfToken).not.toBe(a.id);
    expect(a.id.length).toBeGreaterThanOrEqual(32);
    sessions.signOut(a.id);
    expect(sessions.get(a.id)).toBeUndefined();
    expect(sessions.get(b.id)?.id).toBe(b.id);
  });

  it('caps the sessions of one key, ending its oldest, never those of another key', () => {
    const sessions = new DashboardSessions(() => 0);
    const other = sessions.signIn('ak_other');
    const first = sessions.signIn('ak_flood');
    let last = first;
    for (let i = 0; i < MAX_SESSIONS_PER_KEY + 50; i++) last = sessions.signIn('ak_flood');
    expect(sessions.get(first.id)).toBeUndefined();
    expect(sessions.get(last.id)?.id).toBe(last.id);
    expect(sessions.get(other.id)?.id).toBe(other.id);
  });
});
