// Sync log: one entry per attempt, newest first, filtered by status; failed jobs replayed.
import { useCallback, useEffect, useState } from 'react';
import { api, integrationPath } from './api.js';
import { Banner, ConfirmDialog } from './forms.jsx';
import { IntegrationHeader, useIntegration } from './IntegrationHeader.jsx';
import { useSession } from './session.jsx';

const STATUSES = [
  ['', 'All'],
  ['synced', 'Synced'],
  ['skipped', 'Skipped'],
  ['deferred', 'Deferred'],
  ['failed', 'Failed'],
];
const REFRESH_MS = 1000;

const plural = (count, word) => `${count} ${word}${count === 1 ? '' : 's'}`;

function Entry({ entry, onReplay, busy, mayChange }) {
  return (
    <tr data-entry={entry.id} data-job={entry.job_id} data-status={entry.status}>
      <td className="nowrap">
        <time dateTime={entry.at}>
          <div>{new Date(entry.at).toLocaleTimeString()}</div>
          <div className="fine-print">{new Date(entry.at).toLocaleDateString(undefined, { dateStyle: 'medium' })}</div>
        </time>
      </td>
      <td>
        <div className="event-type">
          {entry.event_type}
          {entry.origin === 'backfill' ? (
            <span className="pill pill-off backfill-mark" title="Synced by a backfill, behind live events">
              backfill
            </span>
          ) : null}
        </div>
        <div className="fine-print mono">
          {entry.event_id} · job {entry.job_id}
          {entry.attempt > 1 ? `, attempt ${entry.attempt}` : ''}
        </div>
      </td>
      <td className="email">{entry.email ?? <span className="muted">no email</span>}</td>
      <td className="nowrap">
        <span className={`status status-${entry.status}`}>{entry.status}</span>
        <div className="fine-print mono reason">{entry.reason}</div>
      </td>
      <td className="message">
        {entry.message}
        {entry.latest && entry.job_state && entry.job_state !== 'done' && entry.status !== 'deferred' ? (
          <div className="fine-print">Job {entry.job_state === 'parked' ? `waiting for ${entry.blocked_on ?? 'a fix'}` : entry.job_state}</div>
        ) : null}
      </td>
      <td className="nowrap actions-cell">
        {entry.replayable && mayChange ? (
          <button type="button" className="button secondary small" onClick={() => onReplay([entry.job_id])} disabled={busy}>
            Replay
          </button>
        ) : null}
      </td>
    </tr>
  );
}

export default function LogPage({ slug }) {
  const [integration] = useIntegration(slug);
  const [status, setStatus] = useState('');
  const [log, setLog] = useState(null);
  const [problem, setProblem] = useState(null);
  const [message, setMessage] = useState(null);
  const [busy, setBusy] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const { may_change: mayChange } = useSession();

  const load = useCallback(async () => {
    try {
      setLog(await api(integrationPath(slug, `/log${status ? `?status=${status}` : ''}`)));
      setProblem(null);
    } catch (error) {
      setProblem(error);
    }
  }, [slug, status]);

  useEffect(() => {
    load();
  }, [load]);

  const working = log ? log.jobs.queued + log.jobs.running : 0;
  useEffect(() => {
    // While jobs wait or run, the worker is about to add entries: look again shortly.
    if (working === 0) return undefined;
    const timer = setTimeout(load, REFRESH_MS);
    return () => clearTimeout(timer);
  }, [log, working, load]);

  const replay = async (jobIds) => {
    setConfirming(false);
    setBusy(true);
    try {
      const { queued } = await api(integrationPath(slug, '/replay'), { method: 'POST', body: jobIds ? { job_ids: jobIds } : {} });
      setMessage(
        queued.length === 0 ? 'No failed job to replay.' : `Queued again: ${plural(queued.length, 'job')} (${queued.join(', ')}). The log updates as they run.`,
      );
      await load();
    } catch (error) {
      setProblem(error);
    } finally {
      setBusy(false);
    }
  };

  if (integration.error) return <Banner kind="error">{integration.error.message}</Banner>;
  if (integration.loading) return <p className="muted">Loading…</p>;
  const jobs = log?.jobs;
  return (
    <>
      <IntegrationHeader slug={slug} integration={integration} active="log" />
      {problem ? <Banner kind="error">{problem.message}</Banner> : null}
      {message ? (
        <Banner kind="success" data-testid="log-message">
          {message}
        </Banner>
      ) : null}
      <section className="card">
        <div className="card-head">
          <h2>Sync log</h2>
          {jobs ? (
            <span className="muted queue" data-testid="queue">
              {working > 0 ? `${plural(working, 'job')} syncing… · ` : ''}
              {jobs.done} done · {jobs.failed} failed · {jobs.parked} waiting for a fix
            </span>
          ) : null}
        </div>
        <div className="toolbar">
          <div className="segmented" role="group" aria-label="Filter by status">
            {STATUSES.map(([value, title]) => (
              <button
                key={value || 'all'}
                type="button"
                className={`segment${status === value ? ' segment-active' : ''}`}
                aria-pressed={status === value}
                onClick={() => setStatus(value)}
              >
                {title}
              </button>
            ))}
          </div>
          {mayChange ? (
            <button type="button" className="button secondary" onClick={() => setConfirming(true)} disabled={busy || !jobs || jobs.failed === 0}>
              Replay all failed
            </button>
          ) : null}
        </div>
        {log && log.entries.length === 0 ? (
          <p className="empty">{status ? `No ${status} entries.` : 'Nothing has synced yet. Bookings and form submissions show up here.'}</p>
        ) : null}
        {log && log.entries.length > 0 ? (
          <div className="table-wrap">
            <table className="log-table">
              <thead>
                <tr>
                  <th>When</th>
                  <th>Event</th>
                  <th>Person</th>
                  <th>Outcome</th>
                  <th>What happened</th>
                  <th>
                    <span className="sr-only">Actions</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {log.entries.map((entry) => (
                  <Entry key={entry.id} entry={entry} onReplay={replay} busy={busy} mayChange={mayChange} />
                ))}
              </tbody>
            </table>
          </div>
        ) : null}
      </section>
      {confirming ? (
        <ConfirmDialog
          title="Replay all failed syncs?"
          confirmLabel={`Replay ${plural(jobs?.failed ?? 0, 'job')}`}
          onConfirm={() => replay(null)}
          onCancel={() => setConfirming(false)}
        >
          <p>
            {plural(jobs?.failed ?? 0, 'failed job')} will be queued again and sent to the service once more. Fix what made them
            fail first (the messages say what).
          </p>
        </ConfirmDialog>
      ) : null}
    </>
  );
}
LogPage.title = 'Sync log';
