/** small DOM helpers of the browser client */

/** the element with this id; the page is broken without it */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (!el) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** an element with a class, text and attributes */
export function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls = '', text = '', attrs: Record<string, string> = {}): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

/** a form's text field by name */
export function field(form: HTMLFormElement, name: string): HTMLInputElement {
  const input = form.elements.namedItem(name);
  if (!(input instanceof HTMLInputElement)) throw new Error(`the form #${form.id} has no field ${name}`);
  return input;
}

/** runs `fn` on submit (and not the browser's own submit) */
export function onSubmit(form: HTMLFormElement, fn: () => void): void {
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    fn();
  });
}
