// Integrations: every installed integration's card (from integration_manifest), by category.
import { useEffect, useState } from 'react';
import { api, integrationPath } from './api.js';
import { Banner } from './forms.jsx';
import { CATEGORY_TITLES, Logo } from './IntegrationHeader.jsx';
import { Link, useRouter } from './router.jsx';
import { useSession } from './session.jsx';

function Card({ card }) {
  const { slug, name, description, connected, managed } = card;
  const { may_change: mayChange } = useSession();
  return (
    <article className="integration-card" data-slug={slug} aria-label={name}>
      <div className="integration-card-head">
        <Logo name={name} />
        <div className="integration-card-title">
          <h3>{name}</h3>
          <span className={`pill ${connected ? 'pill-ok' : 'pill-off'}`}>{connected ? 'Connected' : 'Not connected'}</span>
        </div>
      </div>
      <p className="integration-card-text">{description}</p>
      {card.admin_only ? <p className="fine-print">Only organization owners and admins can connect it.</p> : null}
      <div className="integration-card-actions">
        {!managed ? (
          <span className="muted">Not managed by this host</span>
        ) : connected ? (
          <>
            <Link to={integrationPath(slug)} className="button primary">
              Settings
            </Link>
            <Link to={integrationPath(slug, '/log')} className="button secondary">
              Log
            </Link>
          </>
        ) : (
          <>
            {mayChange ? (
              <Link to={integrationPath(slug, '/connect')} className="button primary">
                Connect {name}
              </Link>
            ) : (
              <span className="muted">Not connected: an owner or admin can connect it.</span>
            )}
            {/* The log outlives a disconnect. */}
            <Link to={integrationPath(slug, '/log')} className="button secondary">
              Log
            </Link>
          </>
        )}
      </div>
    </article>
  );
}

export default function IntegrationsPage() {
  const { flash } = useRouter();
  const [state, setState] = useState({ loading: true });
  useEffect(() => {
    api('/integrations').then(
      (document) => setState({ loading: false, ...document }),
      (error) => setState({ loading: false, error }),
    );
  }, []);
  const byCategory = new Map();
  for (const card of state.integrations ?? []) {
    if (!byCategory.has(card.category)) byCategory.set(card.category, []);
    byCategory.get(card.category).push(card);
  }
  return (
    <>
      <div className="page-head">
        <h1>Integrations</h1>
        <p className="muted">Connect the tools your team works in. Each integration has its own settings page and sync log.</p>
      </div>
      {flash ? <Banner kind="success">{flash}</Banner> : null}
      {state.error ? <Banner kind="error">{state.error.message}</Banner> : null}
      {state.loading ? <p className="muted">Loading…</p> : null}
      {[...byCategory.entries()].map(([category, cards]) => (
        <section key={category} className="category" aria-labelledby={`category-${category}`}>
          <h2 id={`category-${category}`}>{CATEGORY_TITLES[category] ?? category}</h2>
          <div className="card-grid">
            {cards.map((card) => (
              <Card key={card.slug} card={card} />
            ))}
          </div>
        </section>
      ))}
    </>
  );
}
IntegrationsPage.title = 'Integrations';
