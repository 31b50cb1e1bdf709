/** The longest piece of input data a message quotes; the rest is cut with an ellipsis. */
export const maxQuotedLength = 80;

/** `text` cut to `max` characters with an ellipsis saying how much was left out. */
export function shorten(text: string, max = maxQuotedLength): string {
  return text.length <= max ? text : `${text.slice(0, max)}… (${text.length} characters)`;
}

/**
 * Control characters that a terminal or log viewer would act on instead of showing: C0 controls but tab and line
 * feed, a carriage return (it would overwrite the line), DEL, C1 controls, line and paragraph separators and the
 * bidirectional overrides and isolates that reorder what is shown.
 */
// eslint-disable-next-line no-control-regex -- these control characters are what the pattern is for
const controls = /[\u0000-\u0008\u000B-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069]/g;

/**
 * `text` with every control character written as a visible escape (`\u001B`, `\r`, `\u202E`): the forms JSON
 * uses, so the text stays valid JSON when it is a piece of a JSON document.
 */
export function escapeControls(text: string): string {
  return text.replace(controls, (c) => (c === '\r' ? '\\r' : `\\u${c.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0')}`));
}

/** The longest message a diagnostic keeps: a longer one quotes a runaway value, cut in the middle. */
export const maxMessageLength = 2000;

/** `diagnostic` with its message and hint cut to {@link maxMessageLength} (the same object when they fit). */
export function bounded<D extends { readonly message: string; readonly hint?: string }>(diagnostic: D): D {
  const { message, hint } = diagnostic;
  if (message.length <= maxMessageLength && (hint === undefined || hint.length <= maxMessageLength)) {
    return diagnostic;
  }
  const cut = (text: string): string =>
    text.length <= maxMessageLength ? text : `${text.slice(0, maxMessageLength / 2)} … (${text.length - maxMessageLength} characters left out) … ${text.slice(-maxMessageLength / 2)}`;
  return { ...diagnostic, message: cut(message), ...(hint !== undefined ? { hint: cut(hint) } : {}) };
}
