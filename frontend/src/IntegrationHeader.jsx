// The head of every page of one integration: name, category, status and the page tabs.
import { useEffect, useState } from 'react';
import { api, integrationPath } from './api.js';
import { Link } from './router.jsx';
import { useSession } from './session.jsx';

export const CATEGORY_TITLES = {
  crm: 'CRM',
  calendar: 'Calendar',
  video: 'Video conferencing',
  payments: 'Payments',
  automation: 'Automation',
  messaging: 'Messaging',
  analytics: 'Analytics',
};

export function useIntegration(slug) {
  const [state, setState] = useState({ loading: true });
  const reload = async () => {
    try {
      const document = await api(integrationPath(slug));
      setState({ ...document, loading: false });
      return document;
    } catch (error) {
      setState({ loading: false, error });
      return null;
    }
  };
  useEffect(() => {
    reload();
  }, [slug]);
  return [state, reload];
}

export function Logo({ name }) {
  return (
    <span className="logo" aria-hidden="true">
      {name.slice(0, 1)}
    </span>
  );
}

export function IntegrationHeader({ slug, integration, active }) {
  const { manifest, status } = integration;
  const { may_change: mayChange } = useSession();
  const name = manifest?.name ?? slug;
  // Members see no tab for what they may not do (connect, disconnect). Connect stays a tab
  // while it is open, so a reconnect shows where the admin is.
  const connectTab = ['connect', `Connect ${name}`, integrationPath(slug, '/connect')];
  const tabs = (
    status?.connected
      ? [
          ['settings', 'Settings', integrationPath(slug)],
          ['log', 'Sync log', integrationPath(slug, '/log')],
          mayChange && active === 'connect' ? connectTab : null,
          mayChange ? ['disconnect', 'Disconnect', integrationPath(slug, '/disconnect')] : null,
        ]
      : [mayChange ? connectTab : null, ['log', 'Sync log', integrationPath(slug, '/log')]]
  ).filter(Boolean);
  return (
    <div className="integration-head">
      <nav className="breadcrumbs" aria-label="Breadcrumbs">
        <Link to="/integrations">Integrations</Link>
        <span aria-hidden="true">/</span>
        <span>{CATEGORY_TITLES[manifest?.category] ?? manifest?.category ?? ''}</span>
        <span aria-hidden="true">/</span>
        <span>{name}</span>
      </nav>
      <div className="integration-title">
        <Logo name={name} />
        <div>
          <h1>{name}</h1>
          {manifest?.description ? <p className="muted">{manifest.description}</p> : null}
        </div>
        <span className={`pill ${status?.connected ? 'pill-ok' : 'pill-off'}`} data-testid="connection-state">
          {status?.connected ? 'Connected' : 'Not connected'}
        </span>
      </div>
      <nav className="tabs" aria-label={`${name} pages`}>
        {tabs.map(([key, title, to]) => (
          <Link key={key} to={to} className={`tab${key === active ? ' tab-active' : ''}`} aria-current={key === active ? 'page' : undefined}>
            {title}
          </Link>
        ))}
      </nav>
    </div>
  );
}

export function formatTime(iso) {
  if (!iso) return '';
  const moment = new Date(iso);
  return moment.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}
