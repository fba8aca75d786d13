// Page switching (#models, #compare, #collections, #paraphrase), the API key, the Models page.
import { get, getKey, setKey } from "./api.js";
import * as collections from "./collections.js";
import * as compare from "./compare.js";
import * as paraphrase from "./paraphrase.js";
import { $, $$, applyScope, clearError, fillModelSelect, h, run, state } from "./ui.js";

const PAGES = { models: { show: showModels }, compare, collections, paraphrase };
let keyInfo = { auth: false, scope: "rw" };

async function checkKey() {
  keyInfo = await get("auth/key");
  state.writable = keyInfo.scope === "rw";
  state.canRead = !keyInfo.auth || keyInfo.scope !== null;
  const status = $("#key-status");
  if (!keyInfo.auth) status.textContent = "no key needed";
  else if (keyInfo.scope === "rw") status.textContent = "key: read-write";
  else if (keyInfo.scope === "ro") status.textContent = "key: read-only";
  else status.textContent = keyInfo.presented ? "key not valid" : "key needed";
  document.body.classList.toggle("read-only", !state.writable);
  applyScope();
}

export async function loadModels() {
  if (!state.canRead) return [];
  const { models } = await get("models");
  state.models = models;
  for (const select of $$(".model-select")) fillModelSelect(select, models);
  fillModelSelect(
    $("#para-model"),
    models.filter((m) => m.kind === "simbert"),
  );
  return models;
}

async function showModels() {
  const ready = $("#ready");
  try {
    const r = await get("health/ready");
    ready.replaceChildren(h("span", { class: "ok", text: "ready" }), ` — serving ${r.models.join(", ")}`);
  } catch (err) {
    ready.replaceChildren(h("span", { class: "bad", text: "not ready" }), ` — ${err.message}`);
  }
  const body = $("#models-table tbody");
  if (!state.canRead) {
    body.replaceChildren(h("tr", {}, h("td", { colspan: 8, text: "Paste an API key to list the models." })));
    return;
  }
  const models = await loadModels();
  body.replaceChildren(
    ...models.map((m) =>
      h(
        "tr",
        {},
        h("th", { scope: "row", text: m.name }),
        h("td", { text: m.kind }),
        h("td", { class: "n", text: String(m.dimension) }),
        h("td", { text: `${m.pooling}${m.normalize ? ", normalised" : ""}` }),
        h("td", { text: m.whitening_k ? `k = ${m.whitening_k}` : "none" }),
        h("td", { text: m.quantization || "fp32" }),
        h("td", { text: m.providers.join(", ") }),
        h("td", { class: "n", text: String(m.max_length) }),
      ),
    ),
  );
}

async function route() {
  const name = PAGES[location.hash.slice(1)] ? location.hash.slice(1) : "models";
  for (const section of $$(".page")) section.hidden = section.id !== `page-${name}`;
  for (const link of $$("[data-nav]")) {
    if (link.dataset.nav === name) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  document.title = `${name[0].toUpperCase()}${name.slice(1)} · simserve console`;
  clearError();
  await run(null, () => PAGES[name].show());
}

function focusHeading() {
  const heading = $(".page:not([hidden]) h2");
  if (heading) heading.focus();
}

async function start() {
  for (const page of Object.values(PAGES)) if (page.init) page.init();
  $("#key-input").value = getKey();
  $("#key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setKey($("#key-input").value.trim());
    run(null, async () => {
      await checkKey();
      await loadModels();
      await route();
    });
  });
  $("#key-forget").addEventListener("click", () => {
    setKey("");
    $("#key-input").value = "";
    run(null, async () => {
      await checkKey();
      await route();
    });
  });
  $("#error-close").addEventListener("click", clearError);
  window.addEventListener("hashchange", async () => {
    await route();
    focusHeading();
  });
  await run(null, checkKey);
  await run(null, loadModels);
  await route();
  document.body.dataset.ready = "true"; // for tests and scripts: the first page has rendered
}

start();
