/**
 * The job details view (`#/jobs/<id>`): status and facts, actions (confirm, cancel, change
 * priority, pause and resume, each through the confirming dialog), progress bar and counters updated live from the
 * job's event stream (/api/v1/jobs/<id>/events; polling every 3 s when it fails), discovery and
 * processing metrics, failure reasons, the status timeline, report download links once the
 * report exists, tags, and the job's spec as submitted; a tasks/s chart over the job's life
 * (charts-view.js) and a bar chart of failed tasks by error code. Once the job has ended, the account's
 * stream (/api/v1/events) tells when it is deleted at the end of its retention period: the view
 * then says so instead of showing a job that is gone.
 */
import { ApiError, API, jobs } from './api.js';
import { ask, field } from './dialogs.js';
import { definitions, fill, h, keepFocus } from './dom.js';
import { bytes, duration, localTime, num, rate } from './format.js';
import { mountCharts } from './charts-view.js';
import { live, openStream } from './live.js';
import { canRetry, renderFailuresByCode, retryFacts, retryFailed } from './failures.js';
import { notificationsSection } from './notifications.js';
import { byteRows, percentRows } from './progress-extras.js';
import { doneOf, isTerminal, progressBar, statusBadge, timeEl } from './widgets.js';

/** Statuses a job can be cancelled from (the server has the last word). */
const CANCELLABLE = ['New', 'Preparing', 'Suspended', 'Ready', 'Active', 'Pausing', 'Paused'];
/** Statuses a user may pause a job in (domain/user-pause.ts; the server has the last word). */
const PAUSABLE = CANCELLABLE;

export function mountDetails(root, jobId) {
  /** @type {any} */ let view = null;
  /** Latest live numbers (progress events), merged over the view's ProgressSummary. */
  let p = null;
  let report = { state: 'none' };
  let stopLive = () => {};
  let stopRemoval;
  let stopped = false;

  const parts = {
    head: h('div', { id: 'job-head' }),
    actions: h('div', { id: 'job-actions', class: 'actions' }),
    message: h('p', { id: 'job-message', class: 'error', role: 'alert', hidden: true }),
    progress: h('section', { id: 'job-progress', class: 'card', 'aria-labelledby': 'progress-title' }),
    discovery: h('section', { id: 'job-discovery', class: 'card', 'aria-labelledby': 'discovery-title' }),
    failures: h('section', { id: 'job-failures', class: 'card', 'aria-labelledby': 'failures-title' }),
    byCode: h('section', { id: 'job-failures-by-code', class: 'card', 'aria-labelledby': 'failures-by-code-title' }),
    timeline: h('section', { id: 'job-timeline', class: 'card', 'aria-labelledby': 'timeline-title' }),
    report: h('section', { id: 'job-report', class: 'card', 'aria-labelledby': 'report-title' }),
    tags: h('section', { id: 'job-tags', class: 'card', 'aria-labelledby': 'tags-title' }),
    spec: h('section', { id: 'job-spec', class: 'card', 'aria-labelledby': 'spec-title' }),
    charts: h('div', { class: 'charts' }),
  };
  const notifications = notificationsSection(jobId);
  let notifiedStatus = null;
  const charts = mountCharts(parts.charts, jobId);
  root.replaceChildren(
    h('p', null, h('a', { href: '#/', class: 'back' }, '← All jobs')),
    parts.head,
    parts.actions,
    parts.message,
    parts.charts,
    h(
      'div',
      { class: 'grid' },
      parts.progress,
      parts.discovery,
      parts.failures,
      parts.byCode,
      parts.timeline,
      parts.report,
      parts.tags,
      notifications.el,
    ),
    parts.spec,
  );
  parts.head.append(
    h('h1', { id: 'details-title', tabindex: '-1' }, 'Job ', h('code', null, jobId)),
    h('p', { class: 'muted' }, 'Loading…'),
  );

  const showError = (text) => {
    parts.message.textContent = text;
    parts.message.hidden = !text;
  };

  const load = async () => {
    try {
      setView(await jobs.get(jobId));
      showError('');
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        stopLive();
        parts.head.replaceChildren(
          h('h1', { id: 'details-title', tabindex: '-1' }, 'Job not found'),
          h('p', null, `There is no job ${jobId} in this account.`),
        );
        return;
      }
      showError(`The job could not be loaded: ${err.message}`);
      throw err;
    }
  };

  const setView = (v) => {
    if (stopped) return;
    view = v;
    const s = v.Job.ProgressSummary;
    p = {
      ...p,
      Status: v.Job.Status,
      TotalNumberOfTasks: s.TotalNumberOfTasks,
      NumberOfTasksSucceeded: s.NumberOfTasksSucceeded,
      NumberOfTasksFailed: s.NumberOfTasksFailed,
      ElapsedTimeInActiveSeconds: s.Timers?.ElapsedTimeInActiveSeconds ?? p?.ElapsedTimeInActiveSeconds ?? 0,
      Discovery: v.Discovery ?? p?.Discovery ?? null,
      FailuresByCode: v.FailuresByCode ?? p?.FailuresByCode ?? [],
      PercentComplete: v.PercentComplete ?? p?.PercentComplete ?? null,
      BytesProcessed: v.BytesProcessed ?? p?.BytesProcessed ?? null,
      AverageBytesPerSecond: v.AverageBytesPerSecond ?? p?.AverageBytesPerSecond ?? null,
    };
    document.title = `Job ${jobId.slice(0, 8)} · s3batch`;
    keepFocus(renderAll);
    // Deliveries follow status changes: reload them when the status moves.
    if (v.Job.Status !== notifiedStatus) {
      notifiedStatus = v.Job.Status;
      void notifications.load();
    }
    charts.view(v);
    if (isTerminal(v.Job.Status) && report.state === 'none') void loadReport();
    if (isTerminal(v.Job.Status)) watchRemoval();
  };

  /** An ended job is deleted when its retention period ends: the account's stream says when. */
  const watchRemoval = () => {
    if (stopRemoval || stopped) return;
    stopRemoval = openStream('/events', {
      onEvent: (name, data) => {
        if (name === 'removed' && data.JobId === jobId) showRemoved();
      },
      onFail: () => {}, // without the stream the view stays as it is; a reload says "Job not found"
    });
  };

  const showRemoved = () => {
    if (stopped) return;
    stopLive();
    stopRemoval?.();
    charts.stop();
    document.title = `Job ${jobId.slice(0, 8)} (removed) · s3batch`;
    root.replaceChildren(
      h('p', null, h('a', { href: '#/', class: 'back' }, '← All jobs')),
      h('h1', { id: 'details-title', tabindex: '-1' }, 'Job ', h('code', null, jobId)),
      h('p', { id: 'job-removed', role: 'status' }, 'This job was removed (its retention period ended).'),
    );
  };

  const loadReport = async () => {
    if (!view?.Job.Report?.Enabled) {
      report = { state: 'disabled' };
      renderReport();
      return;
    }
    report = { state: 'loading' };
    renderReport();
    try {
      const out = await jobs.report(jobId);
      report = out.Report ? { state: 'ready', data: out.Report } : { state: 'missing' };
    } catch (err) {
      report =
        err instanceof ApiError && err.status === 404 ? { state: 'missing' } : { state: 'error', message: err.message };
    }
    renderReport();
  };

  const renderAll = () => {
    renderHead();
    renderActions();
    renderProgress();
    renderFailures();
    renderTimeline();
    renderReport();
    renderTags();
    renderSpec();
  };

  const renderHead = () => {
    const j = view.Job;
    fill(
      parts.head,
      h('h1', { id: 'details-title', tabindex: '-1' }, 'Job ', h('code', null, j.JobId)),
      j.Description ? h('p', { class: 'description' }, j.Description) : null,
      definitions(
        [
          ['status', 'Status', statusBadge(j.Status)],
          ['priority', 'Priority', num(j.Priority)],
          ['operation', 'Operation', Object.keys(j.Operation ?? {})[0] ?? '—'],
          ['created', 'Created', timeEl(j.CreationTime)],
          j.TerminationDate ? ['terminated', 'Ended', timeEl(j.TerminationDate)] : null,
          // The descriptor keeps SuspendedCause after the job moves on; it only explains a Suspended job.
          j.Status === 'Suspended' && j.SuspendedCause
            ? ['suspended-cause', 'Suspended because', suspendedText(j.SuspendedCause), 'wide']
            : null,
          view.DryRun ? ['dry-run', 'Dry run', dryRunText(view.DryRun, j.Status), 'wide'] : null,
          pauseFact(view),
          // CreateJob's duplicate warning, kept with the job (docs/job-lifecycle.md#duplicate-jobs).
          view.DuplicateOf ? ['duplicate-of', 'Duplicate warning', duplicateText(view.DuplicateOf), 'wide'] : null,
          j.StatusUpdateReason ? ['status-reason', 'Status reason', j.StatusUpdateReason, 'wide'] : null,
          ...retryFacts(view),
        ].filter(Boolean),
        { id: 'job-facts' },
      ),
    );
  };

  const renderActions = () => {
    const status = view.Job.Status;
    parts.actions.replaceChildren(
      ...[
        status === 'Suspended'
          ? h('button', { type: 'button', id: 'action-confirm', onclick: confirmJob }, 'Confirm and run')
          : null,
        !isTerminal(status)
          ? h(
              'button',
              { type: 'button', id: 'action-priority', class: 'secondary', onclick: changePriority },
              'Change priority',
            )
          : null,
        PAUSABLE.includes(status) && !view.UserPause
          ? h('button', { type: 'button', id: 'action-pause', class: 'secondary', onclick: pauseJob }, 'Pause')
          : null,
        PAUSABLE.includes(status) && view.UserPause
          ? h('button', { type: 'button', id: 'action-resume', onclick: resumeJob }, 'Resume')
          : null,
        CANCELLABLE.includes(status)
          ? h('button', { type: 'button', id: 'action-cancel', class: 'danger', onclick: cancelJob }, 'Cancel job')
          : null,
        canRetry(view)
          ? h('button', { type: 'button', id: 'action-retry', class: 'secondary', onclick: retryJob }, 'Retry failed')
          : null,
      ].filter(Boolean),
    );
  };

  const renderProgress = () => {
    renderFailuresByCode(parts.byCode, p.FailuresByCode);
    const running = !isTerminal(p.Status);
    parts.progress.replaceChildren(
      h('h2', { id: 'progress-title' }, 'Progress'),
      progressBar(p, 'Tasks finished'),
      definitions(
        [
          ['processed', 'Processed', num(doneOf(p))],
          ['succeeded', 'Succeeded', num(p.NumberOfTasksSucceeded)],
          ['failed', 'Failed', num(p.NumberOfTasksFailed)],
          ['total', 'Total tasks', num(p.TotalNumberOfTasks)],
          ['rate', 'Rate', running && typeof p.TasksPerSecond === 'number' ? `${rate(p.TasksPerSecond)} tasks/s` : '—'],
          ['eta', 'Time left', running && typeof p.EtaSeconds === 'number' ? duration(p.EtaSeconds) : '—'],
          ['elapsed', 'Active for', duration(p.ElapsedTimeInActiveSeconds)],
          ...percentRows(p),
          ...byteRows(p, running),
        ],
        { id: 'progress-metrics' },
      ),
    );
    const d = p.Discovery;
    parts.discovery.hidden = !d;
    if (d) {
      parts.discovery.replaceChildren(
        h('h2', { id: 'discovery-title' }, 'Discovery'),
        definitions(
          [
            ['objects-listed', 'Objects listed', num(d.ObjectsListed)],
            ['objects-found', 'Objects found', num(d.ObjectsFound)],
            [
              'total-bytes',
              'Bytes',
              d.TotalBytes == null
                ? h('span', { class: 'muted', title: 'This manifest lists no object sizes' }, '—')
                : h('span', { title: `${num(d.TotalBytes)} bytes` }, bytes(d.TotalBytes)),
            ],
            ['listing-complete', 'Listing', d.ListingComplete ? 'complete' : 'in progress'],
          ],
          { id: 'discovery-metrics' },
        ),
      );
    }
  };

  const renderFailures = () => {
    const reasons = view.Job.FailureReasons ?? [];
    parts.failures.hidden = reasons.length === 0;
    parts.failures.replaceChildren(
      h('h2', { id: 'failures-title' }, 'Failure reasons'),
      h(
        'ul',
        { class: 'failures' },
        reasons.map((r) => h('li', null, h('strong', null, r.FailureCode), ': ', r.FailureReason)),
      ),
    );
  };

  const renderTimeline = () => {
    const history = view.StatusHistory ?? [];
    parts.timeline.replaceChildren(
      h('h2', { id: 'timeline-title' }, 'Status timeline'),
      history.length === 0
        ? h('p', { class: 'muted' }, 'No status change recorded.')
        : h(
            'ol',
            { class: 'timeline', id: 'timeline-list' },
            history.map((c) => h('li', null, statusBadge(c.status), ' ', timeEl(c.at))),
          ),
    );
  };

  const renderReport = () => {
    const title = h('h2', { id: 'report-title' }, 'Completion report');
    const body = (() => {
      if (!view || !isTerminal(view.Job.Status))
        return h('p', { class: 'muted' }, 'The report is written when the job ends.');
      switch (report.state) {
        case 'disabled':
          return h('p', { class: 'muted' }, 'This job writes no report.');
        case 'loading':
          return h('p', { class: 'muted' }, 'Loading…');
        case 'missing':
          return h('p', { class: 'muted' }, 'No report was written.');
        case 'error':
          return h('p', { class: 'error' }, `The report could not be loaded: ${report.message}`);
        case 'ready':
          return reportLinks(jobId, report.data);
        default:
          return null;
      }
    })();
    fill(parts.report, title, body);
  };

  const renderTags = () => {
    const tags = view.Tags ?? [];
    parts.tags.replaceChildren(
      h('h2', { id: 'tags-title' }, 'Tags'),
      tags.length === 0
        ? h('p', { class: 'muted' }, 'No tags.')
        : h(
            'table',
            { class: 'kv' },
            h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Key'), h('th', { scope: 'col' }, 'Value'))),
            h(
              'tbody',
              null,
              tags.map((t) => h('tr', null, h('td', null, t.Key), h('td', null, t.Value))),
            ),
          ),
    );
  };

  const renderSpec = () => {
    const j = view.Job;
    const spec = {};
    for (const k of [
      'Description',
      'ConfirmationRequired',
      'Priority',
      'RoleArn',
      'Operation',
      'Manifest',
      'ManifestGenerator',
      'Report',
    ]) {
      if (j[k] !== undefined) spec[k] = j[k];
    }
    if (view.Tags?.length) spec.Tags = view.Tags;
    parts.spec.replaceChildren(
      h('h2', { id: 'spec-title' }, 'Job spec'),
      h('p', { class: 'muted' }, 'As submitted to CreateJob (Priority and Tags as they are now).'),
      h('pre', { class: 'json', tabindex: '0', 'aria-label': 'Job spec as JSON' }, JSON.stringify(spec, null, 2)),
    );
  };

  const afterAction = async () => {
    try {
      await load();
    } catch {
      // shown by load
    }
  };

  const confirmJob = async () => {
    const ok = await ask({
      title: 'Confirm this job?',
      body: [
        h(
          'p',
          null,
          `The job will run ${view.Job.Operation ? Object.keys(view.Job.Operation)[0] : 'its operation'} on ${num(view.Job.ProgressSummary.TotalNumberOfTasks)} objects.`,
        ),
      ],
      ok: 'Confirm and run',
      action: () => jobs.setStatus(jobId, 'Ready'),
    });
    if (ok) await afterAction();
  };

  const cancelJob = async () => {
    const reason = h('input', { id: 'dialog-reason', maxlength: '256', autocomplete: 'off' });
    const ok = await ask({
      title: 'Cancel this job?',
      body: [
        h('p', null, 'Tasks already done stay done; the rest are not run. This cannot be undone.'),
        field('Reason (optional)', reason),
      ],
      ok: 'Cancel job',
      danger: true,
      action: () =>
        jobs.setStatus(jobId, 'Cancelled', /** @type {HTMLInputElement} */ (reason).value.trim() || undefined),
    });
    if (ok) await afterAction();
  };

  const pauseJob = async () => {
    const reason = h('input', { id: 'dialog-reason', maxlength: '256', autocomplete: 'off' });
    const ok = await ask({
      title: 'Pause this job?',
      body: [
        h(
          'p',
          null,
          'It starts no more tasks; tasks in flight finish and its slots go to other jobs. ' +
            'It stays paused, even across a server restart, until you resume it.',
        ),
        field('Reason (optional)', reason),
      ],
      ok: 'Pause job',
      action: () => jobs.pause(jobId, /** @type {HTMLInputElement} */ (reason).value.trim() || undefined),
    });
    if (ok) await afterAction();
  };

  const resumeJob = async () => {
    const ok = await ask({
      title: 'Resume this job?',
      body: [h('p', null, 'It runs again as soon as its priority gives it task slots.')],
      ok: 'Resume job',
      action: () => jobs.resume(jobId),
    });
    if (ok) await afterAction();
  };

  const retryJob = async () => {
    const created = await retryFailed(jobId, view.FailuresByCode ?? []);
    if (created) location.hash = `#/jobs/${encodeURIComponent(created)}`;
  };

  const changePriority = async () => {
    const input = /** @type {HTMLInputElement} */ (
      h('input', {
        id: 'dialog-priority',
        type: 'number',
        inputmode: 'numeric',
        step: '1',
        value: view.Job.Priority,
        required: true,
      })
    );
    const ok = await ask({
      title: 'Change priority',
      body: [h('p', null, 'Jobs with a higher priority run first.'), field('New priority', input)],
      ok: 'Save priority',
      action: async () => {
        const value = input.value.trim();
        if (!/^-?\d+$/.test(value)) throw new Error('The priority is a whole number.');
        return jobs.setPriority(jobId, Number(value));
      },
    });
    if (ok) await afterAction();
  };

  void load().catch(() => {});
  stopLive = live({
    path: jobs.eventsPath(jobId),
    onEvent: (name, data) => {
      if (stopped) return;
      if (name === 'job' || name === 'end') setView(data);
      else if (name === 'status') void load().catch(() => {});
      else if (name === 'progress' && view) {
        p = { ...p, ...data };
        renderProgress();
        charts.progress(data);
      }
    },
    poll: async () => {
      await load();
      if (view && isTerminal(view.Job.Status)) stopLive();
    },
  });
  return () => {
    stopped = true;
    stopLive();
    stopRemoval?.();
    charts.stop();
  };
}

/** Who paused the job, and why (the view's PausedBy and UserPause), as a facts row; null when not paused. */
function pauseFact(v) {
  const reason = v.UserPause?.Reason ? `: ${v.UserPause.Reason}` : '';
  if (v.PausedBy === 'user') return ['paused-by', 'Paused by', `you (user)${reason}`, 'wide'];
  if (v.PausedBy === 'priority')
    return ['paused-by', 'Paused by', 'priority: higher-priority jobs use its task slots', 'wide'];
  if (v.UserPause && !isTerminal(v.Job.Status))
    return ['paused-by', 'Pause requested', `it waits paused once it is ready to run${reason}`, 'wide'];
  return null;
}

/** The API's "confirm with UpdateJobStatus requestedJobStatus=Ready" in the page's words. */
function suspendedText(cause) {
  return /^Awaiting confirmation/.test(cause) ? 'It waits for your confirmation: "Confirm and run" starts it.' : cause;
}

/** The duplicate warning: the job this one repeated when it was created, linked. */
function duplicateText(otherId) {
  return h(
    'span',
    { class: 'warning' },
    'Created although it repeats job ',
    h('a', { href: `#/jobs/${encodeURIComponent(otherId)}` }, h('code', null, otherId)),
    ' (same operation, manifest and target)',
  );
}

/** What a dry-run job did: nothing, and what it would have done (the JSON view's DryRun). */
function dryRunText(d, status) {
  const would = `${num(d.Objects)} ${d.Objects === 1 ? 'object' : 'objects'} (${bytes(d.Bytes)})`;
  const failed = d.Failed > 0 ? `, ${num(d.Failed)} would fail` : '';
  return isTerminal(status)
    ? `Nothing was changed: the operation would act on ${would}${failed}. The report says what each task would do.`
    : `Nothing is changed: each object is only checked (HEAD); ${would} so far${failed}.`;
}

function reportLinks(jobId, r) {
  const base = `${API}/jobs/${encodeURIComponent(jobId)}/report`;
  const failed = r.Files.some((f) => f.TaskStatus === 'failed' && f.Rows > 0);
  return h(
    'div',
    null,
    h(
      'p',
      { class: 'muted' },
      `Written ${localTime(r.WrittenAt)} to s3://${r.Bucket}/${r.ManifestKey.replace(/manifest\.json$/, '')}`,
    ),
    h(
      'ul',
      { class: 'report-files', id: 'report-files' },
      r.Files.map((f) =>
        h(
          'li',
          null,
          h('a', { href: f.Url, download: f.Name }, f.Name),
          ` — ${f.TaskStatus}, ${num(f.Rows)} ${f.Rows === 1 ? 'row' : 'rows'}`,
        ),
      ),
      h(
        'li',
        null,
        h('a', { href: r.Manifest.Url, download: 'manifest.json' }, 'manifest.json'),
        ' — the report manifest',
      ),
    ),
    failed
      ? h('p', null, h('a', { href: `${base}/failed`, download: `job-${jobId}-failed.csv` }, 'All failed tasks (CSV)'))
      : null,
  );
}
