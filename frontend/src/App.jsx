import { useEffect } from 'react';
import { Link, match, useRouter } from './router.jsx';
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

export default function App() {
  const { path } = useRouter();
  const [Page, params] = match(ROUTES, path);
  const Shown = Page ?? NotFound;
  useEffect(() => {
    document.title = `${Shown.title ?? 'Integrations'} · 42min reference host`;
  }, [Shown]);
  return (
    <>
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
        </div>
      </header>
      <main className="page">
        <Shown key={path} {...params} />
      </main>
    </>
  );
}
