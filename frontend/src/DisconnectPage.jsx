// Disconnect: forget the connection; what is already in the other tool stays there.
import { useState } from 'react';
import { api, integrationPath } from './api.js';
import { Banner, ConfirmDialog, ConnectionSummary } from './forms.jsx';
import { IntegrationHeader, formatTime, useIntegration } from './IntegrationHeader.jsx';
import { Link, useRouter } from './router.jsx';
import { useSession } from './session.jsx';

export default function DisconnectPage({ slug }) {
  const { navigate } = useRouter();
  const [integration] = useIntegration(slug);
  const [problem, setProblem] = useState(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const session = useSession();
  const name = integration.manifest?.name ?? slug;
  const connection = integration.status?.connection;

  const disconnect = async () => {
    setConfirming(false);
    setBusy(true);
    try {
      await api(integrationPath(slug, '/disconnect'), { method: 'POST', body: {} });
      navigate('/integrations', `Disconnected ${name}. What was already synced to ${name} stays there: nothing is deleted.`);
    } catch (error) {
      setProblem(error);
      setBusy(false);
    }
  };

  if (integration.error) return <Banner kind="error">{integration.error.message}</Banner>;
  if (integration.loading) return <p className="muted">Loading…</p>;
  return (
    <>
      <IntegrationHeader slug={slug} integration={integration} active="disconnect" />
      {problem ? <Banner kind="error">{problem.message}</Banner> : null}
      <section className="card narrow">
        <h2>Disconnect {name}</h2>
        {connection ? (
          <>
            <p>
              <ConnectionSummary connection={connection} schema={integration.manifest?.credentials_schema} />{' '}
              {formatTime(connection.connected_at)}.
            </p>
            <p>Disconnecting removes the connection and stops future syncs. Syncs still queued wait until you connect again.</p>
            <Banner kind="info" data-testid="disconnect-note">
              What was already synced to {name} stays there: <strong>nothing</strong> is deleted.
            </Banner>
            <div className="form-actions">
              <Link to={integrationPath(slug)} className="button ghost">
                Cancel
              </Link>
              {session.may_change ? (
                <button type="button" className="button danger" onClick={() => setConfirming(true)} disabled={busy}>
                  {busy ? 'Disconnecting…' : `Disconnect ${name}`}
                </button>
              ) : (
                <span className="muted">Only owners and admins can disconnect {name}.</span>
              )}
            </div>
            {confirming ? (
              <ConfirmDialog
                title={`Disconnect ${name}?`}
                confirmLabel={`Yes, disconnect ${name}`}
                danger
                onConfirm={disconnect}
                onCancel={() => setConfirming(false)}
              >
                <p>Syncing stops until someone connects {name} again. Nothing already synced is deleted.</p>
              </ConfirmDialog>
            ) : null}
          </>
        ) : (
          <p>
            {name} is not connected. <Link to={integrationPath(slug, '/connect')}>Connect {name}</Link>
          </p>
        )}
      </section>
    </>
  );
}
DisconnectPage.title = 'Disconnect';
