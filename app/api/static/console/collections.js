// Collections: list / create / delete; browse documents (paging, aliases); search with
// filters and rerank, showing hits, scores and the per-stage timings the API returns.
import { del, enc, get, post, put } from "./api.js";
import { $, applyScope, confirmButton, fmt, h, onSubmit, parseJson, run, state } from "./ui.js";

const PAGE = 10;
let current = null; // the open collection's name
let offset = 0;

export function init() {
  onSubmit("#coll-create", create);
  onSubmit("#search-form", search);
  onSubmit("#doc-form", saveDocument);
  $("#docs-prev").addEventListener("click", () => run(null, () => loadDocuments(offset - PAGE)));
  $("#docs-next").addEventListener("click", () => run(null, () => loadDocuments(offset + PAGE)));
}

export async function show() {
  if (!state.canRead) {
    $("#coll-table tbody").replaceChildren(h("tr", {}, h("td", { colspan: 7, text: "Paste an API key to list the collections." })));
    return;
  }
  await refresh();
  if (current) await loadDocuments(offset);
}

export async function listNames() {
  const { collections } = await get("collections");
  return collections.map((c) => c.name);
}

async function refresh() {
  const { collections } = await get("collections");
  $("#coll-table tbody").replaceChildren(
    ...(collections.length
      ? collections.map((c) =>
          h(
            "tr",
            { dataset: { name: c.name } },
            h("th", { scope: "row" }, h("button", { type: "button", text: c.name, class: "open", "aria-label": `Open collection ${c.name}`, onclick: (e) => run(e.currentTarget, () => open(c.name)) })),
            h("td", { text: c.model }),
            h("td", { text: c.backend }),
            h("td", { text: `${c.index.kind}${Object.keys(c.index.params).length ? ` ${JSON.stringify(c.index.params)}` : ""}` }),
            h("td", { class: "n", text: String(c.dimension) }),
            h("td", { class: "n", text: String(c.size) }),
            h("td", {}, confirmButton("Delete", () => drop(c.name))),
          ),
        )
      : [h("tr", {}, h("td", { colspan: 7, text: "No collections yet." }))]),
  );
  applyScope();
  if (current && !collections.some((c) => c.name === current)) close();
}

async function create() {
  const name = $("#coll-name").value.trim();
  const body = {};
  if ($("#coll-model").value) body.model = $("#coll-model").value;
  if ($("#coll-backend").value) body.backend = $("#coll-backend").value;
  if ($("#coll-index").value) body.index = { kind: $("#coll-index").value };
  await put(`collections/${enc(name)}`, body);
  $("#coll-name").value = "";
  await refresh();
  await open(name);
}

async function drop(name) {
  await del(`collections/${enc(name)}`);
  if (current === name) close();
  await refresh();
}

function close() {
  current = null;
  $("#coll-detail").hidden = true;
}

async function open(name) {
  current = name;
  $("#coll-title").textContent = `Collection ${name}`;
  $("#coll-detail").hidden = false;
  $("#search-hits").hidden = true;
  $("#search-timings").textContent = "";
  await loadDocuments(0);
  $("#coll-title").focus();
}

const list = (items) => (items.length ? h("ul", {}, ...items.map((a) => h("li", { text: a }))) : "—");
const payloadCell = (p) => h("td", {}, Object.keys(p).length ? h("code", { text: JSON.stringify(p) }) : "");

async function loadDocuments(from) {
  const page = await get(`collections/${enc(current)}/documents?offset=${Math.max(0, from)}&limit=${PAGE}`);
  offset = page.offset;
  const last = Math.max(1, Math.ceil(page.total / PAGE));
  $("#docs-page").textContent = `page ${Math.floor(offset / PAGE) + 1} of ${last} (${page.total} documents)`;
  $("#docs-prev").disabled = offset === 0;
  $("#docs-next").disabled = offset + PAGE >= page.total;
  $("#docs-table tbody").replaceChildren(
    ...(page.documents.length
      ? page.documents.map((d) =>
          h(
            "tr",
            { dataset: { id: d.id } },
            h("th", { scope: "row", text: d.id }),
            h("td", { text: d.text }),
            h("td", { class: "aliases" }, list(d.aliases)),
            payloadCell(d.payload),
            h("td", {}, confirmButton("Delete", () => deleteDocument(d.id))),
          ),
        )
      : [h("tr", {}, h("td", { colspan: 5, text: "No documents." }))]),
  );
  applyScope();
}

async function deleteDocument(id) {
  await post(`collections/${enc(current)}/documents/delete`, { ids: [id] });
  await loadDocuments(offset);
  await refresh();
}

async function saveDocument() {
  const doc = {
    id: $("#doc-id").value.trim(),
    text: $("#doc-text").value,
    payload: parseJson($("#doc-payload").value, "documents[0].payload") ?? {},
    aliases: $("#doc-aliases").value.split("\n").map((a) => a.trim()).filter(Boolean),
  };
  await post(`collections/${enc(current)}/documents`, { documents: [doc] });
  for (const id of ["#doc-id", "#doc-text", "#doc-payload", "#doc-aliases"]) $(id).value = "";
  await loadDocuments(offset);
  await refresh();
}

async function search() {
  const body = {
    collection: current,
    query: $("#search-query").value,
    top_k: Number($("#search-k").value),
  };
  const must = parseJson($("#search-must").value, "filter.must");
  const mustNot = parseJson($("#search-must-not").value, "filter.must_not");
  if (must || mustNot) body.filter = { ...(must ? { must } : {}), ...(mustNot ? { must_not: mustNot } : {}) };
  if ($("#search-rerank").value) {
    body.rerank = { method: $("#search-rerank").value, candidates: Number($("#search-candidates").value) };
  }
  const r = await post("search", body);
  const t = r.timings;
  const parts = [["embed", t.embed_ms], ["search", t.search_ms], ["rerank", t.rerank_ms], ["token vectors", t.candidate_tokens_ms]];
  $("#search-timings").textContent = `${r.model}: ${parts.filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => `${k} ${v.toFixed(1)} ms`).join(" · ")}`;
  const hits = r.results[0].hits;
  $("#search-hits tbody").replaceChildren(
    ...(hits.length
      ? hits.map((hit, k) =>
          h(
            "tr",
            { class: "hit", dataset: { id: hit.id } },
            h("td", { class: "n", text: String(k + 1) }),
            h("th", { scope: "row", text: hit.id }),
            h("td", { text: hit.text }),
            h("td", { class: "n", text: fmt(hit.score) }),
            h("td", { class: "n", text: fmt(hit.rerank_score) }),
            h("td", { text: hit.matched_alias || "" }),
            payloadCell(hit.payload),
          ),
        )
      : [h("tr", {}, h("td", { colspan: 7, text: "No hits." }))]),
  );
  $("#search-hits").hidden = false;
}
