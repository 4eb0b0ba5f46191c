// The job's webhook deliveries (docs/notifications.md): a small section of the details view,
// loaded from GET /api/v1/jobs/{id}/notifications when the job's status changes and on "Refresh".
import { jobs } from './api.js';
import { h } from './dom.js';
import { timeEl } from './widgets.js';

/** @param {string} jobId */
export function notificationsSection(jobId) {
  const el = h('section', { id: 'job-notifications', class: 'card', 'aria-labelledby': 'notifications-title' });
  let deliveries = null;
  let error = '';
  let loading = false;

  const render = () => {
    const refresh = h('button', { type: 'button', class: 'secondary', id: 'notifications-refresh' }, 'Refresh');
    refresh.addEventListener('click', () => void load());
    const body = (() => {
      if (error) return h('p', { class: 'error' }, `The deliveries could not be loaded: ${error}`);
      if (deliveries === null) return h('p', { class: 'muted' }, 'Loading…');
      if (deliveries.length === 0)
        return h('p', { class: 'muted' }, 'No webhook for this job (no s3batch:notify tag and no account webhook).');
      return h(
        'table',
        { class: 'kv', id: 'notifications-table' },
        h(
          'thead',
          null,
          h(
            'tr',
            null,
            ['Event', 'URL', 'State', 'Attempts', 'Last attempt'].map((t) => h('th', { scope: 'col' }, t)),
          ),
        ),
        h(
          'tbody',
          null,
          deliveries.map((d) => {
            const last = d.Attempts[d.Attempts.length - 1];
            const lastText = last ? `${last.StatusCode ?? last.Error ?? 'no answer'}` : '—';
            return h(
              'tr',
              { 'data-state': d.State },
              h('td', null, `${d.Event} → ${d.Status}`),
              h('td', null, h('code', null, d.Url)),
              h('td', { class: `delivery-${d.State}` }, d.State, d.GaveUpReason ? ` (${d.GaveUpReason})` : ''),
              h('td', null, String(d.AttemptCount)),
              h('td', null, lastText, ' ', last ? timeEl(last.At) : ''),
            );
          }),
        ),
      );
    })();
    el.replaceChildren(h('h2', { id: 'notifications-title' }, 'Notifications'), body, h('p', null, refresh));
  };

  const load = async () => {
    if (loading) return;
    loading = true;
    try {
      deliveries = (await jobs.notifications(jobId)).Deliveries;
      error = '';
    } catch (err) {
      error = err.message;
    } finally {
      loading = false;
    }
    render();
  };

  render();
  return { el, load };
}
