// Paraphrase and review: generate similar questions for a text or a document, tick the good
// ones, add them as aliases of the document (the human check generated aliases need).
import { enc, get, post } from "./api.js";
import { listNames } from "./collections.js";
import { $, $$, fmt, h, onSubmit, state } from "./ui.js";

let target = null; // {collection, doc} the reviewed aliases go to

export function init() {
  onSubmit("#para-target", loadTarget);
  onSubmit("#para-form", generate);
  onSubmit("#para-review", addAliases);
}

export async function show() {
  if (!state.canRead) return;
  const select = $("#para-coll");
  const keep = select.value;
  const names = await listNames();
  select.replaceChildren(...names.map((n) => h("option", { value: n, text: n })));
  if (names.includes(keep)) select.value = keep;
}

function showDocument(doc, collection) {
  const card = $("#para-doc");
  card.replaceChildren(
    h("div", {}, "Document ", h("strong", { text: doc.id }), ` in ${collection}: `, h("q", { text: doc.text })),
    h("div", { text: doc.aliases.length ? `Aliases (${doc.aliases.length}):` : "No aliases yet." }),
    h("ul", { class: "doc-aliases" }, ...doc.aliases.map((a) => h("li", { text: a }))),
  );
  card.hidden = false;
}

async function loadTarget() {
  const collection = $("#para-coll").value;
  const id = $("#para-doc-id").value.trim();
  if (!collection || !id) throw new Error("choose a collection and a document id");
  const doc = await get(`collections/${enc(collection)}/documents/${enc(id)}`);
  target = { collection, doc };
  $("#para-text").value = doc.text;
  showDocument(doc, collection);
}

async function generate() {
  const body = { text: $("#para-text").value, n: Number($("#para-n").value), k: Number($("#para-k").value) };
  if ($("#para-seed").value !== "") body.seed = Number($("#para-seed").value);
  if ($("#para-model").value) body.model = $("#para-model").value;
  const r = await post("paraphrase", body);
  $("#para-list").replaceChildren(
    ...(r.paraphrases.length
      ? r.paraphrases.map((p, k) =>
          h(
            "li",
            {},
            h(
              "label",
              {},
              h("input", { type: "checkbox", value: p.text, id: `para-${k}` }),
              h("span", { text: p.text }),
              h("span", { class: "score", text: `cosine ${fmt(p.score)}` }),
            ),
          ),
        )
      : [h("li", { text: "No paraphrases: every candidate repeated the input." })]),
  );
  $("#para-status").textContent = `${r.paraphrases.length} of ${r.usage.candidates} candidates (${r.usage.unique} unique), seed ${r.usage.seed}, ${r.model}`;
  $("#para-review").hidden = false;
}

async function addAliases() {
  if (!target) throw new Error("load the document the aliases belong to first (above)");
  const ticked = $$("#para-list input:checked").map((box) => box.value);
  if (!ticked.length) throw new Error("tick at least one paraphrase");
  const { collection } = target;
  // re-read: the document may have changed since it was loaded; an upsert replaces aliases
  const doc = await get(`collections/${enc(collection)}/documents/${enc(target.doc.id)}`);
  const aliases = [...new Set([...doc.aliases, ...ticked])].filter((a) => a !== doc.text);
  await post(`collections/${enc(collection)}/documents`, {
    documents: [{ id: doc.id, text: doc.text, payload: doc.payload, aliases }],
  });
  const saved = await get(`collections/${enc(collection)}/documents/${enc(doc.id)}`);
  target = { collection, doc: saved };
  showDocument(saved, collection);
  for (const box of $$("#para-list input:checked")) box.checked = false;
  $("#para-status").textContent = `Added ${saved.aliases.length - doc.aliases.length} alias(es) to ${doc.id}; it has ${saved.aliases.length}.`;
}
