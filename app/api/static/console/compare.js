// Compare: a similarity matrix as a heat map, and for a chosen pair the word-to-word
// transport plan of WMD/WRD (POST /similarity with explain) drawn as an alignment.
import { post } from "./api.js";
import { $, fmt, h, onSubmit, run, svg } from "./ui.js";

let sentences = [];

export function init() {
  onSubmit("#compare-form", compareAll);
}

export async function show() {}

function body(extra) {
  const model = $("#compare-model").value;
  return { ...extra, ...(model ? { model } : {}) };
}

function heatCell(tag, value, heat, props = {}) {
  const cell = h(tag, { class: `heat-cell${heat > 0.6 ? " dark" : ""}`, text: value, ...props });
  cell.style.setProperty("--heat", heat.toFixed(3));
  return cell;
}

async function compareAll() {
  sentences = $("#compare-texts").value.split("\n").map((s) => s.trim()).filter(Boolean);
  if (sentences.length < 2 || sentences.length > 8) {
    throw new Error(`give 2 to 8 sentences, one per line (got ${sentences.length})`);
  }
  const method = $("#compare-method").value;
  const pairs = [];
  for (let i = 0; i < sentences.length; i++)
    for (let j = i + 1; j < sentences.length; j++) pairs.push([i, j]);
  const r = await post("similarity", body({ pairs: pairs.map(([i, j]) => [sentences[i], sentences[j]]), method }));
  const score = new Map(pairs.map(([i, j], k) => [`${i},${j}`, r.scores[k]]));
  const lo = Math.min(...r.scores);
  const hi = Math.max(...r.scores);
  const heatOf = (s) => (hi > lo ? (s - lo) / (hi - lo) : 0.5);
  const n = sentences.length;
  const head = h("tr", {}, h("td", {}), ...sentences.map((_, j) => h("th", { scope: "col", text: String(j + 1) })));
  const rows = sentences.map((_, i) =>
    h(
      "tr",
      {},
      h("th", { scope: "row", text: String(i + 1) }),
      ...Array.from({ length: n }, (_, j) => {
        if (i === j) return h("td", {}, heatCell("span", "—", 0, { title: "the same sentence" }));
        const s = score.get(i < j ? `${i},${j}` : `${j},${i}`);
        const label = `${i + 1} and ${j + 1}: ${r.method} score ${fmt(s)}; show the transport plan`;
        return h(
          "td",
          {},
          heatCell("button", fmt(s), heatOf(s), {
            type: "button",
            "aria-label": label,
            "aria-pressed": "false",
            dataset: { i: String(i), j: String(j) },
            onclick: (event) => run(null, () => explain(i, j, event.currentTarget)),
          }),
        );
      }),
    ),
  );
  $("#compare-matrix").replaceChildren(
    h("caption", { text: `${r.method} scores by ${r.model}` }),
    h("thead", {}, head),
    h("tbody", {}, ...rows),
  );
  $("#compare-legend").replaceChildren(...sentences.map((s) => h("li", { text: s })));
  $("#compare-result").hidden = false;
  $("#plan").hidden = true;
}

async function explain(i, j, button) {
  for (const b of document.querySelectorAll("#compare-matrix button")) b.setAttribute("aria-pressed", "false");
  button.setAttribute("aria-pressed", "true");
  const chosen = $("#compare-method").value;
  const method = chosen === "cosine" ? "wrd" : chosen;
  const r = await post("similarity", body({ pairs: [[sentences[i], sentences[j]]], method, explain: true }));
  const e = r.explanations[0];
  const note = chosen === "cosine" ? " (cosine has no plan: WRD shown)" : "";
  $("#plan-title").textContent = `Transport plan, ${method.toUpperCase()}: sentence ${i + 1} → sentence ${j + 1}${note}`;
  drawPlan(e, sentences[i], sentences[j], method, r.scores[0]);
  $("#plan").hidden = false;
}

function heaviest(plan) {
  let best = [0, 0];
  plan.forEach((row, a) => row.forEach((v, b) => {
    if (v > plan[best[0]][best[1]]) best = [a, b];
  }));
  return best;
}

function drawPlan(e, textA, textB, method, score) {
  const [ia, ib] = heaviest(e.plan);
  const top = e.plan[ia][ib];
  $("#plan-heaviest").replaceChildren(
    "Heaviest flow: ",
    h("strong", { class: "flow-a", text: e.tokens_a[ia] }),
    " → ",
    h("strong", { class: "flow-b", text: e.tokens_b[ib] }),
    `, ${(100 * top).toFixed(1)}% of the mass at cost ${fmt(e.cost[ia][ib])}. `,
    `${method.toUpperCase()} ${fmt(e.distance)}, score ${fmt(score)}.`,
  );
  const rowH = 26;
  const na = e.tokens_a.length;
  const nb = e.tokens_b.length;
  const height = Math.max(na, nb) * rowH + 44;
  const xa = 230;
  const xb = 470;
  const ya = (k) => 40 + (Math.max(na, nb) - na) * rowH / 2 + k * rowH;
  const yb = (k) => 40 + (Math.max(na, nb) - nb) * rowH / 2 + k * rowH;
  const wMax = Math.max(...e.weights_a, ...e.weights_b);
  const picture = svg("svg", {
    viewBox: `0 0 700 ${height}`,
    role: "img",
    "aria-label": `Transport plan from "${textA}" to "${textB}": heaviest flow ${e.tokens_a[ia]} to ${e.tokens_b[ib]}`,
  });
  picture.append(
    svg("text", { x: xa, y: 16, "text-anchor": "end", "font-weight": "600" }, document.createTextNode("sentence A")),
    svg("text", { x: xb, y: 16, "font-weight": "600" }, document.createTextNode("sentence B")),
  );
  e.plan.forEach((row, a) => row.forEach((flow, b) => {
    if (flow <= top * 1e-3) return;
    const share = flow / top;
    const line = svg("line", {
      x1: xa + 8, y1: ya(a), x2: xb - 8, y2: yb(b),
      "stroke-width": (0.8 + 9 * share).toFixed(2),
      "stroke-opacity": (0.2 + 0.8 * share).toFixed(2),
      class: a === ia && b === ib ? "top1" : "flow",
    });
    line.append(svg("title", {}, document.createTextNode(
      `${e.tokens_a[a]} → ${e.tokens_b[b]}: ${(100 * flow).toFixed(1)}% of the mass, cost ${fmt(e.cost[a][b])}`,
    )));
    picture.append(line);
  }));
  const token = (x, y, word, weight, anchor, dx) => [
    svg("circle", { cx: x, cy: y, r: (2 + 7 * Math.sqrt(weight / wMax)).toFixed(2) }),
    svg("text", { x: x + dx, y: y + 4, "text-anchor": anchor }, document.createTextNode(word)),
  ];
  e.tokens_a.forEach((w, k) => picture.append(...token(xa, ya(k), w, e.weights_a[k], "end", -12)));
  e.tokens_b.forEach((w, k) => picture.append(...token(xb, yb(k), w, e.weights_b[k], "start", 12)));
  $("#plan-picture").replaceChildren(
    picture,
    h("p", { class: "hint", text: "Line width: share of the mass moved between two tokens; dot size: a token's mass." }),
  );
  $("#plan-table").replaceChildren(
    h("thead", {}, h("tr", {}, h("td", {}), ...e.tokens_b.map((w) => h("th", { scope: "col", text: w })))),
    h(
      "tbody",
      {},
      ...e.plan.map((row, a) =>
        h(
          "tr",
          {},
          h("th", { scope: "row", text: e.tokens_a[a] }),
          ...row.map((flow) => h("td", {}, heatCell("span", (100 * flow).toFixed(1), flow / top))),
        ),
      ),
    ),
  );
}
