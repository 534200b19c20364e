// Asking for a token once: the admin token (for actions) or the access token (to read at all).
// A token is checked with the Manager before it is kept in this browser's storage for this origin.

import { ApiError, checkAdminToken, get, tokens } from "./api.js";

const $ = (id) => document.getElementById(id);

const WORDS = {
  admin: {
    title: "Admin token",
    text: "Pause, cancel and requeue need the Manager's admin token. It is in the file tablao-admin-token " +
      "beside flamenco-manager.yaml on the Manager's computer. This browser keeps it for this address " +
      "until you choose Forget it.",
    label: "Admin token",
  },
  access: {
    title: "This Manager needs its access token",
    text: "The farm is shown only to holders of its access token (access_token in flamenco-manager.yaml), " +
      "or its submit or admin token. This browser keeps it for this address until you choose Forget it.",
    label: "Access token",
  },
};

async function accepted(kind, value) {
  if (kind === "admin") return checkAdminToken(value);
  const before = tokens.access;
  tokens.access = value;
  try {
    await get("/api/v3/status");
    return true;
  } catch (exc) {
    tokens.access = before;
    if (exc instanceof ApiError && (exc.status === 401 || exc.status === 403)) return false;
    throw exc;
  }
}

/** Show the dialog for `kind`; resolves true once a checked token was kept (or forgotten). */
export function askToken(kind) {
  const dialog = $("token-dialog");
  const words = WORDS[kind];
  $("token-title").textContent = words.title;
  $("token-text").textContent = words.text;
  $("token-label").textContent = words.label;
  $("token-error").textContent = "";
  const input = $("token-input");
  input.value = "";
  $("token-forget").hidden = !tokens[kind];
  dialog.dataset.kind = kind;
  return new Promise((resolve) => {
    const form = $("token-form");
    const done = (result) => {
      form.onsubmit = null;
      $("token-cancel").onclick = null;
      $("token-forget").onclick = null;
      dialog.close();
      resolve(result);
    };
    form.onsubmit = async (ev) => {
      ev.preventDefault();
      const value = input.value.trim();
      if (!value) return;
      $("token-ok").disabled = true;
      try {
        if (await accepted(kind, value)) {
          tokens[kind] = value;
          done(true);
        } else {
          $("token-error").textContent = `The Manager refused this ${words.label.toLowerCase()}.`;
        }
      } catch (exc) {
        $("token-error").textContent = `Could not check it: ${exc.message}`;
      } finally {
        $("token-ok").disabled = false;
      }
    };
    $("token-cancel").onclick = () => done(false);
    $("token-forget").onclick = () => {
      tokens[kind] = "";
      done(true);
    };
    if (!dialog.open) dialog.showModal();
    input.focus();
  });
}
