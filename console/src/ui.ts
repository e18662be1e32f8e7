// A few DOM helpers: no framework, the page is small.
import { RosterError } from "./bus";

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, any>;

/** Creates an element: `h("button", {onclick, class: "x", testid: "y"}, "Save")`. */
export function h(tag: string, attrs: Attrs | null = null, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
    else if (k === "testid") el.dataset.testid = String(v);
    else if (k === "class") el.className = String(v);
    else if (k === "value") (el as HTMLInputElement).value = String(v);
    else if (v === true) el.setAttribute(k, "");
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el: HTMLElement, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

/** Replaces the children of `el`. */
export function mount(el: HTMLElement, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

/** A refusal, shown as such: the worker's (or the bus's) code and message. */
export function refusal(e: unknown): HTMLElement {
  const code = e instanceof RosterError ? e.code : "error";
  const message = e instanceof Error ? e.message : String(e);
  return h("div", { class: "refusal", testid: "refusal", role: "alert" }, h("code", null, code), " ", message);
}

/** Shows `node` in the page's message area for a while. */
export function flash(node: HTMLElement, ms = 8000): void {
  const area = document.getElementById("messages");
  if (!area) return;
  area.append(node);
  setTimeout(() => node.remove(), ms);
}

/** A shown-once secret with a copy button; gone from the page when dismissed. */
export function shownOnce(title: string, secret: string, extra: Child = null): HTMLElement {
  const box: HTMLElement = h(
    "div",
    { class: "secret", testid: "shown-once" },
    h("strong", null, title),
    h("p", null, "Shown once: copy it now. The worker keeps only its digest; it cannot show it again."),
    h("code", { testid: "secret-value" }, secret),
    extra,
    h(
      "div",
      { class: "row" },
      h("button", { testid: "copy", onclick: () => void navigator.clipboard?.writeText(secret).catch(() => {}) }, "Copy"),
      h("button", { testid: "dismiss", onclick: () => box.remove() }, "Done"),
    ),
  );
  return box;
}

/** Asks before a destructive action (a real dialog, so a stray click cannot do it). */
export function confirmAction(question: string): Promise<boolean> {
  return new Promise((resolve) => {
    const dlg = h("dialog", { testid: "confirm" }) as HTMLDialogElement;
    const done = (yes: boolean) => {
      dlg.close();
      dlg.remove();
      resolve(yes);
    };
    dlg.append(
      h("p", null, question),
      h(
        "div",
        { class: "row" },
        h("button", { class: "danger", testid: "confirm-yes", onclick: () => done(true) }, "Yes"),
        h("button", { testid: "confirm-no", onclick: () => done(false) }, "Cancel"),
      ),
    );
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** Asks for a secret in a real dialog (a password field, never echoed): the value, or
 *  null when cancelled. The field is emptied when the dialog closes. */
export function promptSecret(question: string): Promise<string | null> {
  return new Promise((resolve) => {
    const dlg = h("dialog", { testid: "prompt" }) as HTMLDialogElement;
    const value = h("input", { type: "password", testid: "in-secret", autocomplete: "off", size: 40 }) as HTMLInputElement;
    const done = (yes: boolean) => {
      const v = value.value;
      value.value = "";
      dlg.close();
      dlg.remove();
      resolve(yes && v ? v : null);
    };
    dlg.append(
      h(
        "form",
        {
          method: "dialog",
          onsubmit: (ev: Event) => {
            ev.preventDefault();
            done(true);
          },
        },
        h("p", null, question),
        value,
        h(
          "div",
          { class: "row" },
          h("button", { type: "submit", testid: "prompt-ok" }, "OK"),
          h("button", { type: "button", testid: "prompt-cancel", onclick: () => done(false) }, "Cancel"),
        ),
      ),
    );
    document.body.append(dlg);
    dlg.showModal();
  });
}

/** A table of records; `cols` are [header, cell] pairs. */
export function table<T>(rows: T[], cols: [string, (r: T) => Child][], testid: string, rowId?: (r: T) => string): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty", testid }, "none");
  return h(
    "table",
    { testid },
    h("thead", null, h("tr", null, cols.map(([c]) => h("th", null, c)))),
    h(
      "tbody",
      null,
      rows.map((r) => h("tr", { "data-id": rowId?.(r) }, cols.map(([, f]) => h("td", null, f(r))))),
    ),
  );
}

/** `2026-11-30T14:45:04Z` → `2026-11-30 14:45` (UTC), as the CLI's tables show times. */
export function when(t?: string): string {
  return t ? t.replace("T", " ").slice(0, 16) : "";
}

/** Offers `text` as a file download (exports, a new identity); nothing is uploaded. */
export function download(name: string, text: string, type: string): void {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = h("a", { href: url, download: name }) as HTMLAnchorElement;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function field(label: string, input: HTMLElement): HTMLElement {
  return h("label", null, h("span", null, label), input);
}

export function input(name: string, attrs: Attrs = {}): HTMLInputElement {
  return h("input", { name, testid: `in-${name}`, ...attrs }) as HTMLInputElement;
}

/** A select of `options` (shown as `labels[i]`, else the value, "" as "any"). */
export function select(name: string, options: string[], attrs: Attrs = {}, labels: string[] = []): HTMLSelectElement {
  const sel = h("select", { name, testid: `in-${name}`, ...attrs }) as HTMLSelectElement;
  setOptions(sel, options, labels);
  return sel;
}

/** Replaces the options of `sel` (the same labelling as {@link select}). */
export function setOptions(sel: HTMLSelectElement, options: string[], labels: string[] = []): void {
  mount(sel, options.map((o, i) => h("option", { value: o }, labels[i] ?? (o || "any"))));
}
