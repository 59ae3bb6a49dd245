import { describe, expect, it } from 'vitest';
import { DashboardSessions, SESSION_TTL_MS } from './dashboard-sessions.js';

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

  it('adds a second key to a session and shows it; signing in again with a known key only switches', () => {
    const sessions = new DashboardSessions(() => 0);
    const s = sessions.signIn('ak_1');
    sessions.signIn('ak_2', s);
    expect(s.keys).toEqual(['ak_1', 'ak_2']);
    expect(s.current).toBe(1);
    sessions.signIn('ak_1', s);
    expect(s.keys).toEqual(['ak_1', 'ak_2']);
    expect(s.current).toBe(0);
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
});
