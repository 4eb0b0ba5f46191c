/**
 * The Jobs page's entry point: sign-in and sign-out (a session cookie from POST /api/v1/session),
 * and the hash router that mounts one view at a time: `#/` the jobs list, `#/jobs/<id>` a job.
 * A 401 from any call (the session expired or was signed out elsewhere) returns to sign-in.
 */
import { ApiError, onUnauthorized, session } from './api.js';
import { mountDetails } from './details.js';
import { mountList } from './list.js';
import { refreshTimes } from './widgets.js';

const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @type {{AccessKeyId: string, AccountId: string} | null} */
let who = null;
let unmount = () => {};

function show(viewId) {
  for (const id of ['view-signin', 'view-list', 'view-details']) $(id).hidden = id !== viewId;
}

function showSignIn(message) {
  who = null;
  unmount();
  unmount = () => {};
  $('who').hidden = true;
  document.title = 'Sign in · s3batch';
  show('view-signin');
  const error = $('signin-error');
  error.textContent = message ?? '';
  error.hidden = !message;
  $('signin-key').focus();
}

function signedIn(s) {
  who = s;
  $('who-account').textContent = `Account ${s.AccountId} · ${s.AccessKeyId}`;
  $('who').hidden = false;
  route();
}

function route() {
  if (!who) return showSignIn();
  unmount();
  const m = /^#\/jobs\/([^/?]+)$/.exec(location.hash);
  if (m) {
    show('view-details');
    unmount = mountDetails($('view-details'), decodeURIComponent(m[1]));
    $('details-title')?.focus();
  } else {
    document.title = 'Jobs · s3batch';
    show('view-list');
    unmount = mountList($('view-list'));
    $('list-title')?.focus();
  }
}

async function onSignIn(event) {
  event.preventDefault();
  const form = /** @type {HTMLFormElement} */ (event.target);
  const key = /** @type {HTMLInputElement} */ ($('signin-key'));
  const secret = /** @type {HTMLInputElement} */ ($('signin-secret'));
  const error = $('signin-error');
  if (!key.value.trim() || !secret.value) {
    error.textContent = 'Enter the access key ID and the secret access key.';
    error.hidden = false;
    return;
  }
  const submit = /** @type {HTMLButtonElement} */ ($('signin-submit'));
  submit.disabled = true;
  try {
    const s = await session.signIn(key.value.trim(), secret.value);
    form.reset();
    error.hidden = true;
    signedIn(s);
  } catch (err) {
    error.textContent =
      err instanceof ApiError && (err.status === 403 || err.status === 401)
        ? `Sign-in refused: ${err.message}`
        : `Sign-in failed: ${err.message}`;
    error.hidden = false;
  } finally {
    submit.disabled = false;
  }
}

async function onSignOut() {
  try {
    await session.signOut();
  } catch {
    // signed out already, or the server is gone: the page forgets the session either way
  }
  showSignIn();
}

async function start() {
  onUnauthorized(() => showSignIn('Your session has ended. Please sign in again.'));
  $('signin-form').addEventListener('submit', onSignIn);
  $('sign-out').addEventListener('click', onSignOut);
  window.addEventListener('hashchange', () => {
    if (who) route();
  });
  setInterval(() => refreshTimes(), 15_000);
  try {
    const s = await session.current();
    if (s) signedIn(s);
    else showSignIn();
  } catch (err) {
    showSignIn(`The server could not be reached: ${err.message}`);
  }
}

void start();
