import { useCallback, useEffect, useState } from 'react';
import { ApiError, api, setCsrfToken, whenSignedOut } from './api.js';
import { Link, match, useRouter } from './router.jsx';
import { SessionContext, SignedOut } from './session.jsx';
import IntegrationsPage from './IntegrationsPage.jsx';
import ConnectPage from './ConnectPage.jsx';
import SettingsPage from './SettingsPage.jsx';
import LogPage from './LogPage.jsx';
import DisconnectPage from './DisconnectPage.jsx';

const ROUTES = [
  ['/', IntegrationsPage],
  ['/integrations', IntegrationsPage],
  ['/integrations/:slug', SettingsPage],
  ['/integrations/:slug/connect', ConnectPage],
  ['/integrations/:slug/settings', SettingsPage],
  ['/integrations/:slug/log', LogPage],
  ['/integrations/:slug/disconnect', DisconnectPage],
];

function NotFound() {
  return (
    <div className="card">
      <h1>Page not found</h1>
      <p>
        Go back to the <Link to="/integrations">Integrations</Link> page.
      </p>
    </div>
  );
}

function UserMenu({ session, onSignOut }) {
  return (
    <div className="user-menu" data-testid="user-menu">
      <span className="user-email">{session.user.email}</span>
      <span className="pill pill-off user-role">{session.user.role}</span>
      <button type="button" className="button ghost small" onClick={onSignOut}>
        Sign out
      </button>
    </div>
  );
}

export default function App() {
  const { path } = useRouter();
  const [session, setSession] = useState({ loading: true });
  const [Page, params] = match(ROUTES, path);
  const Shown = Page ?? NotFound;

  const loadSession = useCallback(async () => {
    try {
      const me = await api('/me');
      setCsrfToken(me.csrf_token);
      setSession(me);
    } catch (error) {
      setCsrfToken(null);
      setSession(error instanceof ApiError && error.status === 401 ? { signedOut: true } : { error });
    }
  }, []);

  useEffect(() => {
    loadSession();
    whenSignedOut(() => {
      setCsrfToken(null);
      setSession({ signedOut: true, reason: 'Your session ended: sign in again.' });
    });
  }, [loadSession]);

  useEffect(() => {
    document.title = `${session.user ? (Shown.title ?? 'Integrations') : 'Sign in'} · 42min reference host`;
  }, [Shown, session.user]);

  const signOut = async () => {
    try {
      await api('/sign-out', { method: 'POST', body: {} });
    } finally {
      setCsrfToken(null);
      setSession({ signedOut: true, reason: 'You are signed out.' });
    }
  };

  let content;
  if (session.loading) content = <p className="muted">Loading…</p>;
  else if (session.error) content = <p className="muted">{session.error.message}</p>;
  else if (!session.user) content = <SignedOut reason={session.reason} />;
  else content = <Shown key={path} {...params} />;

  return (
    <SessionContext.Provider value={session}>
      <header className="topbar">
        <div className="topbar-inner">
          <Link to="/integrations" className="brand">
            <span className="brand-mark">42</span>
            <span className="brand-name">42min</span>
          </Link>
          <span className="brand-sub">Reference host · Admin</span>
          <nav className="topnav">
            <Link to="/integrations" className="topnav-link">
              Integrations
            </Link>
          </nav>
          {session.user ? <UserMenu session={session} onSignOut={signOut} /> : null}
        </div>
      </header>
      <main className="page">{content}</main>
    </SessionContext.Provider>
  );
}
