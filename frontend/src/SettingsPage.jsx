// Settings: the form render_settings_schema draws for the connected account, saved through
// validate_settings; its errors go next to their fields and its warnings above the form.
import { useEffect, useMemo, useState } from 'react';
import { api, integrationPath } from './api.js';
import { Banner, SchemaForm, errorSchemaOf, formSchema, settingsUiSchema } from './forms.jsx';
import { IntegrationHeader, formatTime, useIntegration } from './IntegrationHeader.jsx';
import { Link, useRouter } from './router.jsx';
import { useSession } from './session.jsx';

function setIn(document, path, value) {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const copy = Array.isArray(document) ? [...document] : { ...(document ?? {}) };
  copy[head] = setIn(copy[head], rest, value);
  return copy;
}

const plural = (count, word) => `${count} ${word}${count === 1 ? '' : 's'}`;

function ActionDialog({ slug, action, onCancel, onDone }) {
  const [params, setParams] = useState({});
  const [problem, setProblem] = useState(null);
  const [busy, setBusy] = useState(false);
  const schema = useMemo(() => formSchema(action.params_schema ?? { type: 'object' }), [action]);
  const firstField = Object.keys(schema.properties ?? {})[0];
  const run = async ({ formData }) => {
    setBusy(true);
    setProblem(null);
    try {
      const result = await api(integrationPath(slug, `/actions/${encodeURIComponent(action.name)}`), {
        method: 'POST',
        body: formData ?? {},
      });
      await onDone(result);
    } catch (error) {
      setProblem(error);
      setBusy(false);
    }
  };
  return (
    <div className="modal-backdrop">
      <div className="modal" role="dialog" aria-modal="true" aria-labelledby="action-title">
        <h2 id="action-title">{action.title}</h2>
        {action.description ? <p className="muted">{action.description}</p> : null}
        {problem ? <Banner kind="error">{problem.message}</Banner> : null}
        <SchemaForm
          schema={schema}
          uiSchema={firstField ? { [firstField]: { 'ui:autofocus': true } } : {}}
          formData={params}
          onChange={(event) => setParams(event.formData)}
          onSubmit={run}
          disabled={busy}
        >
          <div className="form-actions">
            <button type="button" className="button ghost" onClick={onCancel} disabled={busy}>
              Cancel
            </button>
            <button type="submit" className="button primary" disabled={busy}>
              {busy ? 'Working…' : action.title}
            </button>
          </div>
        </SchemaForm>
      </div>
    </div>
  );
}

export default function SettingsPage({ slug }) {
  const { flash } = useRouter();
  const [integration] = useIntegration(slug);
  const [form, setForm] = useState(null);
  const [formData, setFormData] = useState(null);
  const [loadError, setLoadError] = useState(null);
  const [warnings, setWarnings] = useState([]);
  const [savedAt, setSavedAt] = useState(null);
  const [message, setMessage] = useState(flash);
  const [problems, setProblems] = useState(null);
  const [saving, setSaving] = useState(false);
  const [pending, setPending] = useState(null);
  const { may_change: mayChange, user } = useSession();

  const loadForm = async () => {
    const document = await api(integrationPath(slug, '/settings'));
    setForm(document.form);
    return document;
  };

  useEffect(() => {
    loadForm().then(
      (document) => {
        setFormData(document.saved?.settings ?? {});
        setWarnings(document.saved?.warnings ?? []);
        setSavedAt(document.saved?.saved_at ?? null);
      },
      setLoadError,
    );
  }, [slug]);

  const schema = useMemo(() => (form ? formSchema(form.schema) : null), [form]);
  const uiSchema = useMemo(() => (form ? settingsUiSchema(form.ui_schema ?? {}) : null), [form]);
  const notice = form?.ui_schema?.['ui:options']?.notice;

  const save = async ({ formData: submitted }) => {
    setSaving(true);
    setProblems(null);
    setMessage(null);
    try {
      const saved = await api(integrationPath(slug, '/settings'), { method: 'PUT', body: submitted ?? {} });
      setFormData(saved.settings);
      setWarnings(saved.warnings);
      setSavedAt(saved.saved_at);
      const requeued = saved.requeued ? ` ${plural(saved.requeued, 'sync')} waiting for settings will run again.` : '';
      setMessage(`Saved the settings.${requeued}`);
    } catch (error) {
      if (error.type === 'InvalidSettings') {
        setProblems({ ...errorSchemaOf(error.errors), count: error.errors.length });
      } else {
        setProblems({ errorSchema: {}, general: [error.message], count: 1 });
      }
    } finally {
      setSaving(false);
    }
    window.scrollTo(0, 0);
  };

  const finishAction = async (result) => {
    const { path, action } = pending;
    const value = action.result_value ? result[action.result_value] : undefined;
    await loadForm();
    if (value !== undefined) setFormData((current) => setIn(current, path, value));
    setPending(null);
    const named = result.name ? `"${result.name}"` : 'It';
    setMessage(`${action.title}: done. ${named} is selected now; save the settings to use it.`);
  };

  if (integration.error) return <Banner kind="error">{integration.error.message}</Banner>;
  if (integration.loading) return <p className="muted">Loading…</p>;
  const name = integration.manifest?.name ?? slug;
  return (
    <>
      <IntegrationHeader slug={slug} integration={integration} active="settings" />
      {!integration.status?.connected ? (
        <Banner kind="info" title={`${name} is not connected`}>
          <Link to={integrationPath(slug, '/connect')}>Connect {name}</Link> to choose its settings.
        </Banner>
      ) : (
        <>
          {loadError ? <Banner kind="error">{loadError.message}</Banner> : null}
          {message ? (
            <Banner kind="success" data-testid="settings-message">
              {message}
            </Banner>
          ) : null}
          {problems ? (
            <Banner kind="error" title="The settings were not saved" data-testid="settings-problems">
              {problems.general.map((text) => (
                <p key={text}>{text}</p>
              ))}
              {problems.count > problems.general.length ? (
                <p>{plural(problems.count - problems.general.length, 'problem')}: see the marked fields below.</p>
              ) : null}
            </Banner>
          ) : null}
          {notice ? (
            <Banner kind="warning" data-testid="settings-notice">
              {notice.message}
            </Banner>
          ) : null}
          {warnings.length > 0 ? (
            <Banner kind="warning" title={warnings.length === 1 ? 'Warning' : 'Warnings'} data-testid="settings-warnings">
              <ul className="plain-list">
                {warnings.map((text) => (
                  <li key={text}>{text}</li>
                ))}
              </ul>
            </Banner>
          ) : null}
          <section className="card settings-card">
            <div className="card-head">
              <h2>Settings</h2>
              {/* Until the saved settings have loaded, it is not known whether there are any. */}
              {formData === null ? null : (
                <span className="muted" data-testid="settings-saved-at">
                  {savedAt ? `Last saved ${formatTime(savedAt)}` : 'Not saved yet: nothing syncs until you save.'}
                </span>
              )}
            </div>
            {schema && formData !== null ? (
              <SchemaForm
                schema={schema}
                uiSchema={uiSchema}
                formData={formData}
                onChange={(event) => setFormData(event.formData)}
                onSubmit={save}
                extraErrors={problems?.errorSchema}
                formContext={{ onAction: mayChange ? (path, action) => setPending({ path, action }) : null }}
                disabled={saving || !mayChange}
              >
                {mayChange ? (
                  <div className="form-actions">
                    <button type="submit" className="button primary" disabled={saving}>
                      {saving ? 'Saving…' : 'Save settings'}
                    </button>
                  </div>
                ) : (
                  <p className="muted read-only-note" data-testid="settings-read-only">
                    You are signed in as a {user?.role}: only owners and admins can change the settings.
                  </p>
                )}
              </SchemaForm>
            ) : (
              <p className="muted">Loading the form…</p>
            )}
          </section>
          {pending ? <ActionDialog slug={slug} action={pending.action} onCancel={() => setPending(null)} onDone={finishAction} /> : null}
        </>
      )}
    </>
  );
}
SettingsPage.title = 'Settings';
