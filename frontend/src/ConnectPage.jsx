// Connect: the credentials form drawn from the manifest's credentials_schema. The host
// connects as the signed-in user; only owners and admins may, so members see no form.
import { useMemo, useState } from 'react';
import { api, integrationPath } from './api.js';
import { Banner, ConnectionSummary, SchemaForm, credentialsUiSchema, formSchema } from './forms.jsx';
import { IntegrationHeader, formatTime, useIntegration } from './IntegrationHeader.jsx';
import { useRouter } from './router.jsx';
import { useSession } from './session.jsx';

export default function ConnectPage({ slug }) {
  const { navigate } = useRouter();
  const [integration] = useIntegration(slug);
  const session = useSession();
  const [credentials, setCredentials] = useState({});
  const [problem, setProblem] = useState(null);
  const [busy, setBusy] = useState(false);
  const schema = integration.manifest?.credentials_schema;
  const form = useMemo(() => (schema ? { schema: formSchema(schema), ui: credentialsUiSchema(schema) } : null), [schema]);
  const name = integration.manifest?.name ?? slug;
  const connection = integration.status?.connection;

  const connect = async ({ formData }) => {
    setBusy(true);
    setProblem(null);
    try {
      await api(integrationPath(slug, '/connect'), { method: 'POST', body: { credentials: formData ?? {} } });
      navigate(integrationPath(slug), `Connected ${name}. Next: choose what syncs, and where.`);
    } catch (error) {
      setProblem(error);
      setBusy(false);
    }
  };

  if (integration.error) return <Banner kind="error">{integration.error.message}</Banner>;
  if (integration.loading) return <p className="muted">Loading…</p>;
  return (
    <>
      <IntegrationHeader slug={slug} integration={integration} active="connect" />
      <div className="two-columns">
        <section className="card" aria-labelledby="connect-title">
          <h2 id="connect-title">Connect {name}</h2>
          {connection ? (
            <Banner kind="info">
              <ConnectionSummary connection={connection} schema={integration.manifest?.credentials_schema} />{' '}
              {formatTime(connection.connected_at)}. Connecting again replaces the saved keys.
            </Banner>
          ) : null}
          {problem ? (
            <Banner kind="error" title={problem.status === 403 ? 'Not allowed' : `${name} was not connected`} data-testid="connect-error">
              {problem.message}
            </Banner>
          ) : null}
          {!session.may_change ? (
            <Banner kind="info" title="Not allowed" data-testid="connect-not-allowed">
              Only organization owners and admins can connect {name}. You are signed in as a {session.user?.role}.
            </Banner>
          ) : null}
          {form && session.may_change ? (
            <SchemaForm
              schema={form.schema}
              uiSchema={form.ui}
              formData={credentials}
              onChange={(event) => setCredentials(event.formData)}
              onSubmit={connect}
              disabled={busy}
            >
              <div className="form-actions">
                <button type="submit" className="button primary" disabled={busy}>
                  {busy ? 'Checking the keys…' : `Connect ${name}`}
                </button>
              </div>
            </SchemaForm>
          ) : null}
        </section>
        <aside className="card side-note">
          <h3>Where to find the keys</h3>
          <ol>
            <li>
              In {name}, open <strong>Account settings → API</strong>.
            </li>
            <li>
              Copy your <strong>API user ID</strong> and <strong>API secret</strong>.
            </li>
            <li>Paste both here. 42min checks them with {name} before saving anything; the secret is stored encrypted and never shown again.</li>
          </ol>
          {integration.demo ? <p className="fine-print">Demo: the demo account's keys were printed where you started the server.</p> : null}
        </aside>
      </div>
    </>
  );
}
ConnectPage.title = 'Connect';
