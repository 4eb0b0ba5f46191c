/**
 * The confirming dialog of the Jobs page's actions, on the page's one `<dialog>` element.
 * `ask()` shows a title, a body and an OK button; OK runs the action, and the dialog closes only
 * when it succeeded: on failure it stays open with the server's error message.
 */
import { append, h } from './dom.js';

/**
 * @param {{ title: string, body: Array<Node | string>, ok: string, danger?: boolean,
 *           action: () => Promise<unknown> }} opts
 * @returns {Promise<boolean>} true when the action ran and succeeded, false when dismissed
 */
export function ask({ title, body, ok, danger = false, action }) {
  const dialog = /** @type {HTMLDialogElement} */ (document.getElementById('dialog'));
  const form = /** @type {HTMLFormElement} */ (document.getElementById('dialog-form'));
  const okButton = /** @type {HTMLButtonElement} */ (document.getElementById('dialog-ok'));
  const back = /** @type {HTMLButtonElement} */ (document.getElementById('dialog-cancel'));
  const error = /** @type {HTMLElement} */ (document.getElementById('dialog-error'));
  document.getElementById('dialog-title').textContent = title;
  const bodyEl = /** @type {HTMLElement} */ (document.getElementById('dialog-body'));
  bodyEl.replaceChildren();
  append(bodyEl, body);
  okButton.textContent = ok;
  okButton.className = danger ? 'danger' : '';
  error.hidden = true;
  form.noValidate = true;
  let working = false;
  const busy = (on) => {
    working = on;
    okButton.disabled = on;
    back.disabled = on;
    dialog.setAttribute('aria-busy', String(on));
  };
  busy(false);

  return new Promise((resolve) => {
    let done = false;
    const finish = (result) => {
      if (done) return;
      done = true;
      form.onsubmit = null;
      back.onclick = null;
      dialog.onclose = null;
      dialog.oncancel = null;
      if (dialog.open) dialog.close();
      resolve(result);
    };
    form.onsubmit = async (event) => {
      event.preventDefault();
      busy(true);
      error.hidden = true;
      try {
        await action();
        finish(true);
      } catch (err) {
        error.textContent = err instanceof Error ? err.message : String(err);
        error.hidden = false;
        busy(false);
        okButton.focus();
      }
    };
    back.onclick = () => finish(false);
    dialog.oncancel = (event) => {
      if (working) event.preventDefault(); // Escape while the action runs: wait for its answer
    };
    dialog.onclose = () => finish(false); // Escape
    dialog.showModal();
  });
}

/** A labelled field for a dialog's body. */
export function field(label, input) {
  return h('div', { class: 'field' }, h('label', { for: input.id }, label), input);
}
