// API explorer for the Manager's OpenAPI document. Self-contained on purpose: render
// farms often run without internet access, so nothing here may load from another host.
// Reads ../openapi3.json, lists operations by tag, and lets the user send requests.
(function () {
  "use strict";

  const SPEC_URL = "../openapi3.json";
  const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"];
  const MAX_SHOWN_CHARS = 200000; // Longer bodies are cut: a huge task log would freeze the page.
  let spec = {};

  // DOM helpers ----------------------------------------------------------------------

  // el("div", {class: "x", onclick: fn}, child, "text", ...): builds nodes without innerHTML,
  // so text from the document or from responses can never inject markup.
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : value);
    }
    for (const child of children.flat()) {
      if (child !== null && child !== undefined && child !== false) {
        node.append(child instanceof Node ? child : String(child));
      }
    }
    return node;
  }

  function oneLine(text, max = 120) {
    const flat = String(text || "").replace(/\s+/g, " ").trim();
    return flat.length > max ? flat.slice(0, max - 1) + "…" : flat;
  }

  // Schemas --------------------------------------------------------------------------

  function lookup(ref) {
    if (!ref.startsWith("#/")) return {};
    const keys = ref.slice(2).split("/").map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
    return keys.reduce((obj, key) => (obj ? obj[key] : undefined), spec) || {};
  }

  function resolve(obj) {
    for (let hops = 0; obj && obj.$ref && hops < 20; hops++) obj = lookup(obj.$ref);
    return obj || {};
  }

  function refName(obj) {
    return obj && obj.$ref ? obj.$ref.split("/").pop() : null;
  }

  // allOf is how the document extends schemas (Job = SubmittedJob + more); flatten it.
  function mergeAllOf(schema) {
    const merged = { type: "object", properties: {}, required: [] };
    for (const part of schema.allOf) {
      const sub = resolve(part);
      const flat = sub.allOf ? mergeAllOf(sub) : sub;
      Object.assign(merged.properties, flat.properties || {});
      merged.required.push(...(flat.required || []));
      if (flat.description && !merged.description) merged.description = flat.description;
    }
    return merged;
  }

  // A TypeScript-like outline of a schema. Named schemas are expanded once per branch.
  function typeText(schema, indent, seen) {
    schema = schema || {};
    const name = refName(schema);
    if (name) {
      const target = lookup(schema.$ref);
      if (seen.has(name) || indent.length >= 12) return name;
      const inner = typeText(target, indent, new Set(seen).add(name));
      return inner.startsWith("{") ? `${name} ${inner}` : `${name} (${inner})`;
    }
    if (schema.allOf) return typeText(mergeAllOf(schema), indent, seen);
    const alternatives = schema.oneOf || schema.anyOf;
    if (alternatives) return alternatives.map((s) => typeText(s, indent, seen)).join(" | ");
    if (schema.enum) return schema.enum.map((v) => JSON.stringify(v)).join(" | ");
    if (schema.type === "array") return typeText(schema.items, indent, seen) + "[]";
    if (schema.type === "object" || schema.properties || schema.additionalProperties) {
      return objectText(schema, indent, seen);
    }
    let text = schema.type || "any";
    if (schema.format) text += `<${schema.format}>`;
    return text;
  }

  function objectText(schema, indent, seen) {
    const inner = indent + "  ";
    const required = new Set(schema.required || []);
    const lines = Object.entries(schema.properties || {}).map(([key, prop]) => {
      const desc = resolve(prop).description;
      const mark = required.has(key) ? "" : "?";
      return `${inner}${key}${mark}: ${typeText(prop, inner, seen)}${desc ? "  // " + oneLine(desc, 90) : ""}`;
    });
    const extra = schema.additionalProperties;
    if (extra) lines.push(`${inner}[key: string]: ${extra === true ? "any" : typeText(extra, inner, seen)}`);
    return lines.length ? `{\n${lines.join("\n")}\n${indent}}` : "object";
  }

  function schemaBlock(schema) {
    return el("pre", { class: "schema" }, typeText(schema, "", new Set()));
  }

  // A plausible example value for a schema, used to prefill request bodies.
  function exampleFor(schema, seen) {
    if (!schema) return null;
    if (schema.example !== undefined) return schema.example;
    const name = refName(schema);
    if (name) return seen.has(name) ? null : exampleFor(lookup(schema.$ref), new Set(seen).add(name));
    if (schema.default !== undefined) return schema.default;
    if (schema.allOf) return exampleFor(mergeAllOf(schema), seen);
    if (schema.oneOf || schema.anyOf) return exampleFor((schema.oneOf || schema.anyOf)[0], seen);
    if (schema.enum) return schema.enum[0];
    switch (schema.type) {
      case "array": {
        const item = exampleFor(schema.items, seen);
        return item === null ? [] : [item];
      }
      case "integer":
      case "number":
        return schema.minimum !== undefined ? schema.minimum : 0;
      case "boolean":
        return false;
      case "string":
        return schema.format === "date-time" ? new Date().toISOString() : "";
    }
    const out = {};
    for (const [key, prop] of Object.entries(schema.properties || {})) {
      const value = exampleFor(prop, seen);
      if (value !== null) out[key] = value;
    }
    return out;
  }

  // Operations -----------------------------------------------------------------------

  function collectOperations() {
    const ops = [];
    for (const [path, item] of Object.entries(spec.paths || {})) {
      for (const method of METHODS) {
        const op = item[method];
        if (!op) continue;
        // Operation parameters override path-level ones with the same name and location.
        const params = new Map();
        for (const p of [...(item.parameters || []), ...(op.parameters || [])]) {
          const r = resolve(p);
          params.set(`${r.in}:${r.name}`, r);
        }
        ops.push({ path, method, op, params: [...params.values()], id: op.operationId || `${method}-${path}` });
      }
    }
    return ops;
  }

  function groupByTag(ops) {
    const groups = new Map((spec.tags || []).map((t) => [t.name, { tag: t, ops: [] }]));
    for (const entry of ops) {
      const name = (entry.op.tags && entry.op.tags[0]) || "other";
      if (!groups.has(name)) groups.set(name, { tag: { name }, ops: [] });
      groups.get(name).ops.push(entry);
    }
    return [...groups.values()].filter((g) => g.ops.length);
  }

  function needsAuth(op) {
    const security = op.security !== undefined ? op.security : spec.security || [];
    return security.some((req) => Object.keys(req).length > 0);
  }

  // Rendering ------------------------------------------------------------------------

  function render() {
    const info = spec.info || {};
    document.title = `${info.title || "API"} explorer`;
    document.getElementById("api-title").textContent = info.title || "API explorer";
    document.getElementById("api-version").textContent = info.version ? `v${info.version}` : "";
    document.getElementById("api-description").textContent = oneLine(info.description, 600);

    const main = document.getElementById("operations");
    main.replaceChildren();
    for (const group of groupByTag(collectOperations())) {
      main.append(
        el("section", { class: "tag-group", "data-tag": group.tag.name },
          el("h2", {}, group.tag.name, el("small", { text: oneLine(group.tag.description, 200) })),
          group.ops.map(renderOperation))
      );
    }
    main.append(renderSchemas());
    openFromHash();
  }

  function renderOperation(entry) {
    const { op, method, path } = entry;
    const details = el("details", {
      class: "op", id: `op-${entry.id}`,
      "data-search": [method, path, op.operationId, op.summary, (op.tags || []).join(" ")].join(" ").toLowerCase(),
    },
      el("summary", {},
        el("span", { class: `method m-${method}`, text: method.toUpperCase() }),
        el("code", { class: "path", text: path }),
        el("span", { class: "summary-text", text: oneLine(op.summary, 140) }),
        op["x-tablao-websocket"] ? el("span", { class: "badge", text: "websocket" }) : null,
        needsAuth(op) ? el("span", { class: "badge lock", text: "worker auth" }) : null));
    details.addEventListener("toggle", () => {
      if (details.open && !details.dataset.built) {
        details.dataset.built = "1";
        details.append(renderOperationBody(entry));
      }
      if (details.open) history.replaceState(null, "", `#${details.id}`);
    });
    return details;
  }

  function renderOperationBody(entry) {
    const { op } = entry;
    const form = { inputs: [], body: null };
    const output = el("div", { class: "output" });
    const action = op["x-tablao-websocket"]
      ? el("button", { type: "button", onclick: (ev) => toggleSocket(entry, ev.target, output) }, "Connect")
      : el("button", { type: "button", onclick: () => send(entry, form, output) }, "Send request");
    return el("div", { class: "op-body" },
      el("p", { class: "op-id" }, "operationId: ", el("code", { text: op.operationId || "—" })),
      op.description ? el("p", { class: "description", text: op.description }) : null,
      renderParameters(entry.params, form),
      renderRequestBody(op, form),
      renderResponses(op),
      el("div", { class: "actions" }, action),
      output);
  }

  function renderParameters(params, form) {
    if (!params.length) return null;
    const rows = params.map((p) => {
      const schema = resolve(p.schema);
      let input;
      if (schema.enum || schema.type === "boolean") {
        const choices = schema.enum || [true, false];
        input = el("select", {}, el("option", { value: "", text: p.required ? "(choose)" : "(not sent)" }),
          choices.map((c) => el("option", { value: String(c), text: String(c) })));
      } else {
        const hint = p.example !== undefined ? p.example : schema.default;
        input = el("input", { placeholder: hint !== undefined ? String(hint) : schema.type || "" });
      }
      form.inputs.push({ param: p, input });
      return el("tr", {},
        el("td", {}, el("code", { text: p.name }), p.required ? el("span", { class: "req", text: " *" }) : null),
        el("td", { class: "muted", text: p.in }),
        el("td", {}, el("code", { text: typeText(p.schema, "", new Set()) })),
        el("td", {}, input, p.description ? el("div", { class: "muted small", text: oneLine(p.description, 400) }) : null));
    });
    return el("div", { class: "block" }, el("h4", { text: "Parameters" }),
      el("table", { class: "params" },
        el("tr", {}, ["name", "in", "type", "value"].map((h) => el("th", { text: h }))), rows));
  }

  function renderRequestBody(op, form) {
    const body = resolve(op.requestBody);
    const content = body.content || {};
    const types = Object.keys(content);
    if (!types.length) return null;
    const select = el("select", {}, types.map((t) => el("option", { value: t, text: t })));
    const editor = el("div", {});
    const schemaView = el("div", {});
    const show = () => {
      const type = select.value || types[0];
      const media = content[type] || {};
      const isJson = /json/.test(type);
      let field;
      if (isJson) {
        const example = media.example !== undefined ? media.example : exampleFor(media.schema, new Set());
        field = el("textarea", { rows: 10, spellcheck: "false" });
        field.value = JSON.stringify(example, null, 2);
      } else if (resolve(media.schema).format === "binary") {
        field = el("input", { type: "file" });
      } else {
        field = el("textarea", { rows: 6, spellcheck: "false" });
      }
      form.body = { type, field, isJson, required: !!body.required };
      editor.replaceChildren(field);
      schemaView.replaceChildren(schemaBlock(media.schema));
    };
    select.addEventListener("change", show);
    show();
    return el("div", { class: "block" },
      el("h4", {}, "Request body", body.required ? el("span", { class: "req", text: " *" }) : null, " ", select),
      body.description ? el("p", { class: "muted", text: body.description }) : null,
      el("div", { class: "body-grid" }, editor, schemaView));
  }

  function renderResponses(op) {
    const rows = Object.entries(op.responses || {}).map(([code, raw]) => {
      const response = resolve(raw);
      const media = Object.entries(response.content || {});
      return el("div", { class: "response" },
        el("div", {}, el("code", { class: `status s${code[0]}`, text: code }), " ", response.description || ""),
        media.map(([type, m]) => el("div", { class: "media" }, el("span", { class: "muted small", text: type }),
          m.schema ? schemaBlock(m.schema) : null)));
    });
    return el("div", { class: "block" }, el("h4", { text: "Responses" }), rows);
  }

  function renderSchemas() {
    const schemas = Object.entries((spec.components || {}).schemas || {});
    return el("section", { class: "tag-group", "data-tag": "schemas" },
      el("h2", {}, "schemas", el("small", { text: "Every named schema in the document." })),
      schemas.map(([name, schema]) => el("details", { class: "op schema-entry", id: `schema-${name}`,
        "data-search": `schema ${name}`.toLowerCase() },
        el("summary", {}, el("code", { class: "path", text: name }),
          el("span", { class: "summary-text", text: oneLine(resolve(schema).description, 140) })),
        el("div", { class: "op-body" }, schemaBlock({ $ref: `#/components/schemas/${name}` })))));
  }

  // Sending requests -----------------------------------------------------------------

  function basicAuthHeader() {
    const user = document.getElementById("auth-user").value.trim();
    const pass = document.getElementById("auth-pass").value;
    if (!user) return null;
    const bytes = new TextEncoder().encode(`${user}:${pass}`);
    return "Basic " + btoa(String.fromCharCode(...bytes));
  }

  // Turns the form into fetch() arguments, or throws an Error with a message for the user.
  function buildRequest(entry, form) {
    const query = new URLSearchParams();
    const headers = new Headers();
    let path = entry.path;
    for (const { param, input } of form.inputs) {
      const value = input.value.trim();
      if (!value) {
        if (param.required) throw new Error(`parameter "${param.name}" is required`);
        continue;
      }
      if (param.in === "path") path = path.replace(`{${param.name}}`, encodeURIComponent(value));
      else if (param.in === "query") query.append(param.name, value);
      else if (param.in === "header") headers.set(param.name, value);
    }
    const init = { method: entry.method.toUpperCase(), headers };
    if (form.body) {
      const { type, field, isJson, required } = form.body;
      if (field.type === "file") {
        if (field.files.length) init.body = field.files[0];
        else if (required) throw new Error("choose a file for the request body");
      } else if (field.value.trim()) {
        if (isJson) {
          try { JSON.parse(field.value); } catch (err) { throw new Error(`the body is not valid JSON: ${err.message}`); }
        }
        init.body = field.value;
      }
      if (init.body !== undefined) headers.set("Content-Type", type);
    }
    const auth = needsAuth(entry.op) ? basicAuthHeader() : null;
    if (auth) headers.set("Authorization", auth);
    const server = ((spec.servers || [])[0] || {}).url || "/";
    const qs = query.toString();
    const url = new URL(server.replace(/\/$/, "") + path + (qs ? `?${qs}` : ""), location.href);
    return { url, init };
  }

  function curlFor(url, init) {
    const quote = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;
    const parts = ["curl", "-i", "-X", init.method, quote(url)];
    init.headers.forEach((value, key) => parts.push("-H", quote(`${key}: ${value}`)));
    if (typeof init.body === "string") parts.push("--data-binary", quote(init.body));
    else if (init.body) parts.push("--data-binary", quote(`@${init.body.name}`));
    return parts.join(" ");
  }

  async function send(entry, form, output) {
    let request;
    try {
      request = buildRequest(entry, form);
    } catch (err) {
      output.replaceChildren(el("p", { class: "error", text: err.message }));
      return;
    }
    const { url, init } = request;
    output.replaceChildren(el("p", { class: "muted", text: `${init.method} ${url.pathname}${url.search} …` }));
    const started = performance.now();
    try {
      const response = await fetch(url, init);
      const elapsed = Math.round(performance.now() - started);
      output.replaceChildren(await renderResponse(response, elapsed), curlDetails(url, init));
    } catch (err) {
      output.replaceChildren(el("p", { class: "error", text: `request failed: ${err.message}` }), curlDetails(url, init));
    }
  }

  function curlDetails(url, init) {
    return el("details", { class: "curl" }, el("summary", { text: "as curl" }), el("pre", { text: curlFor(url, init) }));
  }

  async function renderResponse(response, elapsed) {
    const type = response.headers.get("Content-Type") || "";
    const headerLines = [];
    response.headers.forEach((value, key) => headerLines.push(`${key}: ${value}`));
    let body;
    if (type.startsWith("image/")) {
      body = el("img", { class: "preview", src: URL.createObjectURL(await response.blob()), alt: "response image" });
    } else {
      let text = await response.text();
      if (/json/.test(type) && text) {
        try { text = JSON.stringify(JSON.parse(text), null, 2); } catch (err) { /* Show it as sent. */ }
      }
      if (text.length > MAX_SHOWN_CHARS) text = text.slice(0, MAX_SHOWN_CHARS) + "\n… (cut)";
      body = el("pre", { class: "response-body", text: text || "(empty body)" });
    }
    return el("div", { class: "result" },
      el("p", {}, el("code", { class: `status s${String(response.status)[0]}`, text: String(response.status) }),
        ` ${response.statusText} · ${elapsed} ms`),
      el("details", {}, el("summary", { text: "response headers" }), el("pre", { text: headerLines.join("\n") })),
      body);
  }

  // Websocket operations: connect and show each message as it arrives.
  function toggleSocket(entry, button, output) {
    if (button.socket) {
      button.socket.close();
      return;
    }
    const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${entry.path}`;
    const log = el("pre", { class: "response-body" });
    output.replaceChildren(el("p", { class: "muted", text: `connecting to ${url} …` }), log);
    const socket = new WebSocket(url);
    button.socket = socket;
    button.textContent = "Disconnect";
    const note = (text) => { output.firstChild.textContent = text; };
    socket.addEventListener("open", () => note(`connected to ${url}`));
    socket.addEventListener("message", (ev) => {
      let text = String(ev.data);
      try { text = JSON.stringify(JSON.parse(text)); } catch (err) { /* Not JSON; show it as is. */ }
      log.prepend(`${new Date().toLocaleTimeString()}  ${text}\n`);
      while (log.childNodes.length > 500) log.lastChild.remove();
    });
    socket.addEventListener("close", (ev) => {
      note(`closed (code ${ev.code}${ev.reason ? ", " + ev.reason : ""})`);
      button.socket = null;
      button.textContent = "Connect";
    });
  }

  // Filtering and navigation ---------------------------------------------------------

  function applyFilter() {
    const words = document.getElementById("filter").value.toLowerCase().split(/\s+/).filter(Boolean);
    for (const group of document.querySelectorAll(".tag-group")) {
      let visible = 0;
      for (const op of group.querySelectorAll("details.op")) {
        const show = words.every((w) => op.dataset.search.includes(w));
        op.hidden = !show;
        if (show) visible++;
      }
      group.hidden = visible === 0;
    }
  }

  function setAllOpen(open) {
    for (const op of document.querySelectorAll("details.op:not([hidden])")) op.open = open;
  }

  function openFromHash() {
    const id = decodeURIComponent(location.hash.slice(1));
    const target = id && document.getElementById(id);
    if (target && target.tagName === "DETAILS") {
      target.open = true;
      target.scrollIntoView({ block: "start" });
    }
  }

  function showLoadError(err) {
    document.getElementById("operations").replaceChildren(
      el("p", { class: "error", text: `Could not load ${SPEC_URL}: ${err.message}` }));
  }

  document.addEventListener("DOMContentLoaded", () => {
    document.getElementById("filter").addEventListener("input", applyFilter);
    document.getElementById("expand-all").addEventListener("change", (ev) => setAllOpen(ev.target.checked));
    fetch(SPEC_URL)
      .then((r) => (r.ok ? r.json() : Promise.reject(new Error(`HTTP ${r.status}`))))
      .then((doc) => { spec = doc; render(); })
      .catch(showLoadError);
  });
})();
