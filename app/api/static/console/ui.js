// Small DOM helpers: elements are built with properties, never HTML strings (no injection,
// and nothing that a Content-Security-Policy without 'unsafe-inline' would block).
import { ApiError } from "./api.js";

export const $ = (sel, root = document) => root.querySelector(sel);
export const $$ = (sel, root = document) => [...root.querySelectorAll(sel)];

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k === "dataset") Object.assign(el.dataset, v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
  return el;
}

const SVG = "http://www.w3.org/2000/svg";
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

export const state = { writable: true, models: [] };

export function showError(err) {
  const box = $("#error");
  const apiErr = err instanceof ApiError ? err : new ApiError(0, "client_error", String(err?.message || err));
  $(".err-code", box).textContent = apiErr.code;
  $(".err-status", box).textContent = apiErr.status ? `HTTP ${apiErr.status}` : "";
  $(".err-message", box).textContent = apiErr.message;
  $(".err-param", box).textContent = apiErr.param || "";
  $(".err-param-wrap", box).hidden = !apiErr.param;
  box.hidden = false;
}

export function clearError() {
  $("#error").hidden = true;
}

// Run an action for a control: disables it while running, shows any error, returns the result.
export async function run(control, action) {
  clearError();
  if (control) control.disabled = true;
  try {
    return await action();
  } catch (err) {
    showError(err);
    return undefined;
  } finally {
    if (control) control.disabled = false;
    applyScope();
  }
}

// A form's submit runs `action` (no page load: the CSP allows no form target anyway).
export function onSubmit(selector, action) {
  $(selector).addEventListener("submit", (event) => {
    event.preventDefault();
    run(event.submitter, action);
  });
}

// A read-only key gets a read-only console: every control marked data-write is disabled.
export function applyScope() {
  for (const el of $$("[data-write]")) {
    el.disabled = !state.writable;
    if (state.writable) el.removeAttribute("title");
    else el.title = "read-only API key";
  }
}

export function parseJson(text, param) {
  if (!text.trim()) return undefined;
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new ApiError(0, "invalid_json", `not valid JSON: ${err.message}`, param);
  }
}

export const fmt = (x, digits = 3) => (x === null || x === undefined ? "" : Number(x).toFixed(digits));

export function fillModelSelect(select, models, { withDefault = true } = {}) {
  const keep = select.value;
  select.replaceChildren(
    ...(withDefault ? [h("option", { value: "", text: "default" })] : []),
    ...models.map((m) => h("option", { value: m.name, text: `${m.name} (${m.kind}, ${m.dimension}-d)` })),
  );
  if ([...select.options].some((o) => o.value === keep)) select.value = keep;
}

// Two-step delete: the first press arms the button for a few seconds, the second confirms.
export function confirmButton(label, action) {
  const button = h("button", { type: "button", class: "danger", text: label, "data-write": true });
  let timer = null;
  button.addEventListener("click", () => {
    if (!button.classList.contains("armed")) {
      button.classList.add("armed");
      button.textContent = "Confirm";
      timer = setTimeout(() => {
        button.classList.remove("armed");
        button.textContent = label;
      }, 4000);
      return;
    }
    clearTimeout(timer);
    button.classList.remove("armed");
    button.textContent = label;
    run(button, action);
  });
  return button;
}
