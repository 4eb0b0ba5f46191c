/**
 * A small DOM builder for the Jobs page: `h('tag', attrs, ...children)`. Text is always set as
 * text (never innerHTML), so job descriptions, tags and error messages cannot inject markup.
 */

/**
 * @param {string} tag
 * @param {Record<string, unknown> | null} [attrs] `class`, `on<event>` listeners, other attributes
 *   (true → present, false/null/undefined → left out)
 * @param {...(Node | string | number | null | undefined | false | Array<unknown>)} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function')
      el.addEventListener(key.slice(2), /** @type {EventListener} */ (value));
    else if (key === 'class') el.className = String(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/**
 * Replaces an element's children, skipping null, undefined and false as append does
 * (`el.replaceChildren(null)` would show the text "null").
 */
export function fill(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

/** Appends children (nested arrays flattened; null, undefined and false skipped). */
export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** A `<dl>` of [key, label, value, wide?] entries, each `<dd>` marked `data-key` so tests and updates find it. */
export function definitions(pairs, attrs = {}) {
  return h(
    'dl',
    { class: 'metrics', ...attrs },
    pairs.map(([key, label, value, wide]) =>
      h('div', { class: wide ? 'metric wide' : 'metric' }, h('dt', null, label), h('dd', { 'data-key': key }, value)),
    ),
  );
}

/** Moves focus back to the element with the id that had it before a re-render, if it still exists. */
export function keepFocus(render) {
  const id = document.activeElement instanceof HTMLElement ? document.activeElement.id : '';
  render();
  if (id) document.getElementById(id)?.focus();
}
